"""The training loop: learning, schedules, non-finite steps, exact resume."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstmcli import data, optim, training
from lstmcli.errors import DataError, LstmError
from lstmcli.model import ModelConfig


def _ids(n=600, V=12, seed=0, noise=0.05):
    # a learnable stream: a repeating pattern with a little noise
    rng = np.random.default_rng(seed)
    base = np.tile(np.arange(V), n // V + 1)[:n]
    noise = rng.random(n) < noise
    base[noise] = rng.integers(0, V, noise.sum())
    return base.astype(np.int32)


def _session(dropout=0.1, **over):
    mc = ModelConfig(vocab_size=12, embed_size=8, hidden_size=8, num_layers=2, dropout=dropout)
    kw = dict(batch_size=4, seq_len=6, epochs=2, optimizer="adam", lr=0.01, seed=3, patience=None)
    kw.update(over)
    return training.Session.start(mc, training.TrainConfig(**kw))


def test_tiny_model_overfits_tiny_corpus():
    s = _session(epochs=15, lr=0.02, dropout=0.0)
    ids = _ids(noise=0.0)
    training.run_training(s, ids, ids[:200])
    first, last = s.history[0], s.history[-1]
    assert first["train_ppl"] > 3
    assert last["train_ppl"] < 1.1 and last["valid_ppl"] < 1.3  # valid: streams start cold


def test_events_and_history():
    events = []
    s = _session()
    outcome = training.run_training(s, _ids(), _ids(200, seed=1), on_event=events.append)
    assert outcome == "finished"
    steps = [e for e in events if isinstance(e, training.StepEvent)]
    epochs = [e for e in events if isinstance(e, training.EpochEvent)]
    assert len(epochs) == 2 and [h["epoch"] for h in s.history] == [1, 2]
    n_windows = data.num_windows(data.batchify(_ids(), 4), 6)
    assert len(steps) == 2 * n_windows and steps[-1].step == 2 * n_windows
    assert all(e.tokens_per_s > 0 for e in steps)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_resume_after_an_epoch_gives_the_same_weights(roundtrip, optimizer):
    ids, valid = _ids(), _ids(200, seed=1)
    whole = _session(optimizer=optimizer)
    training.run_training(whole, ids, valid)

    part = _session(optimizer=optimizer, epochs=1)
    training.run_training(part, ids, valid)
    resumed = roundtrip(part)
    resumed.train = training.TrainConfig.from_dict({**resumed.train.to_dict(), "epochs": 2})
    training.run_training(resumed, ids, valid)
    for k in whole.params:
        np.testing.assert_array_equal(whole.params[k], resumed.params[k], err_msg=k)
    assert [h["valid_ppl"] for h in resumed.history] == [h["valid_ppl"] for h in whole.history]


def test_resume_in_the_middle_of_an_epoch_gives_the_same_weights(roundtrip):
    ids, valid = _ids(), _ids(200, seed=1)
    whole = _session()
    training.run_training(whole, ids, valid)

    part = _session()
    calls = {"n": 0}

    def stop_after_7():
        calls["n"] += 1
        return calls["n"] >= 7

    saved = {}
    outcome = training.run_training(
        part,
        ids,
        valid,
        save=lambda kind, s: saved.setdefault(kind, s.step),
        should_stop=stop_after_7,
    )
    assert outcome == "interrupted" and part.step == 7 and saved["last"] == 7
    resumed = roundtrip(part)
    assert resumed.window == 7 and resumed.state is not None
    training.run_training(resumed, ids, valid)
    for k in whole.params:
        np.testing.assert_array_equal(whole.params[k], resumed.params[k], err_msg=k)


def test_linear_anneal_falls_to_zero_over_the_step_budget():
    events = []
    s = _session(optimizer="sgd", lr=0.5, epochs=50, max_steps=20, anneal="linear")
    assert training.run_training(s, _ids(), None, on_event=events.append) == "max-steps"
    lrs = [e.lr for e in events if isinstance(e, training.StepEvent)]
    # the rate of update k (0-based) is lr · (1 − k / 20), reported after the update
    np.testing.assert_allclose(lrs, [0.5 * (1 - k / 20) for k in range(20)], rtol=1e-12)


def test_linear_anneal_over_epochs_and_the_budget_used():
    ids = _ids()
    n_windows = data.num_windows(data.batchify(ids, 4), 6)
    s = _session(optimizer="sgd", lr=1.0, epochs=2, anneal="linear")
    assert training.budget_used(s, n_windows) == 0.0
    s.epoch, s.window = 2, n_windows // 2
    assert training.budget_used(s, n_windows) == pytest.approx(
        0.5 + 0.5 * (n_windows // 2) / n_windows
    )
    s2 = _session(optimizer="sgd", lr=1.0, epochs=2, max_minutes=1.0)
    s2.seconds = 45.0  # three quarters of the time budget, ahead of the epochs
    assert training.budget_used(s2, n_windows) == 0.75
    events = []
    s3 = _session(optimizer="sgd", lr=1.0, epochs=2, anneal="linear")
    training.run_training(s3, ids, None, on_event=events.append)
    lrs = [e.lr for e in events if isinstance(e, training.StepEvent)]
    assert lrs[0] == pytest.approx(1.0) and 0 <= lrs[-1] < 1 / n_windows
    assert np.all(np.diff(lrs) < 0)
    plain, plain_events = _session(optimizer="sgd", lr=1.0, epochs=2), []  # off by default
    training.run_training(plain, ids, None, on_event=plain_events.append)
    assert {e.lr for e in plain_events if isinstance(e, training.StepEvent)} == {1.0}
    with pytest.raises(LstmError, match="anneal"):
        training.TrainConfig(anneal="cosine")


def test_resume_with_linear_anneal_gives_the_same_weights(roundtrip):
    ids = _ids()
    whole = _session(optimizer="sgd", lr=0.5, epochs=2, anneal="linear")
    training.run_training(whole, ids, None)
    part = _session(optimizer="sgd", lr=0.5, epochs=2, anneal="linear")
    calls = {"n": 0}

    def stop_after_9():
        calls["n"] += 1
        return calls["n"] >= 9

    assert training.run_training(part, ids, None, should_stop=stop_after_9) == "interrupted"
    resumed = roundtrip(part)
    training.run_training(resumed, ids, None)
    for k in whole.params:
        np.testing.assert_array_equal(whole.params[k], resumed.params[k], err_msg=k)


def test_non_finite_steps_are_rolled_back_then_give_up(monkeypatch):
    s = _session()
    before = {k: v.copy() for k, v in s.params.items()}
    real = training.model.loss_and_grads

    def nan_loss(*a, **kw):
        _, grads, st = real(*a, **kw)
        return math.nan, grads, st

    monkeypatch.setattr(training.model, "loss_and_grads", nan_loss)
    with pytest.raises(LstmError, match="NaN"):
        training.run_training(s, _ids(), None)
    for k in before:  # no update was applied
        np.testing.assert_array_equal(before[k], s.params[k])
    assert s.schedule.lr < 0.01


def test_schedule_decays_after_epoch_n_and_on_plateau():
    z = optim.LRSchedule(lr=1.0, decay=0.5, decay_after=4, decay_on_plateau=False)
    lrs = []
    for epoch in range(1, 8):
        lrs.append(z.lr)
        z.end_epoch(epoch, 100.0 - epoch)
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.25, 0.125]
    p = optim.LRSchedule(lr=1.0, decay=0.25)
    assert p.end_epoch(1, 50.0) and p.lr == 1.0
    assert not p.end_epoch(2, 60.0) and p.lr == 0.25 and p.bad_epochs == 1


def test_max_steps_stops_early():
    s = _session(max_steps=5, epochs=10)
    assert training.run_training(s, _ids(), None) == "max-steps"
    assert s.step == 5 and len(s.history) == 1


def test_corpus_too_small_for_the_batch_says_how_small():
    with pytest.raises(DataError, match="batch size of at most 2"):
        data.batchify(np.arange(5), 8)


def test_train_config_rejects_impossible_values():
    with pytest.raises(LstmError, match="learning rate"):
        training.TrainConfig(lr=-1)
    with pytest.raises(LstmError, match="seq_len"):
        training.TrainConfig(seq_len=0)


def test_evaluate_scores_every_token_once_in_one_stream():
    s = _session()
    ids = _ids(101)
    loss, n = training.evaluate(s.params, s.config, ids, batch_size=1, seq_len=7)
    assert n == 100 and loss > 0
    loss2, n2 = training.evaluate(s.params, s.config, ids, batch_size=1, seq_len=50)
    assert n2 == 100 and abs(loss - loss2) < 1e-5  # the window length does not matter
