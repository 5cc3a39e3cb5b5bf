"""The regularisers of AWD-LSTM (Merity, Keskar & Socher 2017) that act inside a window.

Every one is off by default; :class:`Regularizers` says which are on. Masks are drawn from
the training RNG once per window (:func:`draw_masks`), so a window is a deterministic
function of the RNG state and a resumed run draws exactly the masks an uninterrupted one
would. All dropout is inverted: a kept unit is scaled by 1/(1 − p), so no rescaling is
needed at evaluation time, where every regulariser is off.

Locked (variational) dropout (Gal & Ghahramani 2016): one mask per stream for the whole
window, the same at every step, at three sites — the embeddings (the first layer's input,
p = ``dropouti``), between layers (``dropouth``) and before the decoder (``dropouto``)::

    m ∈ {0, 1/(1 − p)}^(B, D)          x̃_t = x_t ⊙ m   for t = 1 … T

Embedding dropout (``dropoute``): whole words dropped from the embedding matrix for the
window, in every stream, the rest scaled (the decoder of a tied model keeps the full
matrix)::

    w ∈ {0, 1/(1 − p)}^V               ẽ_t = w[x_t] · E[x_t]

Weight drop (``wdrop``, DropConnect on the recurrent weights): one mask per layer and
window, applied to W_hh before the time loop, so the fast loop runs unchanged on W̃_hh::

    M ∈ {0, 1/(1 − p)}^(G·H, H)        W̃_hh = W_hh ⊙ M      ∂L/∂W_hh = M ⊙ ∂L/∂W̃_hh

Activation regularisation (AR, ``alpha``) on the last layer's dropped output h̃ (the
decoder's input) and temporal activation regularisation (TAR, ``beta``) on its output h
before dropout, both added to the loss of the window::

    AR  = α · mean(h̃²)                       over the T·B·H entries
    TAR = β · mean((h_t − h_{t−1})²)          over the (T − 1)·B·H differences, t = 2 … T

Variable window length (:func:`variable_windows`) draws each window's T around the mean.
The regularisers that act on the optimiser are elsewhere: weight decay in
:mod:`lstmcli.optim`, NT-ASGD in :mod:`lstmcli.asgd`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from lstmcli.errors import LstmError
from lstmcli.workspace import Workspace


@dataclass(frozen=True)
class Regularizers:
    """The window-level regularisers and their strengths (AWD-LSTM's names)."""

    dropouti: float = 0.0  # locked dropout on the embeddings (first layer's input)
    dropouth: float = 0.0  # locked dropout between layers
    dropouto: float = 0.0  # locked dropout before the decoder (AWD-LSTM's --dropout)
    dropoute: float = 0.0  # embedding dropout: whole words
    wdrop: float = 0.0  # DropConnect on W_hh
    alpha: float = 0.0  # AR
    beta: float = 0.0  # TAR

    def __post_init__(self) -> None:
        for name in ("dropouti", "dropouth", "dropouto", "dropoute", "wdrop"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise LstmError(f"{name} must be in [0, 1), got {value}")
        for name in ("alpha", "beta"):
            if not getattr(self, name) >= 0.0:
                raise LstmError(f"{name} must be ≥ 0, got {getattr(self, name)}")

    @property
    def active(self) -> bool:
        """True when any regulariser is on."""
        return any(getattr(self, f.name) for f in fields(self))

    @property
    def dropouts(self) -> bool:
        """True when any of them needs random masks."""
        return bool(self.dropouti or self.dropouth or self.dropouto or self.dropoute or self.wdrop)


def dropout_mask(
    rng: np.random.Generator, shape: tuple[int, ...], p: float, dt: np.dtype, out: np.ndarray
) -> np.ndarray:
    """Inverted-dropout mask: 0 with probability p, else 1/(1 − p)."""
    rng.random(shape, dtype=dt, out=out)
    np.greater_equal(out, p, out=out)  # bools stored as 0.0 / 1.0
    out *= 1.0 / (1.0 - p)
    return out


class Masks(NamedTuple):
    """The random masks of one window (None where that regulariser is off).

    ``locked[k]`` (B, D) multiplies the input of layer k (k = 0: the embeddings) and
    ``locked[L]`` (B, H) the decoder's input; ``weight[k]`` (G·H, H) multiplies W_hh of
    layer k; ``words`` (V,) the embedding rows.
    """

    words: np.ndarray | None
    locked: list[np.ndarray | None]
    weight: list[np.ndarray | None]


def draw_masks(
    reg: Regularizers, cfg, batch_size: int, rng: np.random.Generator, ws: Workspace
) -> Masks:
    """Draw one window's masks for a model ``cfg`` (a ``ModelConfig``) and B streams.

    The order of the draws is fixed — words, then the locked sites 0 … L, then the weight
    masks of layers 0 … L−1 — so the same RNG state always gives the same masks.
    """
    dt = np.dtype(cfg.dtype)
    L, E, H, B = cfg.num_layers, cfg.embed_size, cfg.hidden_size, batch_size

    def mask(name: str, shape: tuple[int, ...], p: float) -> np.ndarray | None:
        return dropout_mask(rng, shape, p, dt, ws.get(f"reg.{name}", shape, dt)) if p else None

    words = mask("words", (cfg.vocab_size,), reg.dropoute)
    probs = [reg.dropouti] + [reg.dropouth] * (L - 1) + [reg.dropouto]
    locked = [mask(f"locked{k}", (B, E if k == 0 else H), p) for k, p in enumerate(probs)]
    weight = [mask(f"wdrop{k}", (cfg.gates * H, H), reg.wdrop) for k in range(L)]
    return Masks(words, locked, weight)


def activation_penalty(
    h: np.ndarray, alpha: float, dh: np.ndarray, ws: Workspace, rows: np.ndarray | None = None
) -> float:
    """AR = α·mean(h²) of h (N, H); adds ∂AR/∂h = 2α·h / n (n = h.size) into dh.

    With ``rows`` (N,), 1 for the rows that count and 0 for padding, the mean is over the
    n = Σrows · H entries of the counted rows only.
    """
    tmp = ws.get("reg.ar", h.shape, h.dtype)
    if rows is None:
        n, counted = h.size, h
    else:  # h on counted rows, 0 on padding
        n, counted = float(rows.sum()) * h.shape[1], np.multiply(h, rows[:, None], out=tmp)
    penalty = alpha * float(np.vdot(counted, counted)) / n
    dh += np.multiply(counted, 2.0 * alpha / n, out=tmp)
    return penalty


def temporal_penalty(
    h: np.ndarray, beta: float, dh: np.ndarray, ws: Workspace, steps: np.ndarray | None = None
) -> float:
    """TAR = β·mean((h_t − h_{t−1})²) of h (T, B, H); adds its gradient into dh (T, B, H).

    With Δ_t = h_t − h_{t−1} (t = 2 … T) and n = (T − 1)·B·H:
    ∂TAR/∂h_t = 2β/n · (Δ_t − Δ_{t+1}), where Δ_1 = Δ_{T+1} = 0. Zero when T = 1.
    With ``steps`` (T, B), 1 for the steps that count and 0 for padding after them, only
    the differences Δ_t with step t counted enter, n = Σ_{t≥2} steps_t · H.
    """
    T = h.shape[0]
    if T < 2:
        return 0.0
    d = np.subtract(h[1:], h[:-1], out=ws.get("reg.tar", h[1:].shape, h.dtype))  # Δ
    n = d.size
    if steps is not None:
        n = float(steps[1:].sum()) * h.shape[2]
        if n == 0:
            return 0.0
        d *= steps[1:, :, None]
    penalty = beta * float(np.vdot(d, d)) / n
    d *= 2.0 * beta / n
    dh[1:] += d
    dh[:-1] -= d
    return penalty


def unk_noise(x: np.ndarray, p: float, unk_id: int, rng: np.random.Generator) -> np.ndarray:
    """A copy of the input ids x with each one read as ``<unk>`` with probability p: the
    blank noising of Xie et al. 2017 ("Data noising as smoothing in neural network
    language models"), with ``<unk>`` as the blank. A model trained so has seen ``<unk>``
    between a cue and its question, as a prompt's unknown word puts it there. The targets
    are left as they are."""
    return np.where(rng.random(x.shape) < p, unk_id, x).astype(x.dtype, copy=False)


# AWD-LSTM's rule for the window length: the mean, or half of it one time in twenty, then
# a normal draw around it with this spread, never below _MIN_T
_FULL_P, _SPREAD, _MIN_T = 0.95, 5.0, 5


def draw_length(mean: int, rng: np.random.Generator) -> int:
    """A window length around ``mean``: T = max(5, ⌊N(μ', 5²)⌋) with μ' = mean with
    probability 0.95, else mean / 2 (the floor is ``mean`` itself when that is below 5)."""
    base = mean if rng.random() < _FULL_P else mean / 2
    return max(min(_MIN_T, mean), int(rng.normal(base, _SPREAD)))


def variable_windows(
    data: np.ndarray, mean: int, rng: np.random.Generator, start: int = 0, row: int = 0
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Like :func:`lstmcli.data.windows`, with each window's length drawn by
    :func:`draw_length` just before it is yielded, from row ``row`` on (``start`` numbers
    the first window). The last window is cut at the end of the data."""
    k, i, n = start, row, len(data) - 1
    while i < n:
        T = min(draw_length(mean, rng), n - i)
        yield k, data[i : i + T], data[i + 1 : i + 1 + T]
        k, i = k + 1, i + T


def expected_windows(rows_left: int, mean: int) -> int:
    """About how many windows :func:`variable_windows` needs for ``rows_left`` rows (the
    mean drawn length is ≈ (0.95 + 0.05/2)·mean − ½ for the truncation)."""
    avg = max(1.0, (_FULL_P + (1 - _FULL_P) / 2) * mean - 0.5)
    return math.ceil(max(rows_left, 0) / avg)
