"""What a command-line user reaches for: --version, text from a pipe, shell completion, and
sizes that win over a preset's tying."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lstmcli import checkpoint, cliutil, presets
from lstmcli import tokenize as tok
from lstmcli.cli import app

runner = CliRunner()
EN = ["<eos>", "<unk>", "the", "cat", "sat", "on", "mat", "."]  # test_trace's example: "the cat"
TEXT = "\n".join(["the cat sat on the mat .", "the dog sat on the log ."] * 40)


pytestmark = pytest.mark.usefixtures("lstm_home")


@pytest.fixture
def en_model(tmp_path, random_model) -> Path:
    return random_model(tmp_path / "en.safetensors", EN)


def invoke(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag):
    from lstmcli import __version__

    r = invoke(flag)
    assert r.exit_code == 0, r.output
    first, second = r.output.splitlines()
    assert first == f"lstmcli {__version__}"
    assert f"NumPy {np.__version__}" in second and "SudachiPy " in second
    assert "sudachidict-core " in second and "safetensors " in second


def test_predict_reads_standard_input(en_model):
    want = invoke("predict", "the cat", "-m", en_model, "--json").output
    for args in (["-"], []):  # `-`, or no TEXT while text is piped in
        r = invoke("predict", *args, "-m", en_model, "--json", input="the cat\n")
        assert r.exit_code == 0, r.output
        assert r.output == want
    r = invoke("predict", "-", "-m", en_model, "--json", input="the cat\nsat on\n")
    assert json.loads(r.output)["tokens"] == ["<eos>", "the", "cat", "<eos>", "sat", "on"]
    r = invoke("predict", "-m", en_model, input="")
    assert r.exit_code == 1 and "prompt is empty" in r.output


def test_trace_reads_standard_input_and_keeps_its_default(en_model):
    r = invoke("trace", "-", "-m", en_model, "--json", input="the mat\n")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["tokens"] == ["<eos>", "the", "mat"]
    r = invoke("trace", "-m", en_model, "--json", input="")  # nothing piped: the example
    assert json.loads(r.output)["tokens"] == ["<eos>", "the", "cat"]
    r = invoke("trace", "-", "-m", en_model, input="")
    assert r.exit_code == 1 and "standard input is empty" in r.output


def test_eval_reads_standard_input(en_model, tmp_path):
    f = tmp_path / "t.txt"
    f.write_text(TEXT, encoding="utf-8")
    want = json.loads(invoke("eval", f, "-m", en_model, "--json").output)
    for args in (["-"], []):
        r = invoke("eval", *args, "-m", en_model, "--json", input=TEXT.encode("cp932"))
        assert r.exit_code == 0, r.output
        assert json.loads(r.output) == want
    r = invoke("eval", "-", "-m", en_model, input="")
    assert r.exit_code == 1 and "standard input is empty; pipe in" in r.output
    r = invoke("eval", "-m", en_model, input="\x00\x01" * 50)
    assert r.exit_code == 1 and "standard input: looks like a binary file" in r.output


def test_train_reads_the_corpus_from_standard_input(tmp_path):
    out = tmp_path / "m.safetensors"
    args = ["train", "-", "--preset", "tiny", "--epochs", "1", "--out", out, "--json"]
    r = invoke(*args, input=TEXT)
    assert r.exit_code == 0, r.output
    start = json.loads(r.output.splitlines()[0])
    assert start["corpus"] == "standard input" and start["vocab_size"] == 10
    info = json.loads(invoke("info", out, "--json").output)
    assert info["train"]["data"]["corpus"] == "standard input"
    r = invoke(*args, input="  \n")
    assert r.exit_code == 1 and "standard input holds only whitespace" in r.output


def test_given_sizes_untie_a_tied_preset_with_a_note(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "m.safetensors"
    r = invoke("train", corpus, "--preset", "tiny", "--tokenizer", "char", "--hidden", "24",
               "--embed", "8", "--epochs", "1", "--out", out, "--quiet")  # fmt: skip
    assert r.exit_code == 0, r.output
    notes = [ln for ln in r.output.splitlines() if ln.startswith("note:")]
    assert notes == [
        "note: --embed 8 and --hidden 24 differ, so the decoder gets its own weights (untied);"
        " give both the same size to tie them"
    ]
    cfg = checkpoint.load(out).config
    assert (cfg.embed_size, cfg.hidden_size, cfg.tie_weights) == (8, 24, False)
    r = invoke("train", corpus, "--preset", "tiny", "--hidden", "24", "--epochs", "1",
               "--out", out, "--quiet")  # fmt: skip
    assert r.exit_code == 0 and "--embed 32 and --hidden 24 differ" in r.output  # one given
    r = invoke("train", corpus, "--preset", "tiny", "--epochs", "1", "--out", out, "--quiet")
    assert "note:" not in r.output and checkpoint.load(out).config.tie_weights  # as before


def test_asking_for_tying_with_different_sizes_names_both_fixes(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    r = invoke("train", corpus, "--hidden", "24", "--embed", "8", "--tie-weights")
    assert r.exit_code == 1
    assert r.output.strip() == (
        "error: --tie-weights needs --embed equal to --hidden, got --embed 8 and --hidden 24;"
        " give both the same size, or pass --no-tie-weights"
    )


def complete(words: str) -> list[str]:
    """What bash completion offers after ``words`` (the last one being completed)."""
    cword = str(len(words.split(" ")) - 1)
    env = {"_LSTM_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
    r = runner.invoke(app, [], env=env, prog_name="lstm")
    assert r.exit_code == 0, r.output
    return r.output.split()


def test_shell_completion_of_option_values():
    assert complete("lstm train --preset ") == list(presets.PRESETS)
    assert complete("lstm train --preset z") == ["zaremba-small"]
    assert complete("lstm train --tokenizer j") == ["ja", "ja-phrase"]
    assert complete("lstm train --cell ") == ["lstm", "rnn"]
    assert complete("lstm eval --format a") == ["auto", "aozora"]
    assert complete("lstm trace --gates f,i,") == ["f,i,g", "f,i,o", "f,i,c", "f,i,h"]
    assert complete("lstm tr") == ["train", "trace"]


def test_completion_helpers():
    assert cliutil.completer(("a", "ab", "b"))("a") == ["a", "ab"]
    assert cliutil.completer("lstmcli.tokenize:NAMES")("") == list(tok.NAMES)
    assert cliutil.complete_gates("") == ["i", "f", "g", "o", "c", "h"]
    assert cliutil.complete_gates("f,o,c") == ["f,o,c"]
    assert cliutil.complete_gates("x,") == []  # nothing after an unknown gate


def test_completion_can_be_installed():
    r = invoke("--show-completion", "bash")
    assert r.exit_code == 0 and "_LSTM_COMPLETE" in r.output
    assert re.search(r"--install-completion", invoke("--help").output)


def test_no_text_at_a_terminal_is_a_usage_error(monkeypatch):
    import typer

    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal())
    with pytest.raises(typer.BadParameter, match=r"pipe the text in: … \| lstm eval -"):
        cliutil.need_text(None, "eval", "FILE")
    cliutil.need_text("-", "eval", "FILE")  # given: fine
