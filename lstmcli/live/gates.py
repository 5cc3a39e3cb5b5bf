"""The gates panel: f, i and o of the last token, on ``lstm trace``'s colour scales."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from lstmcli import liveview
from lstmcli import trace as T
from lstmcli.traceview import RNN_H, cell_style, fmt, scale

ABOUT = "f keeps c (1) or erases it (0) · i writes g · o shows tanh(c)"
LABEL = 2  # cells for the gate name at the start of a row


class GatesPanel(Widget):
    """A row per gate, a column per unit (those that vary most over the text, as many as
    fit, in unit order); each cell prints its value on its colour, as ``lstm trace`` does.
    The rnn cell has no gates: its h, said so."""

    data: reactive[liveview.Gates | None] = reactive(None)

    def fit(self) -> int:
        """How many unit columns the panel has room for."""
        return max(1, (self.size.width - LABEL) // T.CELL)

    def watch_data(self, old: liveview.Gates | None, data: liveview.Gates | None) -> None:
        if (old is None) != (data is None) or (old and data and len(old.rows) != len(data.rows)):
            self.refresh(layout=True)  # a new height: the panel is laid out again
        if data is not None:
            self.border_title = f"gates · layer {data.layer} · at {data.position} {data.token}"

    def render(self) -> Text:
        d = self.data
        if d is None:
            return Text("")
        m = min(self.fit(), len(d.units))
        cols = sorted(range(m), key=lambda j: d.units[j])  # the m that vary most, by unit
        lines = [Text(" " * LABEL + "".join(f"{'u' + str(d.units[j]):>{T.CELL}}" for j in cols),
                      style="bold")]  # fmt: skip
        for gate, values in d.rows:
            line = Text(f"{gate:<{LABEL}}", style="bold")
            for j in cols:
                line.append(f"{fmt(values[j]):>{T.CELL}}", cell_style(values[j], gate))
            lines.append(line)
        label, strip, about = scale(d.rows[0][0])
        if strip.cell_len + 4 > self.size.width:
            label, strip, about = scale(d.rows[0][0], every=2)
        legend = Text.assemble((label.strip() + " ", "bold"), strip)
        if legend.cell_len + 2 + len(about) <= self.size.width:
            legend.append("  " + about, "dim")
        lines.append(legend)
        if d.cell == "lstm":
            lines.append(Text(ABOUT, style="dim"))
        else:
            lines.append(Text(f"the rnn cell has no gates: showing its {RNN_H}", style="dim"))
        return Text("\n").join(lines)
