"""``lstm trace`` on screen: colour tables of the gates, legend, summary, export.

Rows are tokens, columns hidden units; each cell prints its value (``.93``, ``-.41``)
on a background colour, so the table reads the same without colour (``NO_COLOR``, a pipe,
a 16-colour terminal). Gates in [0, 1] (i, f, o) use viridis, perceptually uniform and
colour-blind safe; signed values (g, c, h) use ColorBrewer's diverging RdBu, clamped to
[−1, 1] (c can go beyond; its printed value stays exact to two digits).

Lines are built by hand with :func:`rich.cells.set_cell_size`, so wide (CJK) tokens take
two cells each and stay aligned. Rich's SVG export gives every character one cell of
advance, which squeezes wide characters; :func:`fix_svg` places each character at its cell.
"""

from __future__ import annotations

import functools
import html
import io
import re
from pathlib import Path

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lstmcli import trace as T
from lstmcli.errors import LstmError

# viridis at 0, 1/8, …, 1 (the 9-colour sample of matplotlib's viridis map)
VIRIDIS = ("#440154", "#472d7b", "#3b528b", "#2c728e", "#21908c",
           "#27ad81", "#5dc863", "#aadc32", "#fde725")  # fmt: skip
# ColorBrewer RdBu (11 classes), blue for −1 through white at 0 to red for +1
RDBU = ("#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
        "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f")  # fmt: skip

ABOUT = {
    "f": "forget gate: 1 keeps the memory c, 0 erases it",
    "i": "input gate: how much of the candidate g is written into c",
    "o": "output gate: how much of tanh(c) is exposed as h",
    "g": "candidate: what could be written into c",
    "c": "cell state, the long-term memory: c = f·c₋₁ + i·g",
    "h": "hidden state, what the layer above sees: h = o·tanh(c)",
}
RNN_H = "hidden state: h = tanh(W·x + U·h₋₁ + b)"
EXPORTS = (".svg", ".html", ".htm")


def make_console(width: int | None = None, record: bool = False, silent: bool = False) -> Console:
    """The console to draw on; ``silent`` draws into memory only (for an export)."""
    return Console(
        highlight=False, width=width, record=record, file=io.StringIO() if silent else None
    )


def _rgb(hexcode: str) -> tuple[int, int, int]:
    return int(hexcode[1:3], 16), int(hexcode[3:5], 16), int(hexcode[5:7], 16)


def colour(value: float, gate: str) -> str:
    """``#rrggbb`` for a value: viridis on [0, 1] for i f o, RdBu on [−1, 1] for g c h."""
    stops, lo = (VIRIDIS, 0.0) if gate in T.UNIT_RANGE else (RDBU, -1.0)
    x = min(max((value - lo) / (1.0 - lo), 0.0), 1.0) * (len(stops) - 1)  # clamp, then scale
    k = min(int(x), len(stops) - 2)
    a, b, w = _rgb(stops[k]), _rgb(stops[k + 1]), x - k
    return "#" + "".join(f"{round(p + (q - p) * w):02x}" for p, q in zip(a, b, strict=True))


def cell_style(value: float, gate: str) -> str:
    """Background colour with black or white text, whichever reads better on it."""
    return _style(round(value, 3), gate in T.UNIT_RANGE)


@functools.lru_cache(maxsize=8192)
def _style(value: float, unit_range: bool) -> str:
    bg = colour(value, "f" if unit_range else "c")
    r, g, b = _rgb(bg)
    fg = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "white"
    return f"{fg} on {bg}"


def fmt(v: float) -> str:
    """A value in at most four characters: ``.93``, ``-.41``, ``1.0``, ``-2.4``, ``12``."""
    r = round(v, 2)
    if abs(r) < 1:
        s = f"{r:.2f}".replace("0.", ".", 1)
        return ".00" if s == "-.00" else s
    return f"{v:.1f}" if abs(v) < 9.95 else f"{v:.0f}"


def scale(gate: str, every: int = 1) -> tuple[str, Text, str]:
    """The colour scale ``gate`` is drawn on: a label, a strip of sample values on their
    colours (every ``every``-th of 0, .1, … 1 or −1, −.75, … 1), and a description."""
    if gate in T.UNIT_RANGE:
        label, values, about = "  0…1", [v / 10 for v in range(0, 11, every)], VIRIDIS_ABOUT
    else:
        label, values, about = "−1…1", [v / 4 for v in range(-4, 5, every)], RDBU_ABOUT
    strip = Text.assemble(*((f"{fmt(v):>{T.CELL}}", cell_style(v, gate)) for v in values))
    return label, strip, about


