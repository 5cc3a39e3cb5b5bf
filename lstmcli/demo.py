"""``lstm demo long-range``: a simple RNN and an LSTM on the cake task of :mod:`longrange`.

For each distance D both cells, of the same size, are trained for the same number of
steps on fresh episodes of exactly D filler tokens, then asked for the cake on held-out
episodes. One episode is one window of T = D + 9 input tokens and its answer::

    麻里ちゃんが 玲奈ちゃんと モンブランを 食べている 。 <D filler tokens>
    僕の 麻里ちゃんの 愛してやまない ケーキは → モンブラン

The loss is the cross-entropy of the answer alone, read from the last hidden state::

    loss = −log softmax(W_d h_T + b_d)[cake]

so the filler, drawn at random, teaches nothing: the only way to lower the loss is to
carry the cake from the cue to the question, a pure memory test. The model is the one of
:mod:`lstmcli.model` (embedding → one recurrent layer → decoder, its parameter names and
cells); the loss and the start are this module's.

Settings, shared by both cells (:class:`DemoConfig`), chosen so the LSTM learns every
distance up to 80 within the budget for several seeds while nothing favours it but its
cell: PyTorch's initialisation (:func:`init_model`), Adam at lr 0.003, gradients clipped
at norm 1, 64 units, batches of 32 fresh episodes. The LSTM's forget-gate bias starts at
4 (f ≈ 0.98, as the "chrono" initialisation of Tallec & Ollivier 2018 suggests for lags
near e⁴ ≈ 55): at 1 (f ≈ 0.73) the gradient from the answer reaches the cue as
0.73^D, and the LSTM stalls at chance just like the RNN until it finds the cue by luck.

The gradient-flow picture is ‖∂loss/∂h_{T−k}‖, k steps before the answer, measured on the
trained models in float64: each step back multiplies the error signal by a Jacobian, the
RNN's ``diag(1 − h²) W_hh`` that shrinks it geometrically, the LSTM's cell path ``f``
that the forget gate can hold at 1.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from lstmcli import cells, longrange
from lstmcli.errors import LstmError
from lstmcli.inference import run, softmax
from lstmcli.model import ModelConfig, Params, decoder_weight, init_params, scatter_add_rows
from lstmcli.optim import Adam, clip_grads
from lstmcli.vocab import Vocab
from lstmcli.workspace import Workspace

CELLS = ("rnn", "lstm")


@dataclass(frozen=True)
class DemoConfig:
    """Settings of one demo run; both cells get the same ones."""

    distances: tuple[int, ...] = (5, 10, 20, 40, 80)
    k: int = 4  # cakes to choose from; chance is 1/k
    hidden: int = 64
    embed: int = 16
    steps: int = 2000  # updates per cell and distance
    batch_size: int = 32
    lr: float = 0.003  # Adam
    clip: float = 1.0
    forget_bias: float = 4.0
    eval_episodes: int = 400
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.distances:
            raise LstmError("give at least one distance, e.g. --distances 5,10,20")
        bad = [d for d in self.distances if d <= 0]
        if bad:
            raise LstmError(f"distances must be positive, got {bad[0]}")
        if self.seed < 0:
            raise LstmError(f"the seed must be 0 or more, got {self.seed}")
        if not 2 <= self.k <= len(longrange.CAKES):
            raise LstmError(f"k must be between 2 and {len(longrange.CAKES)}, got {self.k}")
        for name in ("hidden", "embed", "steps", "batch_size", "eval_episodes"):
            if getattr(self, name) <= 0:
                raise LstmError(f"{name} must be positive, got {getattr(self, name)}")

    @property
    def chance(self) -> float:
        return 1.0 / self.k


QUICK = DemoConfig(distances=(10, 20, 40), steps=1000, eval_episodes=200)


def build_vocab(k: int) -> Vocab:
    """Every token the first ``k`` cakes' episodes can hold (fixed order, no corpus)."""
    cakes = longrange.CAKES[:k]
    tokens = [t.format(cake=c) for t in longrange.CUE for c in cakes]
    tokens += longrange.FILLER + longrange.QUESTION + cakes
    return Vocab.build({t: 1 for t in tokens})


