"""The tape: per-position states and gates that equal a fresh run after any edits."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli import inference, model
from lstmcli.tape import Tape

V = 40


def _model(cell: str, layers: int, dtype: str = "float64", seed: int = 0):
    cfg = model.ModelConfig(
        vocab_size=V, embed_size=6, hidden_size=5, num_layers=layers, cell=cell, dtype=dtype
    )
    return model.init_params(cfg, np.random.default_rng(seed)), cfg


def assert_same_run(tape: Tape, params, cfg, ids: np.ndarray, tol: float) -> None:
    """The tape holds ``ids`` with the numbers of :func:`inference.run` from a zero state."""
    ref = inference.run(params, cfg, ids)
    assert tape.ids.tolist() == list(ids)
    for k, (got, want) in enumerate(zip(tape.layers, ref.layers, strict=True)):
        assert set(got) == set(want)
        for name in want:
            np.testing.assert_allclose(got[name], want[name], rtol=tol, atol=tol,
                                       err_msg=f"layer {k} gate {name}")  # fmt: skip
    np.testing.assert_allclose(tape.logits(), ref.logits[-1], rtol=tol, atol=tol)
    for t in (0, len(ids) // 2, len(ids) - 1):
        np.testing.assert_allclose(tape.logits(t), ref.logits[t], rtol=tol, atol=tol)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("layers", [1, 2])
def test_one_run_equals_inference_run(cell, layers):
    params, cfg = _model(cell, layers)
    ids = np.random.default_rng(1).integers(0, V, 23)
    tape = Tape(params, cfg)
    assert tape.sync(ids) == 23
    assert_same_run(tape, params, cfg, ids, 1e-12)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_random_edits_equal_a_fresh_run(cell):
    """Seeded random edits anywhere (insert, delete, replace, cut the end), fed whole or
    in small pieces: after each, the tape equals a run of the new sequence from scratch."""
    params, cfg = _model(cell, 2)
    rng = np.random.default_rng(7)
    tape = Tape(params, cfg, capacity=4)  # small, so it has to grow
    ids = list(rng.integers(0, V, 12))
    tape.sync(np.array(ids))
    for trial in range(40):
        at = int(rng.integers(0, len(ids) + 1))
        op = trial % 4
        if op == 0:
            ids[at:at] = list(rng.integers(0, V, int(rng.integers(1, 5))))
        elif op == 1 and len(ids) > 2:
            del ids[min(at, len(ids) - 1)]
        elif op == 2 and at < len(ids):
            ids[at] = (ids[at] + 1) % V
        else:
            ids = ids[: max(1, at)]
        target = np.array(ids)
        budget = None if trial % 3 else 3
        while len(tape) != len(target) or not np.array_equal(tape.ids, target):
            tape.sync(target, budget)
        assert_same_run(tape, params, cfg, target, 1e-12)


def test_float32_tape_equals_run_to_1e6():
    params, cfg = _model("lstm", 2, dtype="float32", seed=3)
    ids = np.random.default_rng(4).integers(0, V, 60)
    tape = Tape(params, cfg)
    tape.sync(ids[:40])
    edited = ids.copy()
    edited[20] = (edited[20] + 5) % V
    tape.sync(edited)
    assert_same_run(tape, params, cfg, edited, 1e-6)


def test_sync_re_runs_only_after_the_first_changed_token():
    params, cfg = _model("lstm", 1)
    ids = np.arange(10) % V
    tape = Tape(params, cfg)
    assert tape.sync(ids) == 10
    assert tape.sync(ids) == 0  # nothing changed
    longer = np.append(ids, 3)
    assert tape.sync(longer) == 1  # typing at the end: one token
    edited = longer.copy()
    edited[7] = 30
    assert tape.sync(edited) == 4  # positions 7 … 10
    assert tape.sync(edited[:5]) == 0  # a cut keeps the prefix, re-runs nothing
    assert len(tape) == 5


def test_budget_feeds_in_pieces():
    params, cfg = _model("lstm", 2)
    ids = np.random.default_rng(5).integers(0, V, 10)
    tape = Tape(params, cfg)
    assert [tape.sync(ids, 4) for _ in range(4)] == [4, 4, 2, 0]
    assert_same_run(tape, params, cfg, ids, 1e-12)


def test_state_after_a_position_continues_the_run():
    params, cfg = _model("lstm", 2)
    ids = np.random.default_rng(6).integers(0, V, 9)
    tape = Tape(params, cfg)
    tape.sync(ids)
    rest = inference.run(params, cfg, ids[5:], state=tape.state(4))
    np.testing.assert_allclose(rest.logits[-1], tape.logits(), rtol=1e-12, atol=1e-12)
    zero = tape.state(-1)
    assert all(not s.h.any() and not s.c.any() for s in zero)
    with pytest.raises(IndexError):
        tape.state(9)
    with pytest.raises(IndexError):
        tape.logits(9)


def test_unchanged_says_which_positions_hold_what_they_held():
    """After any edits, the positions below unchanged(v) hold the numbers they held at v:
    never one too many, and exactly the kept length while few truncations have passed."""
    from lstmcli.tape import CUTS

    params, cfg = _model("lstm", 1)
    rng = np.random.default_rng(3)
    tape = Tape(params, cfg)
    tape.sync(rng.integers(0, V, 60))
    seen = {}  # version → (ids, c) then
    for _ in range(4 * CUTS):
        seen[tape.version] = (tape.ids.copy(), tape.layers[0]["c"].copy())
        ids = tape.ids.copy()
        deep = rng.random() < 0.2  # an edit far back, else one near the end
        cut = int(rng.integers(0, len(ids) + 1)) if deep else len(ids) - int(rng.integers(0, 4))
        tape.sync(np.concatenate([ids[:cut], rng.integers(0, V, int(rng.integers(1, 9)))]))
        for v, (old_ids, old_c) in seen.items():
            n = min(tape.unchanged(v), len(old_ids))
            np.testing.assert_array_equal(tape.ids[:n], old_ids[:n])
            np.testing.assert_array_equal(tape.layers[0]["c"][:n], old_c[:n])
        assert tape.unchanged(tape.version) == len(tape)
    tape = Tape(params, cfg)
    tape.sync(rng.integers(0, V, 60))
    v, n = tape.version, len(tape)
    tape.truncate(n - 3)
    tape.extend(np.array([1, 2, 3, 4]))
    tape.truncate(n - 2)
    tape.extend(np.array([5]))
    assert tape.unchanged(v) == n - 3  # the shorter cut of the two since
    tape.truncate(10)
    tape.extend(np.array([1, 2]))
    for _ in range(3 * CUTS):  # typing at the end: more cuts, each further on, than kept
        tape.truncate(len(tape) - 1)
        tape.extend(np.array([1, 2]))
    assert tape.unchanged(v) == 10 and tape.unchanged(tape.version) == len(tape)
