"""The Python API: lstmcli.load, Model's methods, lstmcli.train, and the README's example."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import lstmcli
from lstmcli import checkpoint
from lstmcli.cli import app
from lstmcli.errors import LstmError
from tests.conftest import EN_VOCAB

pytestmark = pytest.mark.usefixtures("lstm_home")

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
EN = EN_VOCAB
TEXT = "\n".join(["the cat sat on the mat .", "mari likes the cake ."] * 60)
JA_LINES = [
    "麻里ちゃんが玲奈ちゃんとモンブランを食べている。",
    "僕の麻里ちゃんの愛してやまないケーキはモンブランだ。",
    "玲奈ちゃんはチーズケーキを食べている。",
]


@pytest.fixture
def en_model(tmp_path, random_model) -> Path:
    return random_model(tmp_path / "en.safetensors", EN)


def test_import_is_cheap_and_names_the_api():
    heavy = "('numpy', 'typer', 'rich', 'sudachipy')"
    code = f"import sys, lstmcli; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert {"load", "train", "Model", "LstmError"} <= set(lstmcli.__all__)
    assert lstmcli.LstmError is LstmError
    with pytest.raises(AttributeError):
        lstmcli.nothing_here  # noqa: B018


def test_predict_is_what_the_command_prints(en_model):
    m = lstmcli.load(en_model)
    assert isinstance(m, lstmcli.Model) and m.tokenizer == "space" and m.vocab == EN
    assert m.path == en_model and "2×6" in repr(m)
    got = m.predict("the cat sat on the", k=3)
    r = CliRunner().invoke(app, ["predict", "the cat sat on the", "-m", str(en_model), "-k", "3",
                                 "--json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert got == [(c["token"], c["prob"]) for c in json.loads(r.output)["next"]]
    probs = [p for _, p in got]
    assert probs == sorted(probs, reverse=True) and all(0 < p < 1 for p in probs)
    hot = m.predict("the cat sat on the", k=3, temperature=0.1)
    assert hot[0][0] == got[0][0] and hot[0][1] > got[0][1]  # a low temperature sharpens


def test_load_finds_the_last_model_and_refuses_bad_ones(en_model, tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_MODEL", str(en_model))
    assert lstmcli.load().path == en_model
    with pytest.raises(LstmError, match="no such model file"):
        lstmcli.load(tmp_path / "missing.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"\x80\x04pickle")
    with pytest.raises(LstmError, match="pickle"):
        lstmcli.load(tmp_path / "bad.safetensors")


def test_generate_returns_the_text_that_follows(en_model):
    m = lstmcli.load(en_model)
    a = m.generate("the cat", n=6, seed=1)
    assert a == m.generate("the cat", n=6, seed=1) and isinstance(a, str)
    p = m.predictor
    prompt = p.encode("the cat")
    tokens = p.generate(p.run(prompt), 6, seed=1)
    assert a == p.continuation(prompt, tokens)
    first = tokens[0]
    assert a.startswith("\n" if first == "<eos>" else " " + first)  # a space between words
    assert m.generate("the cat", n=3, greedy=True) == m.generate("the cat", n=3, greedy=True)
    with pytest.raises(LstmError, match="top-p"):
        m.generate("the cat", n=3, top_p=2.0)


def test_continuation_joins_as_the_tokenizer_does(tmp_path, random_model):
    vocab = ["<eos>", "<unk>", "a", "b", "."]
    w = random_model(tmp_path / "w.safetensors", vocab, {"name": "word", "options": {}})
    m = lstmcli.load(w)
    prompt = m.predictor.encode("a b")
    assert m.predictor.continuation(prompt, ["a", ".", "<eos>", "b"]) == " a.\nb"
    c = lstmcli.load(
        random_model(tmp_path / "c.safetensors", vocab, {"name": "char", "options": {}})
    )
    assert c.predictor.continuation(c.predictor.encode("ab"), ["a", "b"]) == "ab"


def test_perplexity_and_evaluate_match_lstm_eval(en_model, tmp_path):
    m = lstmcli.load(en_model)
    f = tmp_path / "t.txt"
    f.write_text(TEXT, encoding="utf-8")
    r = CliRunner().invoke(app, ["eval", str(f), "-m", str(en_model), "--json"])
    assert r.exit_code == 0, r.output
    assert m.evaluate(TEXT) == json.loads(r.output)  # the same code: the same floats
    assert m.perplexity(TEXT) == pytest.approx(json.loads(r.output)["perplexity"])
    assert m.perplexity(TEXT.replace("\n", "\r\n")) == pytest.approx(m.perplexity(TEXT))
    with pytest.raises(LstmError, match="fewer than 2 tokens"):
        m.perplexity("")


def test_trace_is_what_trace_json_prints(en_model):
    m = lstmcli.load(en_model)
    got = m.trace("the cat sat")
    r = CliRunner().invoke(app, ["trace", "the cat sat", "-m", str(en_model), "--json"])
    assert r.exit_code == 0, r.output
    assert got == json.loads(r.output)
    assert set(got["layers"][0]) == {"i", "f", "g", "o", "c", "h"}
    assert np.array(got["layers"][1]["f"]).shape == (4, 6)  # <eos> + 3 tokens, 6 units
    some = m.trace("the cat sat", gates="f,c", layer=1, units="0-2", start=1)
    assert some["layer_ids"] == [1] and some["units"] == [[0, 1, 2]]
    assert set(some["layers"][0]) == {"f", "c"} and some["positions"] == [1, 2, 3]
    assert m.trace()["tokens"] == ["<eos>", "the", "cat"]  # the model's example sentence
    with pytest.raises(LstmError, match="--layer"):
        m.trace("the cat", layer=5)


def test_complete_calls_the_completion_module(en_model):
    from lstmcli import complete

    m = lstmcli.load(en_model)
    assert m.complete("the cat sat on the m", k=3) == complete.complete(
        m.predictor, "the cat sat on the m", 3
    )


def test_train_runs_the_command_and_returns_the_model(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "m.safetensors"
    m = lstmcli.train(corpus, preset="tiny", epochs=1, out=out, seed=3)
    assert isinstance(m, lstmcli.Model) and m.path == out and out.exists()
    assert m.config.hidden_size == 32 and m.tokenizer == "word"  # the tiny preset; auto → word
    assert lstmcli.load().path == out  # remembered as the last model, as lstm train does
    r = CliRunner().invoke(app, ["train", str(corpus), "--preset", "tiny", "--epochs", "1",
                                 "--seed", "3", "--out", str(tmp_path / "cli.safetensors"),
                                 "--quiet"])  # fmt: skip
    assert r.exit_code == 0, r.output
    cli = lstmcli.load(tmp_path / "cli.safetensors")
    for name, p in m.predictor.params.items():
        np.testing.assert_array_equal(p, cli.predictor.params[name], err_msg=name)


def test_train_from_a_string_unties_with_a_warning(tmp_path, capsys):
    out = tmp_path / "s.safetensors"
    with pytest.warns(UserWarning, match="--embed 16 and --hidden 32 differ"):
        m = lstmcli.train(text=TEXT, preset="tiny", epochs=1, embed=16, out=out)
    assert not m.config.tie_weights and m.config.embed_size == 16
    assert capsys.readouterr().out == ""  # progress=False prints nothing
    assert json.loads(checkpoint.read_header(out)[1]["train"])["data"]["corpus"] == "the text"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hidden": "256"}, "hidden must be int"),
        ({"lr": True}, "lr must be float"),
        ({"tie_weights": 1}, "tie_weights must be bool"),
        ({"layers": 0}, "num_layers must be a positive integer"),
        ({"dropout": 1.5}, "dropout"),
        ({"val_fraction": 1.5}, "--val-fraction"),
        ({"min_freq": 0}, "--min-freq"),
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"preset": "huge"}, "preset"),
        ({"format": "latex"}, "format"),
        ({"embed": 16, "tie_weights": True}, "--no-tie-weights"),
    ],
)
def test_train_checks_options_as_the_command_does(tmp_path, options, message):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    options = {"preset": "tiny", "epochs": 1, **options}
    with pytest.raises(LstmError, match=re.escape(message)):
        lstmcli.train(corpus, out=tmp_path / "m.safetensors", **options)
    assert not (tmp_path / "m.safetensors").exists()


def test_train_with_floats_given_as_ints(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = lstmcli.train(
            text=TEXT, preset="tiny", max_steps=2, lr=1, out=tmp_path / "m.safetensors"
        )
    assert m.config.embed_size == m.config.hidden_size


def _readme_api_example() -> str:
    m = re.search(r"```python\n(import lstmcli\n.*?)```", README, re.S)
    assert m, "README: the Python API example is missing"
    return m.group(1)


def test_readme_api_example_runs(tmp_path, monkeypatch, random_model):
    from lstmcli import tokenize

    ja = tokenize.get_tokenizer("ja")
    vocab = ["<eos>", "<unk>", *dict.fromkeys(t for ln in JA_LINES for t in ja.tokenize_line(ln))]
    random_model(tmp_path / "model.safetensors", vocab, ja.spec())
    (tmp_path / "novel.txt").write_text("\n".join(JA_LINES * 30) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    exec(compile(_readme_api_example(), "README.md", "exec"), {})
    assert (tmp_path / "novel.safetensors").exists()


def test_readme_api_example_names_what_exists():
    code = _readme_api_example()
    for name in re.findall(r"\bm\.(\w+)\(", code):
        assert callable(getattr(lstmcli.Model, name)), name
    assert "lstmcli.load(" in code and "lstmcli.train(" in code


def test_py_typed_ships():
    assert (Path(lstmcli.__file__).parent / "py.typed").exists()
