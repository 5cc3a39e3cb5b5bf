"""A toy cue task and a tiny LSTM that learns it in a few seconds, for the memory tests.

Episodes of space-separated tokens, one per line: ``cue xK f… ? xK`` — a cue word, one of
K symbols, 2 to 8 filler tokens drawn at random, a question mark, and the symbol again.
The filler says nothing about the symbol, so the only way to predict the answer is to
carry the symbol across it. The model trains as ``lstm train`` does (windows of B streams,
:func:`lstmcli.model.loss_and_grads`, Adam, clipping), then is returned in float64.
"""

from __future__ import annotations

import numpy as np

from lstmcli import checkpoint, model, optim
from lstmcli.predict import Predictor
from lstmcli.workspace import Workspace

K, FILLER = 4, 8
SYMBOLS = [f"x{k}" for k in range(K)]
TOKENS = ["<eos>", "<unk>", "cue", "?", *SYMBOLS, *(f"f{k}" for k in range(FILLER))]
SYMBOL_AT = 2  # position of the symbol in a prompt: <eos> cue xK …


def episode(rng: np.random.Generator, distance: int) -> list[str]:
    x = SYMBOLS[int(rng.integers(K))]
    filler = [f"f{k}" for k in rng.integers(FILLER, size=distance)]
    return ["cue", x, *filler, "?", x]


def prompts(n: int, distance: int, seed: int = 123) -> list[tuple[str, str]]:
    """(prompt text up to the question mark, answer) pairs, held out from training."""
    rng = np.random.default_rng(seed)
    return [(" ".join(ep[:-1]), ep[-1]) for ep in (episode(rng, distance) for _ in range(n))]


def train(seed: int = 0, steps: int = 600, hidden: int = 16) -> Predictor:
    rng = np.random.default_rng(seed)
    index = {t: n for n, t in enumerate(TOKENS)}
    ids = np.array(
        [i for _ in range(800) for i in [0, *(index[t] for t in episode(rng, rng.integers(2, 9)))]]
    )
    cfg = model.ModelConfig(
        vocab_size=len(TOKENS), embed_size=8, hidden_size=hidden, num_layers=1, forget_bias=1.0,
        init_scale=0.5,
    )  # fmt: skip
    params = model.init_params(cfg, rng)
    opt, ws = optim.Adam(0.01), Workspace()
    B, T = 32, 20
    n = len(ids) // B
    streams = ids[: n * B].reshape(B, n).T  # (n, B): B parallel streams
    step = 0
    while step < steps:
        state = model.zero_state(cfg, B)
        for a in range(0, n - T - 1, T):
            x, y = streams[a : a + T], streams[a + 1 : a + T + 1]
            _, grads, state = model.loss_and_grads(params, cfg, x, y, state, ws)
            optim.clip_grads(grads, 1.0)
            opt.step(params, grads)
            step += 1
            if step == steps:
                break
    cfg64 = model.ModelConfig.from_dict({**cfg.to_dict(), "dtype": "float64"})
    params64 = {k: v.astype(np.float64) for k, v in params.items()}
    spec = {"name": "space", "options": {}}
    return Predictor(checkpoint.Checkpoint(cfg64, params64, list(TOKENS), spec))
