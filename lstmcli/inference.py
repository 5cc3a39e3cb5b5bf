"""The stateful inference API: feed tokens one at a time, read what the model does.

- :func:`step` feeds one token per stream and returns the next-token logits and, per layer,
  the gate values i, f, g, o and the states c, h; :func:`run` feeds a sequence to one
  stream as a loop over ``step``, so feeding a sequence whole or token by token gives
  identical numbers; :func:`last` runs the same loop and keeps only its last step (what
  ``predict`` needs of a prompt, however long). ``predict`` and ``trace`` are built on them.
- A :class:`Stepper` is for generation, which needs only the next-token logits, many times
  in a row, where the cost per token is a few small products and Python's per-call
  overhead. It prepares the weights once and then does the least work per token: one
  product per layer on the stacked input and state, ``[W_ih | W_hh] · [x; h]``, with the
  i, f, o rows halved for the tanh trick (σ(a) = ½ + ½·tanh(a/2), see
  :mod:`lstmcli.cells`) and the two biases summed; preallocated, feature-major buffers, in
  which each layer writes its h straight into the stacked operand of the layer above. Its
  logits match :func:`step` up to float rounding (the sums run in another order). The
  weights are copied when a stepper is made: one made before a training update keeps the
  old weights.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lstmcli import cells
from lstmcli.errors import LstmError
from lstmcli.model import LayerState, ModelConfig, Params, State, decoder_weight, zero_state


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Probabilities (float64) from logits (…, V)."""
    z = logits.astype(np.float64)
    z -= z.max(axis=-1, keepdims=True)
    with np.errstate(over="ignore"):  # a tiny temperature gives −inf, never inf − inf
        z /= temperature
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


GATE_NAMES = ("i", "f", "g", "o", "c", "h")


class StepOutput(NamedTuple):
    """One inference step: logits (B, V), per layer a dict of (B, H) arrays, the new state.

    For the LSTM each layer dict has i, f, g, o, c, h; for the RNN only h.
    """

    logits: np.ndarray
    layers: list[dict[str, np.ndarray]]
    state: State


def step(params: Params, cfg: ModelConfig, ids: np.ndarray, state: State) -> StepOutput:
    """Feed one token per stream, ids (B,); the state is not modified."""
    layers, new_state = _layers_step(params, cfg, ids, state)
    logits = new_state[-1].h @ decoder_weight(params).T + params["decoder.bias"]
    return StepOutput(logits, layers, new_state)


def _layers_step(
    params: Params, cfg: ModelConfig, ids: np.ndarray, state: State
) -> tuple[list[dict[str, np.ndarray]], State]:
    """The layers of :func:`step` without the decoder: per layer the gates, and the new state."""
    x = params["encoder.weight"][ids]  # (B, E)
    H = cfg.hidden_size
    layers, new_state = [], []
    for k in range(cfg.num_layers):
        W_ih, W_hh = params[f"rnn.weight_ih_l{k}"], params[f"rnn.weight_hh_l{k}"]
        b = params[f"rnn.bias_ih_l{k}"] + params[f"rnn.bias_hh_l{k}"]
        if cfg.cell == "lstm":
            h, c, a = cells.lstm_step(x, state[k].h, state[k].c, W_ih, W_hh, b)
            layers.append(
                {
                    "i": a[:, :H],
                    "f": a[:, H : 2 * H],
                    "g": a[:, 2 * H : 3 * H],
                    "o": a[:, 3 * H :],
                    "c": c,
                    "h": h,
                }
            )
            new_state.append(LayerState(h, c))
        else:
            h = cells.rnn_step(x, state[k].h, W_ih, W_hh, b)
            layers.append({"h": h})
            new_state.append(LayerState(h, None))
        x = h
    return layers, new_state


class RunOutput(NamedTuple):
    """A sequence fed token by token: logits (T, V) after each token, per layer a dict of
    (T, H) arrays (see :class:`StepOutput`), and the final state."""

    logits: np.ndarray
    layers: list[dict[str, np.ndarray]]
    state: State


