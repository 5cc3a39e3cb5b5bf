"""Occlusion: the batched, prefix-sharing runs equal separate runs of each occluded prompt."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from lstmcli import checkpoint, inference, why
from lstmcli import model as M
from lstmcli.cli import app

VOCAB = ["<eos>", "<unk>", "the", "cat", "sat", "on", "mat", "."]
TEXT = "the cat sat on the mat . the cat"


def _model(cell="lstm", layers=2, dtype="float64", V=30, seed=0):
    cfg = M.ModelConfig(
        vocab_size=V, embed_size=6, hidden_size=5, num_layers=layers, cell=cell,
        init_scale=0.8, dtype=dtype,
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    return cfg, M.init_params(cfg, rng), rng


def _separately(params, cfg, ids, k, unk=1):
    x = ids.copy()
    x[k] = unk
    return inference.run(params, cfg, x)


@pytest.mark.parametrize("cell, layers", [("lstm", 1), ("lstm", 2), ("rnn", 2)])
@pytest.mark.parametrize("chunk", [1, 3, 32])
def test_occlusion_equals_separate_runs(cell, layers, chunk):
    cfg, params, rng = _model(cell, layers)
    ids = rng.integers(2, 30, 11)
    ids[0] = 0
    occ = why.occlude(params, cfg, ids, 1, chunk=chunk, keep_state=True, temperature=0.7)
    p = inference.softmax(inference.run(params, cfg, ids).logits[-1], 0.7)
    assert occ.target == int(np.argmax(p)) and occ.prob == pytest.approx(p.max(), abs=1e-15)
    assert occ.positions.tolist() == list(range(1, 11))
    for j, k in enumerate(occ.positions):
        out = _separately(params, cfg, ids, k)
        q = inference.softmax(out.logits[-1], 0.7)[occ.target]
        assert abs(occ.prob_without[j] - q) < 1e-12, (k, occ.prob_without[j], q)
        for layer, r in zip(occ.c_without, out.layers, strict=True):
            final = r["c"][-1] if cell == "lstm" else r["h"][-1]
            assert np.abs(layer[j] - final).max() < 1e-12


def test_a_chosen_target_and_float32():
    cfg, params, rng = _model(dtype="float32")
    ids = rng.integers(2, 30, 7)
    occ = why.occlude(params, cfg, ids, 1, target=5)
    assert occ.target == 5
    for j, k in enumerate(occ.positions):
        q = inference.softmax(_separately(params, cfg, ids, k).logits[-1])[5]
        assert occ.prob_without[j] == pytest.approx(q, rel=1e-4)


def test_memory_change_is_relative_to_the_last_cell_state():
    cfg, params, rng = _model(layers=1)
    ids = rng.integers(2, 30, 6)
    run = inference.run(params, cfg, ids)
    occ = why.occlude(params, cfg, ids, 1, run=run, keep_state=True)
    change = why.memory_change(run, occ)[0]
    c = run.layers[0]["c"][-1]
    for j, k in enumerate(occ.positions):
        c_k = _separately(params, cfg, ids, k).layers[0]["c"][-1]
        assert change[j] == pytest.approx(np.abs(c - c_k).sum() / np.abs(c).sum(), rel=1e-12)
    assert why.memory_change_at(params, cfg, ids, 1, run.logits, run.layers, 1) == [
        pytest.approx(np.zeros(0))
    ]


def test_json_and_strongest():
    occ = why.Occlusion(3, 0.5, np.array([1, 2]), np.array([0.4, 0.1]))
    obj = why.to_json(["<eos>", "a", "b"], ["x", "y", "z", "w"], occ)
    assert obj == {
        "tokens": ["<eos>", "a", "b"],
        "token": "w",
        "prob": 0.5,
        "occlusion": [
            {"position": 1, "token": "a", "prob_without": 0.4},
            {"position": 2, "token": "b", "prob_without": 0.1},
        ],
    }
    assert why.strongest(occ) == 1


# ---- lstm predict --why

runner = CliRunner()


@pytest.fixture
def model_file(tmp_path):
    cfg = M.ModelConfig(
        vocab_size=len(VOCAB), embed_size=5, hidden_size=6, num_layers=2, init_scale=0.8,
        dtype="float64",
    )  # fmt: skip
    params = M.init_params(cfg, np.random.default_rng(3))
    path = tmp_path / "m.safetensors"
    checkpoint.save(path, checkpoint.Checkpoint(cfg, params, VOCAB, {"name": "space"}))
    return path


def predict(model_file, *args):
    return runner.invoke(app, ["predict", "--model", str(model_file), *args])


def test_cli_why_json_equals_separate_predict_runs(model_file):
    r = predict(model_file, TEXT, "--why", "--json")
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    words = TEXT.split()
    assert obj["tokens"] == ["<eos>", *words] and obj["token"] == obj["next"][0]["token"]
    assert obj["prob"] == pytest.approx(obj["next"][0]["prob"], abs=1e-15)
    assert [e["position"] for e in obj["occlusion"]] == list(range(1, len(words) + 1))
    for e in obj["occlusion"]:
        k = e["position"]
        assert e["token"] == words[k - 1]
        occluded = " ".join([*words[: k - 1], "<unk>", *words[k:]])
        alone = json.loads(predict(model_file, occluded, "--json", "-k", "8").stdout)
        p = {c["token"]: c["prob"] for c in alone["next"]}[obj["token"]]
        assert abs(e["prob_without"] - p) < 1e-12, (k, e["prob_without"], p)


def test_cli_why_table(model_file):
    r = predict(model_file, TEXT, "--why", "-k", "3")
    assert r.exit_code == 0, r.output
    assert "with each token read as <unk> instead" in r.output
    assert r.output.count("\n") > 3 + len(TEXT.split())
    assert ("Without" in r.output and "falls from" in r.output) or "No single token" in r.output


def test_cli_why_with_generate_is_a_usage_error(model_file):
    r = predict(model_file, TEXT, "--why", "--generate", "3")
    assert r.exit_code == 2 and "--why" in r.output


def test_the_sentence_names_the_token_that_matters_most():
    from lstmcli.whyview import sentence

    tokens = ["<eos>", "a", "b", "c"]
    occ = why.Occlusion(0, 0.5, np.array([1, 2, 3]), np.array([0.45, 0.1, 0.05]))
    assert sentence(tokens, "w", occ) == (
        "Without c (3), p(w) falls from 0.50 to 0.05. "
        "Of the tokens before it, b (2) matters most: 0.10 without it."
    )
    occ = why.Occlusion(0, 0.5, np.array([1, 2, 3]), np.array([0.45, 0.1, 0.3]))
    assert sentence(tokens, "w", occ) == "Without b (2), p(w) falls from 0.50 to 0.10."
    occ = why.Occlusion(0, 0.5, np.array([1, 2]), np.array([0.498, 0.503]))
    expected = "No single token matters much: p(w) moves by at most 0.003."
    assert sentence(tokens, "w", occ) == expected