def encode(episodes: Sequence[longrange.Episode], vocab: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """Episodes of one length → inputs x (T, B) up to the question, answers y (B,)."""
    T = episodes[0].answer_index
    if any(ep.answer_index != T for ep in episodes):
        raise LstmError("a batch needs episodes of one distance")
    x = np.array([[vocab.index[t] for t in ep.tokens[:T]] for ep in episodes]).T
    y = np.array([vocab.index[ep.cake] for ep in episodes])
    return np.ascontiguousarray(x), y


def batch_seed(seed: int, distance: int, step: int) -> int:
    """The seed of training batch ``step`` (1, 2, …), or of the held-out episodes (0).

    Both cells see the same episodes.
    """
    return int(np.random.SeedSequence([seed, distance, step]).generate_state(1)[0])


def model_config(cell: str, vocab_size: int, dc: DemoConfig, dtype: str = "float32") -> ModelConfig:
    """One layer of ``dc.hidden`` units, untied decoder, no dropout."""
    return ModelConfig(
        vocab_size=vocab_size,
        embed_size=dc.embed,
        hidden_size=dc.hidden,
        num_layers=1,
        cell=cell,
        init_scale=1 / math.sqrt(dc.hidden),
        forget_bias=dc.forget_bias,
        dtype=dtype,
    )


def init_model(cfg: ModelConfig, rng: np.random.Generator) -> Params:
    """PyTorch's defaults: weights uniform in ±1/√H, embedding standard normal.

    The model's own small ±0.1 start suits long text; here it would leave the cue's trace
    in h too faint to learn from, for both cells alike.
    """
    params = init_params(cfg, rng)
    params["encoder.weight"][...] = rng.standard_normal(params["encoder.weight"].shape)
    return params


def _layer(params: Params, cfg: ModelConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W_ih, W_hh and the summed bias of the one recurrent layer."""
    b = params["rnn.bias_ih_l0"] + params["rnn.bias_hh_l0"]
    return params["rnn.weight_ih_l0"], params["rnn.weight_hh_l0"], b


def _forward(params: Params, cfg: ModelConfig, x: np.ndarray, ws: Workspace):
    """Embedding and the recurrent layer over x (T, B): h_seq (T, B, H) and the cache."""
    B = x.shape[1]
    emb = params["encoder.weight"][x]  # (T, B, E)
    W_ih, W_hh, b = _layer(params, cfg)
    h0 = np.zeros((B, cfg.hidden_size), emb.dtype)
    if cfg.cell == "lstm":
        h_seq, _, _, cache = cells.lstm_forward(emb, h0, h0.copy(), W_ih, W_hh, b, ws)
    else:
        h_seq, _, cache = cells.rnn_forward(emb, h0, W_ih, W_hh, b, ws)
    return h_seq, cache


def answer_logits(params: Params, cfg: ModelConfig, x: np.ndarray) -> np.ndarray:
    """Logits (B, V) of the token after the last input: the answer."""
    h_seq, _ = _forward(params, cfg, x, Workspace())
    return h_seq[-1] @ decoder_weight(params).T + params["decoder.bias"]


def answer_loss_and_grads(
    params: Params, cfg: ModelConfig, x: np.ndarray, y: np.ndarray, ws: Workspace
) -> tuple[float, Params]:
    """Mean cross-entropy of the answers y (B,) after inputs x (T, B), and its gradients."""
    T, B = x.shape
    h_seq, cache = _forward(params, cfg, x, ws)
    h_T = h_seq[-1].copy()  # (B, H)
    W_d = params["decoder.weight"]  # untied (see model_config)
    p = softmax(h_T @ W_d.T + params["decoder.bias"]).astype(h_T.dtype)  # (B, V)
    loss = float(-np.log(p[np.arange(B), y] + 1e-30).mean())
    grads: Params = {}
    dlogits = p
    dlogits[np.arange(B), y] -= 1.0  # softmax + cross-entropy
    dlogits /= B
    grads["decoder.weight"] = dlogits.T @ h_T  # (V, H)
    grads["decoder.bias"] = dlogits.sum(axis=0)
    dh_seq = np.zeros_like(h_seq)  # only the last step sees the loss
    dh_seq[-1] = dlogits @ W_d
    W_ih, W_hh, _ = _layer(params, cfg)
    backward = cells.lstm_backward if cfg.cell == "lstm" else cells.rnn_backward
    dx, g = backward(dh_seq, cache, W_ih, W_hh, ws)
    grads["rnn.weight_ih_l0"] = g.dW_ih.copy()
    grads["rnn.weight_hh_l0"] = g.dW_hh.copy()
    grads["rnn.bias_ih_l0"] = g.db.copy()
    grads["rnn.bias_hh_l0"] = g.db.copy()  # b_ih and b_hh enter as one sum
    dE = np.zeros_like(params["encoder.weight"])
    scatter_add_rows(dE, x.reshape(-1), dx.reshape(T * B, -1))  # each lookup's gradient
    grads["encoder.weight"] = dE
    return loss, grads


class TrainStep(NamedTuple):
    """Reported after every update: which run, how far, the mean loss of recent steps."""

    cell: str
    distance: int
    step: int
    steps: int
    loss: float


def train(
    cell: str,
    distance: int,
    dc: DemoConfig,
    vocab: Vocab,
    on_step: Callable[[TrainStep], None] | None = None,
) -> tuple[Params, ModelConfig]:
    """Train one cell at one distance on fresh episodes; return its parameters."""
    cfg = model_config(cell, len(vocab), dc)
    params = init_model(cfg, np.random.default_rng([dc.seed, distance]))
    opt = Adam(dc.lr)
    ws = Workspace()
    avg = math.log(len(vocab))
    for s in range(1, dc.steps + 1):
        eps = longrange.make_episodes(
            dc.batch_size, distance, k=dc.k, seed=batch_seed(dc.seed, distance, s)
        )
        x, y = encode(eps, vocab)
        loss, grads = answer_loss_and_grads(params, cfg, x, y, ws)
        clip_grads(grads, dc.clip)
        opt.step(params, grads)
        avg = 0.95 * avg + 0.05 * loss
        if on_step is not None:
            on_step(TrainStep(cell, distance, s, dc.steps, avg))
    return params, cfg


def held_out(distance: int, dc: DemoConfig) -> list[longrange.Episode]:
    """The evaluation episodes of one distance, never seen in training."""
    return longrange.make_episodes(
        dc.eval_episodes, distance, k=dc.k, seed=batch_seed(dc.seed, distance, 0)
    )


def accuracy(params: Params, cfg: ModelConfig, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of episodes whose most likely next token is the right cake."""
    return float((answer_logits(params, cfg, x).argmax(axis=1) == y).mean())


def hidden_grads(params: Params, cfg: ModelConfig, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∂loss_b/∂h_t for every step t and episode b, (T, B, H), in float64.

    loss_b is episode b's answer cross-entropy (the sum over the batch, so each episode's
    gradient is its own). The forward pass runs step by step and keeps the gates; the
    backward pass carries (dh, dc) from the answer to the first token and keeps every dh.
    """
    p = {k: v.astype(np.float64) for k, v in params.items()}
    W_ih, W_hh, b = _layer(p, cfg)
    T, B = x.shape
    H = cfg.hidden_size
    lstm = cfg.cell == "lstm"
    h = np.zeros((T + 1, B, H))  # h[t+1] = h_t, h[0] = 0
    c = np.zeros((T + 1, B, H))
    gates = np.zeros((T, B, 4 * H if lstm else H))
    for t in range(T):
        emb = p["encoder.weight"][x[t]]
        if lstm:
            h[t + 1], c[t + 1], gates[t] = cells.lstm_step(emb, h[t], c[t], W_ih, W_hh, b)
        else:
            h[t + 1] = cells.rnn_step(emb, h[t], W_ih, W_hh, b)
    W_d = decoder_weight(p)
    dlogits = softmax(h[T] @ W_d.T + p["decoder.bias"])
    dlogits[np.arange(B), y] -= 1.0  # softmax + cross-entropy, per episode
    dh_all = np.zeros((T, B, H))
    dh = dlogits @ W_d  # ∂loss/∂h_T
    dc = np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        dh_all[t] = dh
        if lstm:
            i, f, g, o = (gates[t][:, j * H : (j + 1) * H] for j in range(4))
            tanh_c = np.tanh(c[t + 1])
            dc = dc + dh * o * (1 - tanh_c**2)  # through h_t = o ⊙ tanh(c_t)
            da = np.concatenate(
                [
                    dc * g * i * (1 - i),  # input gate
                    dc * c[t] * f * (1 - f),  # forget gate
                    dc * i * (1 - g**2),  # candidate
                    dh * tanh_c * o * (1 - o),  # output gate
                ],
                axis=1,
            )
            dc = dc * f  # the cell path: c_{t-1} → c_t is multiplied by f
        else:
            da = dh * (1 - h[t + 1] ** 2)  # backprop through tanh
        dh = da @ W_hh  # to h_{t-1} through the recurrent weights
    return dh_all


def gradient_profile(params: Params, cfg: ModelConfig, x: np.ndarray, y: np.ndarray) -> list[float]:
    """Mean ‖∂loss/∂h‖ k steps before the answer, for k = 1 … T, relative to k = 1.

    k = 1 is the last input (the question's ケーキは), whose state predicts the answer;
    k = T − CUE_AT is the cake in the cue. Dividing by the norm at k = 1 makes the two
    cells comparable however sure each is of its answer.
    """
    norms = np.linalg.norm(hidden_grads(params, cfg, x, y), axis=2).mean(axis=1)  # (T,)
    prof = norms[::-1] / max(norms[-1], 1e-300)  # index k − 1
    return [float(v) for v in prof]


class Example(NamedTuple):
    """One LSTM episode at the positions that matter, for the chosen units.

    positions: indices into ``tokens`` (None marks skipped filler); f, c: (P, U) values
    of the forget gate and the cell at those positions; units: the unit numbers.
    """

    tokens: list[str]
    positions: list[int | None]
    units: list[int]
    f: np.ndarray
    c: np.ndarray
    answer: str
    predicted: str
    prob: float


def memory_units(
    params: Params, cfg: ModelConfig, x: np.ndarray, y: np.ndarray, n: int
) -> list[int]:
    """The n units that remember the cake best.

    Score: how well the cell value just before the question separates the cakes (the
    spread of the per-cake means over the spread within a cake), times the mean forget
    gate over the filler.
    """
    p = {k: v.astype(np.float64) for k, v in params.items()}
    W_ih, W_hh, b = _layer(p, cfg)
    T, B = x.shape
    H = cfg.hidden_size
    h, c = np.zeros((B, H)), np.zeros((B, H))
    f_sum = np.zeros((B, H))
    q = T - len(longrange.QUESTION)  # first question token
    start = len(longrange.CUE)
    for t in range(q):
        h, c, a = cells.lstm_step(p["encoder.weight"][x[t]], h, c, W_ih, W_hh, b)
        if t >= start:
            f_sum += a[:, H : 2 * H]
    f_mean = (f_sum / max(q - start, 1)).mean(axis=0)
    means = np.array([c[y == v].mean(axis=0) for v in np.unique(y)])  # (K, H)
    within = np.mean([c[y == v].var(axis=0) for v in np.unique(y)], axis=0)
    score = means.var(axis=0) / (within + 1e-3) * f_mean
    return [int(u) for u in np.argsort(-score)[:n]]


def trace_example(
    params: Params,
    cfg: ModelConfig,
    vocab: Vocab,
    episode: longrange.Episode,
    units: list[int],
    filler_shown: int = 3,
) -> Example:
    """Run one episode through the LSTM and keep f and c at the cue, filler edges, question."""
    T = episode.answer_index
    ids = np.array([vocab.index[t] for t in episode.tokens[:T]])
    out = run(params, cfg, ids)
    layer = out.layers[0]
    start, q = len(longrange.CUE), T - len(longrange.QUESTION)
    fill = list(range(start, q))
    if len(fill) > 2 * filler_shown + 1:
        fill = [*fill[:filler_shown], None, *fill[-filler_shown:]]
    positions = [*range(start), *fill, *range(q, T)]
    shown = [t for t in positions if t is not None]
    probs = softmax(out.logits[-1])
    best = int(probs.argmax())
    return Example(
        tokens=episode.tokens[:T],
        positions=positions,
        units=units,
        f=layer["f"][shown][:, units],
        c=layer["c"][shown][:, units],
        answer=episode.cake,
        predicted=vocab.tokens[best],
        prob=float(probs[best]),
    )


@dataclass
class DemoResult:
    """Everything the view needs; :meth:`to_json` is the ``--json`` output."""

    config: DemoConfig
    accuracy: dict[tuple[str, int], float]  # (cell, distance) → accuracy
    seconds: dict[tuple[str, int], float]
    gradient_distance: int
    gradients: dict[str, list[float]]  # cell → profile, index k − 1
    example: Example | None

    @property
    def cue_k(self) -> int:
        """k of the cake in the cue at the gradient distance."""
        return self.gradient_distance + len(longrange.CUE) + len(longrange.QUESTION) - 2

    def to_json(self) -> dict:
        dc = self.config
        return {
            "chance": dc.chance,
            "results": [
                {"cell": cell, "distance": d, "accuracy": self.accuracy[cell, d]}
                for d in dc.distances
                for cell in CELLS
            ],
            "gradient_norms": {
                "distance": self.gradient_distance,
                "cue_k": self.cue_k,
                "relative_to": "k=1",
                **{cell: self.gradients[cell] for cell in CELLS},
            },
        }


def run_demo(
    dc: DemoConfig,
    on_step: Callable[[TrainStep], None] | None = None,
    on_result: Callable[[str, int, float, float], None] | None = None,
    trace_units: int = 4,
) -> DemoResult:
    """Train and evaluate both cells at every distance; profile gradients at the longest.

    ``on_result(cell, distance, accuracy, seconds)`` is called after each evaluation.
    """
    vocab = build_vocab(dc.k)
    acc: dict[tuple[str, int], float] = {}
    secs: dict[tuple[str, int], float] = {}
    longest = max(dc.distances)
    grads: dict[str, list[float]] = {}
    tr = None
    for d in dc.distances:
        eps = held_out(d, dc)
        x, y = encode(eps, vocab)
        for cell in CELLS:
            t0 = time.perf_counter()
            params, cfg = train(cell, d, dc, vocab, on_step)
            acc[cell, d] = accuracy(params, cfg, x, y)
            secs[cell, d] = time.perf_counter() - t0
            if on_result is not None:
                on_result(cell, d, acc[cell, d], secs[cell, d])
            if d != longest:
                continue
            n = min(len(eps), 64)
            grads[cell] = gradient_profile(params, cfg, x[:, :n], y[:n])
            if cell == "lstm":
                units = memory_units(params, cfg, x, y, min(trace_units, dc.hidden))
                tr = trace_example(params, cfg, vocab, eps[0], units)
    return DemoResult(dc, acc, secs, longest, grads, tr)
