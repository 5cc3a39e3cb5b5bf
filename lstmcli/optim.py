"""Optimisers, gradient clipping and learning-rate schedules.

Parameters, gradients and optimiser state are dicts with the same keys, so every
operation here is one loop over names and knows nothing of the model's structure.

Weight decay λ (off by default) is L2 for SGD, as in ``torch.optim.SGD(weight_decay=λ)``,
and decoupled for Adam, as in ``torch.optim.AdamW``; the clip factor applies to the loss
gradient only, which is clipped before the decay joins in::

    SGD:   p ← p − lr·(scale·g + λ·p)  =  (1 − lr·λ)·p − lr·scale·g
    Adam:  p ← (1 − lr·λ)·p − lr·m̂ / (√v̂ + ε)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from lstmcli.errors import LstmError

Arrays = dict[str, np.ndarray]


def _sparse_rows(grads: Arrays) -> Arrays:
    """Name → the only rows where that gradient can be non-zero (see ``model.Grads``)."""
    return getattr(grads, "rows", {})


def global_norm(grads: Arrays) -> float:
    """‖g‖₂ over all gradients together."""
    rows = _sparse_rows(grads)
    total = 0.0
    for name, g in grads.items():
        if name in rows:
            g = g[rows[name]]
        total += float(np.vdot(g, g))
    return math.sqrt(total)


def clip_scale(grads: Arrays, max_norm: float) -> tuple[float, float]:
    """The global norm and the factor that brings it down to ``max_norm``, gradients untouched.

    Returns (norm, scale) with scale = max_norm / norm when norm > max_norm > 0, else 1.
    Pass ``scale`` to an optimiser's ``step`` to clip and update in the same pass.
    """
    norm = global_norm(grads)
    if max_norm > 0 and norm > max_norm:
        return norm, max_norm / (norm + 1e-6)
    return norm, 1.0


def clip_grads(grads: Arrays, max_norm: float) -> float:
    """Scale all gradients in place so their global norm is at most ``max_norm``.

    Returns the norm before clipping (``max_norm`` ≤ 0 turns clipping off).
    """
    norm, scale = clip_scale(grads, max_norm)
    if scale != 1.0:
        for g in grads.values():
            g *= g.dtype.type(scale)
    return norm


def _decay(params: Arrays, factor: float) -> None:
    """p ← factor·p for every parameter (weight decay's shrink step)."""
    for p in params.values():
        p *= p.dtype.type(factor)


class SGD:
    """Stochastic gradient descent: p ← p − lr·g (with L2 weight decay λ: g + λp)."""

    name = "sgd"

    def __init__(self, lr: float, weight_decay: float = 0.0) -> None:
        self.lr = lr
        self.weight_decay = weight_decay
        self.t = 0

    def step(self, params: Arrays, grads: Arrays, scale: float = 1.0) -> None:
        """Update ``params`` in place with the gradients times ``scale`` (a clip factor).

        ``grads`` serve as scratch: they are overwritten. A gradient known to be zero
        outside a few rows (``model.Grads.rows``) updates just those rows.
        """
        if self.weight_decay:  # every row decays, also where a sparse gradient is zero
            _decay(params, 1.0 - self.lr * self.weight_decay)
        rows = _sparse_rows(grads)
        for name, p in params.items():
            r = rows.get(name)  # the rows that can be non-zero (distinct), or None: all
            g = grads[name] if r is None else grads[name][r]  # (n, ·) copy when sparse
            g *= p.dtype.type(-self.lr * scale)  # −lr·scale·g, in place: no temporary
            if r is None:
                p += g
            else:
                p[r] += g
        self.t += 1

    def state_tensors(self) -> Arrays:
        return {}

    def load_state(self, tensors: Arrays, t: int) -> None:
        self.t = t


class Adam:
    """Adam (Kingma & Ba 2015) with bias correction::

    m ← β₁m + (1 − β₁)g    v ← β₂v + (1 − β₂)g²    p ← p − lr·m̂ / (√v̂ + ε)

    and with weight decay λ, decoupled (AdamW, Loshchilov & Hutter 2019): p ← (1 − lr·λ)·p
    before that update.
    """

    name = "adam"

    def __init__(
        self,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.lr, self.betas, self.eps = lr, betas, eps
        self.weight_decay = weight_decay
        self.t = 0
        self.m: Arrays = {}
        self.v: Arrays = {}
        self._tmp: Arrays = {}

    def step(self, params: Arrays, grads: Arrays, scale: float = 1.0) -> None:
        """Update ``params`` in place with the gradients times ``scale`` (a clip factor)."""
        b1, b2 = self.betas
        self.t += 1
        # fold both bias corrections into the step size
        lr_t = self.lr * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        eps_t = self.eps * math.sqrt(1 - b2**self.t)
        if self.weight_decay:
            _decay(params, 1.0 - self.lr * self.weight_decay)
        for name, p in params.items():
            g = grads[name]
            if name not in self.m:
                self.m[name] = np.zeros_like(p)
                self.v[name] = np.zeros_like(p)
                self._tmp[name] = np.empty_like(p)
            m, v, tmp = self.m[name], self.v[name], self._tmp[name]
            m *= b1
            np.multiply(g, (1 - b1) * scale, out=tmp)
            m += tmp  # m ← β₁m + (1 − β₁)g, g clipped by scale
            v *= b2
            np.multiply(g, g, out=tmp)
            tmp *= (1 - b2) * scale * scale
            v += tmp  # v ← β₂v + (1 − β₂)g²
            np.sqrt(v, out=tmp)
            tmp += eps_t
            np.divide(m, tmp, out=tmp)
            tmp *= lr_t
            p -= tmp

    def state_tensors(self) -> Arrays:
        """Moments as named tensors, for the checkpoint."""
        out = {f"optim.m.{k}": v for k, v in self.m.items()}
        out.update({f"optim.v.{k}": v for k, v in self.v.items()})
        return out

    def load_state(self, tensors: Arrays, t: int) -> None:
        self.t = t
        for key, arr in tensors.items():
            kind, name = key.split(".", 2)[1:]
            (self.m if kind == "m" else self.v)[name] = arr.copy()
            self._tmp[name] = np.empty_like(arr)


OPTIMIZERS = ("sgd", "adam")


def make_optimizer(name: str, lr: float, weight_decay: float = 0.0) -> SGD | Adam:
    if name == "sgd":
        return SGD(lr, weight_decay=weight_decay)
    if name == "adam":
        return Adam(lr, weight_decay=weight_decay)
    raise LstmError(f"unknown optimizer {name!r}; use one of: {', '.join(OPTIMIZERS)}")


@dataclass
class LRSchedule:
    """Learning rate by epoch: multiply by ``decay`` every epoch after ``decay_after``
    (Zaremba et al.), and/or whenever validation perplexity fails to improve.

    The schedule also counts epochs without improvement, for early stopping.
    """

    lr: float
    decay: float = 0.5
    decay_after: int | None = None  # epochs at full rate, then decay every epoch
    decay_on_plateau: bool = True
    best: float = math.inf
    bad_epochs: int = 0

    def end_epoch(self, epoch: int, valid_ppl: float | None) -> bool:
        """Update after 1-based ``epoch``; returns True if validation improved."""
        improved = valid_ppl is not None and valid_ppl < self.best
        if improved:
            self.best = valid_ppl
            self.bad_epochs = 0
        elif valid_ppl is not None:
            self.bad_epochs += 1
        if self.decay_after is not None and epoch >= self.decay_after:
            self.lr *= self.decay
        elif self.decay_on_plateau and valid_ppl is not None and not improved:
            self.lr *= self.decay
        return improved

    def to_dict(self) -> dict:
        d = asdict(self)
        d["best"] = None if math.isinf(self.best) else self.best
        return d

    @classmethod
    def from_dict(cls, d: dict) -> LRSchedule:
        d = dict(d)
        d["best"] = math.inf if d.get("best") is None else d["best"]
        return cls(**d)
