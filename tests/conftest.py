"""Shared test setup."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory):
    """No test reads or writes the user's own model folder or ``LSTM_MODEL``."""
    mp = pytest.MonkeyPatch()
    mp.setenv("LSTM_HOME", str(tmp_path_factory.mktemp("lstm-home")))
    mp.delenv("LSTM_MODEL", raising=False)
    yield
    mp.undo()


def _numerical_grad(loss, p: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Centred differences of the scalar ``loss()`` with respect to every entry of ``p``,
    which is nudged in place and restored."""
    num = np.zeros_like(p)
    for idx in np.ndindex(p.shape):
        old = p[idx]
        p[idx] = old + eps
        lp = loss()
        p[idx] = old - eps
        lm = loss()
        p[idx] = old
        num[idx] = (lp - lm) / (2 * eps)
    return num


@pytest.fixture
def numerical_grad():
    """:func:`_numerical_grad`, for the finite-difference gradient checks."""
    return _numerical_grad


@pytest.fixture
def lstm_home(tmp_path, monkeypatch):
    """A model folder of the test's own (``lstm train`` remembers its last model there)."""
    monkeypatch.setenv("LSTM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LSTM_MODEL", raising=False)
    return tmp_path / "home"


EN_VOCAB = ["<eos>", "<unk>", "the", "cat", "sat", "on", "mat", "mari", "likes", "cake", "."]


def _random_model(path, vocab=EN_VOCAB, tokenizer=None, layers=2, seed=0, example="the cat"):
    """Save a small model with random weights (6 units; the space tokenizer unless given):
    fast and deterministic, for what needs a model file but not a trained one."""
    from lstmcli import checkpoint, model

    cfg = model.ModelConfig(vocab_size=len(vocab), embed_size=6, hidden_size=6, num_layers=layers)
    params = model.init_params(cfg, np.random.default_rng(seed))
    tokenizer = tokenizer or {"name": "space", "options": {}}
    checkpoint.save(
        path, checkpoint.Checkpoint(cfg, params, list(vocab), tokenizer, example=example)
    )
    return path


@pytest.fixture
def random_model():
    """:func:`_random_model`, to save model files of random weights."""
    return _random_model


@pytest.fixture
def roundtrip(tmp_path):
    """Save a training session's resume file as ``lstm train`` does and load it back:
    ``roundtrip(session) -> session``."""
    from lstmcli import checkpoint as C
    from lstmcli import training

    def go(s: training.Session) -> training.Session:
        extra, resume = training.session_to_checkpoint_parts(s)
        path = tmp_path / "last.safetensors"
        vocab = [str(i) for i in range(s.config.vocab_size)]
        C.save(path, C.Checkpoint(s.config, s.params, vocab, {"name": "space", "options": {}},
                                  train=s.train.to_dict(), history=s.history, extra=extra,
                                  resume=resume))  # fmt: skip
        ck = C.load(path)
        tc = training.TrainConfig.from_dict(ck.train)
        return training.session_from_checkpoint(ck.params, ck.config, tc, ck.resume, ck.extra,
                                             ck.history)  # fmt: skip

    return go


CORPORA = Path(__file__).resolve().parents[1] / "corpora"


def _tiny_model(folder: Path, corpus: str, lines: int, *options: str) -> Path:
    """A model trained for a few seconds on the first ``lines`` of a bundled corpus."""
    from typer.testing import CliRunner

    from lstmcli.cli import app

    text = (CORPORA / corpus).read_text(encoding="utf-8").splitlines()[:lines]
    src = folder / "corpus.txt"
    src.write_text("\n".join(text) + "\n", encoding="utf-8")
    out = folder / "model.safetensors"
    args = ["train", str(src), "--preset", "tiny", "--epochs", "3", "--out", str(out), "--quiet"]
    r = CliRunner().invoke(app, [*args, *options], env={"LSTM_HOME": str(folder / "home")})
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture(scope="session")
def trained_en(tmp_path_factory) -> Path:
    """An English word model, 2 layers × 32 units, trained on 300 lines (a few seconds)."""
    return _tiny_model(tmp_path_factory.mktemp("en"), "tales-en.txt", 300, "--layers", "2")


@pytest.fixture(scope="session")
def trained_ja(tmp_path_factory) -> Path:
    """A Japanese (SudachiPy) model, 1 layer × 32 units, trained on 200 lines."""
    return _tiny_model(tmp_path_factory.mktemp("ja"), "mari-ja.txt", 200)


@pytest.fixture(scope="session")
def trained_rnn(tmp_path_factory) -> Path:
    """An English simple-RNN model, 1 layer × 32 units."""
    return _tiny_model(tmp_path_factory.mktemp("rnn"), "tales-en.txt", 200, "--cell", "rnn")


@pytest.fixture(scope="session")
def en(trained_en):
    """The English model, loaded."""
    from lstmcli.predict import Predictor

    return Predictor.load(trained_en)


@pytest.fixture(scope="session")
def ja(trained_ja):
    """The Japanese model, loaded."""
    from lstmcli.predict import Predictor

    return Predictor.load(trained_ja)
