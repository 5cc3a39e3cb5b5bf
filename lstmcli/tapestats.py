"""Sums over every position of a :class:`~lstmcli.tape.Tape`, kept by block, so that a key
typed at the end of a long text costs the panels of ``lstm live`` its last block only.

Both panels read the whole text (:mod:`lstmcli.liveview`): the gates panel picks the units
whose gates vary most over it (the standard deviation over time, as
:func:`lstmcli.trace.varying_units`), and the memory panel, which draws the last tokens'
shares of the memory c, divides by the sum over all of them and scales its bars to the
largest. For each layer and each block of :data:`BLOCK` positions that the tape holds in
full, :class:`TapeStats` keeps, at the block's end b (over the positions s < b):

    count, mean, M2   of every gate, per unit (float64; M2 = Σ (x − mean)²), merged
                      block by block (Chan, Golub & LeVeque): std = √(M2 / count)
    mass   m(b)       Σ_s |kept_s|, per unit, what the memory holds at b − 1 summed in
                      magnitude: m_t = f_t ⊙ m_{t−1} + |i_t ⊙ g_t|
    peak   p(b)       max_s |kept_s|, per unit: p_t = max(f_t ⊙ p_{t−1}, |i_t ⊙ g_t|)

(kept_s as in :mod:`lstmcli.memory`; the forget gate is positive, so |kept_s| at a later
t is |kept_s| at b − 1 times the f's between.) The forget gates from b to the end, A =
∏_{b≤t≤T} f_t, then carry them to the last position T: the tokens before b hold
Σ_h A_h m_h(b) of the memory's magnitude there, and none of them more than Σ_h A_h p_h(b).

A block is computed once, when the tape first holds it in full, and dropped when the tape
truncates into it (:meth:`lstmcli.tape.Tape.unchanged`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lstmcli.tape import Tape

BLOCK = 256  # positions summed at a time


class Moments(NamedTuple):
    """Per gate, per unit, over ``count`` positions: the mean and M2 = Σ (x − mean)²
    (gates × H, float64)."""

    count: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray) -> Moments:
        """Of ``x`` (gates, T, H); T may be 0."""
        x = x.astype(np.float64)
        if x.shape[1] == 0:
            return cls(0, x.sum(axis=1), x.sum(axis=1))
        mean = x.mean(axis=1)
        return cls(x.shape[1], mean, ((x - mean[:, None]) ** 2).sum(axis=1))

    def merge(self, other: Moments) -> Moments:
        if not self.count or not other.count:
            return self if other.count == 0 else other
        n = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / n)
        return Moments(n, mean, self.m2 + other.m2 + delta**2 * (self.count * other.count / n))

    @property
    def std(self) -> np.ndarray:
        """(gates, H): the population standard deviation, as ``np.std``."""
        return np.sqrt(self.m2 / max(self.count, 1))


class Memory(NamedTuple):
    """Per unit (H,), float64, of what the memory holds after the positions s < b (see the
    module docstring): the magnitudes Σ_s |kept_s| and their largest max_s |kept_s|."""

    mass: np.ndarray
    peak: np.ndarray

    def then(self, f: np.ndarray, written: np.ndarray) -> Memory:
        """After the positions with forget gates ``f`` and writes i ⊙ g ``written`` (T, H)."""
        w = np.abs(written.astype(np.float64))
        after = np.ones_like(w)  # ∏ of the f's after each position, to the last
        if len(w) > 1:
            np.cumprod(f[:0:-1].astype(np.float64), axis=0, out=after[-2::-1])
        carry = after[0] * f[0]  # ∏ of all the f's
        kept = after * w
        return Memory(carry * self.mass + kept.sum(axis=0),
                      np.maximum(carry * self.peak, kept.max(axis=0)))  # fmt: skip


class Block(NamedTuple):
    """What one layer's positions before a block's end sum to."""

    moments: Moments  # of the gates named by TapeStats.gates
    memory: Memory | None  # None for the rnn cell


class TapeStats:
    """The sums of one tape's records, per layer, at the end of each full block."""

    def __init__(self, tape: Tape) -> None:
        self.tape = tape
        self.gates = ("f", "i", "o") if tape.cfg.cell == "lstm" else ("h",)
        self._blocks: list[list[Block]] = [[] for _ in range(tape.cfg.num_layers)]
        self._version = tape.version

    def _sync(self) -> None:
        """Drop the blocks the tape no longer holds as they were summed."""
        tape = self.tape
        if tape.version != self._version:
            full = tape.unchanged(self._version) // BLOCK
            for blocks in self._blocks:
                del blocks[full:]
            self._version = tape.version

    def _empty(self, layer: int) -> Block:
        H, lstm = self.tape.cfg.hidden_size, "f" in self.tape.layers[layer]
        zero = np.zeros((len(self.gates), H))
        return Block(Moments(0, zero, zero), Memory(np.zeros(H), np.zeros(H)) if lstm else None)

    def before(self, layer: int, b: int) -> Block:
        """The sums over the positions before ``b``, a multiple of :data:`BLOCK` no
        greater than the tape's length."""
        if b % BLOCK or not 0 <= b <= len(self.tape):
            raise ValueError(f"{b} is not a block's end on a tape of {len(self.tape)}")
        self._sync()
        blocks, record = self._blocks[layer], self.tape.layers[layer]
        while len(blocks) < b // BLOCK:
            last = blocks[-1] if blocks else self._empty(layer)
            rows = slice(len(blocks) * BLOCK, (len(blocks) + 1) * BLOCK)
            block = np.stack([record[g][rows] for g in self.gates])
            mem = last.memory
            if mem is not None:
                written = np.multiply(record["i"][rows], record["g"][rows], dtype=np.float64)
                mem = mem.then(record["f"][rows], written)
            blocks.append(Block(last.moments.merge(Moments.of(block)), mem))
        return blocks[b // BLOCK - 1] if b else self._empty(layer)

    def std(self, layer: int) -> np.ndarray:
        """Per gate, per unit (gates × H): the standard deviation over every position."""
        n = len(self.tape)
        b = n // BLOCK * BLOCK
        record = self.tape.layers[layer]
        rest = Moments.of(np.stack([record[g][b:n] for g in self.gates]))
        return self.before(layer, b).moments.merge(rest).std
