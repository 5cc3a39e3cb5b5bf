"""``lstm trace``: gate records, unit and token selection, saturation, explanations, the CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from lstmcli import checkpoint, corpora, inference, model
from lstmcli import trace as T
from lstmcli.cli import app
from lstmcli.errors import LstmError
from lstmcli.predict import Predictor

JA = ["<eos>", "<unk>", "僕", "の", "麻里", "ちゃん", "ケーキ", "は", "愛し", "て"]
EN = ["<eos>", "<unk>", "the", "cat", "sat", "on", "mat", "."]
JA_TEXT = "僕 の 麻里 ちゃん の ケーキ は"
EN_TEXT = "the cat sat on the mat ."


def make_ckpt(vocab=EN, cell="lstm", layers=2, H=6, seed=0, example=EN_TEXT):
    """A small random model with the whitespace tokenizer: fast and deterministic."""
    cfg = model.ModelConfig(
        vocab_size=len(vocab), embed_size=5, hidden_size=H, num_layers=layers, cell=cell,
        init_scale=0.8,
    )  # fmt: skip
    params = model.init_params(cfg, np.random.default_rng(seed))
    spec = {"name": "space", "options": {}}
    return checkpoint.Checkpoint(cfg, params, list(vocab), spec, example=example)


def make_predictor(**kw) -> Predictor:
    return Predictor(make_ckpt(**kw))


def fake_trace(cell="lstm", **arrays) -> T.Trace:
    """A trace with given (T, H) arrays for layer 0, for checks by hand."""
    n = len(next(iter(arrays.values())))
    return T.Trace(
        ["<eos>"] + [f"w{t}" for t in range(1, n)], np.zeros(n, int), np.zeros((n, 3)),
        [{k: np.asarray(v, float) for k, v in arrays.items()}], ["a", "b", "c"], cell, [],
    )  # fmt: skip


# ---- the records are the engine's numbers


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_json_values_equal_the_stepwise_engine(cell):
    p = make_predictor(cell=cell)
    tr = T.record(p, EN_TEXT)
    obj = T.to_json(tr, T.plan(tr, default_gates=T.LSTM_GATES))
    ids = p.encode(EN_TEXT).ids
    state = model.zero_state(p.config, 1)
    gates = T.LSTM_GATES if cell == "lstm" else ("h",)
    assert obj["tokens"] == p.encode(EN_TEXT).tokens
    assert len(obj["layers"]) == 2 and all(set(layer) == set(gates) for layer in obj["layers"])
    for t in range(len(ids)):
        out = inference.step(p.params, p.config, ids[t : t + 1], state)
        state = out.state
        for k in range(2):
            for g in gates:
                expected = [float(v) for v in out.layers[k][g][0]]
                assert obj["layers"][k][g][t] == expected, (t, k, g)


def test_lstm_identities_hold_in_the_record():
    tr = T.record(make_predictor(), EN_TEXT)
    r = tr.layers[0]
    c0 = np.vstack([np.zeros((1, 6), np.float32), r["c"][:-1]])
    np.testing.assert_allclose(r["c"], r["f"] * c0 + r["i"] * r["g"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r["h"], r["o"] * np.tanh(r["c"]), rtol=1e-5, atol=1e-6)


# ---- saturation, by hand


def test_saturation_fractions_by_hand():
    f = [[0.05, 0.5, 0.95, 0.1], [0.01, 0.92, 0.99, 0.89]]  # 0.1 is not < 0.1
    left, right = T.saturation(np.array(f), "f", axis=1)
    assert left.tolist() == [0.25, 0.25] and right.tolist() == [0.25, 0.5]
    left, right = T.saturation(np.array([-0.95, 0.2, 0.91, 0.9]), "h", axis=0)
    assert (left, right) == (0.25, 0.25)


def test_layer_saturation_counts_mostly_saturated_units():
    # unit 0 closed 2 of 3 steps, unit 1 open 3 of 3, unit 2 in between
    f = [[0.0, 0.95, 0.5], [0.05, 0.99, 0.5], [0.5, 0.91, 0.5]]
    tr = fake_trace(f=f, i=f, o=f, h=f)
    s = {g.gate: g for g in T.layer_saturation(tr, 0)}["f"]
    assert s.left == pytest.approx(2 / 9) and s.right == pytest.approx(3 / 9)
    assert (s.units_left, s.units_right, s.units) == (1, 1, 3)


def test_token_rows_give_guess_and_loss_on_the_next_token():
    p = make_predictor()
    tr = T.record(p, EN_TEXT)
    rows = T.token_rows(tr, 1, 0, len(tr.tokens))
    for t, r in enumerate(rows):
        probs = inference.softmax(tr.logits[t])
        assert r.guess == EN[int(np.argmax(probs))] and r.prob == pytest.approx(probs.max())
        if t + 1 < len(tr.tokens):
            assert r.loss == pytest.approx(-np.log(probs[tr.ids[t + 1]]))
        x = tr.layers[1]["f"][t]
        assert r.mean["f"] == pytest.approx(x.mean())
        assert r.left["f"] == pytest.approx((x < 0.1).mean())
    assert rows[-1].loss is None


# ---- choosing gates, units, layers and tokens


def test_parse_gates():
    assert T.parse_gates(None, "lstm") == ("f", "i", "o")
    assert T.parse_gates("f, c,h,f", "lstm") == ("f", "c", "h")
    assert T.parse_gates(None, "rnn") == ("h",)
    with pytest.raises(LstmError, match="unknown gate 'x'"):
        T.parse_gates("f,x", "lstm")
    with pytest.raises(LstmError, match="no gates"):
        T.parse_gates("f", "rnn")


def test_parse_units():
    assert T.parse_units("3, 1,0-2", 6) == (3, 1, 0, 2)
    with pytest.raises(LstmError, match="unit 6 is out of range"):
        T.parse_units("6", 6)
    with pytest.raises(LstmError, match="like 3,17"):
        T.parse_units("a", 6)


def test_most_varying_units():
    f = [[0.5, 0.1, 0.5], [0.5, 0.9, 0.6], [0.5, 0.1, 0.5]]
    assert T.most_varying(fake_trace(f=f, i=f, o=f), 0, ("f",), 2) == (1, 2)


def test_plan_fits_width_and_height():
    tr = T.record(make_predictor(H=40), " ".join([EN_TEXT] * 20))
    v = T.plan(tr, width=60, height=30)
    assert (v.lo, v.hi) == (0, 22) and v.layers == (1,)  # windowed: the last layer only
    pos_w, tok_w = 3, 6  # "21 " and "<eos> "
    assert len(v.units[0]) == (60 - pos_w - tok_w) // T.CELL
    assert any("--from 22 --to 44" in n for n in v.notes)
    assert any("--layer" in n for n in v.notes)
    full = T.plan(tr)
    assert (full.lo, full.hi) == (0, len(tr.tokens)) and full.units[0] == tuple(range(40))


def test_plan_ranges_and_errors():
    tr = T.record(make_predictor(), EN_TEXT)  # 8 tokens
    assert T.plan(tr, start=2, stop=99).lo == 2 and T.plan(tr, start=2, stop=99).hi == 8
    assert (T.plan(tr, stop=5, height=10).lo, T.plan(tr, start=5, height=10).hi) == (0, 8)
    for kw, msg in [
        ({"layer": 2}, "--layer 2 is out of range"),
        ({"start": 3, "stop": 3}, "selects no tokens"),
        ({"start": 8}, "outside the text"),
        ({"units": "1", "top": 2}, "either --units or --top"),
        ({"units": "9"}, "unit 9 is out of range"),
    ]:
        with pytest.raises(LstmError, match=msg):
            T.plan(tr, **kw)


def test_default_text():
    example = corpora.RUNNING_EXAMPLES["en"]
    words = ["<eos>", "<unk>", *dict.fromkeys(example.split())]
    assert T.default_text(make_predictor(vocab=words)) == example  # the story, when known
    assert T.default_text(make_predictor(vocab=words[:-1])) == EN_TEXT  # else a stored line
    assert T.default_text(make_predictor()) == EN_TEXT
    with pytest.raises(LstmError, match="pass TEXT"):
        T.default_text(make_predictor(example=""))


def test_display_width():
    assert T.display_width("ケーキ") == 6 and T.display_width("cat") == 3


# ---- the command

runner = CliRunner()


@pytest.fixture
def model_file(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LSTM_MODEL", raising=False)
    path = tmp_path / "m.safetensors"
    checkpoint.save(path, make_ckpt())
    return path


def invoke(model_file, *args):
    return runner.invoke(app, ["trace", "--model", str(model_file), *map(str, args)])


def test_cli_shows_tables(model_file):
    r = invoke(model_file, EN_TEXT, "--width", "100")
    assert r.exit_code == 0, r.output
    assert "layer 0 · f" in r.output and "layer 1 · o" in r.output and "viridis" in r.output
    assert "mat" in r.output


def test_cli_default_text_is_the_stored_example(model_file):
    r = invoke(model_file, "--gates", "c")
    assert r.exit_code == 0, r.output
    assert "sat" in r.output and "layer 0 · c" in r.output


def test_cli_json_schema(model_file):
    r = invoke(model_file, EN_TEXT, "--json")
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert obj["tokens"] == ["<eos>", *EN_TEXT.split()]
    assert len(obj["layers"]) == 2 and obj["cell"] == "lstm"
    for layer in obj["layers"]:
        assert sorted(layer) == sorted(T.LSTM_GATES)
        assert all(len(v) == 8 and all(len(row) == 6 for row in v) for v in layer.values())


def test_cli_csv_header_and_rows(model_file, tmp_path):
    out = tmp_path / "g.csv"
    r = invoke(model_file, EN_TEXT, "--csv", out)
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0] == ["token", "position", "layer", "gate", "unit", "value"]
    assert len(rows) - 1 == 8 * 2 * 6 * 6  # tokens × layers × gates × units
    r = invoke(model_file, EN_TEXT, "--csv", out, "--gates", "f,i", "--layer", "1", "--to", "3")
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert r.exit_code == 0 and len(rows) - 1 == 3 * 1 * 2 * 6
    assert rows[1][:5] == ["<eos>", "0", "1", "f", "0"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--gates", "f,q"], "unknown gate 'q'"),
        (["--units", "99"], "unit 99 is out of range"),
        (["--layer", "5"], "--layer 5 is out of range"),
        (["--from", "4", "--to", "2"], "selects no tokens"),
        (["--export", "out.png"], "give a file ending in .svg or .html"),
    ],
)
def test_cli_errors_exit_1(model_file, args, message):
    r = invoke(model_file, EN_TEXT, *args)
    assert r.exit_code == 1, r.output
    assert message in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_cli_empty_text_and_usage_errors(model_file):
    r = invoke(model_file, "   ")
    assert r.exit_code == 1 and "empty" in r.output
    assert invoke(model_file, EN_TEXT, "--top", "abc").exit_code == 2
    assert invoke(model_file, EN_TEXT, "--layer", "one").exit_code == 2


def test_cli_summary_explain_and_export(model_file, tmp_path):
    svg = tmp_path / "t.svg"
    r = invoke(model_file, EN_TEXT, "--summary", "--explain", "--export", svg)
    assert r.exit_code == 0, r.output
    assert "whole text" in r.output and "wrote" in r.output and "exposed" in r.output
    assert " i·g " not in r.output  # the unit numbers only with --units or --top
    assert svg.exists() and "cat" in svg.read_text(encoding="utf-8")


def test_cli_explain_numbers_with_units(model_file):
    r = invoke(model_file, EN_TEXT, "--explain", "--units", "2,4", "--layer", "1")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert sum(line.strip().startswith("u2 i·g") for line in lines) == 8  # one per token
    assert sum(line.strip().startswith("u4 i·g") for line in lines) == 8
    assert "layer 0" not in r.output


def test_cli_memory_view_and_json(model_file):
    r = invoke(model_file, EN_TEXT, "--memory", "--layer", "0")
    assert r.exit_code == 0, r.output
    assert "layer 0  the memory c at 7 ." in r.output and "units that carry what" in r.output
    assert "kept" in r.output and "forgot" in r.output and "without it" in r.output
    r = invoke(model_file, EN_TEXT, "--memory", "--cue", "2", "--width", "120")
    assert r.exit_code == 0 and "units that carry what 2 cat wrote (chosen with --cue" in r.output
    obj = json.loads(invoke(model_file, EN_TEXT, "--memory", "--json", "--to", "5").stdout)
    assert obj["tokens"] == ["<eos>", "the", "cat", "sat", "on"]
    assert len(obj["layers"]) == 2 and obj["layer_ids"] == [0, 1]
    for layer in obj["layers"]:
        kept = np.array(layer["kept"])
        assert kept.shape == (5, 6) and np.array(layer["written"]).shape == (5, 6)
        assert np.abs(kept.sum(axis=0) - layer["c"]).max() < 1e-5  # a float32 model
        assert layer["change_without"][0] is None and len(layer["change_without"]) == 5


@pytest.mark.parametrize(
    "args, message",
    [
        (["--memory", "--cue", "8"], "--cue 8 is outside the text"),
        (["--memory", "--cue", "5", "--to", "4"], "comes after the memory shown"),
        (["--cue", "2"], "add --memory"),
        (["--memory", "--csv", "x.csv"], "use --memory --json"),
    ],
)
def test_cli_memory_errors(model_file, args, message):
    r = invoke(model_file, EN_TEXT, *args)
    assert r.exit_code == 1 and message in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1


def test_cli_long_text_is_windowed(model_file):
    text = " ".join(["the cat sat on the mat ."] * 300)  # 2,100 tokens
    r = invoke(model_file, text, "--width", "100")
    assert r.exit_code == 0, r.output
    assert "of 2101 shown to fit the screen" in r.output and "--from" in r.output
    assert len(r.output.splitlines()) < 120


def test_cli_rnn_shows_h_only(tmp_path, monkeypatch):
    path = tmp_path / "rnn.safetensors"
    checkpoint.save(path, make_ckpt(cell="rnn"))
    r = invoke(path, EN_TEXT)
    assert r.exit_code == 0, r.output
    assert "no gates" in r.output and "layer 0 · h" in r.output and "· f" not in r.output
    assert invoke(path, EN_TEXT, "--summary").exit_code == 0
    assert invoke(path, EN_TEXT, "--gates", "f").exit_code == 1
    obj = json.loads(invoke(path, EN_TEXT, "--json").stdout)
    assert all(list(layer) == ["h"] for layer in obj["layers"])
    r = invoke(path, EN_TEXT, "--memory")
    assert r.exit_code == 1 and "no cell state" in r.output and "--why" in r.output
    assert len(r.output.strip().splitlines()) == 1
    r = invoke(path, EN_TEXT, "--explain")
    assert r.exit_code == 0 and "units changed sign" in r.output
