"""``lstm demo long-range`` on screen: progress, accuracy table, gradient bars, one trace.

Every function takes the :class:`rich.console.Console` to draw on. Bars are block
characters and every number is printed, so the tables read the same without colour.
The traced example uses the colour scale of ``lstm trace`` (:mod:`lstmcli.traceview`).
"""

from __future__ import annotations

import math

from rich import box
from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from lstmcli import trace as T
from lstmcli.demo import CELLS, DemoConfig, DemoResult, Example, TrainStep
from lstmcli.render import bar
from lstmcli.traceview import cell_style, fmt

GRADIENT_KS = (1, 2, 3, 5, 10, 15, 20, 30, 40, 60, 80, 120, 160)


class DemoProgress:
    """A live bar per training run on a terminal; one plain line per finished run otherwise."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.progress: Progress | None = None
        self.task = None
        self._run: tuple[str, int] | None = None

    def start(self, dc: DemoConfig, vocab_size: int) -> None:
        d = ", ".join(str(x) for x in dc.distances)
        self.console.print(
            f"[bold]task[/]      name one of {dc.k} cakes after D random filler tokens, "
            f"D = {d} (chance {dc.chance:.0%})"
        )
        self.console.print(
            f"[bold]models[/]    rnn and lstm, 1 layer × {dc.hidden} units, embed {dc.embed}, "
            f"vocabulary {vocab_size}"
        )
        self.console.print(
            f"[bold]training[/]  {dc.steps} Adam steps of {dc.batch_size} episodes each, "
            f"lr {dc.lr}, loss on the answer only, lstm forget bias {dc.forget_bias:g}"
        )
        self.console.print()

    def on_step(self, s: TrainStep) -> None:
        if not self.live:
            return
        if self.progress is None:
            self.progress = Progress(
                TextColumn("[bold]{task.description}[/]"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.3f}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self.progress.start()
        if self._run != (s.cell, s.distance):
            if self.task is not None:
                self.progress.remove_task(self.task)
            self._run = (s.cell, s.distance)
            self.task = self.progress.add_task(
                f"{s.cell:>4} D={s.distance:<3}", total=s.steps, loss=s.loss
            )
        if s.step % 10 == 0 or s.step == s.steps:
            self.progress.update(self.task, completed=s.step, loss=s.loss)

    def on_result(self, cell: str, distance: int, accuracy: float, seconds: float) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress, self.task, self._run = None, None, None
        self.console.print(
            f"{cell:>4}  D={distance:<3}  accuracy {accuracy:6.1%}  ({seconds:.1f} s)"
        )

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def chance_bar(value: float, chance: float, width: int = 16) -> str:
    """:func:`~lstmcli.render.bar` of ``width`` cells with ``┆`` where chance lies, if empty."""
    s = bar(value, width).ljust(width)
    at = min(round(chance * width), width - 1)
    return s[:at] + "┆" + s[at + 1 :] if s[at] == " " else s


def _table(title: str, caption: str) -> Table:
    """The demo's tables: title and caption on the left, a bold header, a plain rule."""
    return Table(
        title=title,
        title_justify="left",
        caption=caption,
        caption_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
    )


def accuracy_table(console: Console, r: DemoResult) -> None:
    """Accuracy × distance × cell; chance marked in the caption and in the bars."""
    dc = r.config
    t = _table("accuracy on held-out episodes", f"chance = 1/{dc.k} = {dc.chance:.0%}, marked ┆")
    t.add_column("D", justify="right")
    for cell in CELLS:
        t.add_column(cell, no_wrap=True)
    for d in dc.distances:
        row: list = [str(d)]
        for cell in CELLS:
            a = r.accuracy[cell, d]
            style = "green" if a >= 0.9 else "red" if a <= dc.chance + 0.15 else "yellow"
            row.append(Text.assemble((f"{a:>4.0%} ", style), chance_bar(a, dc.chance)))
        t.add_row(*row)
    console.print(t)


def log_bar(value: float, floor: float, width: int = 18) -> str:
    """A bar for ``value`` in [floor, 1] on a log scale: empty at ``floor``, full at 1."""
    if value <= 0:
        return ""
    span = -math.log10(floor)
    return bar((math.log10(value) + span) / span if span > 0 else 1.0, width)


