"""The language model: embedding → L recurrent layers → linear decoder → softmax.

Parameters are a ``dict[str, np.ndarray]`` keyed by the tensor names of PyTorch's
``examples/word_language_model`` ``RNNModel`` state dict, so the same names serve the
optimiser, the gradient check and the checkpoint::

    encoder.weight      (V, E)       embedding
    rnn.weight_ih_l{k}  (G·H, in)    in = E for k = 0, else H; G = 4 (lstm) or 1 (rnn)
    rnn.weight_hh_l{k}  (G·H, H)
    rnn.bias_ih_l{k}    (G·H,)
    rnn.bias_hh_l{k}    (G·H,)
    decoder.weight      (V, H)       absent when tied: the decoder uses encoder.weight
    decoder.bias        (V,)

Loss: mean cross-entropy per token, perplexity = exp(loss). Inverted dropout (training
only) on the embeddings, between layers and before the decoder, as in that model. The
regularisers of AWD-LSTM (locked dropout, embedding dropout, weight drop, AR, TAR; see
:mod:`lstmcli.regularize`) join in when :func:`loss_and_grads` is given them.

Here the model runs over windows, for training and evaluation (:func:`loss_and_grads`,
:func:`window_loss`): time-major ids (T, B), state carried in and out, gradients exact
through the window. Token-by-token use — ``predict``, ``trace``, generation — is in
:mod:`lstmcli.inference`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np

from lstmcli import cells, regularize
from lstmcli.errors import LstmError
from lstmcli.workspace import Workspace

Params = dict[str, np.ndarray]
CELLS = ("lstm", "rnn")
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of the model; saved in every checkpoint as JSON."""

    vocab_size: int
    embed_size: int = 200
    hidden_size: int = 200
    num_layers: int = 2
    cell: str = "lstm"  # "lstm" | "rnn"
    dropout: float = 0.0
    tie_weights: bool = False
    init_scale: float = 0.1
    forget_bias: float = 0.0
    dtype: str = "float32"  # "float32" | "float64"

    def __post_init__(self) -> None:
        for name in ("vocab_size", "embed_size", "hidden_size", "num_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise LstmError(f"{name} must be a positive integer, got {value!r}")
        if self.cell not in CELLS:
            raise LstmError(f"unknown cell {self.cell!r}; use one of: {', '.join(CELLS)}")
        if not 0.0 <= self.dropout < 1.0:
            raise LstmError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.tie_weights and self.embed_size != self.hidden_size:
            raise LstmError(
                f"tied weights need embed size == hidden size, got {self.embed_size} "
                f"and {self.hidden_size}; set both to the same value"
            )
        if not self.init_scale > 0:
            raise LstmError(f"init_scale must be positive, got {self.init_scale}")
        if self.dtype not in DTYPES:
            raise LstmError(f"unknown dtype {self.dtype!r}; use one of: {', '.join(DTYPES)}")

    @property
    def gates(self) -> int:
        """Rows per unit in the recurrent weights: 4 for the LSTM (i, f, g, o), 1 for the RNN."""
        return 4 if self.cell == "lstm" else 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise LstmError(f"unknown model settings: {', '.join(sorted(unknown))}")
        return cls(**d)


def param_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Name → shape of every trainable parameter, in a fixed order."""
    V, E, H, G = cfg.vocab_size, cfg.embed_size, cfg.hidden_size, cfg.gates
    shapes: dict[str, tuple[int, ...]] = {"encoder.weight": (V, E)}
    for k in range(cfg.num_layers):
        n_in = E if k == 0 else H
        shapes[f"rnn.weight_ih_l{k}"] = (G * H, n_in)
        shapes[f"rnn.weight_hh_l{k}"] = (G * H, H)
        shapes[f"rnn.bias_ih_l{k}"] = (G * H,)
        shapes[f"rnn.bias_hh_l{k}"] = (G * H,)
    if not cfg.tie_weights:
        shapes["decoder.weight"] = (V, H)
    shapes["decoder.bias"] = (V,)
    return shapes


def num_params(cfg: ModelConfig) -> int:
    """Number of trainable scalars."""
    return sum(int(np.prod(s)) for s in param_shapes(cfg).values())


def init_params(cfg: ModelConfig, rng: np.random.Generator) -> Params:
    """Uniform(−s, s) weights and biases, zero decoder bias, optional forget-gate bias."""
    s, dt = cfg.init_scale, np.dtype(cfg.dtype)
    params: Params = {}
    for name, shape in param_shapes(cfg).items():
        if name == "decoder.bias":
            params[name] = np.zeros(shape, dt)
        else:
            params[name] = rng.uniform(-s, s, size=shape).astype(dt)
    if cfg.cell == "lstm" and cfg.forget_bias:
        H = cfg.hidden_size
        for k in range(cfg.num_layers):
            params[f"rnn.bias_ih_l{k}"][H : 2 * H] += cfg.forget_bias
    return params


def decoder_weight(params: Params) -> np.ndarray:
    """The (V, H) decoder matrix: its own, or the embedding when tied."""
    return params.get("decoder.weight", params["encoder.weight"])


class LayerState(NamedTuple):
    """The recurrent state of one layer: h (B, H) and, for the LSTM, c (B, H)."""

    h: np.ndarray
    c: np.ndarray | None


State = list[LayerState]


def zero_state(cfg: ModelConfig, batch_size: int) -> State:
    """All-zero state for ``batch_size`` streams, as at the start of every epoch."""
    dt, H = np.dtype(cfg.dtype), cfg.hidden_size
    lstm = cfg.cell == "lstm"
    return [
        LayerState(np.zeros((batch_size, H), dt), np.zeros((batch_size, H), dt) if lstm else None)
        for _ in range(cfg.num_layers)
    ]


class _Forward(NamedTuple):
    caches: list
    masks: list  # dropout masks per dropout site, or None
    top: np.ndarray  # (T·B, H) decoder input
    state: State
    W_hh: list  # the recurrent weights each layer ran with (weight-dropped or the params)


def _forward(
    params: Params,
    cfg: ModelConfig,
    x: np.ndarray,
    state: State,
    ws: Workspace,
    rng: np.random.Generator | None,
    rm: regularize.Masks | None = None,
) -> _Forward:
    """Embedding and recurrent layers over a window x (T, B); dropout when rng is given,
    the regularisers' masks when ``rm`` is."""
    T, B = x.shape
    dt = np.dtype(cfg.dtype)
    p = cfg.dropout if rng is not None else 0.0
    emb = ws.get("emb", (T, B, cfg.embed_size), dt)
    np.take(params["encoder.weight"], x, axis=0, out=emb)  # (T, B, E)
    if rm is not None and rm.words is not None:  # embedding dropout: ẽ_t = w[x_t]·E[x_t]
        emb *= rm.words[x][..., None]
    masks: list = []
    inp = emb
    caches, new_state, W_used = [], [], []
    for k in range(cfg.num_layers):
        if p > 0:  # dropout on this layer's input (a copy: the layer below keeps its output)
            m = regularize.dropout_mask(rng, inp.shape, p, dt, ws.get(f"mask{k}", inp.shape, dt))
            inp = np.multiply(inp, m, out=ws.get(f"dropped{k}", inp.shape, dt))
            masks.append(m)
        if rm is not None and rm.locked[k] is not None:  # locked: one (B, D) mask for all t
            inp = np.multiply(inp, rm.locked[k], out=ws.get(f"locked{k}", inp.shape, dt))
        W_ih, W_hh = params[f"rnn.weight_ih_l{k}"], params[f"rnn.weight_hh_l{k}"]
        if rm is not None and rm.weight[k] is not None:  # weight drop: W̃_hh = W_hh ⊙ M
            W_hh = np.multiply(W_hh, rm.weight[k], out=ws.get(f"wdrop{k}", W_hh.shape, dt))
        W_used.append(W_hh)
        b = params[f"rnn.bias_ih_l{k}"] + params[f"rnn.bias_hh_l{k}"]
        if cfg.cell == "lstm":
            out, hT, cT, cache = cells.lstm_forward(
                inp, state[k].h, state[k].c, W_ih, W_hh, b, ws, key=f"l{k}"
            )
            new_state.append(LayerState(hT.copy(), cT.copy()))
        else:
            out, hT, cache = cells.rnn_forward(inp, state[k].h, W_ih, W_hh, b, ws, key=f"l{k}")
            new_state.append(LayerState(hT.copy(), None))
        caches.append(cache)
        inp = out
    top = inp.reshape(T * B, cfg.hidden_size)
    if p > 0:  # dropout before the decoder, on a copy: the layer output stays in the cache
        m = regularize.dropout_mask(rng, top.shape, p, dt, ws.get("mask_top", top.shape, dt))
        top = np.multiply(top, m, out=ws.get("top", top.shape, dt))
        masks.append(m)
    if rm is not None and rm.locked[-1] is not None:  # locked dropout before the decoder
        top3 = top.reshape(T, B, cfg.hidden_size)
        top = np.multiply(top3, rm.locked[-1], out=ws.get("locked_top", top3.shape, dt))
        top = top.reshape(T * B, cfg.hidden_size)
    return _Forward(caches, masks, top, new_state, W_used)


def _logits(params: Params, top: np.ndarray, ws: Workspace) -> np.ndarray:
    """Decoder GEMM: (N, H) → (N, V) logits, without the bias, in a workspace buffer."""
    W_d = decoder_weight(params)
    logits = ws.get("logits", (top.shape[0], W_d.shape[0]), top.dtype)
    np.matmul(top, W_d.T, out=logits)
    return logits


# elements per softmax block: 512 KiB of float32 rows stay in L2 across the block's passes
_BLOCK = 1 << 17


# Logits more than 30 below a row's largest are raised to −30 before exp: their
# probabilities (< 1e-13 each, < 1e-9 in all) stay representable without denormal floats,
# which are 10× slower on x86 and would otherwise appear in exp, the gradient and Adam's g².
_FLOOR = -30.0


def _softmax_xent(
    logits: np.ndarray, bias: np.ndarray, y: np.ndarray, grad_scale: float | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Cross-entropy of each row of ``logits + bias`` (N, V) against targets y (N,).

    Works through a few rows at a time, so each block stays in cache from the bias add to
    the last pass. Returns the nll per row (N,) float64 and, with ``grad_scale`` s, row
    factors r (N,): ``logits`` is then overwritten by e = exp(z − max z) − Σexp·onehot(y),
    and r[:, None]·e = s·(softmax − onehot(y)) is the gradient of s·Σ nll. The caller
    folds r into the (N, H) operands of the decoder's gradient GEMMs, which saves a pass
    over the (N, V) array. Without ``grad_scale`` the logits are overwritten by junk and
    r is None.
    """
    N, V = logits.shape
    rows = min(64, max(1, _BLOCK // V))
    nll = np.empty(N)
    r_all = np.empty(N, logits.dtype) if grad_scale is not None else None
    at = np.arange(rows)
    ones = np.ones(V, logits.dtype)  # row sums as a GEMV: faster than a reduction
    for r in range(0, N, rows):
        z = logits[r : r + rows]  # (n, V)
        n, yb = len(z), y[r : r + rows]
        z += bias
        top = z.max(axis=1, keepdims=True)
        low = z.min(axis=1, keepdims=True)  # a read pass: cheaper than an unneeded floor
        z -= top  # stable: the largest logit is 0
        target = z[at[:n], yb].astype(np.float64)
        if (low - top).min() < _FLOOR:  # keep exp, softmax and gradients out of denormals
            np.maximum(z, _FLOOR, out=z)
        np.exp(z, out=z)
        total = z @ ones  # Σ exp
        nll[r : r + n] = np.log(total.astype(np.float64)) - target
        if r_all is not None:
            z[at[:n], yb] -= total  # e − Σexp·onehot(y)
            np.divide(grad_scale, total, out=r_all[r : r + n])
    return nll, r_all


def scatter_add_rows(out: np.ndarray, idx: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """out[idx[n]] += rows[n] for every n, repeated indices summed (a fast ``np.add.at``).

    Returns the distinct indices, sorted: the rows of ``out`` that were touched.
    """
    order = np.argsort(idx, kind="stable")
    sorted_idx = idx[order]
    starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]])
    touched = sorted_idx[starts]
    out[touched] += np.add.reduceat(rows[order], starts, axis=0)
    return touched


class Grads(dict):
    """Gradients by parameter name: dense arrays shaped like the parameters.

    ``rows`` maps a name to the only rows (sorted, distinct) in which its gradient can be
    non-zero: for an embedding not tied to the decoder, the T·B tokens looked up in the
    window. The optimisers and the global norm visit just those rows; everything else may
    read the dense arrays as usual.

    ``penalty`` is the AR + TAR term of the window (0 without them): the gradients are
    those of the objective ``loss + penalty``.
    """

    def __init__(self, arrays: dict[str, np.ndarray], rows: dict[str, np.ndarray] | None = None):
        super().__init__(arrays)
        self.rows = rows or {}
        self.penalty = 0.0


def loss_and_grads(
    params: Params,
    cfg: ModelConfig,
    x: np.ndarray,
    y: np.ndarray,
    state: State,
    ws: Workspace,
    rng: np.random.Generator | None = None,
    reg: regularize.Regularizers | None = None,
    mask: np.ndarray | None = None,
) -> tuple[float, Grads, State]:
    """Mean cross-entropy of a window and the exact gradient of every parameter.

    x, y: (T, B) int ids, y the next token of x. state: carried in from the previous
    window (its gradient is stopped at the window edge). rng: dropout masks; None turns
    dropout off. reg: AWD-LSTM's regularisers, their masks drawn from rng first (AR and
    TAR apply even without rng); their penalty is in ``grads.penalty``. mask: (T, B) 1 on
    the steps that count and 0 on padding (line batches, :class:`~lstmcli.data.LinePlan`);
    the loss is then the mean over the n = Σ mask steps, and padded steps add nothing to
    it or to any gradient. Padding must come after a stream's last counted step, as it
    does in a line batch: a padded step then feeds only padded steps. Returns (loss,
    grads, new state); loss is the cross-entropy alone; grads live in ``ws`` and are
    overwritten by the next call.
    """
    T, B = x.shape
    N = T * B
    dt = np.dtype(cfg.dtype)
    weights = None if mask is None else mask.reshape(N).astype(dt, copy=False)
    n = N if weights is None else float(weights.sum())
    if n == 0:
        raise LstmError("a window with every step masked out has no loss")
    masked = reg is not None and reg.dropouts and rng is not None
    rm = regularize.draw_masks(reg, cfg, B, rng, ws) if masked else None
    fw = _forward(params, cfg, x, state, ws, rng if cfg.dropout > 0 else None, rm)
    # softmax + cross-entropy; its gradient (p − onehot(y)) / n is r[:, None] · e
    e = _logits(params, fw.top, ws)
    nll, r = _softmax_xent(e, params["decoder.bias"], y.reshape(N), grad_scale=1.0 / n)
    if weights is None:
        loss = float(nll.mean())
    else:  # padded rows: no loss, and r = 0 stops their gradient at the decoder
        loss = float(nll @ weights) / n
        r *= weights

    grads = Grads({k: ws.get(f"grad:{k}", p.shape, dt) for k, p in params.items() if "rnn." in k})
    if not cfg.tie_weights:  # zero outside the rows of the last window: see below
        grads["encoder.weight"] = ws.kept("grad:encoder.weight", params["encoder.weight"].shape, dt)
    W_d = decoder_weight(params)
    dW_d = ws.get("grad:decoder.weight", W_d.shape, dt)
    top_r = np.multiply(fw.top, r[:, None], out=ws.get("top_r", fw.top.shape, dt))
    np.matmul(e.T, top_r, out=dW_d)  # (V, H) = Σ_n r_n e_nᵀ top_n
    grads["encoder.weight" if cfg.tie_weights else "decoder.weight"] = dW_d
    db = grads["decoder.bias"] = ws.get("grad:decoder.bias", (cfg.vocab_size,), dt)
    np.matmul(r, e, out=db)  # Σ_n r_n e_n, as one GEMV
    dtop = ws.get("dtop", (N, cfg.hidden_size), dt)
    np.matmul(e, W_d, out=dtop)  # (N, H)
    dtop *= r[:, None]
    penalty = 0.0
    if reg is not None and reg.alpha:  # AR on the decoder's (dropped) input
        penalty += regularize.activation_penalty(fw.top, reg.alpha, dtop, ws, weights)
    masks = list(fw.masks)
    if masks:
        dtop *= masks.pop()
    dh = dtop.reshape(T, B, cfg.hidden_size)
    if rm is not None and rm.locked[-1] is not None:
        dh *= rm.locked[-1]
    if reg is not None and reg.beta:  # TAR on the last layer's output before dropout
        steps = None if mask is None else mask.astype(dt, copy=False)
        penalty += regularize.temporal_penalty(fw.caches[-1].h[1:], reg.beta, dh, ws, steps)
    for k in range(cfg.num_layers - 1, -1, -1):
        W_ih, W_hh = params[f"rnn.weight_ih_l{k}"], fw.W_hh[k]
        g = cells.CellGrads(
            grads[f"rnn.weight_ih_l{k}"], grads[f"rnn.weight_hh_l{k}"], grads[f"rnn.bias_ih_l{k}"]
        )
        backward = cells.lstm_backward if cfg.cell == "lstm" else cells.rnn_backward
        dh, _ = backward(dh, fw.caches[k], W_ih, W_hh, ws, key=f"l{k}", grads=g)
        grads[f"rnn.bias_hh_l{k}"][...] = g.db  # b_ih and b_hh enter as one sum
        if masks:
            dh *= masks.pop()
        if rm is not None:
            if rm.weight[k] is not None:
                np.multiply(g.dW_hh, rm.weight[k], out=g.dW_hh)  # ∂L/∂W_hh = M ⊙ ∂L/∂W̃_hh
            if rm.locked[k] is not None:
                dh *= rm.locked[k]
    if rm is not None and rm.words is not None:
        dh *= rm.words[x][..., None]  # only the kept words' rows get a gradient
    # embedding: add each position's input gradient into the row it looked up
    dE = grads["encoder.weight"]
    if cfg.tie_weights:  # dE already holds the decoder's dense gradient
        scatter_add_rows(dE, x.reshape(N), dh.reshape(N, cfg.embed_size))
    else:  # sparse: clear only the rows the last window touched, and say which are set
        last = ws.kept("grad:encoder.weight:rows", (cfg.vocab_size,), bool)
        dE[last] = 0
        last[:] = False
        rows = scatter_add_rows(dE, x.reshape(N), dh.reshape(N, cfg.embed_size))
        last[rows] = True
        grads.rows["encoder.weight"] = rows
    grads.penalty = penalty
    return loss, grads, fw.state


def window_logits(
    params: Params, cfg: ModelConfig, x: np.ndarray, state: State, ws: Workspace
) -> tuple[np.ndarray, State]:
    """Logits (T·B, V) of a window x (T, B) without dropout, the decoder bias not yet added,
    and the new state. Row t·B + b is stream b after token x[t, b]; the array lives in ws."""
    fw = _forward(params, cfg, x, state, ws, None)
    return _logits(params, fw.top, ws), fw.state


def last_logits(
    params: Params, cfg: ModelConfig, x: np.ndarray, last: np.ndarray, ws: Workspace
) -> np.ndarray:
    """Logits (B, V), decoder bias included, of each stream b of a window x (T, B) run from
    the zero state without dropout, read after its token x[last[b], b]: the next-token
    scores after B prompts of different lengths, padded at the end, in one run."""
    B = x.shape[1]
    fw = _forward(params, cfg, x, zero_state(cfg, B), ws, None)
    top = fw.top[np.asarray(last) * B + np.arange(B)]  # (B, H)
    return top @ decoder_weight(params).T + params["decoder.bias"]


def row_nll(logits: np.ndarray, bias: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-entropy (N,) float64 of each row of ``logits + bias`` (N, V) against targets y
    (N,); ``logits`` is overwritten."""
    return _softmax_xent(logits, bias, y)[0]


def window_loss(
    params: Params,
    cfg: ModelConfig,
    x: np.ndarray,
    y: np.ndarray,
    state: State,
    ws: Workspace,
    mask: np.ndarray | None = None,
) -> tuple[float, State]:
    """Summed cross-entropy (nats) of a window without dropout, and the new state; with
    ``mask`` (T, B), summed over the steps where it is 1 (see :func:`loss_and_grads`)."""
    logits, state = window_logits(params, cfg, x, state, ws)
    nll = row_nll(logits, params["decoder.bias"], y.reshape(y.size))
    total = nll.sum() if mask is None else nll @ mask.reshape(y.size).astype(np.float64)
    return float(total), state
