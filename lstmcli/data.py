"""Token streams for truncated BPTT: splits, parallel streams and windows.

A corpus is one int32 id array. :func:`batchify` cuts it into B parallel streams laid
out as columns of a time-major (N // B, B) array, as PyTorch's word_language_model does;
:func:`windows` walks down the rows T at a time, giving inputs x and targets y (x shifted
by one step). State flows from one window to the next within an epoch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from lstmcli.errors import DataError


def split_tail(ids: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Keep the first (1 − fraction) of the ids for training, the rest for validation."""
    if not 0.0 < fraction < 1.0:
        raise DataError(f"validation fraction must be in (0, 1), got {fraction}")
    n_valid = max(2, round(len(ids) * fraction))
    if len(ids) - n_valid < 2:
        raise DataError(
            f"corpus of {len(ids)} tokens is too small to split off a validation part; "
            "give more text or a separate --valid file"
        )
    return ids[:-n_valid], ids[-n_valid:]


def batchify(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """Cut ids into ``batch_size`` contiguous streams: (N // B, B), stream b in column b.

    The last N mod B tokens are dropped.
    """
    n = len(ids) // batch_size
    if n < 2:
        raise DataError(
            f"{len(ids)} tokens are too few for batch size {batch_size}: each stream needs "
            f"at least 2 tokens; use a batch size of at most {max(1, len(ids) // 2)}"
        )
    return ids[: n * batch_size].reshape(batch_size, n).T  # a view: no copy of the corpus


def num_windows(data: np.ndarray, seq_len: int) -> int:
    """How many windows :func:`windows` yields for (N, B) data."""
    return -(-(len(data) - 1) // seq_len)


def windows(
    data: np.ndarray, seq_len: int, start: int = 0
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield (index, x, y) windows of at most ``seq_len`` rows, from window ``start`` on.

    x = data[i : i+T], y = data[i+1 : i+1+T]; the last window may be shorter.
    """
    n = num_windows(data, seq_len)
    for k in range(start, n):
        i = k * seq_len
        T = min(seq_len, len(data) - 1 - i)
        yield k, data[i : i + T], data[i + 1 : i + 1 + T]


# --- lines: each read from a zero state ---------------------------------------------------
#
# In line mode a batch is B lines of the corpus side by side, each started from the zero
# state and fed as ``lstm predict`` feeds a prompt: the <eos> that ended the line before,
# then its tokens. Line j of the stream ``ids`` is ids[start[j] : start[j] + size[j]], its
# tokens and the <eos> that ends it; it gives size[j] steps,
#
#     x = [<eos>, w_1, …, w_n]        y = [w_1, …, w_n, <eos>]        (size = n + 1)
#
# Lines of about the same length share a batch (bucketing), so little is padding; the
# padded steps get mask 0, which takes them out of the loss and the gradients. A line
# longer than T goes on in further windows of the same batch, its state carried.

_BUCKET = 64  # lines are sorted by length within groups of _BUCKET · B, then batched


class Lines(NamedTuple):
    """The lines of a token stream: line j is ``ids[start[j] : start[j] + size[j]]``."""

    ids: np.ndarray  # (N,) the stream, an <eos> after each line
    start: np.ndarray  # (n,) int64
    size: np.ndarray  # (n,) int64: the line's tokens and its <eos>; the steps it gives
    eos: int = 0  # the id of <eos>: fed first, and on padding

    def __len__(self) -> int:
        return len(self.start)

    @property
    def tokens(self) -> int:
        """Steps (scored tokens) over all lines."""
        return int(self.size.sum())


def split_lines(ids: np.ndarray, eos_id: int) -> Lines:
    """The lines of ``ids``: the runs that end at each ``<eos>`` (the last may end without
    one, where a validation split cut the stream). Lone ``<eos>`` tokens give no line."""
    ends = np.flatnonzero(ids == eos_id) + 1
    if len(ends) == 0 or ends[-1] != len(ids):
        ends = np.r_[ends, len(ids)]
    starts = np.r_[0, ends[:-1]]
    size = ends - starts
    keep = (size > 1) | (ids[np.minimum(starts, len(ids) - 1)] != eos_id)
    return Lines(ids, starts[keep].astype(np.int64), size[keep].astype(np.int64), eos_id)


def concat_lines(parts: list[Lines]) -> Lines:
    """The lines of several streams as one, in order (their streams concatenated)."""
    offsets = np.cumsum([0] + [len(p.ids) for p in parts[:-1]])
    return Lines(
        np.concatenate([p.ids for p in parts]),
        np.concatenate([p.start + o for p, o in zip(parts, offsets, strict=True)]),
        np.concatenate([p.size for p in parts]),
        parts[0].eos,
    )


def line_batches(
    lines: Lines, pool: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """One pass over the lines ``pool`` (indices into ``lines``) in batches of at most B.

    The pool is shuffled, sorted by length within groups of 64·B lines, cut into batches
    of B (only the very last may be smaller) and the batches shuffled.
    """
    order = rng.permutation(pool)
    group = _BUCKET * batch_size
    batches = []
    for g in range(0, len(order), group):
        chunk = order[g : g + group]
        chunk = chunk[np.argsort(lines.size[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


class Staged(NamedTuple):
    """Lines taught in stages: stage k trains on the first ``ends[k]`` lines for
    ``steps[k]`` updates, then the epochs run over all of them. Without stages, the lines
    alone."""

    lines: Lines
    names: tuple[str, ...] = ()
    ends: tuple[int, ...] = ()  # nondecreasing: each stage keeps the earlier ones' lines
    steps: tuple[int, ...] = ()


class LineWindow(NamedTuple):
    """One window of a line batch: time-major x, y and mask (T, B); ``fresh`` when it is
    the batch's first window, whose state starts at zero."""

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray  # 1 where x[t, b] is a step of line b, 0 on padding
    fresh: bool


class LinePlan:
    """The windows of a sequence of line batches: window k is window w of batch b.

    A batch whose longest line has L steps gives ⌈L / T⌉ windows. ``limit`` cuts the plan
    after that many windows (a stage that lasts a number of updates).
    """

    def __init__(
        self, lines: Lines, batches: list[np.ndarray], seq_len: int, limit: int | None = None
    ) -> None:
        self.lines, self.batches, self.seq_len = lines, batches, seq_len
        longest = np.array([lines.size[b].max() for b in batches], dtype=np.int64)
        per_batch = -(-longest // seq_len)
        self._first = np.r_[0, np.cumsum(per_batch)]  # window index where batch b begins
        total = int(self._first[-1])
        self.n_windows = total if limit is None else min(total, limit)

    def __len__(self) -> int:
        return self.n_windows

    def window(self, k: int, dtype=np.int32) -> LineWindow:
        """Window k: rows t of x, y and mask are steps wT + t of the batch's lines."""
        b = int(np.searchsorted(self._first, k, side="right")) - 1
        w = k - int(self._first[b])
        idx = self.batches[b]
        size, start = self.lines.size[idx], self.lines.start[idx]
        T = min(self.seq_len, int(size.max()) - w * self.seq_len)
        p = np.arange(w * self.seq_len, w * self.seq_len + T)[:, None]  # (T, 1) steps
        mask = p < size[None, :]  # (T, B)
        ids, eos, last = self.lines.ids, self.lines.eos, len(self.lines.ids) - 1
        y = np.where(mask, ids[np.minimum(start + p, last)], eos).astype(dtype)
        x = np.where(mask, ids[np.clip(start + p - 1, 0, last)], eos).astype(dtype)
        if w == 0:
            x[0] = eos  # the leading <eos>: the one that ended the line before
        return LineWindow(x, y, mask.astype(np.float32), w == 0)