def gradient_table(console: Console, r: DemoResult) -> None:
    """‖∂loss/∂h‖ k steps before the answer, both cells, log-scale bars."""
    D = r.gradient_distance
    n = len(r.gradients[CELLS[0]])
    ks = [k for k in GRADIENT_KS if k <= D]
    if D not in ks:
        ks.append(D)
    if r.cue_k <= n:
        ks.append(r.cue_k)
    values = [v for cell in CELLS for v in r.gradients[cell] if v > 0]
    floor = 10 ** math.floor(math.log10(min(values))) if values else 1e-1
    t = _table(
        f"gradient flow at D = {D}: ‖∂loss/∂h‖ k steps before the answer",
        f"relative to k = 1, log scale: an empty bar is {floor:.0e}, a full one 1",
    )
    t.add_column("k", justify="right")
    t.add_column("", no_wrap=True)
    for cell in CELLS:
        t.add_column(cell, no_wrap=True)
    for k in ks:
        at = "cake" if k == r.cue_k else "ケーキは" if k == 1 else "= D" if k == D else ""
        row = [str(k), at]
        for cell in CELLS:
            v = r.gradients[cell][k - 1]
            row.append(f"{v:7.1e} {log_bar(v, floor)}")
        t.add_row(*row)
    console.print(t)


def example_table(console: Console, ex: Example) -> None:
    """One LSTM episode at the cue, the filler's ends and the question: f and c per unit."""
    tw = min(18, max(cell_len(ex.tokens[p]) for p in ex.positions if p is not None))
    pw = len(str(len(ex.tokens) - 1))
    head = " " * (pw + 1 + tw) + "".join(f"{'unit ' + str(u):>{2 * T.CELL + 1}}" for u in ex.units)
    sub = " " * (pw + 1 + tw) + "".join(f"{'f':>{T.CELL}}{'c':>{T.CELL}} " for _ in ex.units)
    lines = [Text(head, style="bold"), Text(sub, style="bold")]
    row = 0
    for p in ex.positions:
        if p is None:
            lines.append(Text(" " * pw + " " + "…", style="dim"))
            continue
        token = ex.tokens[p]
        shown = token if cell_len(token) <= tw else set_cell_size(token, tw - 1) + "…"
        line = Text(f"{p:>{pw}} {set_cell_size(shown, tw)}")
        if token == f"{ex.answer}を":
            line.stylize("bold")
        for j in range(len(ex.units)):
            f, c = float(ex.f[row, j]), float(ex.c[row, j])
            line.append(f"{fmt(f):>{T.CELL}}", cell_style(f, "f"))
            line.append(f"{fmt(c):>{T.CELL}}", cell_style(c, "c"))
            line.append(" ")
        lines.append(line)
        row += 1
    ok = "right" if ex.predicted == ex.answer else "wrong"
    console.print(
        Text.assemble(
            ("one lstm episode, traced", "bold"),
            f": the units that hold the cake (forget gate f, cell c; {len(ex.tokens)} tokens)",
        )
    )
    console.print(Text("\n").join(lines), no_wrap=True, overflow="crop")
    console.print(
        f"→ predicts {ex.predicted} (p = {ex.prob:.2f}), {ok}: the answer is {ex.answer}. "
        "A forget gate near 1 across the filler lets c carry the cue to the question."
    )


def verdict(console: Console, r: DemoResult) -> None:
    """One line: the longest distance, both cells, against chance."""
    d = max(r.config.distances)
    lstm, rnn = r.accuracy["lstm", d], r.accuracy["rnn", d]
    console.print(
        f"[bold]at D = {d}[/] the lstm answers {lstm:.0%} right, the simple rnn {rnn:.0%} "
        f"(chance {r.config.chance:.0%})."
    )


def show(console: Console, r: DemoResult) -> None:
    """Everything ``lstm demo long-range`` prints after training."""
    console.print()
    accuracy_table(console, r)
    console.print()
    gradient_table(console, r)
    if r.example is not None:
        console.print()
        example_table(console, r.example)
    console.print()
    verdict(console, r)
