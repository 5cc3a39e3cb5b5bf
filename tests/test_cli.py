"""The ``lstm`` command end to end: exit codes, messages, JSON schemas."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lstmcli.cli import app

runner = CliRunner()

TEXT = "\n".join(
    [
        "the cat sat on the mat .",
        "the dog sat on the log .",
        "mari likes the cake .",
        "the cake is a mont blanc .",
    ]
    * 40
)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Every test gets its own model folder."""
    monkeypatch.setenv("LSTM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LSTM_MODEL", raising=False)
    return tmp_path / "home"


@pytest.fixture
def corpus(tmp_path) -> Path:
    p = tmp_path / "corpus.txt"
    p.write_text(TEXT, encoding="utf-8")
    return p


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _train(corpus, *extra):
    r = invoke("train", corpus, "--preset", "tiny", "--epochs", "2", "--quiet", *extra)
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture
def trained(corpus, home):
    _train(corpus)
    return home / "model.safetensors"


def test_train_predict_eval_info_end_to_end(corpus, home):
    r = invoke("train", corpus, "--preset", "tiny", "--epochs", "3", "--lr", "0.03", "--json")
    assert r.exit_code == 0, r.output
    events = [json.loads(line) for line in r.output.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("epoch") == 3
    assert all(e["tokens_per_s"] > 0 for e in events if e["event"] == "step")
    done = events[-1]
    assert Path(done["model"]) == home / "model.safetensors" and done["best_valid_ppl"] > 1

    r = invoke("predict", "the cat sat on the", "--json", "--top-k", "3")
    assert r.exit_code == 0, r.output
    obj = json.loads(r.output)
    assert obj["tokens"] == ["<eos>", "the", "cat", "sat", "on", "the"]
    assert len(obj["next"]) == 3
    probs = [c["prob"] for c in obj["next"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-9
    assert obj["next"][0]["token"] in ("mat", "log", "cake")

    r = invoke("predict", "the cat", "--generate", "5", "--seed", "1", "--json")
    assert len(json.loads(r.output)["generated"]) == 5

    r = invoke("eval", corpus, "--json")
    assert r.exit_code == 0, r.output
    ev = json.loads(r.output)
    assert set(ev) >= {"perplexity", "loss", "tokens"}
    assert ev["tokens"] == len(TEXT.split()) + TEXT.count("\n")  # every token after the first

    r = invoke("info", "--json")
    info = json.loads(r.output)
    assert info["model"]["hidden_size"] == 32 and len(info["history"]) == 3
    r = invoke("info")
    assert r.exit_code == 0 and "training history" in r.output and "valid ppl" in r.output


def test_predict_shows_a_table_and_notes_unknown_words(trained):
    r = invoke("predict", "the zebra sat")
    assert r.exit_code == 0, r.output
    assert "next token" in r.output and "<unk>" in r.output and "zebra" in r.output


def test_prompt_of_only_unknown_words_still_predicts(trained):
    r = invoke("predict", "zebra giraffe", "--json")
    assert r.exit_code == 0, r.output
    obj = json.loads(r.output)
    assert obj["tokens"] == ["<eos>", "<unk>", "<unk>"] and obj["unknown"] == ["zebra", "giraffe"]


def test_model_found_via_env_and_option(corpus, tmp_path, monkeypatch):
    out = tmp_path / "elsewhere" / "m.safetensors"
    _train(corpus, "--out", out)
    assert out.exists() and (tmp_path / "elsewhere" / "m.last.safetensors").exists()
    assert invoke("predict", "the", "--json").exit_code == 0  # via last-model pointer
    monkeypatch.setenv("LSTM_MODEL", str(tmp_path / "missing.safetensors"))
    r = invoke("predict", "the")
    assert r.exit_code == 1 and "no such model file" in r.output
    assert invoke("predict", "the", "--model", out).exit_code == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["train", "missing.txt"], 1, "no such file"),
        (["train", "{corpus}", "--hidden", "0"], 2, "--hidden"),
        (["train", "{corpus}", "--dropout", "1"], 2, "[0, 1)"),
        (["train", "{corpus}", "--seq-len", "0"], 2, "--seq-len"),
        (["train", "{corpus}", "--lr", "-1"], 2, "positive"),
        (["train", "{corpus}", "--tokenizer", "klingon"], 1, "klingon"),
        (["train", "{corpus}", "--preset", "huge"], 1, "preset"),
        (["train", "{corpus}", "--batch-size", "100000", "--preset", "tiny"], 1, "batch size"),
        (["train", "{corpus}", "--embed", "16", "--hidden", "32", "--tie-weights"], 1, "tie"),
        (["predict", "the"], 1, "lstm train"),
        (["eval", "missing.txt"], 1, "no such"),
    ],
)
def test_bad_input_is_one_clear_line(corpus, tmp_path, args, code, message):
    r = invoke(*[a.format(corpus=corpus) for a in args])
    assert r.exit_code == code, r.output
    assert message.lower() in r.output.lower()
    assert "Traceback" not in r.output


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"   \n\t\n", "whitespace"), (b"\x00\x01\x02binary" * 100, "binary")],
)
def test_unusable_corpora_are_refused(tmp_path, content, message):
    p = tmp_path / "bad.txt"
    p.write_bytes(content)
    r = invoke("train", p)
    assert r.exit_code == 1 and message in r.output.lower(), r.output


