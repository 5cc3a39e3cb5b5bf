"""``lstm predict`` without Typer: the fast reading of its command line agrees with Typer's,
and a plain ``lstm predict`` starts without importing Typer, Pydantic or (for --json) Rich."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lstmcli import cli_predict
from lstmcli.cli import app

EN = ["<eos>", "<unk>", "the", "cat", "sat", "on", "mat", "."]
SIGNATURE = inspect.signature(cli_predict.run)


def typer_reading(argv: list[str], monkeypatch) -> dict | None:
    """The arguments Typer passes to cli_predict.run for ``lstm predict ARGV``, or None
    when it refuses the command line."""
    seen = []
    monkeypatch.setattr(cli_predict, "run", lambda *a, **kw: seen.append(SIGNATURE.bind(*a, **kw)))
    r = CliRunner().invoke(app, ["predict", *argv], input="")
    if r.exit_code != 0:
        return None
    seen[0].apply_defaults()
    return dict(seen[0].arguments)


def fast_reading(argv: list[str]) -> dict | None:
    got = cli_predict.parse_fast(argv)
    if got is None:
        return None
    bound = SIGNATURE.bind(**got)
    bound.apply_defaults()
    return dict(bound.arguments)


@pytest.mark.parametrize(
    "argv",
    [
        ["the cat"],
        ["the cat", "--json"],
        ["--model", "m.safetensors", "僕の"],
        ["the", "-m", "m.safetensors", "-k", "3", "--temperature", "0.5", "--json"],
        ["the", "--top-k=3", "-k5", "--top-k", "7"],  # the last one wins
        ["the", "-g", "12", "--top-p", "0.9", "--seed", "1", "--greedy", "--no-greedy"],
        ["-", "--json"],
        ["--json"],  # no TEXT: standard input
        ["--", "-the"],
        ["the", "--generate=5", "--temperature=1e-1", "--top-p=.5"],
        ["the cat", "--why", "--json"],
    ],
)
def test_typical_command_lines_take_the_fast_path_and_read_as_typer_reads(argv, monkeypatch):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    fast = fast_reading(argv)
    assert fast is not None, argv
    assert fast == typer_reading(argv, monkeypatch)


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["the", "-h"],
        ["the", "--top-k", "0"],
        ["the", "--temperature", "0"],
        ["the", "--top-p", "1.5"],
        ["the", "--top", "3"],
        ["the", "cat"],  # two arguments
        ["the", "--json=yes"],
        ["the", "-k"],
        ["the", "-x"],
        ["the", "-5"],
        ["the", "--seed", "-1"],  # left to Typer, which reads signs
        ["the", "--why", "-g", "3"],  # a usage error
    ],
)
def test_anything_unusual_is_left_to_typer(argv):
    assert cli_predict.parse_fast(argv) is None


WORDS = st.sampled_from(
    [
        "the cat", "僕の", "-", "--", "--json", "--json=1", "--greedy", "--no-greedy", "--help",
        "-h", "--model", "-m", "m.safetensors", "--top-k", "-k", "-k5", "--top-k=2",
        "--temperature", "--temperature=0.5", "--generate", "-g", "-g3", "--top-p", "--seed",
        "--top", "--why", "-x", "-5", "0", "1", "3", "007", "+3", "1.5", ".5", "1e-2", "2.", "inf",
        "nan", "abc", "", " 5", "1_0",
    ]
)  # fmt: skip


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(argv=st.lists(WORDS, max_size=6))
def test_the_fast_reading_never_differs_from_typers(argv, monkeypatch):
    fast = fast_reading(argv)
    if fast is not None:
        assert fast == typer_reading(argv, monkeypatch), argv


@pytest.fixture
def en_model(tmp_path, random_model) -> Path:
    return random_model(tmp_path / "en.safetensors", EN, layers=1)


def run_lstm(*args: str, stdin: str = "", probe: str = "") -> subprocess.CompletedProcess:
    """``lstm ARGS`` in a new process; ``probe`` runs at exit (to look at sys.modules)."""
    code = (
        "import atexit, sys\n"
        f"atexit.register(lambda: sys.stderr.write({probe!r} and repr(eval({probe!r}))))\n"
        "from lstmcli.entry import main\n"
        f"main({list(args)!r})\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], input=stdin, capture_output=True, text=True, check=False
    )


def test_lstm_predict_starts_without_typer_or_pydantic(en_model):
    probe = "sorted(m for m in ('typer', 'pydantic', 'rich') if m in sys.modules)"
    r = run_lstm("predict", "the cat", "-m", str(en_model), "--json", probe=probe)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["next"]) == 8
    assert r.stderr.endswith("[]")  # --json: not even Rich
    r = run_lstm("predict", "the cat", "-m", str(en_model), probe=probe)
    assert r.returncode == 0 and "next token" in r.stdout
    assert r.stderr.endswith("['rich']")
    r = run_lstm("predict", "the cat", "-m", str(en_model), "--top-k", "0", probe=probe)
    assert r.returncode == 2 and "--top-k" in r.stderr  # Typer's message, Typer's exit code
    assert "'typer'" in r.stderr


def test_fast_path_errors_and_stdin(en_model, tmp_path):
    r = run_lstm("predict", "the cat", "-m", str(tmp_path / "missing.safetensors"))
    assert r.returncode == 1 and "error: " in r.stderr and "no such model file" in r.stderr
    assert "Traceback" not in r.stderr
    r = run_lstm("predict", "-", "-m", str(en_model), "--json", stdin="the cat\n")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["tokens"] == ["<eos>", "the", "cat"]  # echo's newline dropped
