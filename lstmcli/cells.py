"""Recurrent cells: the LSTM and the simple (Elman) RNN, forward and backward.

LSTM, in PyTorch's convention (gate order i, f, g, o; weights ``W_ih`` (4H, D),
``W_hh`` (4H, H), one bias ``b = b_ih + b_hh`` (4H,))::

    a_t = W_ih x_t + W_hh h_{t-1} + b          pre-activations, (B, 4H)
    i_t = σ(a_i)   f_t = σ(a_f)   g_t = tanh(a_g)   o_t = σ(a_o)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    h_t = o_t ⊙ tanh(c_t)

Simple RNN (Elman; weights ``W_ih`` (H, D), ``W_hh`` (H, H))::

    h_t = tanh(W_ih x_t + W_hh h_{t-1} + b)

Shapes: T steps, B streams, D inputs, H units. Sequences are time-major, (T, B, ·).

The sequence functions work the way a fast implementation must: the input projections of
all T steps are one GEMM; each step adds one (B, H) × (H, 4H) product into a fused
(B, 4H) gate row and applies every nonlinearity in place; the gates are kept *after* the
nonlinearity for the backward pass; the weight gradients are one GEMM over all steps
after the time loop. One trick keeps the step short: σ(a) = ½ + ½·tanh(a/2), so after
halving the i, f and o columns a single ``tanh`` call activates all four gates.

Forward functions return the outputs, the final state and an explicit cache; backward
functions take the cache back. Buffers come from a :class:`~lstmcli.workspace.Workspace`
under a ``key`` so stacked layers do not share them.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from lstmcli.workspace import Workspace

# σ(a) = ½ + ½·tanh(½a): per-gate scale before tanh, and the affine map after it,
# for gates i, f, g, o.
_PRE = (0.5, 0.5, 1.0, 0.5)
_SHIFT = (0.5, 0.5, 0.0, 0.5)


@functools.lru_cache(maxsize=16)
def _gate_vectors(H: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(4H,) scale and shift vectors for gates laid out i, f, g, o (constants, read-only)."""
    s, shift = np.repeat(np.array(_PRE, dtype), H), np.repeat(np.array(_SHIFT, dtype), H)
    s.flags.writeable = shift.flags.writeable = False
    return s, shift


class LSTMCache(NamedTuple):
    """What the LSTM backward pass needs from the forward pass."""

    x: np.ndarray  # (T, B, D) inputs
    gates: np.ndarray  # (T, B, 4H) i, f, g, o after their nonlinearities
    h: np.ndarray  # (T+1, B, H) h[0] = h0, h[t+1] = h_t
    c: np.ndarray  # (T+1, B, H) c[0] = c0, c[t+1] = c_t
    tanh_c: np.ndarray  # (T, B, H) tanh(c_t)


class RNNCache(NamedTuple):
    """What the RNN backward pass needs from the forward pass."""

    x: np.ndarray  # (T, B, D) inputs
    h: np.ndarray  # (T+1, B, H) h[0] = h0, h[t+1] = h_t


class CellGrads(NamedTuple):
    """Gradients of one layer's weights; ``db`` is shared by b_ih and b_hh."""

    dW_ih: np.ndarray
    dW_hh: np.ndarray
    db: np.ndarray


