"""``lstm train`` on the bundled stories: the lesson's stages, line mode, recall as it forms."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lstmcli import checkpoint, trainjob
from lstmcli.cli import app

runner = CliRunner()
SMALL = ("--hidden", "16", "--embed", "16", "--batch-size", "16")


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LSTM_MODEL", raising=False)
    return tmp_path / "home"


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _events(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def lesson_run(tmp_path_factory):
    """The English lesson, small: two short stages, then one epoch on everything."""
    folder = tmp_path_factory.mktemp("lesson")
    out = folder / "m.safetensors"
    args = ["train", "--lang", "en", "--stages", "cue:30,near:20", "--epochs", "1", *SMALL]
    r = runner.invoke(
        app, [*args, "--out", str(out), "--json"], env={"LSTM_HOME": str(folder / "home")}
    )
    assert r.exit_code == 0, r.output
    return out, _events(r.output)


def test_the_lesson_runs_its_stages_then_the_epochs_and_reports_recall(lesson_run):
    out, events = lesson_run
    start = events[0]
    assert start["event"] == "start" and start["windows"] == "lines"
    assert start["stages"] == "cue:30,near:20" and start["lang"] == "en"
    assert start["corpus"].endswith("tales-en.txt") and start["probes"] > 200
    rounds = [e for e in events if e["event"] == "epoch"]
    assert [e["stage"] for e in rounds] == ["cue", "near", None]
    assert all(0 <= e["recall"] <= 1 for e in rounds)
    steps = [e for e in events if e["event"] == "step"]
    assert {e.get("stage") for e in steps} == {"cue", "near", None}
    done = events[-1]
    assert done["event"] == "done" and 0 <= done["best_recall"] <= 1
    want = [["cue", rounds[0]["recall"]], ["near", rounds[1]["recall"]]]
    assert done["recall_by_round"] == [*want, ["epoch 1", rounds[2]["recall"]]]
    ck = checkpoint.load(out)
    assert ck.config.num_layers == 1 and ck.train["windows"] == "lines"
    assert [st["name"] for st in ck.train["data"]["stages"]] == ["cue", "near"]
    assert [h.get("stage") for h in ck.history] == ["cue", "near", None]
    assert ck.history[1]["steps"] == 50


def test_info_shows_the_lesson_and_the_recall(lesson_run):
    out, _ = lesson_run
    r = invoke("info", out)
    assert r.exit_code == 0, r.output
    assert "cue 30, near 20 updates on en stories" in r.output
    assert "lines, each from the zero state" in r.output
    assert "remembers" in r.output and "recall" in r.output
    assert "after the lesson" in r.output


def test_the_table_shows_stages_and_recall(tmp_path):
    r = invoke("train", "--lang", "en", "--stages", "cue:10", "--epochs", "1", *SMALL,
               "--out", tmp_path / "m.safetensors")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "recall" in r.output and "  cue " in r.output
    assert "remembers   the cued cake" in r.output
    assert re.search(r"memory      cue \d+ % → epoch 1 \d+ %", r.output), r.output
    assert "lesson    cue:10 (stage:updates) on en stories" in r.output


def test_a_users_own_corpus_trains_as_before(tmp_path):
    text = tmp_path / "own.txt"
    text.write_text("the cat sat on the mat .\nthe dog sat on the log .\n" * 100, encoding="utf-8")
    r = invoke("train", text, "--preset", "tiny", "--json", "--out", tmp_path / "m.safetensors")
    assert r.exit_code == 0, r.output
    start = _events(r.output)[0]
    assert start["windows"] == "streams" and start["stages"] is None and start["probes"] is None
    r = invoke("train", text, "--epochs", "1", "--hidden", "8", "--embed", "8", "--json",
               "--out", tmp_path / "d.safetensors")  # fmt: skip
    ck = checkpoint.load(tmp_path / "d.safetensors")
    assert ck.train["data"]["preset"] == "default" and ck.config.num_layers == 2
    assert ck.train["windows"] == "streams"


def test_a_users_corpus_can_train_line_by_line(tmp_path):
    text = tmp_path / "own.txt"
    text.write_text("the cat sat on the mat .\nthe dog sat .\n" * 100, encoding="utf-8")
    r = invoke("train", text, "--preset", "tiny", "--windows", "lines", "--json",
               "--out", tmp_path / "m.safetensors")  # fmt: skip
    assert r.exit_code == 0, r.output
    events = _events(r.output)
    assert events[0]["windows"] == "lines" and events[0]["lines"] > 150
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [1, 2]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--stages", "cue:10", "--windows", "streams"], "taught line by line"),
        (["--stages", "later:10"], "unknown stage 'later'"),
        (["--stages", "cue"], "needs its number of updates"),
        (["--windows", "lines", "--vary-seq-len"], "--vary-seq-len"),
        (["--unk-noise", "1.5"], "--unk-noise"),
    ],
)
def test_bad_lesson_options_are_one_line(args, message):
    r = invoke("train", *args, *SMALL, "--epochs", "1")
    assert r.exit_code in (1, 2), r.output
    assert message in r.output


def test_an_unknown_language_is_a_usage_error():
    r = invoke("train", "--lang", "fr")
    assert r.exit_code == 2 and "ja" in r.output and "en" in r.output


def test_an_interrupted_lesson_resumes_to_the_same_model(tmp_path, monkeypatch):
    """Stopped inside a stage (Ctrl-C), resumed from the .last file: the stages' texts are
    made again from the model file, and the run ends with the weights of an unbroken one."""
    import lstmcli

    opts = dict(lang="en", stages="cue:12,near:8", epochs=1, hidden=16, embed=16, batch_size=16,
                unk_noise=0.05, max_steps=30)  # fmt: skip
    whole = lstmcli.train(out=tmp_path / "whole.safetensors", **opts)
    calls = {"n": 0}

    def stop_soon(self):
        calls["n"] += 1
        return calls["n"] >= 16  # in stage "near"

    monkeypatch.setattr(trainjob.StopFlag, "__call__", stop_soon)
    with pytest.raises(KeyboardInterrupt):
        lstmcli.train(out=tmp_path / "part.safetensors", **opts)
    monkeypatch.undo()
    last = tmp_path / "part.last.safetensors"
    assert checkpoint.load(last).resume["epoch"] == 2
    part = lstmcli.train(out=tmp_path / "part.safetensors", resume=last, **opts)
    a = checkpoint.load(Path(whole.path)).params
    b = checkpoint.load(Path(part.path)).params
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
