"""Training with AWD-LSTM's regularisers: exact resume with every option, NT-ASGD's average
in validation and in the saved model, the rate scaled by the window length."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli import training
from lstmcli.errors import LstmError
from lstmcli.model import ModelConfig

EVERYTHING = dict(
    dropouti=0.2, dropouth=0.2, dropouto=0.3, dropoute=0.1, wdrop=0.3, alpha=1.0, beta=1.0,
    wdecay=1e-3, vary_seq_len=True, nonmono=1,
)  # fmt: skip


def _ids(n=600, V=12, seed=0, noise=0.05):
    rng = np.random.default_rng(seed)
    base = np.tile(np.arange(V), n // V + 1)[:n]
    flip = rng.random(n) < noise
    base[flip] = rng.integers(0, V, flip.sum())
    return base.astype(np.int32)


# validation on random tokens gets worse as the model learns the training pattern, so
# NT-ASGD triggers within a few epochs
TRAIN, VALID = _ids(), np.random.default_rng(5).integers(0, 12, 200).astype(np.int32)


def _session(**over):
    mc = ModelConfig(vocab_size=12, embed_size=8, hidden_size=8, num_layers=2, dropout=0.1)
    kw = dict(batch_size=4, seq_len=8, epochs=5, optimizer="sgd", lr=2.0, seed=3, patience=None,
              decay_on_plateau=False, **EVERYTHING)  # fmt: skip
    kw.update(over)
    return training.Session.start(mc, training.TrainConfig(**kw))


def _assert_same(a: training.Session, b: training.Session) -> None:
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k], err_msg=k)
    assert a.history == [{**h, "seconds": a.history[i]["seconds"],
                          "tokens_per_s": a.history[i]["tokens_per_s"]}
                         for i, h in enumerate(b.history)]  # fmt: skip
    assert (a.asgd.start_step, a.asgd.count, a.asgd.logs) == (
        b.asgd.start_step, b.asgd.count, b.asgd.logs)  # fmt: skip
    for k in a.asgd.ax:
        np.testing.assert_array_equal(a.asgd.ax[k], b.asgd.ax[k], err_msg=k)
    assert a.step == b.step


@pytest.fixture(scope="module")
def whole():
    s = _session()
    assert training.run_training(s, TRAIN, VALID) == "finished"
    return s


def test_the_run_uses_every_option(whole):
    s = whole
    assert s.asgd.averaging and 1 < s.asgd.start_step < s.step
    assert [h["averaged"] for h in s.history][-1] is True
    assert s.history[0]["averaged"] is False
    # variable windows: the step count is not a multiple of the fixed window count
    steps = [h["steps"] for h in s.history]
    assert len(set(np.diff([0, *steps]))) > 1


def test_resume_at_every_epoch_gives_the_same_run(whole, roundtrip):
    s = _session(epochs=1)
    training.run_training(s, TRAIN, VALID)
    for epochs in range(2, 6):
        s = roundtrip(s)
        s.train = training.TrainConfig.from_dict({**s.train.to_dict(), "epochs": epochs})
        training.run_training(s, TRAIN, VALID)
    _assert_same(whole, s)


@pytest.mark.parametrize("stops", [[7], [30, 55, 75]])
def test_resume_in_the_middle_of_epochs_gives_the_same_run(whole, roundtrip, stops):
    """Interrupted mid-epoch (windows of drawn lengths, masks, average in progress) and
    resumed from the saved file, possibly several times."""
    s = _session()
    for stop in stops:
        done = lambda s=s, stop=stop: s.step >= stop  # noqa: E731
        outcome = training.run_training(s, TRAIN, VALID, should_stop=done)
        assert outcome == "interrupted" and s.step == stop and s.window > 0
        s = roundtrip(s)
    assert training.run_training(s, TRAIN, VALID) == "finished"
    _assert_same(whole, s)


def test_validation_and_the_saved_model_use_the_average(whole):
    s = whole
    assert s.model_params() is s.asgd.ax
    assert any(not np.array_equal(s.asgd.ax[k], s.params[k]) for k in s.params)
    loss, _ = training.evaluate(s.asgd.ax, s.config, VALID, s.train.eval_batch_size, 8)
    assert s.history[-1]["valid_loss"] == pytest.approx(loss, rel=1e-12)


def test_learning_rate_follows_the_window_length(monkeypatch):
    s = _session(epochs=1, nonmono=0, wdecay=0.0)
    seen = []
    real_step = s.optimizer.step

    def spy(params, grads, scale=1.0):
        seen.append(s.optimizer.lr)
        real_step(params, grads, scale)

    lengths = []
    real_loss = training.model.loss_and_grads

    def loss_spy(params, cfg, x, *a, **kw):
        lengths.append(len(x))
        return real_loss(params, cfg, x, *a, **kw)

    monkeypatch.setattr(s.optimizer, "step", spy)
    monkeypatch.setattr(training.model, "loss_and_grads", loss_spy)
    training.run_training(s, TRAIN, None)
    assert len(set(lengths)) > 2
    assert seen == [pytest.approx(2.0 * T / 8) for T in lengths]
    assert s.optimizer.lr == 2.0  # the schedule's rate, between steps


def test_everything_off_is_the_plain_path(monkeypatch):
    """With every option at its default no regulariser is passed to the model."""
    s = _session(**{k: type(v)() for k, v in EVERYTHING.items()}, epochs=1)
    assert s.train.regularizers() is None and s.asgd is None
    regs = []
    real = training.model.loss_and_grads

    def spy(*a, **kw):
        regs.append(a[7] if len(a) > 7 else kw.get("reg"))
        return real(*a, **kw)

    monkeypatch.setattr(training.model, "loss_and_grads", spy)
    training.run_training(s, TRAIN, VALID)
    assert regs and set(regs) == {None}
    assert "averaged" not in s.history[0]


def test_nt_asgd_needs_sgd_and_options_are_checked():
    with pytest.raises(LstmError, match="--optimizer sgd"):
        training.TrainConfig(optimizer="adam", nonmono=3)
    with pytest.raises(LstmError, match="dropoute"):
        training.TrainConfig(dropoute=1.5)
    with pytest.raises(LstmError, match="weight decay"):
        training.TrainConfig(wdecay=-1.0)
    # an older training state without the new settings loads with all of them off
    old = {k: v for k, v in training.TrainConfig().to_dict().items() if k not in EVERYTHING}
    assert training.TrainConfig.from_dict(old).regularizers() is None
