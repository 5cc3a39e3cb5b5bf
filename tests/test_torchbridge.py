"""lstmcli models in PyTorch and back, and trained further with DDP under torchrun.

The torch tests are skipped when torch is not installed (the optional extra:
``pip install 'lstmcli[torch]'``); ``lstm info``'s line about such a run needs no torch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lstmcli import checkpoint as C
from lstmcli import inference
from lstmcli import model as M
from lstmcli.cli import app

runner = CliRunner()
WORDS = ["the", "cat", "dog", "sat", "on", "a", "mat", "and", "ran", "far", "away", "quick",
         "brown", "fox", "jumps", "over", "lazy"]  # fmt: skip


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _model(cell="lstm", layers=2, tie=False, dtype="float64", dropout=0.0, V=17, seed=0):
    H = 6
    cfg = M.ModelConfig(V, H if tie else 5, H, layers, cell=cell, tie_weights=tie, dropout=dropout,
                        init_scale=0.4, dtype=dtype)  # fmt: skip
    rng = np.random.default_rng(seed)
    params = M.init_params(cfg, rng)
    params["decoder.bias"] += rng.uniform(-0.2, 0.2, V).astype(dtype)
    vocab = ["<eos>", "<unk>", *WORDS][:V]
    vocab += [f"w{i}" for i in range(V - len(vocab))]
    tok = {"name": "space", "options": {}, "versions": {}}
    record = {"optimizer": "sgd", "lr": 1.0, "batch_size": 4, "seq_len": 5, "clip": 1.0}
    return C.Checkpoint(cfg, params, vocab, tok, record, [{"epoch": 1, "lr": 0.5}],
                        example="the cat sat")  # fmt: skip


# --- conversion -------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("tie", [False, True])
def test_conversion_is_exact_both_ways(torch, cell, layers, tie):
    from lstmcli.torchbridge import from_torch, to_torch

    ck = _model(cell, layers, tie)
    net = to_torch(ck)
    sd = net.state_dict()
    for name, p in ck.params.items():
        assert np.array_equal(sd[name].numpy(), p), name
    if tie:
        assert net.decoder.weight is net.encoder.weight
    back = from_torch(net, like=ck)
    assert set(back.params) == set(ck.params)
    for name, p in ck.params.items():
        assert back.params[name].dtype == p.dtype and np.array_equal(back.params[name], p), name
    ids = np.random.default_rng(1).integers(0, ck.config.vocab_size, 12)
    ours = inference.run(ck.params, ck.config, ids).logits
    with torch.no_grad():
        theirs, _ = net.eval()(torch.tensor(ids)[:, None])
    np.testing.assert_allclose(ours, theirs[:, 0].numpy(), rtol=0, atol=1e-9)


def test_from_torch_keeps_the_metadata_and_the_dropout(torch, tmp_path):
    from lstmcli.torchbridge import from_torch, to_torch

    ck = _model(layers=2, dropout=0.3, dtype="float32")
    net = to_torch(ck)
    assert net.drop.p == 0.3 and net.rnn.dropout == 0.3
    with torch.no_grad():
        net.decoder.bias += 1.0  # trained in torch
    back = from_torch(net, like=ck)
    for key in ("config", "vocab", "tokenizer", "train", "history", "example"):
        assert getattr(back, key) == getattr(ck, key), key
    np.testing.assert_allclose(back.params["decoder.bias"], ck.params["decoder.bias"] + 1.0)
    C.save(tmp_path / "m.safetensors", back)
    assert C.load(tmp_path / "m.safetensors").config == ck.config


def test_to_torch_takes_a_path_and_an_lstmcli_model(torch, tmp_path):
    import lstmcli
    from lstmcli.torchbridge import to_torch

    path = tmp_path / "m.safetensors"
    C.save(path, _model(dtype="float32"))
    a, b = to_torch(path), to_torch(lstmcli.load(path))
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())


def test_from_torch_refuses_another_module(torch):
    from lstmcli.errors import CheckpointError
    from lstmcli.torchbridge import from_torch, to_torch

    ck = _model()
    with pytest.raises(CheckpointError, match="shape"):
        from_torch(to_torch(_model(V=18)), like=ck)
    with pytest.raises(CheckpointError, match="tensor"):
        from_torch(torch.nn.Linear(3, 3), like=ck)


# --- lstm info, without torch ---------------------------------------------------------


def test_info_tells_how_torchrun_trained_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    ck = _model(dtype="float32")
    ck.train = {**ck.train, "torchrun": {"launcher": "torchrun", "world_size": 2,
                "backend": "gloo", "device": "cpu", "tokens": 929_589, "seconds": 190.0,
                "init": "model.safetensors"}}  # fmt: skip
    C.save(tmp_path / "m.safetensors", ck)
    r = runner.invoke(app, ["info", str(tmp_path / "m.safetensors")])
    assert r.exit_code == 0, r.output
    line = next(ln for ln in r.output.splitlines() if ln.startswith("distributed"))
    assert "trained further with torchrun: world size 2, gloo on cpu, 929,589 tokens in " \
           "3.2 min" in line  # fmt: skip


# --- the distributed trainer --------------------------------------------------------------


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[1])}


def _trainer(n: int | None, *args) -> subprocess.CompletedProcess:
    """``torchrun --nproc-per-node n -m lstmcli.torchbridge.train ARGS`` (n None: one plain
    process, without torchrun)."""
    launch = [sys.executable, "-m", "lstmcli.torchbridge.train"]
    if n is not None:
        launch = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                  "--nproc-per-node", str(n), "-m", "lstmcli.torchbridge.train"]  # fmt: skip
    return subprocess.run([*launch, *map(str, args)], capture_output=True, text=True,
                          env=_env(), timeout=300)  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(WORDS, rng.integers(3, 10))) for _ in range(120)]
    (d / "c.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    init = _model(layers=2, dtype="float32")
    C.save(d / "init.safetensors", init)
    return d


def _errors(r: subprocess.CompletedProcess) -> list[str]:
    return [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]


TRAIN = ("--batch-size", 4, "--seq-len", 6, "--lr", 0.5, "--val-fraction", 0.1)


def test_one_and_two_processes_make_the_same_update(torch, corpus, tmp_path):
    c, init = corpus / "c.txt", corpus / "init.safetensors"
    one = _trainer(None, c, "--init", init, "--out", tmp_path / "one.safetensors", *TRAIN,
                   "--max-steps", 1)  # fmt: skip
    assert one.returncode == 0, one.stderr
    two = _trainer(2, c, "--init", init, "--out", tmp_path / "two.safetensors", *TRAIN,
                   "--max-steps", 1)  # fmt: skip
    assert two.returncode == 0, two.stderr
    a, b = C.load(tmp_path / "one.safetensors"), C.load(tmp_path / "two.safetensors")
    before = C.load(init).params
    for name, p in a.params.items():
        assert not np.array_equal(p, before[name]) or name.startswith("rnn.bias_hh"), name
        np.testing.assert_allclose(b.params[name], p, rtol=0, atol=1e-5, err_msg=name)
    run = b.train["torchrun"]
    assert run["world_size"] == 2 and run["backend"] == "gloo" and run["steps"] == 1
    assert run["launcher"] == "torchrun"
    assert a.train["torchrun"]["world_size"] == 1


def test_round_trip_through_torchrun_predicts_as_the_torch_module(
    torch, corpus, tmp_path, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "200")
    import lstmcli
    from lstmcli.predict import Predictor
    from lstmcli.torchbridge import to_torch

    out = tmp_path / "further.safetensors"
    r = _trainer(2, corpus / "c.txt", "--init", corpus / "init.safetensors", "--out", out,
                 *TRAIN, "--max-steps", 4)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("engine") == 1  # progress on rank 0 only
    ck = C.load(out)
    assert ck.vocab == C.load(corpus / "init.safetensors").vocab
    assert ck.train["torchrun"]["tokens"] == 4 * 4 * 6
    assert ck.history[-1]["epoch"] == 2  # the model's one epoch, then this run's

    prompt = "the cat sat on the"
    p = runner.invoke(app, ["predict", prompt, "--model", str(out), "-k", "5", "--json"])
    assert p.exit_code == 0, p.output
    got = {c["token"]: c["prob"] for c in json.loads(p.output)["next"]}
    ids = Predictor.load(out).encode(prompt).ids
    with torch.no_grad():
        logits, _ = to_torch(ck).eval()(torch.tensor(ids, dtype=torch.long)[:, None])
        probs = torch.softmax(logits[-1, 0].double(), -1).numpy()
    for token, prob in got.items():
        assert abs(prob - probs[ck.vocab.index(token)]) <= 1e-5, token

    for cmd in (["eval", str(corpus / "c.txt")], ["trace", "the cat"], ["info"]):
        res = runner.invoke(app, [*cmd, "--model", str(out)] if cmd[0] != "info"
                            else [*cmd, str(out)])  # fmt: skip
        assert res.exit_code == 0, (cmd, res.output)
    info = runner.invoke(app, ["info", str(out)]).output
    assert "trained further with torchrun: world size 2, gloo on cpu, 96 tokens" in info
    assert lstmcli.load(out).predict(prompt, k=1)


def test_a_resumed_run_ends_where_the_whole_one_does(torch, corpus, tmp_path, monkeypatch):
    """Stopped after two updates (as a Ctrl-C stops it), then resumed: the same weights as
    one run of five, dropout and Adam's moments included."""
    from lstmcli.torchbridge import train as T
    from lstmcli.torchbridge.plan import Options

    ck = _model(layers=2, dropout=0.3, dtype="float32")
    C.save(tmp_path / "init.safetensors", ck)
    settings = {"batch_size": 4, "seq_len": 6, "optimizer": "adam", "lr": 0.01,
                "max_steps": 5}  # fmt: skip

    def options(out, **kw):
        return Options(corpus / "c.txt", tmp_path / out, init=tmp_path / "init.safetensors",
                       val_fraction=0.1, train=settings, **kw)  # fmt: skip

    assert T.run(options("whole.safetensors"), cpu=True) == 0

    class StopAfterTwo(T.StopFlag):
        calls = 0

        def __call__(self) -> bool:
            StopAfterTwo.calls += 1
            return StopAfterTwo.calls >= 2

    original = T.StopFlag
    monkeypatch.setattr(T, "StopFlag", StopAfterTwo)
    assert T.run(options("part.safetensors"), cpu=True) == 130
    last = C.load(tmp_path / "part.last.safetensors")
    assert last.resume["step"] == 2 and "state.c_l1" in last.extra and "optim.m.decoder.bias" \
        in last.extra  # fmt: skip
    monkeypatch.setattr(T, "StopFlag", original)
    r = runner.invoke(app, ["train", str(corpus / "c.txt"), "--resume",
                                 str(tmp_path / "part.last.safetensors")])  # fmt: skip
    assert r.exit_code == 1 and "resume it with torchrun" in r.output  # not lstm train's
    assert T.run(options("part.safetensors", resume=tmp_path / "part.last.safetensors"),
                 cpu=True) == 0  # fmt: skip
    a, b = C.load(tmp_path / "whole.safetensors"), C.load(tmp_path / "part.safetensors")
    for name, p in a.params.items():
        np.testing.assert_array_equal(b.params[name], p, err_msg=name)
    assert b.train["torchrun"]["tokens"] == a.train["torchrun"]["tokens"] == 5 * 4 * 6