def _activate(a: np.ndarray, scale: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Turn pre-activations (…, 4H), with i, f, o already halved, into gate values, in place.

    tanh, then ½x + ½ on the i, f, o columns (``scale``/``shift`` from :func:`_gate_vectors`).
    """
    np.tanh(a, out=a)
    a *= scale
    a += shift
    return a


def _weight_grads(
    dA: np.ndarray,
    x: np.ndarray,
    h: np.ndarray,
    W_ih: np.ndarray,
    ws: Workspace,
    key: str,
    grads: CellGrads | None,
    need_dx: bool,
) -> tuple[np.ndarray | None, CellGrads]:
    """Weight gradients of a layer from its pre-activation gradients dA (T, B, G·H), each
    one GEMM over all steps: dW_ih = Σ_t dA_tᵀ x_t, dW_hh = Σ_t dA_tᵀ h_{t-1}, db = Σ_t dA_t,
    and the input gradient dx_t = dA_t W_ih."""
    T, B, GH = dA.shape
    D, H = x.shape[2], h.shape[2]
    dt = dA.dtype
    dA2 = dA.reshape(T * B, GH)
    if grads is None:
        grads = CellGrads(np.empty((GH, D), dt), np.empty((GH, H), dt), np.empty((GH,), dt))
    np.matmul(dA2.T, x.reshape(T * B, D), out=grads.dW_ih)
    np.matmul(dA2.T, h[:-1].reshape(T * B, H), out=grads.dW_hh)
    np.sum(dA2, axis=0, out=grads.db)
    dx = None
    if need_dx:
        dx = ws.get(f"{key}.dx", (T, B, D), dt)
        np.matmul(dA2, W_ih, out=dx.reshape(T * B, D))
    return dx, grads


def lstm_forward(
    x: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    W_ih: np.ndarray,
    W_hh: np.ndarray,
    b: np.ndarray,
    ws: Workspace,
    key: str = "lstm",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, LSTMCache]:
    """Run an LSTM layer over a window.

    x: (T, B, D); h0, c0: (B, H); W_ih: (4H, D); W_hh: (4H, H); b: (4H,).
    Returns h_seq (T, B, H) (a view into the cache), h_T (B, H), c_T (B, H) and the cache.
    """
    T, B, D = x.shape
    H = h0.shape[1]
    dt = x.dtype
    gates = ws.get(f"{key}.gates", (T, B, 4 * H), dt)
    h = ws.get(f"{key}.h", (T + 1, B, H), dt)
    c = ws.get(f"{key}.c", (T + 1, B, H), dt)
    tanh_c = ws.get(f"{key}.tanh_c", (T, B, H), dt)
    tmp4 = ws.get(f"{key}.tmp4", (B, 4 * H), dt)
    tmp = ws.get(f"{key}.tmp", (B, H), dt)
    h[0] = h0
    c[0] = c0

    s, shift = _gate_vectors(H, dt)
    # the weights transposed to row-major (the faster GEMM operand), i, f, o columns halved
    W_ih_s = np.multiply(W_ih.T, s, out=ws.get(f"{key}.W_ih_s", (D, 4 * H), dt))
    W_hh_s = np.multiply(W_hh.T, s, out=ws.get(f"{key}.W_hh_s", (H, 4 * H), dt))
    # input projections of every step in one GEMM, already scaled for the tanh trick
    np.matmul(x.reshape(T * B, D), W_ih_s, out=gates.reshape(T * B, 4 * H))
    gates += b * s
    for t in range(T):
        a = gates[t]  # (B, 4H)
        np.matmul(h[t], W_hh_s, out=tmp4)
        a += tmp4  # a_t = W_ih x_t + W_hh h_{t-1} + b
        _activate(a, s, shift)  # i, f, g, o
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        np.multiply(f, c[t], out=c[t + 1])
        np.multiply(i, g, out=tmp)
        c[t + 1] += tmp  # c_t = f ⊙ c_{t-1} + i ⊙ g
        np.tanh(c[t + 1], out=tanh_c[t])
        np.multiply(o, tanh_c[t], out=h[t + 1])  # h_t = o ⊙ tanh(c_t)
    return h[1:], h[T], c[T], LSTMCache(x, gates, h, c, tanh_c)


def lstm_backward(
    dh_seq: np.ndarray,
    cache: LSTMCache,
    W_ih: np.ndarray,
    W_hh: np.ndarray,
    ws: Workspace,
    key: str = "lstm",
    grads: CellGrads | None = None,
    need_dx: bool = True,
) -> tuple[np.ndarray | None, CellGrads]:
    """Backpropagate through an LSTM layer over a window (truncated: no gradient enters at T).

    dh_seq: (T, B, H) gradient of the loss with respect to h_1 … h_T; it is overwritten.
    Returns dx (T, B, D) (None unless ``need_dx``) and the weight gradients, written into
    ``grads`` when given.
    """
    x, gates, h, c, tanh_c = cache
    T, B, H4 = gates.shape
    H = H4 // 4
    dt = gates.dtype
    i, f, g, o = (gates[..., k * H : (k + 1) * H] for k in range(4))

    # dA[t] starts as each gate's local factor; the loop multiplies in dc_t or dh_t.
    dA = ws.get(f"{key}.dA", (T, B, 4 * H), dt)
    np.subtract(1, gates, out=dA)
    dA *= gates  # σ' = σ(1 − σ) for i, f, o
    dg = dA[..., 2 * H : 3 * H]
    np.multiply(g, g, out=dg)
    np.subtract(1, dg, out=dg)  # tanh' = 1 − g²
    dA[..., :H] *= g  # ∂c/∂i = g
    dA[..., H : 2 * H] *= c[:-1]  # ∂c/∂f = c_{t-1}
    dg *= i  # ∂c/∂g = i
    dA[..., 3 * H :] *= tanh_c  # ∂h/∂o = tanh(c)
    # ∂h_t/∂c_t = o ⊙ (1 − tanh² c_t), for all steps at once
    o_dtanh = ws.get(f"{key}.o_dtanh", (T, B, H), dt)
    np.multiply(tanh_c, tanh_c, out=o_dtanh)
    np.subtract(1, o_dtanh, out=o_dtanh)
    o_dtanh *= o

    dh_next = ws.get(f"{key}.dh_next", (B, H), dt)
    dh_next.fill(0)
    dc = ws.get(f"{key}.dc", (B, H), dt)
    dc.fill(0)
    tmp = ws.get(f"{key}.tmp", (B, H), dt)
    for t in range(T - 1, -1, -1):
        dh = dh_seq[t]
        dh += dh_next  # from above and from step t+1
        np.multiply(dh, o_dtanh[t], out=tmp)
        dc += tmp  # dc_t = f_{t+1} ⊙ dc_{t+1} + dh_t ⊙ o ⊙ (1 − tanh² c_t)
        da = dA[t]
        da.reshape(B, 4, H)[:, :3] *= dc[:, None, :]  # da_i, da_f, da_g
        da[:, 3 * H :] *= dh  # da_o
        dc *= f[t]  # carried to step t-1
        np.matmul(da, W_hh, out=dh_next)  # dh_{t-1} through W_hh

    return _weight_grads(dA, x, h, W_ih, ws, key, grads, need_dx)


def lstm_step(
    x: np.ndarray,
    h: np.ndarray,
    c: np.ndarray,
    W_ih: np.ndarray,
    W_hh: np.ndarray,
    b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One LSTM step for inference. x: (B, D); h, c: (B, H).

    Returns the new h (B, H), the new c (B, H) and the gates (B, 4H) in order i, f, g, o.
    """
    H = h.shape[1]
    s, shift = _gate_vectors(H, x.dtype)
    a = x @ W_ih.T
    a += h @ W_hh.T
    a += b  # a = W_ih x + W_hh h + b
    a *= s
    _activate(a, s, shift)  # i, f, g, o
    i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
    c_new = f * c
    c_new += i * g  # c = f ⊙ c + i ⊙ g
    h_new = np.tanh(c_new)
    h_new *= o  # h = o ⊙ tanh(c)
    return h_new, c_new, a


def rnn_forward(
    x: np.ndarray,
    h0: np.ndarray,
    W_ih: np.ndarray,
    W_hh: np.ndarray,
    b: np.ndarray,
    ws: Workspace,
    key: str = "rnn",
) -> tuple[np.ndarray, np.ndarray, RNNCache]:
    """Run a simple RNN layer over a window.

    x: (T, B, D); h0: (B, H); W_ih: (H, D); W_hh: (H, H); b: (H,).
    Returns h_seq (T, B, H), h_T (B, H) and the cache.
    """
    T, B, D = x.shape
    H = h0.shape[1]
    dt = x.dtype
    h = ws.get(f"{key}.h", (T + 1, B, H), dt)
    tmp = ws.get(f"{key}.tmp", (B, H), dt)
    h[0] = h0
    np.matmul(x.reshape(T * B, D), W_ih.T, out=h[1:].reshape(T * B, H))
    h[1:] += b
    W_hh_T = np.ascontiguousarray(W_hh.T)
    for t in range(T):
        np.matmul(h[t], W_hh_T, out=tmp)
        h[t + 1] += tmp
        np.tanh(h[t + 1], out=h[t + 1])  # h_t = tanh(W_ih x_t + W_hh h_{t-1} + b)
    return h[1:], h[T], RNNCache(x, h)


def rnn_backward(
    dh_seq: np.ndarray,
    cache: RNNCache,
    W_ih: np.ndarray,
    W_hh: np.ndarray,
    ws: Workspace,
    key: str = "rnn",
    grads: CellGrads | None = None,
    need_dx: bool = True,
) -> tuple[np.ndarray | None, CellGrads]:
    """Backpropagate through a simple RNN layer; see :func:`lstm_backward`."""
    x, h = cache
    T, B, H = dh_seq.shape
    dt = h.dtype
    dA = ws.get(f"{key}.dA", (T, B, H), dt)
    np.multiply(h[1:], h[1:], out=dA)
    np.subtract(1, dA, out=dA)  # tanh' = 1 − h²
    dh_next = ws.get(f"{key}.dh_next", (B, H), dt)
    dh_next.fill(0)
    for t in range(T - 1, -1, -1):
        dh = dh_seq[t]
        dh += dh_next
        dA[t] *= dh  # da_t = dh_t ⊙ (1 − h_t²)
        np.matmul(dA[t], W_hh, out=dh_next)
    return _weight_grads(dA, x, h, W_ih, ws, key, grads, need_dx)


def rnn_step(
    x: np.ndarray, h: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """One simple-RNN step for inference. x: (B, D); h: (B, H). Returns the new h."""
    return np.tanh(x @ W_ih.T + h @ W_hh.T + b)