def run(params: Params, cfg: ModelConfig, ids: np.ndarray, state: State | None = None) -> RunOutput:
    """Feed a sequence of token ids (T,) to one stream, one :func:`step` at a time."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or len(ids) == 0:
        raise LstmError("run needs a non-empty 1-D sequence of token ids")
    state = zero_state(cfg, 1) if state is None else state
    logits, records = [], []
    for t in range(len(ids)):
        out = step(params, cfg, ids[t : t + 1], state)
        logits.append(out.logits[0])
        records.append(out.layers)
        state = out.state
    layers = [
        {name: np.stack([r[k][name][0] for r in records]) for name in records[0][k]}
        for k in range(cfg.num_layers)
    ]
    return RunOutput(np.stack(logits), layers, state)


def last(
    params: Params, cfg: ModelConfig, ids: np.ndarray, state: State | None = None
) -> StepOutput:
    """Feed a sequence of token ids (T,) to one stream and keep its last step only.

    The numbers are those of :func:`run` at its last row — logits (1, V) after the last
    token, that token's gates, the final state — computed by the same steps; only the
    records are left out, the (T, V) logits and (T, H) gates of every token, and the
    decoder runs once. Memory stays bounded however long the sequence.
    """
    ids = np.asarray(ids)
    if ids.ndim != 1 or len(ids) == 0:
        raise LstmError("last needs a non-empty 1-D sequence of token ids")
    state = zero_state(cfg, 1) if state is None else state
    for t in range(len(ids) - 1):
        _, state = _layers_step(params, cfg, ids[t : t + 1], state)
    return step(params, cfg, ids[-1:], state)


class Stepper:
    """Feed one token per stream at a time and read the next-token logits.

    Shapes: B streams, E embedding size, H units, V vocabulary; ``ids`` (B,) → logits (B, V).
    """

    def __init__(self, params: Params, cfg: ModelConfig, state: State) -> None:
        self.cfg = cfg
        H, E, L = cfg.hidden_size, cfg.embed_size, cfg.num_layers
        B = state[0].h.shape[0]
        dt = np.dtype(cfg.dtype)
        lstm = cfg.cell == "lstm"
        G = cfg.gates
        scale, shift = cells.gate_vectors(H, dt) if lstm else (np.ones(H, dt), np.zeros(H, dt))
        # With one stream the buffers are vectors, so the products are matrix-vector
        # products; with B streams they are (·, B) matrices and the vectors broadcast.
        cols = () if B == 1 else (B,)
        col = (lambda v: v) if B == 1 else (lambda v: v[:, None])
        self._scale, self._shift = col(scale), col(shift)
        self._embedding = params["encoder.weight"].copy()
        self._W, self._b = [], []  # per layer: [W_ih | W_hh] (G·H, in + H), bias (G·H,)
        for k in range(L):
            W_ih, W_hh = params[f"rnn.weight_ih_l{k}"], params[f"rnn.weight_hh_l{k}"]
            self._W.append(np.hstack([W_ih, W_hh]) * scale[:, None])
            b = params[f"rnn.bias_ih_l{k}"] + params[f"rnn.bias_hh_l{k}"]
            self._b.append(col(b * scale))
        self._decoder = decoder_weight(params).copy()  # (V, H)
        self._decoder_bias = col(params["decoder.bias"].copy())  # (V,)
        # xh[k] = [x; h] of layer k, feature-major (in + H, B); c[k] (H, B)
        self._xh = [np.zeros(((E if k == 0 else H) + H, *cols), dt) for k in range(L)]
        self._c = [np.zeros((H, *cols), dt) for _ in range(L)]
        self._a = np.empty((G * H, *cols), dt)
        self._tmp = np.empty((H, *cols), dt)
        self._h_top = np.empty((H, *cols), dt)
        self._logits = np.empty((cfg.vocab_size, *cols), dt)
        self._batch = B
        a = self._a
        self._gates = (a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]) if lstm else (a,) * 4
        # per layer: weights, bias, stacked operand, cell state (None for the RNN), and
        # where h goes: the input rows of the layer above, or the decoder's operand
        self._layers = [
            (W, b, xh, c if lstm else None, self._xh[k + 1][:H] if k + 1 < L else self._h_top)
            for k, (W, b, xh, c) in enumerate(zip(self._W, self._b, self._xh, self._c, strict=True))
        ]
        self._logits_out = self._logits.T.reshape(B, cfg.vocab_size)  # a view
        self.state = state

    @property
    def state(self) -> State:
        """The current state, as (B, H) copies."""
        H = self.cfg.hidden_size
        lstm = self.cfg.cell == "lstm"
        B = self._batch
        return [
            LayerState(xh[-H:].T.reshape(B, H), c.T.reshape(B, H) if lstm else None)
            for xh, c in zip(self._xh, self._c, strict=True)
        ]

    @state.setter
    def state(self, state: State) -> None:
        H = self.cfg.hidden_size
        for k, layer in enumerate(state):
            self._xh[k][-H:] = layer.h.T.reshape(self._xh[k][-H:].shape)
            if layer.c is not None:
                self._c[k][...] = layer.c.T.reshape(self._c[k].shape)

    def feed(self, ids: np.ndarray) -> np.ndarray:
        """Feed token ids (B,); returns the logits (B, V), a view overwritten by the next call."""
        self.advance(ids)
        np.matmul(self._decoder, self._h_top, out=self._logits)
        self._logits += self._decoder_bias
        return self._logits_out

    def advance(self, ids: np.ndarray) -> None:
        """Feed token ids (B,) without the decoder: the state moves on, no logits."""
        H = self.cfg.hidden_size
        x = self._xh[0]
        if self._batch == 1:
            x[:-H] = self._embedding[ids[0]]
        else:
            x[:-H] = self._embedding[ids].T
        a, tmp, (i, f, g, o) = self._a, self._tmp, self._gates
        scale, shift = self._scale, self._shift
        for W, b, xh, c, h in self._layers:
            np.matmul(W, xh, out=a)
            a += b  # a = W_ih x + W_hh h + b (i, f, o rows halved)
            np.tanh(a, out=a)
            if c is None:
                h[...] = a  # h = tanh(W_ih x + W_hh h + b)
            else:
                a *= scale
                a += shift  # σ = ½ + ½·tanh(a/2) on i, f, o; g = tanh(a)
                c *= f
                np.multiply(i, g, out=tmp)
                c += tmp  # c = f ⊙ c + i ⊙ g
                np.tanh(c, out=h)
                h *= o  # h = o ⊙ tanh(c)
            xh[-H:] = h  # this layer's state for the next token