def test_directory_instead_of_file(tmp_path):
    r = invoke("train", tmp_path)
    assert r.exit_code == 1 and "directory" in r.output.lower()


def test_empty_prompt_and_bad_prediction_options(trained):
    assert invoke("predict", "").exit_code == 1
    assert invoke("predict", "the", "--top-k", "0").exit_code == 2
    assert invoke("predict", "the", "--temperature", "0").exit_code == 2
    assert invoke("predict", "the", "--generate", "3", "--top-p", "1.5").exit_code == 2


def test_corrupt_model_is_refused(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04garbage")
    r = invoke("predict", "the", "--model", bad)
    assert r.exit_code == 1 and "pickle" in r.output
    r = invoke("info", bad)
    assert r.exit_code == 1


def test_resume_with_a_different_shape_is_refused(corpus, trained, home):
    last = home / "model.last.safetensors"
    r = invoke("train", corpus, "--resume", last, "--hidden", "64")
    assert r.exit_code == 1 and "--hidden 32" in r.output
    r = invoke("train", corpus, "--resume", home / "nothing.safetensors")
    assert r.exit_code == 1


def test_resume_continues_for_more_epochs(corpus, trained, home):
    r = invoke("train", corpus, "--resume", home / "model.last.safetensors", "--epochs", "3",
               "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    epochs = [json.loads(x) for x in r.output.splitlines() if '"epoch"' in x]
    assert [e["epoch"] for e in epochs if e["event"] == "epoch"] == [3]


def test_rnn_cell_works_everywhere(corpus):
    _train(corpus, "--cell", "rnn")
    assert invoke("predict", "the cat", "--json").exit_code == 0
    assert invoke("eval", corpus, "--json").exit_code == 0
    r = invoke("info", "--json")
    assert json.loads(r.output)["model"]["cell"] == "rnn"


def test_sigint_saves_and_prints_the_resume_command(corpus, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text(TEXT * 30, encoding="utf-8")
    env = {**os.environ, "LSTM_HOME": str(tmp_path / "home")}
    cmd = [sys.executable, "-m", "lstmcli", "train", str(big), "--preset", "tiny",
           "--epochs", "50", "--json"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    # wait until training is under way
    for line in proc.stdout:
        if '"event": "step"' in line:
            break
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    last = json.loads(out.strip().splitlines()[-1])
    assert last["event"] == "interrupted"
    assert "--resume" in last["resume_command"]
    assert Path(last["resume_file"]).exists()
    leftovers = [p.name for p in (tmp_path / "home").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_the_commands_choices_are_the_librarys():
    # cli keeps its own copies so that `lstm --help` imports nothing heavy; they must agree
    from lstmcli import cli, corpora, model, optim, stories, textio, training

    assert cli.CELLS == model.CELLS and cli.OPTIMIZERS == optim.OPTIMIZERS
    assert cli.FORMATS == textio.FORMATS and cli.WINDOWS == training.WINDOWS
    assert cli.LANGS == stories.LANGS == tuple(corpora.BUNDLED)


def test_info_shows_a_record_with_only_some_of_its_figures(tmp_path):
    import numpy as np

    from lstmcli import checkpoint
    from lstmcli import model as M

    cfg = M.ModelConfig(vocab_size=3, embed_size=4, hidden_size=4, num_layers=1)
    record = {"epoch": 1, "valid_ppl": 2.5, "best": True, "valid_top1": 0.5}  # no top-3
    ck = checkpoint.Checkpoint(cfg, M.init_params(cfg, np.random.default_rng(0)),
                               ["<eos>", "<unk>", "a"], {"name": "word", "options": {}},
                               history=[record])  # fmt: skip
    checkpoint.save(tmp_path / "m.safetensors", ck)
    r = CliRunner().invoke(app, ["info", str(tmp_path / "m.safetensors")])
    assert r.exit_code == 0, r.output
    assert "2.50 (epoch 1)" in r.output
    assert "top-1/3" not in r.output
