"""What the gates and memory panels of ``lstm live`` draw, as plain tuples of floats.

Both read a :class:`~lstmcli.tape.Tape` at its last position, the last token fed before
the cursor (the one the suggestions follow):

- :func:`gates`: f, i and o of that token for the units that vary most over the text
  (summed std over time, as ``lstm trace`` picks them); for the rnn cell its h, the only
  thing it has;
- :func:`memory`: the cell state c split by the token that wrote it
  (:func:`lstmcli.memory.decompose`): per token its share of the memory and how much of
  what it wrote is left — the bars of ``lstm trace --memory``. None for the rnn cell.

Tuples, not arrays, so a widget's reactive attribute can tell whether anything changed.
Nothing here imports Textual or Rich.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lstmcli import memory as M
from lstmcli import trace as T
from lstmcli.tape import Tape


class Gates(NamedTuple):
    """Gate values of one layer at one position: ``rows`` holds (gate, values per unit)."""

    layer: int
    position: int
    token: str
    cell: str
    units: tuple[int, ...]
    rows: tuple[tuple[str, tuple[float, ...]], ...]


MAX_UNITS = 64  # more columns than a terminal has room for


def gates(tape: Tape, tokens: list[str], layer: int, n: int = MAX_UNITS) -> Gates:
    """The last token's f, i, o (rnn: h) for the ``n`` units that vary most over the text,
    the most varying first (a panel shows as many as fit)."""
    record = tape.layers[layer]
    cell = tape.cfg.cell
    names = T.DEFAULT_GATES if cell == "lstm" else ("h",)
    n = max(1, min(n, tape.cfg.hidden_size))
    units = T.varying_units(record, names, n)
    t = len(tape) - 1
    rows = tuple((g, tuple(record[g][t, list(units)].tolist())) for g in names)
    return Gates(layer, t, tokens[t], cell, units, rows)


class MemoryRow(NamedTuple):
    position: int
    token: str
    share: float  # ‖kept_s‖₁ over the sum for all tokens
    left: float  # ‖kept_s‖₁ / ‖written_s‖₁


class Memory(NamedTuple):
    """One layer's memory at ``position``, one row per token up to it."""

    layer: int
    position: int
    token: str
    rows: tuple[MemoryRow, ...]


def memory(tape: Tape, tokens: list[str], layer: int) -> Memory | None:
    """The memory c at the last position split by token; None for the rnn cell."""
    if tape.cfg.cell != "lstm":
        return None
    s = M.summarise(M.decompose(tape.layers[layer], dtype=np.float32))  # shares to show
    rows = tuple(
        MemoryRow(p, tokens[p], share, left)
        for p, (share, left) in enumerate(zip(s.share.tolist(), s.retained.tolist(), strict=True))
    )
    t = len(tape) - 1
    return Memory(layer, t, tokens[t], rows)
