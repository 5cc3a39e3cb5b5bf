"""The memory panel: how much of what each earlier token wrote is still in the cell state."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from lstmcli import liveview
from lstmcli.render import bar

TOKEN = 10  # widest token column, in cells
NOTE = (
    "share of c: what each token wrote into the memory c and the forget gates left of it, "
    "Σ|kept|, over the sum for all tokens. left: how much of its own write is still there, "
    "Σ|kept| / Σ|i·g|. As `lstm trace --memory`."
)
RNN = (
    "The rnn cell has no cell state c: its only memory is h, which every step overwrites, so "
    "there is nothing to split into what each token wrote. `lstm predict TEXT --why` shows "
    "which tokens its prediction rests on."
)


def _pct(x: float) -> str:
    return f"{x:.0%}" if x >= 0.005 else "0%"


class MemoryPanel(Widget):
    """One bar per token, the latest at the bottom: its share of the memory c at the last
    token (Σ|kept| over all tokens' kept terms, as ``lstm trace --memory``) and how much of
    what it wrote is left. Tokens that do not fit are summed in one line at the top (the
    data holds the last rows only, with the share of the tokens before them)."""

    data: reactive[liveview.Memory | None] = reactive(None)
    cell: reactive[str] = reactive("lstm")

    def watch_data(self, data: liveview.Memory | None) -> None:
        if data is not None:
            self.border_title = f"memory · layer {data.layer} · c at {data.position} {data.token}"

    def watch_cell(self, cell: str) -> None:
        if cell != "lstm":
            self.border_title = "memory"

    def render(self) -> Text:
        if self.cell != "lstm":
            return Text(RNN)
        d = self.data
        if d is None:
            return Text("")
        room = max(2, self.size.height - 1)  # lines below the header
        rows = d.rows if d.position < room else d.rows[-(room - 1) :]
        pw = len(str(d.position))
        tw = min(TOKEN, max(cell_len(r.token) for r in rows))
        width = max(1, self.size.width - pw - tw - 13)
        head = f"{'':>{pw}} {'token':<{tw}} {'share of c':<{width + 5}} left"
        lines = [Text(head, style="bold")]
        if rows[0].position > 0:
            lo = rows[0].position
            held = d.held + sum(r.share for r in d.rows[: len(d.rows) - len(rows)])
            lines.append(Text(f"tokens 0–{lo - 1} hold {_pct(held)} of c", style="dim"))
        top = max(d.top, 1e-12)
        for r in rows:
            token = r.token if cell_len(r.token) <= tw else set_cell_size(r.token, tw - 1) + "…"
            lines.append(
                Text.assemble(
                    f"{r.position:>{pw}} {set_cell_size(token, tw)} ",
                    (f"{bar(r.share / top, width):<{width}}", "cyan"),
                    f" {_pct(r.share):>4} {_pct(r.left):>4}",
                )
            )
        note = Text(NOTE, style="dim")
        if room - len(rows) > len(note.wrap(Console(), self.size.width)):
            lines += [Text(""), note]
        return Text("\n").join(lines)
