"""``lstm trace --memory`` and ``--explain`` on screen: the memory by token, in words.

The numbers come from :mod:`lstmcli.memory`; this module only lays them out. Earlier
tokens are named by their text, with their position as a subscript where the text occurs
more than once (の₂, の₅).
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lstmcli import memory as M
from lstmcli import trace as T
from lstmcli.render import bar
from lstmcli.traceview import RNN_H, cell_style, fmt

SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
CARRIERS = 8  # units listed for the cue


def names(tokens: list[str]) -> list[str]:
    """Each token's name in a sentence: its text, plus ``₅`` if the text is not unique."""
    counts = Counter(tokens)
    return [t if counts[t] == 1 else t + str(n).translate(SUB) for n, t in enumerate(tokens)]


def _pct(x: float) -> str:
    return f"{x:.0%}" if x >= 0.005 else "0%"


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# ---- --memory


class Pick(NamedTuple):
    """What --memory shows: token rows [lo, hi), the memory at hi − 1, the cue (None: the
    earlier token that holds most), and per layer :func:`lstmcli.why.memory_change` or None."""

    lo: int
    hi: int
    cue: int | None = None
    change: list[np.ndarray] | None = None


def verdict(s: M.Summary, name: list[str]) -> str:
    """The seed's sentence: which earlier tokens were kept, which forgotten."""
    kept = [f"{name[p]} ({_pct(s.retained[p])} of it left, {_pct(s.share[p])} of the memory)"
            for p in s.kept]  # fmt: skip
    gone = [f"{name[p]} ({_pct(s.retained[p])} left)" for p in s.forgotten]
    parts = []
    parts.append(f"kept {_listing(kept)}" if kept else "kept no earlier token well")
    parts.append(f"forgot {_listing(gone)}" if gone else "forgot no earlier token outright")
    return "; ".join(parts) + "."


def memory_table(
    tr: T.Trace, mem: M.Memory, s: M.Summary, lo: int, hi: int, cue: int,
    change: np.ndarray | None,
) -> Table:  # fmt: skip
    """Per token in [lo, hi): what it wrote, how much of it is left, its share of the memory
    (bar), how much c moves without it, and the unit where most of it sits (kept/c)."""
    t = Table(box=None, header_style="bold", pad_edge=False)
    t.add_column("pos", justify="right")
    t.add_column("token", no_wrap=True, max_width=T.MAX_TOKEN, overflow="ellipsis")
    t.add_column("wrote", justify="right", no_wrap=True)
    t.add_column("left", justify="right", no_wrap=True)
    t.add_column("share of c", no_wrap=True)
    if change is not None:
        t.add_column("without it", justify="right", no_wrap=True)
    t.add_column("mostly in (kept/c)", no_wrap=True)
    top = max(float(s.share.max()), 1e-12)
    for p in range(lo, hi):
        u = M.carriers(mem, p, 1)[0]
        row = [
            str(p), Text(tr.tokens[p], style="bold" if p == cue else ""), fmt(s.written[p]),
            _pct(s.retained[p]),
            Text.assemble((f"{bar(s.share[p] / top, 10):<10}", "cyan"), f" {_pct(s.share[p]):>4}"),
        ]  # fmt: skip
        if change is not None:
            row.append("—" if p == 0 else _pct(change[p - 1]))
        t.add_row(*row, f"u{u} {fmt(mem.kept[p, u])}/{fmt(mem.c[u])}")
    return t


def cue_table(mem: M.Memory, p: int, n: int = CARRIERS) -> Table:
    """The units holding most of what step p wrote: written × ∏f = kept, c, its share of c."""
    t = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("unit", "wrote i·g", "× ∏f since", "= kept", "c now", "share of unit"):
        t.add_column(col, justify="right")
    K = np.abs(mem.kept)
    for u in M.carriers(mem, p, n):
        w, kept = mem.written[p, u], mem.kept[p, u]
        after = kept / w if w else 1.0
        total = K[:, u].sum()
        t.add_row(
            f"u{u}", fmt(w), Text(fmt(after), cell_style(after, "f")), fmt(kept), fmt(mem.c[u]),
            _pct(K[p, u] / total if total else 0.0),
        )  # fmt: skip
    return t


