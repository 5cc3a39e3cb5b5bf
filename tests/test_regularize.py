"""AWD-LSTM's window regularisers: exact gradients, the masks' shape and law, window lengths."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli import data, regularize
from lstmcli import model as M
from lstmcli.errors import LstmError
from lstmcli.regularize import Regularizers
from lstmcli.workspace import Workspace

ALL = dict(dropouti=0.3, dropouth=0.25, dropouto=0.4, dropoute=0.2, wdrop=0.5, alpha=2.0, beta=1.0)


def _setup(cell="lstm", layers=2, tie=False, dropout=0.0, V=7, E=4, H=4, B=3, T=4, seed=0):
    cfg = M.ModelConfig(
        vocab_size=V, embed_size=E, hidden_size=H, num_layers=layers, cell=cell,
        tie_weights=tie, dropout=dropout, init_scale=0.5, forget_bias=0.3, dtype="float64",
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    params = M.init_params(cfg, rng)
    for p in params.values():
        p += rng.uniform(-0.1, 0.1, p.shape)
    x = rng.integers(0, V, size=(T, B))
    x[0, 0] = x[1, 1] = x[2, 2] = 3  # a word seen several times: dropped or kept together
    y = rng.integers(0, V, size=(T, B))
    lstm = cell == "lstm"
    state = [
        M.LayerState(rng.normal(0, 0.5, (B, H)), rng.normal(0, 0.5, (B, H)) if lstm else None)
        for _ in range(layers)
    ]
    return cfg, params, x, y, state


def _objective(params, cfg, x, y, state, reg, seed=7, ws=None):
    """loss + penalty, its gradients and the penalty, with the masks drawn from a fresh
    generator of the same seed (so every call draws the same masks)."""
    rng = np.random.default_rng(seed)
    loss, grads, _ = M.loss_and_grads(params, cfg, x, y, state, ws or Workspace(), rng, reg)
    return loss + grads.penalty, grads, grads.penalty


def _check_all_params(params, cfg, x, y, state, reg, numerical_grad):
    _, grads, penalty = _objective(params, cfg, x, y, state, reg)
    assert set(grads) == set(params)
    ws = Workspace()  # reused by the many calls below, as training reuses it
    for name, p in params.items():
        num = numerical_grad(lambda: _objective(params, cfg, x, y, state, reg, ws=ws)[0], p)
        err = np.linalg.norm(grads[name] - num) / (
            np.linalg.norm(grads[name]) + np.linalg.norm(num) + 1e-300
        )
        assert err < 1e-6, f"{name}: relative error {err:.2e}"
        assert np.abs(grads[name] - num).max() < 1e-9 + 1e-6 * np.abs(num).max(), name
    return penalty


ONE_AT_A_TIME = [{k: v} for k, v in ALL.items()]
SMALL = dict(V=6, E=3, H=3)
CASES = [
    *[(SMALL, reg) for reg in ONE_AT_A_TIME],
    (dict(), ALL),
    (dict(SMALL, tie=True), ALL),
    (dict(SMALL, cell="rnn"), ALL),
    (dict(SMALL, layers=1, dropout=0.2), ALL),  # per-step dropout and locked dropout together
    (dict(SMALL, layers=3, tie=True, dropout=0.1), ALL),
]


@pytest.mark.parametrize(
    "model_kw,reg_kw",
    CASES,
    ids=["-".join([*(f"{k}={v}" for k, v in m.items() if k not in SMALL), *r]) for m, r in CASES],
)
def test_gradients_match_finite_differences(model_kw, reg_kw, numerical_grad):
    cfg, params, x, y, state = _setup(**model_kw)
    reg = Regularizers(**reg_kw)
    penalty = _check_all_params(params, cfg, x, y, state, reg, numerical_grad)
    assert (penalty > 0) == bool(reg.alpha or reg.beta)


def test_each_regulariser_changes_the_window_and_off_changes_nothing():
    cfg, params, x, y, state = _setup(tie=True)
    base, base_grads, _ = _objective(params, cfg, x, y, state, None)
    off, off_grads, _ = _objective(params, cfg, x, y, state, Regularizers())
    assert off == base
    for k in base_grads:
        np.testing.assert_array_equal(off_grads[k], base_grads[k])
    for reg_kw in ONE_AT_A_TIME:
        loss, _, _ = _objective(params, cfg, x, y, state, Regularizers(**reg_kw))
        assert loss != base, reg_kw


def test_ar_and_tar_values_follow_their_definitions():
    cfg, params, x, y, state = _setup(layers=1)
    ws = Workspace()
    fw = M._forward(params, cfg, x, state, ws, None)
    h = fw.top.reshape(x.shape[0], x.shape[1], -1)
    _, _, ar = _objective(params, cfg, x, y, state, Regularizers(alpha=2.0))
    assert ar == pytest.approx(2.0 * np.mean(h**2), rel=1e-12)
    _, _, tar = _objective(params, cfg, x, y, state, Regularizers(beta=0.5))
    assert tar == pytest.approx(0.5 * np.mean((h[1:] - h[:-1]) ** 2), rel=1e-12)
    # a one-step window has no difference to penalise
    _, _, tar1 = _objective(params, cfg, x[:1], y[:1], state, Regularizers(beta=0.5))
    assert tar1 == 0.0


def test_masks_are_locked_whole_words_and_scaled():
    cfg, *_ = _setup(layers=3, V=2000, E=40, H=40)
    B = 50
    reg = Regularizers(dropouti=0.5, dropouth=0.25, dropouto=0.4, dropoute=0.1, wdrop=0.5)
    m = regularize.draw_masks(reg, cfg, B, np.random.default_rng(0), Workspace())
    assert m.words.shape == (2000,)
    assert [a.shape for a in m.locked] == [(B, 40), (B, 40), (B, 40), (B, 40)]
    assert [a.shape for a in m.weight] == [(160, 40)] * 3
    for arr, p in [(m.words, 0.1), (m.locked[0], 0.5), (m.locked[1], 0.25), (m.locked[3], 0.4),
                   (m.weight[0], 0.5)]:  # fmt: skip
        assert set(np.unique(arr)) <= {0.0, 1 / (1 - p)}
        assert abs((arr == 0).mean() - p) < 0.05  # about a fraction p dropped
    # the same RNG state draws the same masks; off regularisers draw nothing
    again = regularize.draw_masks(reg, cfg, B, np.random.default_rng(0), Workspace())
    np.testing.assert_array_equal(again.weight[2], m.weight[2])
    none = regularize.draw_masks(Regularizers(dropouth=0.3), cfg, B, np.random.default_rng(0),
                                 Workspace())  # fmt: skip
    assert none.words is None and none.locked[0] is None and none.locked[3] is None
    assert none.locked[1] is not None and none.weight == [None] * 3


def test_embedding_dropout_zeroes_every_occurrence_of_a_dropped_word():
    cfg, params, x, _, state = _setup(tie=True)
    reg = Regularizers(dropoute=0.5)
    rm = regularize.draw_masks(reg, cfg, x.shape[1], np.random.default_rng(7), Workspace())
    ws = Workspace()
    fw = M._forward(params, cfg, x, state, ws, None, rm)
    emb = fw.caches[0].x  # the first layer's input
    for t, b in np.ndindex(x.shape):
        expected = params["encoder.weight"][x[t, b]] * rm.words[x[t, b]]
        np.testing.assert_array_equal(emb[t, b], expected)


def test_regularizers_reject_impossible_values():
    with pytest.raises(LstmError, match="wdrop"):
        Regularizers(wdrop=1.0)
    with pytest.raises(LstmError, match="alpha"):
        Regularizers(alpha=-1.0)
    assert not Regularizers().active and Regularizers(beta=1.0).active
    assert not Regularizers(beta=1.0).dropouts


def test_variable_windows_cover_the_data_and_follow_the_rng():
    streams = data.batchify(np.arange(20 * 400), 20)  # 400 rows
    wins = list(regularize.variable_windows(streams, 35, np.random.default_rng(1)))
    lengths = [len(x) for _, x, _ in wins]
    assert sum(lengths) == len(streams) - 1  # every row but the last is an input once
    assert min(lengths[:-1]) >= 5
    assert [k for k, _, _ in wins] == list(range(len(wins)))
    for _, x, y in wins:
        np.testing.assert_array_equal(y, x + 1)  # targets are the next row
    # restarting from a window's row with the RNG state of that moment continues exactly
    rng = np.random.default_rng(1)
    gen = regularize.variable_windows(streams, 35, rng)
    first = [next(gen) for _ in range(3)]
    row = sum(len(x) for _, x, _ in first)
    rest = list(regularize.variable_windows(streams, 35, rng, start=3, row=row))
    assert [len(x) for _, x, _ in first + rest] == lengths


def test_window_lengths_have_awd_lstm_law():
    rng = np.random.default_rng(0)
    T = np.array([regularize.draw_length(70, rng) for _ in range(20000)])
    half = T < 52  # 35 ± 3.4σ against 70 ± 3.6σ
    assert abs(half.mean() - 0.05) < 0.01
    assert abs(T[~half].mean() - 69.5) < 0.2 and abs(T[~half].std() - 5) < 0.2
    assert T.min() >= 5
    assert regularize.draw_length(3, rng) >= 3
    n = regularize.expected_windows(10000, 70)
    assert abs(n - 10000 / T.mean()) < 3


def test_masked_gradients_with_every_regulariser_match_finite_differences(numerical_grad):
    """Line batches pad the end of short lines: AR and TAR count only the steps that count."""
    cfg, params, x, y, state = _setup(tie=True, B=3, T=5)
    mask = (np.arange(5)[:, None] < np.array([5, 2, 3])[None, :]).astype(np.float64)
    reg = Regularizers(**ALL)

    def objective(ws=None):
        rng = np.random.default_rng(7)
        loss, grads, _ = M.loss_and_grads(
            params, cfg, x, y, state, ws or Workspace(), rng, reg, mask
        )
        return loss + grads.penalty, grads

    _, grads = objective()
    grads = {k: v.copy() for k, v in grads.items()}
    ws = Workspace()
    for name, p in params.items():
        num = numerical_grad(lambda: objective(ws)[0], p)
        err = np.linalg.norm(grads[name] - num) / (
            np.linalg.norm(grads[name]) + np.linalg.norm(num)
        )
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_masked_ar_and_tar_are_means_over_the_counted_steps():
    ws = Workspace()
    rng = np.random.default_rng(0)
    h = rng.normal(size=(4, 2, 3))  # (T, B, H)
    mask = np.array([[1, 1], [1, 1], [1, 0], [1, 0]], dtype=np.float64)
    rows = mask.reshape(-1)
    ar = regularize.activation_penalty(h.reshape(8, 3), 2.0, np.zeros((8, 3)), ws, rows)
    kept = h.reshape(8, 3)[rows == 1]
    assert ar == pytest.approx(2.0 * (kept**2).mean())
    tar = regularize.temporal_penalty(h, 1.0, np.zeros_like(h), ws, mask)
    diffs = [h[t, b] - h[t - 1, b] for t in range(1, 4) for b in range(2) if mask[t, b]]
    assert tar == pytest.approx(np.mean(np.square(diffs)))


def test_unk_noise_reads_inputs_as_unk_at_its_rate_and_leaves_x_alone():
    x = np.full((200, 50), 7, dtype=np.int32)
    noisy = regularize.unk_noise(x, 0.1, 1, np.random.default_rng(0))
    assert (x == 7).all() and noisy.dtype == x.dtype
    assert set(np.unique(noisy).tolist()) == {1, 7}
    assert abs((noisy == 1).mean() - 0.1) < 0.01
    again = regularize.unk_noise(x, 0.1, 1, np.random.default_rng(0))
    np.testing.assert_array_equal(noisy, again)
