"""The generation stepper against the inference API it shortcuts."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli import model as M
from lstmcli.stepper import Stepper


def _model(cell: str, layers: int, tie: bool = False, dtype: str = "float64"):
    cfg = M.ModelConfig(
        vocab_size=50, embed_size=6, hidden_size=6 if tie else 5, num_layers=layers, cell=cell,
        tie_weights=tie, dtype=dtype,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    params = M.init_params(cfg, rng)
    for p in params.values():  # non-zero biases everywhere
        p += rng.uniform(-0.1, 0.1, p.shape).astype(p.dtype)
    return cfg, params, rng


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_stepper_matches_model_step(cell, layers, batch):
    cfg, params, rng = _model(cell, layers)
    shape, lstm = (batch, 5), cell == "lstm"
    state = [  # start from a non-zero state, as after a prompt
        M.LayerState(rng.normal(0, 0.5, shape), rng.normal(0, 0.5, shape) if lstm else None)
        for _ in range(layers)
    ]
    stepper = Stepper(params, cfg, state)
    for _ in range(6):
        ids = rng.integers(0, cfg.vocab_size, batch)
        out = M.step(params, cfg, ids, state)
        state = out.state
        logits = stepper.feed(ids)
        assert logits.shape == (batch, cfg.vocab_size)
        np.testing.assert_allclose(logits, out.logits, rtol=1e-12, atol=1e-12)
    for mine, ref in zip(stepper.state, state, strict=True):
        np.testing.assert_allclose(mine.h, ref.h, rtol=1e-12, atol=1e-12)
        if cell == "lstm":
            np.testing.assert_allclose(mine.c, ref.c, rtol=1e-12, atol=1e-12)


def test_stepper_float32_tied_and_weights_copied():
    cfg, params, _ = _model("lstm", 2, tie=True, dtype="float32")
    original = {k: v.copy() for k, v in params.items()}
    state = M.zero_state(cfg, 1)
    stepper = Stepper(params, cfg, state)
    for p in params.values():  # an update after the stepper was made does not reach it
        p += 1.0
    ids = np.array([7])
    logits = stepper.feed(ids)
    assert logits.dtype == np.float32
    ref = M.step(original, cfg, ids, state).logits
    np.testing.assert_allclose(logits, ref, rtol=1e-5, atol=1e-6)