def memory_view(
    console: Console, tr: T.Trace, layers: tuple[int, ...], lo: int, hi: int,
    cue: int | None = None, change: list[np.ndarray] | None = None,
) -> None:  # fmt: skip
    """--memory: per layer the table, the sentence, and the cue's units. ``change``: per
    layer, how much c at hi − 1 moves with each position 1 … hi − 1 occluded."""
    name = names(tr.tokens)
    console.print()
    console.print(Text(ABOUT_MEMORY + (ABOUT_CHANGE if change is not None else "")))
    for k in layers:
        mem = M.decompose(tr.layers[k], hi - 1)
        s = M.summarise(mem)
        p = M.cue(mem) if cue is None else cue
        moved = None if change is None else change[k]
        console.print()
        at = f"{hi - 1} {tr.tokens[hi - 1]}"
        console.print(Text.assemble((f"layer {k}", "bold"), f"  the memory c at {at}"))
        if lo > 0:
            before = _pct(float(s.share[:lo].sum()))
            console.print(Text(f"tokens 0–{lo - 1} (see them with --from 0) hold {before} of it"))
        console.print(memory_table(tr, mem, s, lo, hi, p, moved))
        words = verdict(s, name)
        if moved is not None and len(moved):
            j = int(np.argmax(moved[:-1])) if len(moved) > 1 else 0
            words += f" Without {name[j + 1]}, c would change most: by {_pct(moved[j])}."
        console.print(Text(words))
        how = "chosen with --cue" if cue is not None else "the earlier token that holds most"
        console.print()
        left, share = _pct(s.retained[p]), _pct(s.share[p])
        head = f" wrote ({how}; {left} of it left, {share} of the memory):"
        console.print(
            Text.assemble("units that carry what ", (f"{p} {tr.tokens[p]}", "bold"), head)
        )
        console.print(cue_table(mem, p))


ABOUT_MEMORY = (
    "c = Σ_s kept_s: each step s wrote i·g into the memory c, and the forget gates since "
    "left kept_s = (∏f)·i·g of it. wrote: Σ|i·g|; left: Σ|kept| / Σ|i·g|; share: Σ|kept| "
    "over the sum for all tokens (terms of opposite sign can cancel in c)."
)
ABOUT_CHANGE = (
    " without it: how much c moves, Σ|Δc| / Σ|c|, when the token is read as <unk> — what "
    "it wrote, and everything later steps wrote because of it."
)


# ---- --explain


def _wrote(st: M.Step) -> str:
    return f"wrote {_pct(st.wrote)} of the memory"


def _forgot(st: M.Step, name: list[str]) -> str:
    if st.position == 0:
        return "nothing to forget yet"
    if st.erased_total < M.NOTABLE:
        return "forgot almost nothing"
    total = float(st.erased_amount.sum())
    order = np.argsort(-st.erased_amount, kind="stable")
    hit = [int(s) for s in order[:2]
           if st.erased[s] >= 0.5 and st.erased_amount[s] >= 0.2 * total]  # fmt: skip
    if not hit:
        return f"forgot {_pct(st.erased_total)} of the memory, a little of many tokens"
    dropped = [f"{name[s]} ({_pct(st.erased[s])} of what was left of it)" for s in hit]
    return f"dropped {_listing(dropped)}"


def _exposed(st: M.Step, name: list[str]) -> str:
    if st.h_mean < M.NOTABLE:
        return f"exposed little (mean |h| {fmt(st.h_mean)})"
    order = np.argsort(-st.exposed, kind="stable")
    top = [int(s) for s in order[:2] if st.exposed[s] >= 0.2]
    if not top:
        return "exposed a mix of many tokens"
    shown = [f"{'itself' if s == st.position else name[s]} ({_pct(st.exposed[s])})" for s in top]
    return "exposed mostly " + _listing(shown)


