"""``lstm train`` with AWD-LSTM's regularisers: options, aliases, the preset, resume."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from lstmcli import checkpoint, presets
from lstmcli.cli import app

runner = CliRunner()

TEXT = "\n".join(["the cat sat on the mat .", "mari likes the cake .", "the dog sat ."] * 60)
AWD = ["--optimizer", "sgd", "--lr", "2", "--input-dropout", "0.2", "--dropouth", "0.2",
       "--output-dropout", "0.3", "--word-dropout", "0.1", "--wdrop", "0.3", "--ar", "1",
       "--beta", "1", "--weight-decay", "1e-4", "--vary-seq-len", "--nonmono", "1"]  # fmt: skip


def _train(tmp_path, *extra):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "m.safetensors"
    args = ["train", str(corpus), "--preset", "tiny", "--out", str(out), *extra]
    return runner.invoke(app, args), out


def test_every_option_and_alias_reaches_the_training_settings(tmp_path):
    r, out = _train(tmp_path, "--epochs", "3", "--json", *AWD)
    assert r.exit_code == 0, r.output
    events = [json.loads(line) for line in r.output.splitlines()]
    assert events[0]["regularizers"] == {
        "input-dropout": 0.2, "hidden-dropout": 0.2, "output-dropout": 0.3,
        "word-dropout": 0.1, "weight-drop": 0.3, "ar": 1.0, "tar": 1.0,
        "weight-decay": 1e-4, "vary-seq-len": True, "nt-asgd": 1,
    }  # fmt: skip
    tr = checkpoint.load(out).train
    assert (tr["dropouti"], tr["dropouth"], tr["dropouto"], tr["dropoute"]) == (0.2, 0.2, 0.3, 0.1)
    assert (tr["wdrop"], tr["alpha"], tr["beta"], tr["wdecay"]) == (0.3, 1.0, 1.0, 1e-4)
    assert tr["vary_seq_len"] is True and tr["nonmono"] == 1
    # the resume file carries NT-ASGD's state; the model file has no training tensors
    last = checkpoint.load(tmp_path / "m.last.safetensors")
    assert "asgd" in last.resume and not checkpoint.load(out).extra
    epochs = [e for e in events if e["event"] == "epoch"]
    assert all("averaged" in e for e in epochs)
    r = runner.invoke(app, ["info", str(out)])
    assert r.exit_code == 0 and "weight-drop 0.3" in r.output and "vary-seq-len" in r.output


def test_the_rich_display_lists_what_is_on(tmp_path):
    r, _ = _train(tmp_path, "--epochs", "1", "--wdrop", "0.25", "--fixed-seq-len")
    assert r.exit_code == 0, r.output
    assert "regularise weight-drop 0.25" in r.output
    r, _ = _train(tmp_path, "--epochs", "1")
    assert "regularise" not in r.output


def test_resume_continues_a_regularised_run_exactly(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    r, whole = _train(tmp_path / "a", "--epochs", "3", "--quiet", *AWD)
    assert r.exit_code == 0, r.output
    r, part = _train(tmp_path / "b", "--epochs", "1", "--quiet", *AWD)
    assert r.exit_code == 0, r.output
    corpus = tmp_path / "b" / "c.txt"
    r = runner.invoke(app, ["train", str(corpus), "--out", str(part), "--epochs", "3", "--quiet",
                            "--resume", str(tmp_path / "b" / "m.last.safetensors")])  # fmt: skip
    assert r.exit_code == 0, r.output
    a, b = checkpoint.load(whole), checkpoint.load(part)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k], err_msg=k)


def test_bad_combinations_are_one_clear_line(tmp_path):
    r, _ = _train(tmp_path, "--nt-asgd", "2", "--optimizer", "adam")
    assert r.exit_code == 1 and "use it with --optimizer sgd" in r.output
    r, _ = _train(tmp_path, "--wdrop", "1.2")
    assert r.exit_code == 2 and "--wdrop" in r.output
    r, _ = _train(tmp_path, "--alpha", "-1")
    assert r.exit_code == 2


def test_ptb_awd_preset_turns_everything_on():
    opts = presets.resolve("ptb-awd", {})
    for key in ("dropouti", "dropouth", "dropouto", "dropoute", "wdrop", "alpha", "beta",
                "wdecay", "vary_seq_len", "nonmono"):  # fmt: skip
        assert opts[key], key
    assert opts["optimizer"] == "sgd" and opts["dropout"] == 0.0
    assert presets.resolve("ptb-awd", {"wdrop": 0.0})["wdrop"] == 0.0  # options still win


def test_the_python_api_takes_the_same_options(tmp_path):
    import lstmcli

    m = lstmcli.train(text=TEXT, preset="tiny", epochs=2, optimizer="sgd", lr=1.0,
                      input_dropout=0.2, weight_drop=0.3, ar=1.0, tar=1.0, weight_decay=1e-4,
                      vary_seq_len=True, nt_asgd=1, out=tmp_path / "m.safetensors")  # fmt: skip
    tr = checkpoint.load(tmp_path / "m.safetensors").train
    assert (tr["dropouti"], tr["wdrop"], tr["nonmono"], tr["vary_seq_len"]) == (0.2, 0.3, 1, True)
    assert m.config.hidden_size == 32
