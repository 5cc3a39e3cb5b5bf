"""Token streams for truncated BPTT: splits, parallel streams and windows.

A corpus is one int32 id array. :func:`batchify` cuts it into B parallel streams laid
out as columns of a time-major (N // B, B) array, as PyTorch's word_language_model does;
:func:`windows` walks down the rows T at a time, giving inputs x and targets y (x shifted
by one step). State flows from one window to the next within an epoch.
"""

from __future__ import annotations

from collections.abc import Iterator

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
