"""The suggestion strip: the k next words (or completions) with probabilities and bars."""

from __future__ import annotations

from rich.cells import set_cell_size
from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from lstmcli import session as S
from lstmcli import tokenize as tok
from lstmcli.render import bar

KEYS = ("Tab", "Alt+2", "Alt+3", "Alt+4", "Alt+5")  # what picks each slot (Alt+1 = Tab)
WORD = 16  # cells for the word column


def shown(token: str) -> str:
    """How a token reads in the strip: ``<eos>`` is a line break."""
    return "↵ new line" if token == tok.EOS else token


def title(partial: str, items: tuple[S.Suggestion, ...]) -> str:
    """What the list is: next words, or completions of the word being typed."""
    if not partial:
        return "next word"
    if any(s.kind == S.AFTER for s in items):
        return f"completing {partial}, or the word after it"
    return f"completing {partial}"


class Suggestions(Widget):
    """One row per suggestion: the key that takes it, the word, its probability and a bar.

    The part of a word already typed is dim. A click on a row takes that suggestion.
    """

    items: reactive[tuple[S.Suggestion, ...]] = reactive(())
    partial: reactive[str] = reactive("")
    stale: reactive[bool] = reactive(False)  # the text changed and the model is still reading

    class Picked(Message):
        """A suggestion was clicked."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, k: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.k = k

    def show(self, items: tuple[S.Suggestion, ...], partial: str) -> None:
        """New suggestions for a text whose partial word is ``partial``."""
        self.items, self.partial, self.stale = items, partial, False
        self.border_title = title(partial, items)

    def render(self) -> Text:
        lines = []
        top = self.items[0].prob if self.items else 1.0
        width = max(1, self.size.width - 8 - WORD - 8)
        style = "dim" if self.stale else ""
        for n, s in enumerate(self.items[: self.k]):
            key = KEYS[n] if n < len(KEYS) else ""
            word = Text(style=style)
            if s.kind == S.COMPLETE:
                word.append(s.typed, "dim")
                word.append(s.token[len(s.typed) :], "bold")
            else:
                if s.kind == S.AFTER:
                    word.append(self.partial, "dim")
                word.append(shown(s.token), "bold")
            if word.cell_len > WORD:
                word = Text(set_cell_size(word.plain, WORD - 1) + "…", style="bold")
            word.append(" " * (WORD - word.cell_len))
            lines.append(
                Text.assemble(
                    (f"{key:<7} ", "dim"),
                    word,
                    f" {s.prob:.4f} ",
                    (bar(s.prob / top if top else 0.0, width), "cyan"),
                    style=style,
                )
            )
        if not self.items:
            note = "…" if self.stale else "no word in the vocabulary begins with this"
            lines.append(Text(note if self.partial else "…", style="dim"))
        lines += [Text("")] * (self.k - len(lines))
        return Text("\n").join(lines)

    def on_click(self, event: events.Click) -> None:
        at = event.get_content_offset(self)
        if at is not None and 0 <= at.y < min(self.k, len(self.items)):
            self.post_message(self.Picked(at.y))
