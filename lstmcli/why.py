"""Which earlier tokens made the prediction: occlusion.

For the most likely next token w of a prompt x_0 … x_{T−1} (x_0 the leading ``<eos>``),
and each position k ≥ 1, the prompt is fed again with x_k replaced by ``<unk>``::

    p_k = p(w | x_0 … x_{k−1} <unk> x_{k+1} … x_{T−1})

A token the prediction rests on takes p(w) down with it when it is taken away; one that
does not matter leaves p_k ≈ p(w).

The T − 1 occluded copies run as parallel streams of one :class:`~lstmcli.inference.Stepper`
(one product per layer and token for all of them), in chunks of up to ``chunk`` streams.
Copy k agrees with the prompt before position k, so a chunk of copies k ∈ [a, b) starts
from the prompt's own state after token a − 1 (taken from its run) and feeds only tokens
a … T − 1: about T²/2 stream-steps in all instead of T², and only the last token goes
through the decoder. The figures equal separate runs of each occluded prompt up to float
rounding.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lstmcli import inference
from lstmcli.model import LayerState, ModelConfig, Params, State, zero_state

CHUNK = 32  # occluded copies per batch of streams


class Occlusion(NamedTuple):
    """p(target) after the prompt, and after it with each position k ≥ 1 occluded.

    positions (T − 1,) are 1 … T − 1; prob_without[j] belongs to positions[j]; with
    ``keep_state``, c_without[k] is layer k's final cell state in each occluded copy
    (T − 1, H) (the rnn: its h), else None.
    """

    target: int
    prob: float
    positions: np.ndarray
    prob_without: np.ndarray
    c_without: list[np.ndarray] | None = None


def _state_after(run: inference.RunOutput, t: int) -> State:
    """The prompt's state after token t, as one stream, from its run's records."""
    return [LayerState(r["h"][t : t + 1], r["c"][t : t + 1] if "c" in r else None)
            for r in run.layers]  # fmt: skip


def occlude(
    params: Params,
    cfg: ModelConfig,
    ids: np.ndarray,
    unk_id: int,
    *,
    run: inference.RunOutput | None = None,
    target: int | None = None,
    temperature: float = 1.0,
    chunk: int = CHUNK,
    keep_state: bool = False,
) -> Occlusion:
    """Occlusion of every fed token after the first: ids (T,), T ≥ 2.

    ``run``: the prompt's :func:`inference.run` output, if already computed; ``target``:
    the token id to follow (default: the most likely next token at ``temperature``);
    ``keep_state``: also keep each copy's final cell state.
    """
    ids = np.asarray(ids)
    run = inference.run(params, cfg, ids) if run is None else run
    p = inference.softmax(run.logits[-1], temperature)
    target = int(np.argmax(p)) if target is None else target
    T = len(ids)
    positions = np.arange(1, T)
    n = len(positions)
    m = min(n, chunk)
    stepper = inference.Stepper(params, cfg, zero_state(cfg, m))
    without = np.empty(n)
    states = [np.empty((n, cfg.hidden_size)) for _ in range(cfg.num_layers if keep_state else 0)]
    for a in range(0, n, m):
        ks = positions[a : a + m]  # the copies of this chunk, padded to m streams
        ks = np.concatenate([ks, np.full(m - len(ks), ks[-1])])
        start = int(ks[0])
        stepper.state = [
            LayerState(np.repeat(s.h, m, axis=0), None if s.c is None else np.repeat(s.c, m, 0))
            for s in _state_after(run, start - 1)
        ]
        for t in range(start, T):
            col = np.full(m, ids[t])
            col[ks == t] = unk_id  # copy k sees <unk> at position k
            if t < T - 1:
                stepper.advance(col)
            else:
                logits = stepper.feed(col)
        probs = inference.softmax(logits, temperature)[:, target]
        take = min(m, n - a)
        without[a : a + take] = probs[:take]
        if keep_state:
            for k, s in enumerate(stepper.state):
                states[k][a : a + take] = (s.h if s.c is None else s.c)[:take]
    return Occlusion(target, float(p[target]), positions, without, states if keep_state else None)


def memory_change(run: inference.RunOutput, occ: Occlusion) -> list[np.ndarray]:
    """Per layer, how much the last cell state moves when each position k ≥ 1 is occluded:
    ‖c − c_without_k‖₁ / ‖c‖₁, (T − 1,) (the rnn: its h)."""
    out = []
    for r, c_k in zip(run.layers, occ.c_without, strict=True):
        c = r["c"][-1] if "c" in r else r["h"][-1]
        out.append(np.abs(c_k - c).sum(axis=1) / max(float(np.abs(c).sum()), 1e-300))
    return out


def to_json(tokens: list[str], vocab: list[str], occ: Occlusion) -> dict:
    """``{"tokens", "token", "prob", "occlusion": [{"position", "token", "prob_without"}]}``."""
    return {
        "tokens": list(tokens),
        "token": vocab[occ.target],
        "prob": occ.prob,
        "occlusion": [
            {"position": int(k), "token": tokens[k], "prob_without": float(q)}
            for k, q in zip(occ.positions, occ.prob_without, strict=True)
        ],
    }


def strongest(occ: Occlusion) -> int:
    """Index (into ``positions``) of the token whose removal lowers p(target) most."""
    return int(np.argmin(occ.prob_without))


def memory_change_at(
    params: Params,
    cfg: ModelConfig,
    ids: np.ndarray,
    unk_id: int,
    logits: np.ndarray,
    layers: list[dict[str, np.ndarray]],
    hi: int,
) -> list[np.ndarray]:
    """:func:`memory_change` of the prompt's first ``hi`` tokens, from the logits (T, V) and
    gate records (T, H) of its run; (hi − 1,) per layer."""
    if hi < 2:
        return [np.zeros(0) for _ in layers]
    run = inference.RunOutput(logits[:hi], [{g: v[:hi] for g, v in r.items()} for r in layers], [])
    occ = occlude(params, cfg, np.asarray(ids)[:hi], unk_id, run=run, keep_state=True)
    return memory_change(run, occ)
