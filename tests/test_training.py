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


# --- line mode and the lesson's stages -----------------------------------------------------


def _lines(n_lines=60, V=12, seed=0):
    """Lines of 2–9 words (ids ≥ 2) that count upwards from a random start: learnable."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_lines):
        a, n = int(rng.integers(2, V)), int(rng.integers(2, 10))
        out += [2 + (a - 2 + i) % (V - 2) for i in range(n)] + [0]
    return data.split_lines(np.array(out, dtype=np.int32), 0)


def _line_session(**over):
    mc = ModelConfig(vocab_size=12, embed_size=8, hidden_size=8, num_layers=1, dropout=0.0)
    kw = dict(batch_size=4, seq_len=4, epochs=2, optimizer="adam", lr=0.02, seed=3,
              patience=None, windows="lines")  # fmt: skip
    kw.update(over)
    return training.Session.start(mc, training.TrainConfig(**kw))


def _staged():
    a, b, c = _lines(20, seed=1), _lines(20, seed=2), _lines(40, seed=3)
    return data.Staged(data.concat_lines([a, b, c]), ("one", "two"), (20, 40), (7, 5))


def test_lines_mode_learns_and_counts_only_real_tokens():
    lines = _lines()
    events = []
    s = _line_session(epochs=6, seq_len=50)
    training.run_training(s, lines, _lines(10, seed=9), on_event=events.append)
    assert s.history[-1]["train_ppl"] < s.history[0]["train_ppl"] / 2
    per_epoch = [e for e in events if isinstance(e, training.EpochEvent)]
    assert len(per_epoch) == 6
    # every line once per epoch, one window per batch (no line is longer than T), and the
    # tokens counted without the padding
    s2 = _line_session(epochs=1, seq_len=50)
    training.run_training(s2, lines, None)
    assert s2.step == -(-len(lines) // 4)
    h = s2.history[0]
    assert h["tokens_per_s"] * h["seconds"] == pytest.approx(lines.tokens, rel=1e-9)
    assert s2.history[0]["valid_ppl"] is None


def test_lines_mode_needs_lines_and_streams_need_a_stream():
    with pytest.raises(LstmError, match="trains on lines"):
        training.run_training(_line_session(), _ids(), None)
    with pytest.raises(LstmError, match="trains on a token stream"):
        training.run_training(_session(), _lines(), None)
    with pytest.raises(LstmError, match="vary-seq-len"):
        _line_session(vary_seq_len=True)


@pytest.mark.parametrize("stop_at", [3, 9, 14])
def test_resume_in_lines_mode_gives_the_same_weights(roundtrip, stop_at):
    """Stopped at any update — inside a long line's windows, between batches, in the
    second epoch — and resumed from the saved file, the run ends as an unbroken one."""
    lines = _lines()
    whole = _line_session(unk_noise=0.1)
    training.run_training(whole, lines, _lines(10, seed=9))
    part = _line_session(unk_noise=0.1)
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] >= stop_at

    assert training.run_training(part, lines, _lines(10, seed=9), should_stop=stop) == "interrupted"
    resumed = roundtrip(part)
    training.run_training(resumed, lines, _lines(10, seed=9))
    for k in whole.params:
        np.testing.assert_array_equal(whole.params[k], resumed.params[k], err_msg=k)
    assert [h["valid_ppl"] for h in resumed.history] == [h["valid_ppl"] for h in whole.history]


def test_stages_come_first_each_on_its_mix_then_the_epochs_on_everything(monkeypatch):
    staged = _staged()
    seen = []
    real = data.LinePlan.window

    def spy(self, k, dtype=np.int32):
        b = int(np.searchsorted(self._first, k, side="right")) - 1
        seen.append(self.batches[b].max())
        return real(self, k, dtype)

    monkeypatch.setattr(data.LinePlan, "window", spy)
    events = []
    s = _line_session(epochs=1, seq_len=50)
    training.run_training(s, staged, None, on_event=events.append)
    rounds = [e for e in events if isinstance(e, training.EpochEvent)]
    assert [(e.stage, e.epoch) for e in rounds] == [("one", 1), ("two", 2), (None, 1)]
    assert [h.get("stage") for h in s.history] == ["one", "two", None]
    assert [h["epoch"] for h in s.history] == [None, None, 1]
    assert [h["steps"] for h in s.history] == [7, 12, 12 + 20]  # stages last their updates
    # stage one saw only its own lines; stage two those and its own; the epoch all of them
    assert max(seen[:7]) < 20 and max(seen[7:12]) < 40 and max(seen[12:]) >= 40
    steps = [e for e in events if isinstance(e, training.StepEvent)]
    assert [e.stage for e in steps[:12]] == ["one"] * 7 + ["two"] * 5
    assert all(e.stage is None for e in steps[12:])


def test_resume_in_the_middle_of_a_stage_gives_the_same_weights(roundtrip):
    staged = _staged()
    whole = _line_session(epochs=1, anneal="linear")
    training.run_training(whole, staged, _lines(10, seed=9))
    part = _line_session(epochs=1, anneal="linear")
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] >= 10  # asked after each of stage one's 7 updates, after its end, …

    assert (
        training.run_training(part, staged, _lines(10, seed=9), should_stop=stop) == "interrupted"
    )
    resumed = roundtrip(part)
    assert resumed.epoch == 2 and resumed.window == 2  # … and two updates into stage "two"
    training.run_training(resumed, staged, _lines(10, seed=9))
    for k in whole.params:
        np.testing.assert_array_equal(whole.params[k], resumed.params[k], err_msg=k)


def test_the_stages_run_at_the_full_rate_and_the_anneal_spans_the_epochs():
    events = []
    s = _line_session(epochs=2, seq_len=50, anneal="linear", lr=0.01)
    training.run_training(s, _staged(), None, on_event=events.append)
    steps = [e for e in events if isinstance(e, training.StepEvent)]
    assert all(e.lr == 0.01 for e in steps if e.stage is not None)
    epoch_lrs = [e.lr for e in steps if e.stage is None]
    # from the full rate down to the last of 2 × 20 updates: 1/40 of it
    assert epoch_lrs[0] == 0.01 and epoch_lrs == sorted(epoch_lrs, reverse=True)
    assert len(epoch_lrs) == 40 and epoch_lrs[-1] == pytest.approx(0.01 / 40)


def test_the_probe_is_recorded_and_the_best_model_weighs_recall_and_validation():
    calls = []

    def probe(params):  # recall rises, then falls back while validation keeps improving
        calls.append(1)
        return {"recall": [0.1, 0.2, 0.6, 0.7, 0.65, 0.3][min(len(calls) // 3, 5)]}

    s = _line_session(epochs=3, seq_len=50, probe_every=3)
    saved, events = [], []
    training.run_training(
        s, _staged(), _lines(10, seed=9), on_event=events.append, probe=probe,
        save=lambda kind, s: saved.append(kind),
    )  # fmt: skip
    assert len(s.history) == 5 and all(h["recall"] is not None for h in s.history)
    steps = [e for e in events if isinstance(e, training.StepEvent)]
    assert steps[1].recall is None and steps[2].recall is not None  # probed every 3 updates
    rounds = [e for e in events if isinstance(e, training.EpochEvent)]
    assert [e.recall for e in rounds] == [h["recall"] for h in s.history]
    # each round was judged against the best before it, and saved when it won
    best = None
    for h in s.history:
        assert h["best"] is training._improves(best, h["valid_ppl"], h["recall"])
        best = h if h["best"] else best
    assert saved.count("best") == sum(h["best"] for h in s.history)
    assert training.best_epoch(s.history) is best
    assert best["recall"] >= max(h["recall"] for h in s.history) - training.RECALL_TOLERANCE


def test_a_round_that_ends_on_a_probed_update_is_probed_once():
    s = _line_session(epochs=1, seq_len=50, probe_every=3)
    steps_at = []

    def probe(params):
        steps_at.append(s.step)
        return {"recall": 0.5}

    training.run_training(s, _staged(), None, probe=probe)
    # stage one ends at update 7, stage two at 12 (probed in the loop: not again), the
    # epoch at 32; in between every third update
    assert steps_at == [3, 6, 7, 9, 12, 15, 18, 21, 24, 27, 30, 32]
    assert all(h["recall"] == 0.5 for h in s.history)


@pytest.mark.parametrize(
    "best,ppl,recall,better",
    [
        (None, 5.0, 0.1, True),
        ({"valid_ppl": 2.0, "recall": 0.50}, 2.5, 0.60, True),  # remembers clearly more
        ({"valid_ppl": 2.0, "recall": 0.50}, 1.9, 0.49, True),  # as well, and predicts better
        ({"valid_ppl": 2.0, "recall": 0.50}, 1.9, 0.40, False),  # predicts better, forgets
        ({"valid_ppl": 2.0, "recall": 0.50}, 2.1, 0.51, False),  # a swing of noise, worse ppl
        ({"valid_ppl": 2.0}, 1.9, None, True),  # no probe: validation alone
        ({"valid_ppl": 2.0}, 2.1, None, False),
    ],
)
def test_improves_weighs_recall_first_within_its_noise(best, ppl, recall, better):
    assert training._improves(best, ppl, recall) is better
