"""What the gates and memory panels of ``lstm live`` draw, as plain tuples of floats.

Both read a :class:`~lstmcli.tape.Tape` at its last position, the last token fed before
the cursor (the one the suggestions follow):

- :func:`gates`: f, i and o of that token for the units that vary most over the text
  (summed std over time, as ``lstm trace`` picks them); for the rnn cell its h, the only
  thing it has;
- :func:`memory`: the cell state c split by the token that wrote it
  (:func:`lstmcli.memory.decompose`): per token its share of the memory and how much of
  what it wrote is left — the bars of ``lstm trace --memory`` — for the last ``rows``
  tokens, with the share of those before them and the largest share of all. None for the
  rnn cell.

Both read the whole text through a :class:`~lstmcli.tapestats.TapeStats` of the tape,
which keeps its sums by block: a session's, kept between keys, costs a key typed at the end
of a long text its last block and the rows drawn (without one, a fresh one sums them all).

Tuples, not arrays, so a widget's reactive attribute can tell whether anything changed.
Nothing here imports Textual or Rich.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from lstmcli import memory as M
from lstmcli.tape import Tape
from lstmcli.tapestats import BLOCK, TapeStats


class Gates(NamedTuple):
    """Gate values of one layer at one position: ``rows`` holds (gate, values per unit)."""

    layer: int
    position: int
    token: str
    cell: str
    units: tuple[int, ...]
    rows: tuple[tuple[str, tuple[float, ...]], ...]


MAX_UNITS = 64  # more columns than a terminal has room for
MAX_ROWS = 200  # memory rows: more lines than a terminal has


def gates(
    tape: Tape,
    tokens: Sequence[str],
    layer: int,
    n: int = MAX_UNITS,
    stats: TapeStats | None = None,
) -> Gates:
    """The last token's f, i, o (rnn: h) for the ``n`` units that vary most over the text
    (the summed std over time of :func:`lstmcli.trace.varying_units`), the most varying
    first (a panel shows as many as fit)."""
    stats = TapeStats(tape) if stats is None else stats
    record = tape.layers[layer]
    n = max(1, min(n, tape.cfg.hidden_size))
    score = stats.std(layer).sum(axis=0)
    units = tuple(int(u) for u in np.argsort(-score, kind="stable")[:n])
    t = len(tape) - 1
    rows = tuple((g, tuple(record[g][t, list(units)].tolist())) for g in stats.gates)
    return Gates(layer, t, tokens[t], tape.cfg.cell, units, rows)


class MemoryRow(NamedTuple):
    position: int
    token: str
    share: float  # ‖kept_s‖₁ over the sum for all tokens
    left: float  # ‖kept_s‖₁ / ‖written_s‖₁


class Memory(NamedTuple):
    """One layer's memory at ``position``: a row per token for the last tokens up to it,
    ``held`` the share of the tokens before them, ``top`` the largest share of all."""

    layer: int
    position: int
    token: str
    rows: tuple[MemoryRow, ...]
    held: float
    top: float


def memory(
    tape: Tape,
    tokens: Sequence[str],
    layer: int,
    rows: int = MAX_ROWS,
    stats: TapeStats | None = None,
) -> Memory | None:
    """The memory c at the last position split by token, the last ``rows`` tokens'
    shares; None for the rnn cell.

    The tokens from a block's end b (the last one at least ``rows`` tokens from the end)
    on are split as ``lstm trace --memory`` splits the whole text (float32: the same kept
    terms); those before b enter as the state before b: their magnitudes m(b), carried by
    the same forget gates, are the split's initial part, whose share of the total is
    theirs (the total equals the whole split's up to float rounding). The largest share of
    all is that of a token from b on unless the bound on those before
    (:mod:`lstmcli.tapestats`) says one of them may have more: then b moves back. With b =
    0 the numbers are the whole split's.
    """
    if tape.cfg.cell != "lstm":
        return None
    stats = TapeStats(tape) if stats is None else stats
    record, n, rows = tape.layers[layer], len(tape), max(1, rows)
    b = max(0, n - rows) // BLOCK * BLOCK
    while True:
        before = stats.before(layer, b).memory
        tail = {name: x[b:] for name, x in record.items()}
        mem = M.decompose(tail, c0=before.mass if b else None, dtype=np.float32)
        s = M.summarise(mem)
        top = float(s.share.max())
        if b == 0:
            break
        # the most any token before b may hold, as a share
        carry = np.prod(tail["f"], axis=0, dtype=np.float64)
        total = float(np.abs(mem.kept).sum(axis=-1).sum() + np.abs(mem.initial).sum())
        if float(carry @ before.peak) / total * (1 + 1e-4) <= top:
            break
        b = max(0, b - max(BLOCK, n - b) // BLOCK * BLOCK)  # twice the tail
    lo = max(0, n - rows)
    shown = tuple(
        MemoryRow(p, tokens[p], share, kept)
        for p, share, kept in zip(
            range(lo, n), s.share[lo - b :].tolist(), s.retained[lo - b :].tolist(), strict=True
        )
    )
    held = float(1.0 - s.share[lo - b :].sum(dtype=np.float64))
    return Memory(layer, n - 1, tokens[n - 1], shown, max(0.0, held), top)
