"""The model's gradients, state handling and inference API."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli import inference
from lstmcli import model as M
from lstmcli.errors import LstmError
from lstmcli.workspace import Workspace


def _setup(cell="lstm", layers=1, tie=False, dropout=0.0, V=11, E=5, H=5, B=3, T=4, seed=0):
    cfg = M.ModelConfig(
        vocab_size=V, embed_size=E, hidden_size=H, num_layers=layers, cell=cell,
        tie_weights=tie, dropout=dropout, init_scale=0.5, forget_bias=0.3, dtype="float64",
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    params = M.init_params(cfg, rng)
    for p in params.values():  # non-zero biases everywhere, decoder bias included
        p += rng.uniform(-0.1, 0.1, p.shape)
    x = rng.integers(0, V, size=(T, B))
    y = rng.integers(0, V, size=(T, B))
    # a carried, non-zero incoming state, as in the middle of an epoch
    lstm = cell == "lstm"
    state = [
        M.LayerState(rng.normal(0, 0.5, (B, H)), rng.normal(0, 0.5, (B, H)) if lstm else None)
        for _ in range(layers)
    ]
    return cfg, params, x, y, state


def _loss(params, cfg, x, y, state, dropout_seed):
    rng = np.random.default_rng(dropout_seed) if cfg.dropout else None
    loss, grads, _ = M.loss_and_grads(params, cfg, x, y, state, Workspace(), rng)
    return loss, {k: v.copy() for k, v in grads.items()}


CASES = [
    dict(cell="lstm", layers=1),
    dict(cell="lstm", layers=2),
    dict(cell="rnn", layers=1),
    dict(cell="rnn", layers=2),
    dict(cell="lstm", layers=2, tie=True),
    dict(cell="rnn", layers=2, tie=True),
    dict(cell="lstm", layers=2, dropout=0.3),
    dict(cell="rnn", layers=2, dropout=0.3, tie=True),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_gradients_match_finite_differences(case, numerical_grad):
    cfg, params, x, y, state = _setup(**case)
    _, grads = _loss(params, cfg, x, y, state, dropout_seed=7)
    assert set(grads) == set(params)
    for name, p in params.items():
        num = numerical_grad(lambda: _loss(params, cfg, x, y, state, 7)[0], p)
        # relative error of the whole gradient of this parameter, and no entry off by more
        # than the centred-difference noise (≈ 1e-10 here)
        err = np.linalg.norm(grads[name] - num) / (
            np.linalg.norm(grads[name]) + np.linalg.norm(num)
        )
        assert err < 1e-6, f"{name}: relative error {err:.2e}"
        assert np.abs(grads[name] - num).max() < 1e-9 + 1e-6 * np.abs(num).max(), name


def test_state_is_carried_and_gradient_stops_at_window_edge():
    cfg, params, x, y, _ = _setup(layers=2)
    ws = Workspace()
    state0 = M.zero_state(cfg, x.shape[1])
    _, _, s1 = M.loss_and_grads(params, cfg, x[:2], y[:2], state0, ws)
    loss_b, grads_b, _ = M.loss_and_grads(params, cfg, x[2:], y[2:], s1, ws)
    # the second window's loss depends on s1 but its gradient is the one of a model that
    # starts from s1 as a constant: compare with finite differences holding s1 fixed
    name = "rnn.weight_hh_l0"
    p = params[name]
    g = grads_b[name].copy()
    eps = 1e-6
    p[0, 0] += eps
    lp, _, _ = M.loss_and_grads(params, cfg, x[2:], y[2:], s1, Workspace())
    p[0, 0] -= 2 * eps
    lm, _, _ = M.loss_and_grads(params, cfg, x[2:], y[2:], s1, Workspace())
    p[0, 0] += eps
    assert abs((lp - lm) / (2 * eps) - g[0, 0]) < 1e-8
    # and the carried state really is the end of the first window
    out = inference.run(params, cfg, x[:2, 0])
    np.testing.assert_allclose(out.state[1].h[0], s1[1].h[0], rtol=1e-12, atol=1e-14)
    assert loss_b > 0


def test_config_rejects_impossible_values():
    with pytest.raises(LstmError, match="hidden_size"):
        M.ModelConfig(vocab_size=10, hidden_size=0)
    with pytest.raises(LstmError, match="dropout"):
        M.ModelConfig(vocab_size=10, dropout=1.0)
    with pytest.raises(LstmError, match="tied"):
        M.ModelConfig(vocab_size=10, embed_size=8, hidden_size=16, tie_weights=True)
    with pytest.raises(LstmError, match="cell"):
        M.ModelConfig(vocab_size=10, cell="gru")


def test_param_shapes_follow_pytorch_names():
    cfg = M.ModelConfig(vocab_size=50, embed_size=6, hidden_size=8, num_layers=2)
    shapes = M.param_shapes(cfg)
    assert shapes["encoder.weight"] == (50, 6)
    assert shapes["rnn.weight_ih_l0"] == (32, 6)
    assert shapes["rnn.weight_ih_l1"] == (32, 8)
    assert shapes["rnn.weight_hh_l1"] == (32, 8)
    assert shapes["decoder.weight"] == (50, 8)
    rnn = M.param_shapes(M.ModelConfig(vocab_size=50, embed_size=8, hidden_size=8, cell="rnn",
                                       tie_weights=True))  # fmt: skip
    assert rnn["rnn.bias_hh_l1"] == (8,) and "decoder.weight" not in rnn


def test_untied_embedding_gradient_is_sparse_and_exact_across_windows():
    """One workspace over consecutive windows: the embedding gradient is cleared only in
    the rows the last window touched, and must still equal a fresh dense computation."""
    cfg, params, x, y, state = _setup(layers=2, V=40, T=3, B=2)
    ws = Workspace()
    rng = np.random.default_rng(3)
    for _ in range(4):  # each window looks up different rows
        x = rng.integers(0, cfg.vocab_size, size=x.shape)
        _, grads, _ = M.loss_and_grads(params, cfg, x, y, state, ws)
        _, fresh = _loss(params, cfg, x, y, state, dropout_seed=0)
        for name in params:
            np.testing.assert_array_equal(grads[name], fresh[name])
        rows = grads.rows["encoder.weight"]
        np.testing.assert_array_equal(rows, np.unique(x))
        nonzero = np.flatnonzero(np.abs(grads["encoder.weight"]).sum(axis=1))
        assert set(nonzero) <= set(rows.tolist())


def test_tied_embedding_gradient_is_dense():
    cfg, params, x, y, state = _setup(layers=2, tie=True)
    _, grads, _ = M.loss_and_grads(params, cfg, x, y, state, Workspace())
    assert grads.rows == {}


def _padded(T=6, B=4, seed=1):
    """A mask of line batches: stream b counts its first n_b steps, then padding."""
    lengths = np.array([T, 3, 1, 5])[:B]
    return (np.arange(T)[:, None] < lengths[None, :]).astype(np.float64)


MASKED = [
    dict(cell="lstm", layers=1),
    dict(cell="lstm", layers=2, tie=True),
    dict(cell="rnn", layers=2),
    dict(cell="lstm", layers=2, dropout=0.3),
]


@pytest.mark.parametrize("case", MASKED, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_masked_gradients_match_finite_differences(case, numerical_grad):
    cfg, params, x, y, state = _setup(**case, B=4, T=6)
    mask = _padded()

    def loss_of():
        rng = np.random.default_rng(7) if cfg.dropout else None
        loss, grads, _ = M.loss_and_grads(params, cfg, x, y, state, Workspace(), rng, None, mask)
        return loss, {k: v.copy() for k, v in grads.items()}

    _, grads = loss_of()
    for name, p in params.items():
        num = numerical_grad(lambda: loss_of()[0], p)
        err = np.linalg.norm(grads[name] - num) / (
            np.linalg.norm(grads[name]) + np.linalg.norm(num)
        )
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_padding_adds_nothing_to_the_loss_or_the_gradients():
    """What stands in the padded steps does not matter, and the masked loss is the mean over
    the counted steps: the same as running each stream alone over its own steps."""
    cfg, params, x, y, _ = _setup(layers=2, B=4, T=6)
    mask = _padded()
    state = M.zero_state(cfg, 4)
    loss, grads, _ = M.loss_and_grads(params, cfg, x, y, state, Workspace(), None, None, mask)
    grads = {k: v.copy() for k, v in grads.items()}
    x2, y2 = x.copy(), y.copy()
    rng = np.random.default_rng(3)
    x2[mask == 0] = rng.integers(0, cfg.vocab_size, int((mask == 0).sum()))
    y2[mask == 0] = rng.integers(0, cfg.vocab_size, int((mask == 0).sum()))
    loss2, grads2, _ = M.loss_and_grads(params, cfg, x2, y2, state, Workspace(), None, None, mask)
    assert loss2 == pytest.approx(loss, abs=1e-14)
    for k in grads:
        np.testing.assert_allclose(grads2[k], grads[k], atol=1e-14, err_msg=k)
    # summed over streams alone, each weighted by its share of the counted steps
    n = mask.sum()
    total, summed = 0.0, {k: np.zeros_like(v) for k, v in grads.items()}
    for b in range(4):
        t = int(mask[:, b].sum())
        one = M.zero_state(cfg, 1)
        lb, gb, _ = M.loss_and_grads(
            params, cfg, x[:t, b : b + 1], y[:t, b : b + 1], one, Workspace()
        )
        total += lb * t / n
        for k in summed:
            summed[k] += gb[k] * (t / n)
    assert loss == pytest.approx(total, abs=1e-12)
    for k in grads:
        np.testing.assert_allclose(grads[k], summed[k], atol=1e-12, err_msg=k)
    # evaluation agrees: the summed loss over the counted steps
    total_eval, _ = M.window_loss(params, cfg, x, y, state, Workspace(), mask)
    assert total_eval == pytest.approx(loss * n, rel=1e-12)


def test_last_logits_are_those_after_each_prompts_last_token():
    cfg, params, x, _, _ = _setup(layers=2, B=3, T=5)
    last = np.array([4, 1, 2])
    logits = M.last_logits(params, cfg, x, last, Workspace())
    for b in range(3):
        out = inference.run(params, cfg, x[: last[b] + 1, b])
        np.testing.assert_allclose(logits[b], out.logits[-1], atol=1e-12)


def test_a_window_with_nothing_counted_is_refused():
    cfg, params, x, y, state = _setup()
    with pytest.raises(LstmError, match="masked out"):
        M.loss_and_grads(params, cfg, x, y, state, Workspace(), None, None, np.zeros(x.shape))
