"""The stateful inference API, and the generation stepper against it."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli import inference
from lstmcli import model as M
from lstmcli.errors import LstmError
from lstmcli.inference import Stepper
from lstmcli.workspace import Workspace


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


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_stepwise_equals_sequence_and_the_training_forward(cell):
    cfg, params, rng = _model(cell, 2)
    ids = rng.integers(0, cfg.vocab_size, 9)
    whole = inference.run(params, cfg, ids)
    state = M.zero_state(cfg, 1)
    for t, tok in enumerate(ids):
        out = inference.step(params, cfg, np.array([tok]), state)
        state = out.state
        assert np.array_equal(out.logits[0], whole.logits[t])
        for k in range(cfg.num_layers):
            for gate, val in out.layers[k].items():
                assert np.array_equal(val[0], whole.layers[k][gate][t])
    # the training forward (batched GEMMs) gives the same loss to rounding
    T = len(ids)
    total, _ = M.window_loss(
        params, cfg, ids[:-1, None], ids[1:, None], M.zero_state(cfg, 1), Workspace()
    )
    logp = np.log(inference.softmax(whole.logits[:-1]))
    expected = -logp[np.arange(T - 1), ids[1:]].sum()
    assert abs(total - expected) < 1e-10


def test_lstm_gates_are_in_range_and_consistent():
    cfg, params, rng = _model("lstm", 1)
    out = inference.run(params, cfg, rng.integers(0, cfg.vocab_size, 12))
    L = out.layers[0]
    for gate in "ifo":
        assert ((L[gate] > 0) & (L[gate] < 1)).all()
    assert (np.abs(L["g"]) < 1).all()
    c_prev = np.vstack([np.zeros((1, cfg.hidden_size)), L["c"][:-1]])
    np.testing.assert_allclose(L["c"], L["f"] * c_prev + L["i"] * L["g"], rtol=1e-12)
    np.testing.assert_allclose(L["h"], L["o"] * np.tanh(L["c"]), rtol=1e-12)


def test_run_rejects_an_empty_sequence():
    cfg, params, _ = _model("lstm", 1)
    with pytest.raises(LstmError, match="non-empty"):
        inference.run(params, cfg, np.array([], dtype=np.int64))


@pytest.mark.parametrize("temperature", [1e-320, 1e-300, 1e300])
def test_softmax_stays_a_distribution_at_extreme_temperatures(temperature):
    p = inference.softmax(np.array([[1.0, 2.0, 2.0, -3.0]]), temperature)
    assert np.all(np.isfinite(p)) and p.sum() == pytest.approx(1.0)
    if temperature < 1:  # all mass on the tied largest logits
        np.testing.assert_allclose(p, [[0.0, 0.5, 0.5, 0.0]])


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
        out = inference.step(params, cfg, ids, state)
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
    ref = inference.step(original, cfg, ids, state).logits
    np.testing.assert_allclose(logits, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell,layers", [("lstm", 1), ("lstm", 2), ("rnn", 2)])
def test_last_is_the_last_row_of_run_with_one_decoder_product(cell, layers, monkeypatch):
    cfg, params, rng = _model(cell, layers)
    ids = rng.integers(0, cfg.vocab_size, 12)
    whole = inference.run(params, cfg, ids)
    calls = []
    decoder = inference.decoder_weight
    monkeypatch.setattr(inference, "decoder_weight", lambda p: calls.append(1) or decoder(p))
    out = inference.last(params, cfg, ids)
    assert len(calls) == 1  # not once per token: no (T, V) logits
    assert out.logits.shape == (1, cfg.vocab_size)
    assert np.array_equal(out.logits[0], whole.logits[-1])
    for k in range(layers):
        assert np.array_equal(out.state[k].h, whole.state[k].h)
        for gate, val in out.layers[k].items():
            assert np.array_equal(val[0], whole.layers[k][gate][-1])
    with pytest.raises(LstmError, match="non-empty"):
        inference.last(params, cfg, ids[:0])
