"""Recurrent cells: the LSTM and the simple (Elman) RNN, forward and backward.

LSTM, in PyTorch's convention (gate order i, f, g, o; weights ``W_ih`` (4H, D),
``W_hh`` (4H, H), one bias ``b = b_ih + b_hh`` (4H,))::

    a_t = W_ih x_t + W_hh h_{t-1} + b          pre-activations, (B, 4H)
    i_t = σ(a_i)   f_t = σ(a_f)   g_t = tanh(a_g)   o_t = σ(a_o)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    h_t = o_t ⊙ tanh(c_t)

Simple RNN (Elman; weights ``W_ih`` (H, D), ``W_hh`` (H, H))::

    h_t = tanh(W_ih x_t + W_hh h_{t-1} + b)

Shapes: T steps, B streams, D inputs, H units. Sequences enter and leave time-major,
(T, B, ·).

The sequence functions work the way a fast implementation must: the input projections of
all T steps are one GEMM; each step adds one (4H, H) × (H, B) product into a fused gate
block and applies every nonlinearity in place; the gates are kept *after* the
nonlinearity for the backward pass; the weight gradients are one GEMM over all steps
after the time loop. Inside the time loop the LSTM works feature-major — a step's gates
are a contiguous (4H, B) array, its states (H, B) — so every gate is one contiguous block:
elementwise passes over contiguous memory are several times faster than over the
column slices of a (B, 4H) array, and the recurrent product is faster in this
orientation too. Two more tricks keep the step short: σ(a) = ½ + ½·tanh(a/2), so after
halving the i, f and o rows a single ``tanh`` call activates all four gates; and the bias
rides in the recurrent GEMM as an extra column of W_hh against a constant row of ones.

Forward functions return the outputs, the final state and an explicit cache; backward
functions take the cache back. Buffers come from a :class:`~lstmcli.workspace.Workspace`
under a ``key`` so stacked layers do not share them.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from lstmcli.workspace import Workspace

# σ(a) = ½ + ½·tanh(½a). Inside the window functions the per-step arrays are feature-major,
# (4H, B) and (H, B), so each gate is one contiguous block, and the forward pass keeps its
# gate rows in the order i, f, o, g: the three sigmoid gates are then a single block that
# is halved before the shared tanh (folded into the weights) and mapped by ½x + ½ after it.
_FWD_ORDER = (0, 1, 3, 2)  # forward row block k holds PyTorch's block _FWD_ORDER[k]
_PRE = (0.5, 0.5, 1.0, 0.5)  # single steps: per-gate scale before tanh, PyTorch order
_SHIFT = (0.5, 0.5, 0.0, 0.5)  # and the shift after it


@functools.lru_cache(maxsize=16)
def gate_vectors(H: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(4H,) scale and shift vectors for gates laid out i, f, g, o (constants, read-only):
    σ(a) = shift + scale·tanh(scale·a) on i, f, o, and tanh(a) on g."""
    s, shift = np.repeat(np.array(_PRE, dtype), H), np.repeat(np.array(_SHIFT, dtype), H)
    s.flags.writeable = shift.flags.writeable = False
    return s, shift


def _forward_rows(A: np.ndarray, out: np.ndarray, axis: int = 0) -> np.ndarray:
    """Copy A into out with the 4H gate rows along ``axis`` reordered from PyTorch's
    i, f, g, o to i, f, o, g and the sigmoid rows halved (the tanh trick)."""
    H = A.shape[axis] // 4
    lead = (slice(None),) * axis
    for k, src in enumerate(_FWD_ORDER):
        a, o = A[(*lead, slice(src * H, (src + 1) * H))], out[(*lead, slice(k * H, (k + 1) * H))]
        np.multiply(a, 0.5 if k < 3 else 1.0, out=o)
    return out


