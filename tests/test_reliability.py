"""Nothing lost, nothing broken: signals, kills, huge lines, arbitrary option values."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lstmcli import checkpoint
from lstmcli.cli import app
from lstmcli.tokenize import get_tokenizer, line_pieces

TEXT = "\n".join(["the cat sat on the mat .", "mari likes the cake ."] * 300)


def _spawn(tmp_path, *extra):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    env = {**os.environ, "LSTM_HOME": str(tmp_path / "home")}
    cmd = [sys.executable, "-m", "lstmcli", "train", str(corpus), "--preset", "tiny",
           "--epochs", "500", "--json", *extra]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)


def _wait_for_training(proc):
    for line in proc.stdout:
        if '"event": "epoch"' in line:
            return
    raise AssertionError(proc.stderr.read())


def test_sigterm_saves_and_exits_143(tmp_path):
    proc = _spawn(tmp_path)
    _wait_for_training(proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    last = json.loads(out.strip().splitlines()[-1])
    assert last["event"] == "interrupted"
    ck = checkpoint.load(last["resume_file"])
    assert ck.resume is not None


def test_sigkill_never_leaves_a_broken_model(tmp_path):
    home = tmp_path / "home"
    for delay in (0.05, 0.2, 0.35, 0.5):
        proc = _spawn(tmp_path)
        _wait_for_training(proc)
        time.sleep(delay)  # somewhere in the middle of training or of a save
        proc.kill()
        proc.wait(timeout=30)
        for name in ("model.safetensors", "model.last.safetensors"):
            path = home / name
            if path.exists():
                checkpoint.load(path)  # whole and valid, or absent
    proc = _spawn(tmp_path, "--max-steps", "3")  # the next run clears what the kills left
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert [p.name for p in home.iterdir() if p.name.endswith(".tmp")] == []


def test_long_lines_are_cut_at_breaks_and_lose_nothing():
    line = ("word " * 100_000).strip()
    pieces = list(line_pieces(line, size=10_000))
    assert "".join(pieces) == line
    assert all(len(p) <= 10_000 for p in pieces)
    assert all(p.endswith(" ") for p in pieces[:-1])
    tok = get_tokenizer("word")
    assert list(tok.iter_tokens([line])) == ["word"] * 100_000 + ["<eos>"]


def test_a_single_huge_line_trains(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_HOME", str(tmp_path / "home"))
    p = tmp_path / "one-line.txt"
    p.write_text("the cat sat on the mat and " * 150_000, encoding="utf-8")  # ~4 MB, one line
    r = CliRunner().invoke(app, ["train", str(p), "--preset", "tiny", "--max-steps", "3",
                                 "--tokenizer", "word", "--quiet"])  # fmt: skip
    assert r.exit_code == 0, r.output


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    corpus = home / "c.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    out = home / "m.safetensors"
    r = CliRunner().invoke(app, ["train", str(corpus), "--preset", "tiny", "--epochs", "1",
                                 "--out", str(out), "--quiet"])  # fmt: skip
    assert r.exit_code == 0, r.output
    return out


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    top_k=st.one_of(st.integers(-5, 50), st.text(max_size=4)),
    temperature=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4)),
    generate=st.one_of(st.none(), st.integers(-3, 5)),
)
def test_arbitrary_option_values_never_crash(tiny_model, top_k, temperature, generate):
    args = ["predict", "the cat", "--model", str(tiny_model), "--top-k", str(top_k),
            "--temperature", str(temperature), "--json"]  # fmt: skip
    if generate is not None:
        args += ["--generate", str(generate), "--seed", "0"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code in (0, 1, 2), r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    if r.exit_code == 0:
        obj = json.loads(r.output)
        assert 1 <= len(obj["next"]) <= int(top_k)
        assert all(0 <= c["prob"] <= 1 for c in obj["next"])


def test_resume_alone_trains_on_the_recorded_corpus_and_writes_beside(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.txt").write_text(TEXT, encoding="utf-8")
    first = ["train", "c.txt", "--preset", "tiny", "--epochs", "1", "--out", "m.safetensors",
             "--seed", "0", "--quiet"]  # fmt: skip
    assert CliRunner().invoke(app, first).exit_code == 0
    r = CliRunner().invoke(app, ["train", "--resume", "m.last.safetensors", "--epochs", "2",
                                 "--quiet"])  # fmt: skip
    assert r.exit_code == 0, r.output
    ck = checkpoint.load(tmp_path / "m.safetensors")
    assert [h["epoch"] for h in ck.history] == [1, 2]
    assert ck.train["data"]["corpus"] == "c.txt"
    assert not (tmp_path / "home" / "model.safetensors").exists()
    (tmp_path / "c.txt").unlink()
    r = CliRunner().invoke(app, ["train", "--resume", "m.last.safetensors", "--epochs", "3"])
    assert r.exit_code == 1
    assert "c.txt, which is not there any more" in r.output


BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.parametrize("sig", ["KILL", "INT"])
def test_stopped_and_resumed_runs_end_bit_identical(sig):
    # bench/kill_train.py at the size CI affords; it runs a hundred stops of each kind
    r = subprocess.run([sys.executable, str(BENCH / "kill_train.py"), "--signal", sig,
                        "--kills", "6", "--epochs", "3"], capture_output=True, text=True,
                       timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout
    same, runs = re.search(
        r"bit-identical to the uninterrupted run\s+(\d+) of (\d+)", r.stdout
    ).groups()
    assert same == runs and int(runs) >= 1


def test_racing_writers_and_readers_never_tear_a_file():
    r = subprocess.run([sys.executable, str(BENCH / "concurrent_out.py"), "--writers", "3",
                        "--readers", "2", "--epochs", "2"], capture_output=True, text=True,
                       timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"torn reads\s+0\n", r.stdout)
    assert "bit for bit: True" in r.stdout
