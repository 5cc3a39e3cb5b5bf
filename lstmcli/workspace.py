"""Reusable scratch buffers for the forward and backward passes.

Training calls the same shapes thousands of times; allocating fresh (T, B, 4H) and
(B·T, V) arrays each time costs page faults and memory traffic. A :class:`Workspace` hands
out one buffer per name and keeps it while the shape and dtype stay the same; when the
shape changes (a window of another length T), a smaller request is served from the
memory already held, so windows of varying length do not reallocate. It is owned by
whoever runs the model (the trainer, an evaluator) and passed explicitly; arrays it
returns are overwritten by the next call that asks for the same name.
"""

from __future__ import annotations

import math

import numpy as np


class Workspace:
    """Named scratch arrays, reallocated only when a shape or dtype changes."""

    def __init__(self) -> None:
        self._bufs: dict[str, np.ndarray] = {}
        self._flat: dict[str, np.ndarray] = {}  # the memory behind each name's buffer

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
        """An uninitialised C-contiguous array of ``shape`` and ``dtype`` kept under ``name``."""
        buf = self._bufs.get(name)
        if buf is None or buf.shape != tuple(shape) or buf.dtype != np.dtype(dtype):
            n = math.prod(shape)
            flat = self._flat.get(name)
            if flat is None or flat.dtype != np.dtype(dtype) or flat.size < n:
                flat = self._flat[name] = np.empty(n, dtype=dtype)  # grows, never shrinks
            buf = self._bufs[name] = flat[:n].reshape(shape)
        return buf

    def zeros(self, name: str, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
        """Like :meth:`get`, filled with zeros."""
        buf = self.get(name, shape, dtype)
        buf.fill(0)
        return buf

    def kept(self, name: str, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
        """A buffer whose contents carry over from one call to the next: zeros when it is
        first made (or its shape or dtype changes), otherwise as the last caller left it."""
        key = f"kept:{name}"
        buf = self._bufs.get(key)
        if buf is None or buf.shape != tuple(shape) or buf.dtype != np.dtype(dtype):
            buf = np.zeros(shape, dtype=dtype)
            self._bufs[key] = buf
        return buf

    def nbytes(self) -> int:
        """Bytes held by all buffers."""
        held = sum(b.nbytes for b in self._flat.values())
        return held + sum(b.nbytes for k, b in self._bufs.items() if k.startswith("kept:"))