def test_from_scratch_builds_the_vocabulary_from_the_corpus(torch, corpus, tmp_path):
    out = tmp_path / "new.safetensors"
    r = _trainer(2, corpus / "c.txt", "--config", "tiny", "--hidden", 8, "--embed", 8,
                 "--out", out, "--max-steps", 2)  # fmt: skip
    assert r.returncode == 0, r.stderr
    ck = C.load(out)
    assert ck.config.hidden_size == 8 and set(WORDS) <= set(ck.vocab)
    assert ck.train["torchrun"]["init"] is None


# --- bad input: one line ------------------------------------------------------------------


def test_a_file_that_is_not_an_lstmcli_model_is_refused(torch, corpus, tmp_path):
    from safetensors.numpy import save_file

    save_file({"w": np.zeros(3, np.float32)}, str(tmp_path / "other.safetensors"))
    r = _trainer(None, corpus / "c.txt", "--init", tmp_path / "other.safetensors", "--out",
                 tmp_path / "o.safetensors")  # fmt: skip
    assert r.returncode == 1
    assert _errors(r) == [r.stderr.strip()] and "not an lstmcli model" in r.stderr


def test_a_corpus_in_another_encoding_is_refused(torch, corpus, tmp_path):
    (tmp_path / "sjis.txt").write_bytes("麻里ちゃんの愛してやまないケーキ\n".encode("cp932") * 20)
    r = _trainer(None, tmp_path / "sjis.txt", "--init", corpus / "init.safetensors", "--out",
                 tmp_path / "o.safetensors", "--encoding", "utf-8")  # fmt: skip
    assert r.returncode == 1
    assert _errors(r) == [r.stderr.strip()] and "utf-8" in r.stderr.lower()


def test_more_processes_than_streams_is_refused(torch, corpus, tmp_path):
    r = _trainer(2, corpus / "c.txt", "--init", corpus / "init.safetensors", "--out",
                 tmp_path / "o.safetensors", "--batch-size", 1)  # fmt: skip
    assert r.returncode != 0
    errors = _errors(r)
    assert len(errors) == 1 and "world size 2 is larger than the 1 streams" in errors[0]
    assert not (tmp_path / "o.safetensors").exists()


def test_every_option_of_the_trainer_is_in_the_readme(torch):
    import typer

    from lstmcli.torchbridge.train import app as trainer

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    opts = [o for p in typer.main.get_command(trainer).params for o in getattr(p, "opts", [])]
    missing = [o for o in opts if o.startswith("--") and o != "--help" and o not in readme]
    assert not missing, missing