VIRIDIS_ABOUT = "viridis (i f o): dark 0 → yellow 1"
RDBU_ABOUT = "blue − · white 0 · red + (g c h), clamped at ±1"


def legend(console: Console, gates: tuple[str, ...]) -> None:
    """One coloured, labelled strip per scale in use; its description beside it if it fits."""
    shown = [g for g in ("f", "c") if any((x in T.UNIT_RANGE) == (g == "f") for x in gates)]
    for gate in shown:  # the [0, 1] scale first, then the signed one
        label, strip, about = scale(gate)
        line = Text.assemble((label + "  ", "bold"), strip)
        if line.cell_len + 2 + len(about) <= console.width:
            console.print(Text.assemble(line, "  ", about))
        else:
            console.print(line)
            console.print(Text(" " * 7 + about))


def _header(console: Console, tr: T.Trace, view: T.View) -> None:
    L, H = len(tr.layers), tr.layers[0]["h"].shape[1]
    console.print(
        Text.assemble(
            (f"{tr.cell} · {L} layer{'s' * (L > 1)} × {H} units · {len(tr.tokens)} tokens", "bold")
        )
    )
    if tr.cell == "rnn":
        console.print(Text(f"the rnn cell has no gates: showing its {RNN_H}"))
    if tr.unknown:
        words = ", ".join(sorted(set(tr.unknown)))
        console.print(Text(f"not in the vocabulary, read as <unk>: {words}"), soft_wrap=True)
    for note in view.notes:
        console.print(Text.assemble(("note: ", "yellow"), note), soft_wrap=True)


def gate_block(tr: T.Trace, view: T.View, k: int, units: tuple[int, ...], gate: str) -> Text:
    """One gate table: a header line of unit numbers, then one line per token."""
    pw = len(str(view.hi - 1))
    toks = tr.tokens[view.lo : view.hi]
    tw = min(T.MAX_TOKEN, max(cell_len(t) for t in toks))
    lines = [Text(" " * (pw + 1 + tw) + "".join(f"{u:>{T.CELL}}" for u in units), style="bold")]
    x = tr.layers[k][gate][view.lo : view.hi][:, list(units)]
    for row, (t, token) in enumerate(zip(range(view.lo, view.hi), toks, strict=True)):
        shown = token if cell_len(token) <= tw else set_cell_size(token, tw - 1) + "…"
        line = Text(f"{t:>{pw}} {set_cell_size(shown, tw)}")
        for v in x[row].tolist():
            line.append(f"{fmt(v):>{T.CELL}}", cell_style(v, gate))
        lines.append(line)
    return Text("\n").join(lines)


