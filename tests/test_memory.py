"""The memory split: c_T = (∏f)⊙c_0 + Σ_s kept_s, exact; the summaries; the cue task."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli import inference, memory, why
from lstmcli import model as M
from lstmcli.errors import LstmError
from tests import cuetask


def _model(layers=2, H=7, cell="lstm", seed=0):
    cfg = M.ModelConfig(
        vocab_size=30, embed_size=6, hidden_size=H, num_layers=layers, cell=cell,
        init_scale=0.8, dtype="float64",
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    params = M.init_params(cfg, rng)
    for p in params.values():  # non-zero biases everywhere
        p += rng.uniform(-0.3, 0.3, p.shape)
    return cfg, params, rng


@pytest.mark.parametrize("seed", range(6))
def test_the_split_adds_up_to_c_in_float64(seed):
    cfg, params, rng = _model(layers=1 + seed % 2, H=3 + seed, seed=seed)
    ids = rng.integers(0, cfg.vocab_size, 5 + 7 * seed)
    out = inference.run(params, cfg, ids)
    for record in out.layers:
        for t in (0, len(ids) // 2, len(ids) - 1):
            mem = memory.decompose(record, t)
            assert mem.kept.shape == mem.written.shape == (t + 1, cfg.hidden_size)
            assert np.abs(mem.kept.sum(axis=0) - record["c"][t]).max() < 1e-12
            assert not mem.initial.any()  # from a zero state


def test_the_split_from_a_carried_state_includes_the_initial_term():
    cfg, params, rng = _model(layers=1)
    start = inference.run(params, cfg, rng.integers(0, 30, 6)).state
    out = inference.run(params, cfg, rng.integers(0, 30, 9), state=start)
    mem = memory.decompose(out.layers[0], c0=start[0].c[0])
    f = out.layers[0]["f"]
    np.testing.assert_allclose(mem.initial, f.prod(axis=0) * start[0].c[0], rtol=1e-13)
    assert np.abs(mem.kept.sum(axis=0) + mem.initial - out.layers[0]["c"][-1]).max() < 1e-12


def test_kept_is_the_written_times_the_later_forget_gates_by_hand():
    f = np.array([[0.5, 1.0], [0.5, 0.2], [0.1, 1.0]])
    i = np.array([[1.0, 0.5], [0.5, 1.0], [1.0, 1.0]])
    g = np.array([[0.8, -1.0], [1.0, 0.5], [-0.2, 0.1]])
    c = np.zeros((3, 2))
    for t in range(3):
        c[t] = f[t] * (c[t - 1] if t else 0) + i[t] * g[t]
    mem = memory.decompose({"i": i, "f": f, "g": g, "c": c})
    np.testing.assert_allclose(mem.written, i * g)
    np.testing.assert_allclose(mem.kept[0], [0.8 * 0.5 * 0.1, -0.5 * 0.2 * 1.0])
    np.testing.assert_allclose(mem.kept[1], [0.5 * 0.1, 0.5])
    np.testing.assert_allclose(mem.kept[2], i[2] * g[2])
    s = memory.summarise(mem)
    total = np.abs(mem.kept).sum()
    np.testing.assert_allclose(s.share, np.abs(mem.kept).sum(axis=1) / total)
    np.testing.assert_allclose(s.retained, [0.14 / 1.3, 0.55 / 1.0, 1.0])
    assert memory.cue(mem) == 1  # the earlier step with the most kept


def test_summary_names_kept_and_forgotten_tokens():
    # step 0 writes 1.0 into unit 0 and is kept (f = 1); step 1 writes into unit 1, which
    # step 2 erases (f = 0.01); step 2 writes a little
    f = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 0.01]])
    i = np.ones((3, 2))
    g = np.array([[1.0, 0.0], [0.0, 0.9], [0.05, 0.0]])
    c = np.cumsum(i * g, axis=0) * [[1, 1], [1, 1], [1, 0]]
    s = memory.summarise(memory.decompose({"i": i, "f": f, "g": g, "c": c}))
    assert s.kept == (0,) and s.forgotten == (1,)
    assert s.share.sum() == pytest.approx(1.0) and s.retained[-1] == 1.0


def test_exposure_splits_h_exactly():
    cfg, params, rng = _model(layers=2)
    out = inference.run(params, cfg, rng.integers(0, 30, 12))
    for r in out.layers:
        mem = memory.decompose(r)
        parts = memory.exposure(mem.kept, r["o"][-1])
        assert np.abs(parts.sum(axis=0) - r["h"][-1]).max() < 1e-12


def test_steps_carry_the_split_forward():
    cfg, params, rng = _model(layers=1, H=5)
    r = inference.run(params, cfg, rng.integers(0, 30, 10)).layers[0]
    whole = memory.steps(r, 0, 10)
    assert [st.position for st in memory.steps(r, 4, 7)] == [4, 5, 6]
    for st in memory.steps(r, 4, 7):  # starting mid-way gives the same numbers
        ref = whole[st.position]
        np.testing.assert_allclose(st.erased, ref.erased, rtol=1e-12)
        np.testing.assert_allclose(st.exposed, ref.exposed, rtol=1e-12)
    for t in (1, 5, 9):
        st, now, before = whole[t], memory.decompose(r, t), memory.decompose(r, t - 1)
        k_now, k_before = np.abs(now.kept).sum(axis=1), np.abs(before.kept).sum(axis=1)
        assert st.wrote == pytest.approx(k_now[-1] / k_now.sum())
        lost = np.abs(before.kept * (1 - r["f"][t])).sum(axis=1)
        np.testing.assert_allclose(st.erased, lost / k_before, rtol=1e-12)
        assert st.erased_total == pytest.approx(lost.sum() / k_before.sum())
        assert st.exposed.sum() == pytest.approx(1.0)
    assert whole[0].erased.shape == (0,) and whole[0].wrote == pytest.approx(1.0)


def test_rnn_has_no_memory_to_split():
    cfg, params, rng = _model(cell="rnn")
    r = inference.run(params, cfg, rng.integers(0, 30, 5)).layers[0]
    with pytest.raises(LstmError, match="no cell state"):
        memory.decompose(r)


def test_window_shows_the_last_tokens():
    assert memory.window(100, None, None, 30) == (70, 100)
    assert memory.window(20, None, None, 30) == (0, 20)
    assert memory.window(100, 10, None, 30) == (10, 40)
    assert memory.window(100, None, 50, 30) == (20, 50)


def test_json_schema_and_sums():
    cfg, params, rng = _model(layers=2)
    ids = rng.integers(0, 30, 8)
    out = inference.run(params, cfg, ids)
    tokens = [f"w{t}" for t in ids]
    obj = memory.to_json(tokens, out.layers, (0, 1), 6)
    assert obj["tokens"] == tokens[:6] and obj["layer_ids"] == [0, 1]
    for layer, r in zip(obj["layers"], out.layers, strict=True):
        assert {"written", "kept", "c", "share", "retained"} <= set(layer)
        kept = np.array(layer["kept"])
        assert kept.shape == (6, cfg.hidden_size)
        assert np.abs(kept.sum(axis=0) - np.array(layer["c"])).max() < 1e-12
        assert layer["c"] == r["c"][5].tolist()


# ---- a model that learned to carry a symbol across filler


@pytest.fixture(scope="module")
def cue_models():
    return cuetask.train(seed=0), cuetask.train(seed=0, steps=0)


def _episodes(p, n=20):
    """Per held-out prompt: its run, the occlusion with final states, the answer."""
    for text, answer in cuetask.prompts(n, distance=6):
        prompt = p.encode(text)
        out = p.run(prompt)
        occ = why.occlude(p.params, p.config, prompt.ids, p.vocab.unk_id, run=out, keep_state=True)
        yield out, occ, answer


def test_the_cue_stands_out_in_a_model_that_learned_the_task(cue_models):
    trained, untrained = cue_models
    s = cuetask.SYMBOL_AT
    filler = slice(s + 1, s + 7)  # positions of the six filler tokens
    found = {}
    for name, p in (("trained", trained), ("untrained", untrained)):
        right, p_ratio, change, left = 0, [], [], []
        for out, occ, answer in _episodes(p):
            right += p.vocab.tokens[int(np.argmax(out.logits[-1]))] == answer
            p_ratio.append(np.r_[np.nan, occ.prob_without / occ.prob])  # by position
            change.append(np.r_[np.nan, why.memory_change(out, occ)[0]])
            mem = memory.decompose(out.layers[0])
            u = memory.carriers(mem, s, 1)[0]  # the unit holding most of what the cue wrote
            left.append(mem.kept[s, u] / mem.written[s, u])  # ∏f since the cue, there
        found[name] = right / 20, np.mean(p_ratio, 0), np.mean(change, 0), np.mean(left)
    acc, p_ratio, change, left = found["trained"]
    assert acc >= 0.9
    # without the symbol its answer becomes unlikely; without any one filler token, not
    assert p_ratio[s] < 0.5 and p_ratio[filler].min() > 0.7, p_ratio
    # the memory depends on the symbol far more than on any filler token ...
    assert change[s] > 1.5 * change[filler].max(), change
    # ... and what the symbol wrote is still there, in the units that carry it
    assert left > 0.8, left
    u_acc, _, u_change, u_left = found["untrained"]
    assert u_acc < 0.5 and u_change[s] < change[filler].max() * 1.5 and u_left < 0.5