class LSTMCache(NamedTuple):
    """What the LSTM backward pass needs from the forward pass (per-step arrays are
    feature-major: units along the rows, streams along the columns)."""

    x: np.ndarray  # (T, B, D) inputs
    gates: np.ndarray  # (T, 4H, B) i, f, o, g after their nonlinearities (note the order)
    h: np.ndarray  # (T+1, B, H) h[0] = h0, h[t+1] = h_t (time-major, as returned)
    c: np.ndarray  # (T+1, H, B) c[0] = c0ᵀ, c[t+1] = c_tᵀ
    tanh_c: np.ndarray  # (T, H, B) tanh(c_t)ᵀ


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
    """Turn pre-activations (…, 4H) in PyTorch order, with i, f, o already halved, into
    gate values, in place: tanh, then ½x + ½ on the i, f, o columns."""
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
    """Weight gradients of a layer from its pre-activation gradients dA (G·H, T·B) (column
    t·B + b for step t, stream b), each one GEMM over all steps: dW_ih = Σ_t dA_t x_t,
    dW_hh = Σ_t dA_t h_{t-1}, db = Σ_t dA_t 1, and the input gradient dx_t = dA_tᵀ W_ih."""
    GH = dA.shape[0]
    T, B, D = x.shape
    H = h.shape[2]
    dt = dA.dtype
    if grads is None:
        grads = CellGrads(np.empty((GH, D), dt), np.empty((GH, H), dt), np.empty((GH,), dt))
    np.matmul(dA, x.reshape(T * B, D), out=grads.dW_ih)
    np.matmul(dA, h[:-1].reshape(T * B, H), out=grads.dW_hh)
    ones = ws.get(f"{key}.ones", (T * B,), dt)
    ones.fill(1)
    np.matmul(dA, ones, out=grads.db)  # a GEMV: faster than a reduction along rows
    dx = None
    if need_dx:
        dx = ws.get(f"{key}.dx", (T, B, D), dt)
        np.matmul(dA.T, W_ih, out=dx.reshape(T * B, D))
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
    Returns h_seq (T, B, H), h_T (B, H), c_T (B, H) (views into workspace buffers) and
    the cache.
    """
    T, B, D = x.shape
    H = h0.shape[1]
    dt = x.dtype
    # weights with rows in i, f, o, g order and the sigmoid rows halved; the input
    # projections of every step in one GEMM, (4H, T·B), then laid out step by step
    W_ih_s = _forward_rows(W_ih, ws.get(f"{key}.W_ih_s", (4 * H, D), dt))
    proj = ws.get(f"{key}.proj", (4 * H, T * B), dt)
    np.matmul(W_ih_s, x.reshape(T * B, D).T, out=proj)
    gates = ws.get(f"{key}.gates", (T, 4 * H, B), dt)
    np.copyto(gates, proj.reshape(4 * H, T, B).transpose(1, 0, 2))
    # the bias rides in the recurrent GEMM: a column of W_hh against a row of ones under h
    W_hb_s = ws.get(f"{key}.W_hb_s", (4 * H, H + 1), dt)  # [W_hh | b]
    _forward_rows(W_hh, W_hb_s[:, :H])
    _forward_rows(b[:, None], W_hb_s[:, H:])
    hf = ws.get(f"{key}.hf", (T + 1, H + 1, B), dt)  # [h_tᵀ; 1], the recurrent operand
    c = ws.get(f"{key}.c", (T + 1, H, B), dt)
    tanh_c = ws.get(f"{key}.tanh_c", (T, H, B), dt)
    tmp4 = ws.get(f"{key}.tmp4", (4 * H, B), dt)
    tmp = ws.get(f"{key}.tmp", (H, B), dt)
    hf[0, :H] = h0.T
    hf[:, H] = 1
    c[0] = c0.T
    for t in range(T):
        a = gates[t]  # (4H, B)
        np.matmul(W_hb_s, hf[t], out=tmp4)
        a += tmp4  # a_t = W_ih x_t + W_hh h_{t-1} + b (sigmoid rows halved)
        np.tanh(a, out=a)
        sig = a[: 3 * H]
        sig *= 0.5
        sig += 0.5  # σ = ½ + ½·tanh(½a)
        i, f, o, g = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
        np.multiply(f, c[t], out=c[t + 1])
        np.multiply(i, g, out=tmp)
        c[t + 1] += tmp  # c_t = f ⊙ c_{t-1} + i ⊙ g
        np.tanh(c[t + 1], out=tanh_c[t])
        np.multiply(o, tanh_c[t], out=hf[t + 1, :H])  # h_t = o ⊙ tanh(c_t)
    h = ws.get(f"{key}.h", (T + 1, B, H), dt)
    np.copyto(h, hf[:, :H].transpose(0, 2, 1))  # back to time-major for the layer above
    return h[1:], h[T], c[T].T, LSTMCache(x, gates, h, c, tanh_c)


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

    dh_seq: (T, B, H) gradient of the loss with respect to h_1 … h_T.
    Returns dx (T, B, D) (None unless ``need_dx``) and the weight gradients, written into
    ``grads`` when given.
    """
    x, gates, h, c, tanh_c = cache
    T, H4, B = gates.shape
    H = H4 // 4
    dt = gates.dtype
    i, f, o, g = (gates[:, k * H : (k + 1) * H] for k in range(4))  # (T, H, B) each

    # dA[t] (4H, B), rows in PyTorch's order i, f, g, o, starts as each gate's local
    # factor ∂c_t/∂a or ∂h_t/∂a; the loop multiplies in dc_t or dh_t.
    dA = ws.get(f"{key}.dA", (T, 4 * H, B), dt)
    da_i, da_f, da_g, da_o = (dA[:, k * H : (k + 1) * H] for k in range(4))
    dsig = ws.get(f"{key}.dsig", (T, 3 * H, B), dt)  # σ' = σ(1 − σ) of i, f, o at once
    sig = gates[:, : 3 * H]
    np.subtract(1, sig, out=dsig)
    dsig *= sig
    np.multiply(dsig[:, :H], g, out=da_i)  # σ'(a_i) · g
    np.multiply(dsig[:, H : 2 * H], c[:-1], out=da_f)  # σ'(a_f) · c_{t-1}
    np.multiply(dsig[:, 2 * H :], tanh_c, out=da_o)  # σ'(a_o) · tanh(c_t)
    np.multiply(g, g, out=da_g)
    np.subtract(1, da_g, out=da_g)
    da_g *= i  # tanh'(a_g) · i
    # ∂h_t/∂c_t = o ⊙ (1 − tanh² c_t), for all steps at once
    o_dtanh = ws.get(f"{key}.o_dtanh", (T, H, B), dt)
    np.multiply(tanh_c, tanh_c, out=o_dtanh)
    np.subtract(1, o_dtanh, out=o_dtanh)
    o_dtanh *= o
    dh = ws.get(f"{key}.dh", (T, H, B), dt)
    np.copyto(dh, dh_seq.transpose(0, 2, 1))

    dh_next = ws.get(f"{key}.dh_next", (H, B), dt)
    dh_next.fill(0)
    dc = ws.get(f"{key}.dc", (H, B), dt)
    dc.fill(0)
    tmp = ws.get(f"{key}.tmp", (H, B), dt)
    W_hh_T = W_hh.T  # (H, 4H)
    for t in range(T - 1, -1, -1):
        dh_t = dh[t]
        dh_t += dh_next  # from above and from step t+1
        np.multiply(dh_t, o_dtanh[t], out=tmp)
        dc += tmp  # dc_t = f_{t+1} ⊙ dc_{t+1} + dh_t ⊙ o ⊙ (1 − tanh² c_t)
        da = dA[t]
        da_ifg = da[: 3 * H].reshape(3, H, B)
        da_ifg *= dc  # da_i, da_f, da_g
        da[3 * H :] *= dh_t  # da_o
        if t:  # nothing flows past the window edge
            dc *= f[t]  # carried to step t-1
            np.matmul(W_hh_T, da, out=dh_next)  # dh_{t-1} through W_hh

    # the weight-gradient GEMMs want all steps side by side: (4H, T·B)
    dA_all = ws.get(f"{key}.dA_all", (4 * H, T, B), dt)
    np.copyto(dA_all, dA.transpose(1, 0, 2))
    return _weight_grads(dA_all.reshape(4 * H, T * B), x, h, W_ih, ws, key, grads, need_dx)


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
    s, shift = gate_vectors(H, x.dtype)
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
    return _weight_grads(dA.reshape(T * B, H).T, x, h, W_ih, ws, key, grads, need_dx)


def rnn_step(
    x: np.ndarray, h: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """One simple-RNN step for inference. x: (B, D); h: (B, H). Returns the new h."""
    return np.tanh(x @ W_ih.T + h @ W_hh.T + b)