def lstm_sentence(st: M.Step, name: list[str]) -> str:
    """One token's step in words: what it wrote, what it made the cell forget, what h shows."""
    return f"{_wrote(st)}; {_forgot(st, name)}; {_exposed(st, name)}."


def rnn_sentence(h: np.ndarray, t: int) -> str:
    """The rnn has no memory apart from h: how far this token moved it."""
    h0 = h[t - 1] if t else np.zeros_like(h[t])
    d = float(np.abs(h[t] - h0).mean())
    flips = int((np.sign(h[t]) != np.sign(h0)).sum()) if t else 0
    return f"moved h by {fmt(d)} per unit on average; {flips} of {len(h0)} units changed sign."


EXPLAIN_LSTM = (
    "Per token: how much of the memory c (Σ|i·g| after the step) is this step's write; which "
    "earlier tokens' memory the forget gate dropped (the share of what was left of each); "
    "whose memory h = o·tanh(c) shows (shares of h). A token names the step that wrote.",
)
UNITS_LSTM = "per unit: wrote i·g = i×g; f on the old c₋₁ forgot −(1−f)·c₋₁; exposed h = o×tanh c"


def _unit_rows(tr: T.Trace, k: int, t: int, units: tuple[int, ...]) -> list[tuple[str, str]]:
    """(label, numbers) per chosen unit at step t: the values behind the sentence."""
    r = tr.layers[k]
    rows = []
    for u in units:
        if tr.cell == "rnn":
            h0 = float(r["h"][t - 1, u]) if t else 0.0
            rows.append((f"u{u}", f"h {fmt(h0)} → {fmt(float(r['h'][t, u]))}"))
            continue
        i, f, g, o, c = (float(r[n][t, u]) for n in "ifgoc")
        c0 = float(r["c"][t - 1, u]) if t else 0.0
        rows.append(
            (
                f"u{u}",
                f"i·g {fmt(i * g):>4} = {fmt(i)}×{fmt(g):<4}  f {fmt(f)} on c₋₁ {fmt(c0):>4}: "
                f"{fmt(-(1 - f) * c0):>4}  h {fmt(float(r['h'][t, u])):>4} = "
                f"{fmt(o)}×{fmt(np.tanh(c))}",
            )
        )
    return rows


def explanation(console: Console, tr: T.Trace, view: T.View, numbers: bool = False) -> None:
    """--explain: per layer, per token one sentence; with ``numbers`` the chosen units' values."""
    console.print()
    if tr.cell == "lstm":
        for line in EXPLAIN_LSTM:
            console.print(Text(line))
        if numbers:
            console.print(Text(UNITS_LSTM))
    else:
        console.print(Text(f"the rnn cell has no gates and no memory c; {RNN_H}"))
    name = names(tr.tokens)
    for k, units in zip(view.layers, view.units, strict=True):
        console.print()
        console.print(Text(f"layer {k}", style="bold"))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(justify="right")
        grid.add_column(no_wrap=True, max_width=T.MAX_TOKEN, overflow="ellipsis")
        grid.add_column(overflow="fold")
        steps = M.steps(tr.layers[k], view.lo, view.hi) if tr.cell == "lstm" else None
        for n, t in enumerate(range(view.lo, view.hi)):
            if steps is None:
                words = rnn_sentence(tr.layers[k]["h"], t)
            else:
                words = lstm_sentence(steps[n], name)
            grid.add_row(str(t), Text(tr.tokens[t], style="bold"), Text(words))
            if numbers:
                for label, values in _unit_rows(tr, k, t, units):
                    grid.add_row("", Text(label, justify="right"), Text(values, style="dim"))
        console.print(grid)
