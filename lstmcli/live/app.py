"""The ``lstm live`` app: compose the panels, route the keys, hand text to the session.

Every edit (from inside the edit, see :class:`~lstmcli.live.editor.Editor`) and every move
of the cursor runs :meth:`lstmcli.session.Session.update` on the text before the cursor,
on the app's own thread: typing at the end re-runs a token or two, a few milliseconds with
the tokenizer. The suggestions go to the screen in the frame of the edit; the gates and
memory panels, when the tape changed, in the frame after (``call_after_refresh``), so the
suggestions do not wait for them. A change that leaves many tokens to re-run (a file
opened, the cursor moved to the end after an edit near the start) is fed :data:`BUDGET`
tokens at a time, each piece a callback of its own, so keys typed meanwhile are handled
between the pieces and the next piece starts from the newest text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer

from lstmcli import liveview, textio
from lstmcli import tokenize as tok
from lstmcli.checkpoint import atomic_write
from lstmcli.errors import LstmError
from lstmcli.live.editor import ALT_DIGITS, Editor
from lstmcli.live.gates import GatesPanel
from lstmcli.live.memory import MemoryPanel
from lstmcli.live.prompt import PathPrompt
from lstmcli.live.status import Status
from lstmcli.live.suggestions import Suggestions
from lstmcli.predict import Predictor
from lstmcli.session import Session, Update, insertion

BUDGET = 64  # tokens re-run per piece of a long change
PLACEHOLDER = "Type here; Tab takes the first suggestion."


@dataclass
class LiveConfig:
    """What ``lstm live`` was started with."""

    predictor: Predictor
    text: str = ""
    top_k: int = 5
    layer: int | None = None  # None: the last layer
    out: Path | None = None  # where Ctrl+S saves; None: ask
    encoding: str | None = None  # of the files opened; None: detect
    cursor_blink: bool = True


def describe(p: Predictor) -> str:
    """The model in a few words: file, cell and size, vocabulary, tokenizer."""
    cfg = p.config
    name = p.path.name if p.path is not None else "model"
    return (f"{name} · {cfg.cell} {cfg.num_layers}×{cfg.hidden_size} · "
            f"{cfg.vocab_size:,} words · {p.tokenizer.name}")  # fmt: skip


class LiveApp(App, inherit_bindings=False):
    """A text area with next-word suggestions, the gates and the memory of the model."""

    CSS_PATH = "live.tcss"
    TITLE = "lstm live"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[Binding]] = [
        # priority: the text area would take Tab to move the focus and Alt+1 to type "1"
        Binding("tab", "accept", "accept", priority=True),
        Binding(f"alt+1,{ALT_DIGITS[0]}", "pick(0)", "pick", key_display="Alt+1…5", priority=True),
        *(
            Binding(f"alt+{n},{ALT_DIGITS[n - 1]}", f"pick({n - 1})", show=False, priority=True)
            for n in range(2, 6)
        ),
        Binding("f2", "toggle('gates')", "gates"),
        Binding("f3", "toggle('memory')", "memory"),
        Binding("f4", "next_layer", "layer"),
        Binding("ctrl+s", "save", "save"),
        Binding("ctrl+o", "open", "open"),
        Binding("ctrl+q", "leave", "quit"),
        Binding("escape", "leave", "quit", show=False),
    ]

    def __init__(self, config: LiveConfig) -> None:
        super().__init__()
        self.config = config
        p = config.predictor
        self.session = Session(p, config.top_k)
        self.layer = p.config.num_layers - 1 if config.layer is None else config.layer
        self.out = config.out
        self.last: Update | None = None  # the last finished update
        self._queued = False
        self._drawn: dict[str, tuple[int, int]] = {}  # panel → (tape version, layer) drawn
        self._saved = config.text  # the text as last opened or saved
        self._warned: str | None = None  # the unsaved text a quit key warned about

    def compose(self) -> ComposeResult:
        c = self.config
        yield Status(id="status")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                editor = Editor(c.text, self.refresh_model, id="editor", placeholder=PLACEHOLDER)
                editor.cursor_blink = c.cursor_blink
                yield editor
                yield Suggestions(c.top_k, id="suggestions")
                yield GatesPanel(id="gates")
            yield MemoryPanel(id="memory")
        yield Footer()

    def on_mount(self) -> None:
        status = self.query_one(Status)
        status.model = describe(self.config.predictor)
        status.path = str(self.out or "")
        self.query_one(MemoryPanel).cell = self.config.predictor.config.cell
        editor = self.editor
        editor.border_title = "text"
        editor.focus()
        editor.move_cursor(editor.document.end)
        self.refresh_model()

    # ---- the model follows the text

    @property
    def editor(self) -> Editor:
        return self.query_one(Editor)

    def before_cursor(self) -> str:
        """The text from the start to the cursor: what the suggestions follow
        (``document.get_text_range`` from the start, in one join of the lines)."""
        ed = self.editor
        doc, (row, column) = ed.document, ed.cursor_location
        lines = doc.lines
        return doc.newline.join([*lines[:row], lines[row][:column]])

    @property
    def caught_up(self) -> bool:
        """Whether the suggestions shown are those of the text before the cursor."""
        return self.last is not None and self.last.text == self.before_cursor() and not self._queued

    def on_text_area_selection_changed(self) -> None:
        self.refresh_model()  # the cursor moved: the text before it changed

    def refresh_model(self) -> None:
        """Bring the model to the text before the cursor, now or in pieces (see module doc)."""
        text = self.before_cursor()
        if self.last is not None and self.last.text == text:
            return
        u = self.session.update(text, BUDGET)
        if not u.done:
            self.query_one(Suggestions).stale = True
            self.query_one(Status).busy = True
            self.editor.suggestion = ""
            if not self._queued:
                self._queued = True
                self.call_later(self._resume)
            return
        self.last = u
        self.editor.suggestion = self.ghost(u)
        self.query_one(Suggestions).show(u.suggestions, u.partial)
        status = self.query_one(Status)
        status.tokens, status.unknown, status.busy = len(u.tokens), u.unknown, False
        # the suggestions first, in a frame of their own; the panels in the next
        self.call_after_refresh(self.refresh_panels)

    def ghost(self, u: Update) -> str:
        """What Tab would add after the cursor, shown dim there (none if it would delete)."""
        if not u.suggestions or u.suggestions[0].token == tok.UNK:
            return ""
        delete, insert = insertion(self.config.predictor.tokenizer, u.text, u.suggestions[0])
        after = u.text[: len(u.text) - delete] + insert
        return after[len(u.text) :] if after.startswith(u.text) and "\n" not in insert else ""

    def _resume(self) -> None:
        self._queued = False
        self.refresh_model()

    def refresh_panels(self) -> None:
        """Redraw the gates and memory panels that are shown, at the tape's last token,
        when the tape or the layer changed since they were drawn."""
        if not self.caught_up or len(self.session.tape) != len(self.last.tokens):
            return  # a longer change is being read: drawn when it is done
        tape, stats, tokens = self.session.tape, self.session.stats, self.last.tokens
        gates, memory = self.query_one(GatesPanel), self.query_one(MemoryPanel)
        rows = max(liveview.MAX_ROWS, memory.size.height)  # the rows it may show
        now = (tape.version, self.layer, rows)
        if gates.display and self._drawn.get("gates") != now:
            gates.data = liveview.gates(tape, tokens, self.layer, stats=stats)
            self._drawn["gates"] = now
        if memory.display and self._drawn.get("memory") != now:
            memory.data = liveview.memory(tape, tokens, self.layer, rows, stats)
            self._drawn["memory"] = now

    def on_resize(self) -> None:
        self.call_after_refresh(self.refresh_panels)  # a taller memory panel: more rows

    # ---- accepting a suggestion

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The keys of the main screen do nothing while a file name is asked for."""
        if action in ("accept", "pick", "toggle", "next_layer", "save", "open", "leave"):
            return not isinstance(self.screen, PathPrompt)
        return True

    def action_accept(self) -> None:
        """Tab: the first suggestion."""
        self.action_pick(0)

    def action_pick(self, index: int) -> None:
        """Type suggestion ``index`` at the cursor, with the tokenizer's spacing."""
        u, text = self.last, self.before_cursor()
        if u is None or u.text != text or index >= len(u.suggestions):
            self.bell()  # nothing there, or the model has not caught up with the text
            return
        s = u.suggestions[index]
        if s.token == tok.UNK:
            self.notify("<unk> stands for words the model never saw; it cannot be typed")
            return
        delete, insert = insertion(self.config.predictor.tokenizer, text, s)
        ed = self.editor
        row, col = ed.cursor_location
        ed.replace(insert, (row, col - delete), (row, col), maintain_selection_offset=False)

    def on_suggestions_picked(self, message: Suggestions.Picked) -> None:
        self.action_pick(message.index)
        self.editor.focus()

    # ---- panels

    def action_toggle(self, name: str) -> None:
        panel = self.query_one(f"#{name}")
        panel.display = not panel.display
        self.refresh_panels()

    def action_next_layer(self) -> None:
        self.layer = (self.layer + 1) % self.config.predictor.config.num_layers
        self.refresh_panels()

    # ---- files

    def action_leave(self) -> None:
        """Quit; with text not saved, the first press says so and the second quits."""
        text = self.editor.text
        if text.strip() and text != self._saved and self._warned != text:
            self._warned = text
            self.notify("the text is not saved: Ctrl+S saves it, Ctrl+Q or Esc again quits")
            return
        self.exit()

    def action_save(self) -> None:
        if self.out is None:
            self.push_screen(PathPrompt("save the text to:"), self._save_to)
        else:
            self._save_to(str(self.out))

    def _save_to(self, path: str | None) -> None:
        if path is None:
            return
        text = self.editor.text
        try:
            atomic_write(path, text.encode("utf-8"))
        except LstmError as e:
            self.notify(str(e), severity="error")
            return
        self.out, self._saved = Path(path), text
        self.query_one(Status).path = path
        self.notify(f"saved {len(text):,} characters to {path}")

    def action_open(self) -> None:
        text = self.editor.text
        unsaved = " (it replaces the text here, which is not saved)"
        question = "open the text of" + (unsaved if text.strip() and text != self._saved else "")
        self.push_screen(PathPrompt(question + ":"), self._open)

    def _open(self, path: str | None) -> None:
        if path is None:
            return
        try:
            text = textio.read_plain(path, self.config.encoding)
        except LstmError as e:
            self.notify(str(e), severity="error")
            return
        ed = self.editor
        ed.load_text(text)
        self._saved = text
        ed.move_cursor(ed.document.end)
        if self.config.out is None:  # Ctrl+S now saves to the file opened
            self.out = Path(path)
            self.query_one(Status).path = path
        self.refresh_model()


def make_app(predictor: Predictor, **options) -> LiveApp:
    """The app for ``predictor``; ``options`` are those of :class:`LiveConfig`."""
    return LiveApp(LiveConfig(predictor, **options))