def tables(console: Console, tr: T.Trace, view: T.View) -> None:
    """One colour table per layer and gate; units beyond the width go to further blocks."""
    pw = len(str(view.hi - 1)) + 1
    tw = min(T.MAX_TOKEN, max(cell_len(t) for t in tr.tokens[view.lo : view.hi]))
    per = max(1, (console.width - pw - tw) // T.CELL)
    about = {**ABOUT, "h": RNN_H} if tr.cell == "rnn" else ABOUT
    for k, units in zip(view.layers, view.units, strict=True):
        for gate in view.gates:
            console.print()
            console.print(Text.assemble((f"layer {k} · {gate}", "bold"), f"  {about[gate]}"))
            for n in range(0, len(units), per):
                block = gate_block(tr, view, k, units[n : n + per], gate)
                console.print(block, no_wrap=True, overflow="crop")


def show(
    console: Console, tr: T.Trace, view: T.View, *, summary=False, explain=False,
    numbers=False, memory=None,
) -> None:  # fmt: skip
    """Everything ``lstm trace`` prints: the colour tables, or --summary / --explain (with the
    ``numbers`` of the view's units) / --memory (a :class:`lstmcli.memview.Pick`)."""
    from lstmcli import memview  # it draws with this module's scales

    _header(console, tr, view)
    if not (summary or explain or memory):
        console.print()
        legend(console, view.gates)
        tables(console, tr, view)
    if summary:
        summary_tables(console, tr, view)
    if memory:
        memview.memory_view(console, tr, view.layers, *memory)
    if explain:
        memview.explanation(console, tr, view, numbers)


def summary_tables(console: Console, tr: T.Trace, view: T.View) -> None:
    """Per token: mean gate values, saturated fractions, the guess and the loss; per layer:
    saturation over the whole text."""
    gates = T.summary_gates(tr)
    for k in view.layers:
        lo_, hi_ = T.thresholds(gates[0])
        lo_s, hi_s = fmt(lo_), fmt(hi_)
        console.print()
        console.print(
            Text.assemble(
                (f"layer {k}", "bold"),
                f"  mean, share of units < {lo_s} and > {hi_s}, top guess for the next token, "
                "loss on the real one",
            )
        )
        t = Table(box=None, header_style="bold", pad_edge=False)
        t.add_column("pos", justify="right")
        t.add_column("token", no_wrap=True, max_width=T.MAX_TOKEN, overflow="ellipsis")
        for g in gates:
            t.add_column(g, justify="right")
        for g in gates:
            t.add_column(f"{g}<{lo_s}", justify="right")
            t.add_column(f"{g}>{hi_s}", justify="right")
        t.add_column("next", no_wrap=True, max_width=10, overflow="ellipsis")
        t.add_column("p", justify="right")
        t.add_column("loss", justify="right")
        for r in T.token_rows(tr, k, view.lo, view.hi):
            sat = [fmt(v) for g in gates for v in (r.left[g], r.right[g])]
            loss = "—" if r.loss is None else f"{r.loss:.2f}"
            means = [Text(fmt(r.mean[g]), cell_style(r.mean[g], g)) for g in gates]
            t.add_row(
                str(r.position), Text(r.token), *means, *sat, Text(r.guess), fmt(r.prob), loss
            )
        console.print(t)
        console.print()
        console.print(
            Text.assemble((f"layer {k}", "bold"), f"  whole text ({len(tr.tokens)} tokens)")
        )
        s = Table(box=None, header_style="bold", pad_edge=False)
        for name in ("gate", "mean", f"< {lo_s}", f"> {hi_s}", "units mostly <", "units mostly >"):
            s.add_column(name, justify="right")
        for g in T.layer_saturation(tr, k):
            s.add_row(
                g.gate, fmt(g.mean), f"{g.left:.0%}", f"{g.right:.0%}",
                f"{g.units_left} of {g.units}", f"{g.units_right} of {g.units}",
            )  # fmt: skip
        console.print(s)


# ---- export

_SVG_TEXT = re.compile(
    r'<text class="([^"]+)" x="([\d.]+)" y="([\d.]+)" textLength="([\d.]+)"([^>]*)>([^<]*)</text>'
)


def fix_svg(svg: str) -> str:
    """Give wide characters their two cells in Rich's SVG.

    Rich writes each run of text as ``<text x=… textLength=len(run)·w>`` with w the cell
    width, so a browser squeezes a run holding wide characters into half its cells while
    the background rectangles (sized by cell width) stay right. For such runs this sets
    one x position per character, at its cell (a wide glyph centred in its two cells), and
    drops the textLength.
    """

    def one(m: re.Match) -> str:
        cls, x, y, length, rest, body = m.groups()
        text = html.unescape(body)
        if not text or cell_len(text) == len(text):
            return m.group(0)
        w, pos, xs = float(length) / len(text), float(x), []
        centre = (2 * w - w / 0.61) / 2  # a 1 em wide glyph in its 2 cells (Rich: w = 0.61 em)
        for ch in text:
            wide = cell_len(ch) == 2
            xs.append(f"{pos + centre * wide:.6g}")
            pos += w * cell_len(ch)
        body = html.escape(text).replace(" ", "&#160;")
        return f'<text class="{cls}" x="{" ".join(xs)}" y="{y}"{rest}>{body}</text>'

    return _SVG_TEXT.sub(one, svg)


_WIDE = re.compile(r"[^\x00-\u10ff]")


def fix_html(page: str) -> str:
    """Pin each wide character in Rich's HTML to two cells (``2ch``), as a terminal shows it."""
    css = ".w{display:inline-block;width:2ch;text-align:center}"
    page = page.replace("</style>", css + "\n</style>", 1)
    head, sep, body = page.partition("<body")

    def one(m: re.Match) -> str:
        ch = m.group(0)
        return f'<span class="w">{ch}</span>' if cell_len(ch) == 2 else ch

    return head + sep + _WIDE.sub(one, body)


def check_export(path: Path) -> None:
    if path.suffix.lower() not in EXPORTS:
        raise LstmError(f"cannot export to {path.name!r}: give a file ending in .svg or .html")


def export(console: Console, path: Path) -> None:
    """Write what ``console`` recorded as SVG or HTML (wide characters fixed)."""
    check_export(path)
    if path.suffix.lower() == ".svg":
        data = fix_svg(console.export_svg(title="lstm trace", clear=False))
    else:
        data = fix_html(console.export_html(inline_styles=True, clear=False))
    try:
        path.write_text(data, encoding="utf-8")
    except OSError as e:
        raise LstmError(
            f"cannot write {path}: {e.strerror}; choose another --export path"
        ) from None
