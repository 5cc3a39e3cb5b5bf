"""NT-ASGD: the non-monotone trigger and the running average of the iterates."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli.asgd import NTASGD


def _params(seed):
    rng = np.random.default_rng(seed)
    return {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=4)}


@pytest.mark.parametrize(
    "n,losses,trigger_at",
    [
        (2, [5.0, 4.0, 3.0, 3.5, 3.2, 2.9], None),  # never worse than the best 3+ checks back
        (2, [5.0, 4.0, 3.0, 3.5, 3.2, 3.1], 5),  # 3.1 > min(5, 4, 3)
        (1, [5.0, 4.0, 4.5, 4.2], 3),  # 4.5 < min(5); 4.2 > min(5, 4)
        (0, [5.0, 5.5], 1),  # n = 0: the first check worse than an earlier one
        (3, [3.0, 2.0, 2.5, 2.6, 2.7, 2.9], 5),  # 2.7 < min(3); 2.9 > min(3, 2)
    ],
)
def test_trigger_follows_the_papers_rule(n, losses, trigger_at):
    """Algorithm 1: at check t (t earlier checks), trigger when t > n and
    v > min(logs[0 : t − n])."""
    a = NTASGD(n)
    for t, v in enumerate(losses):
        assert a.check(v, _params(0), step=10 * t) == (t == trigger_at)
    assert a.averaging == (trigger_at is not None)
    if trigger_at is not None:
        assert a.start_step == 10 * trigger_at and len(a.logs) == trigger_at + 1


def test_average_is_the_mean_of_the_iterates_since_the_trigger():
    a = NTASGD(0)
    a.check(1.0, _params(0), 0)
    params = _params(1)
    assert not a.averaging
    a.update(params)  # before the trigger: nothing
    assert a.check(2.0, params, 5)  # triggers: ax = current weights
    iterates = [{k: v.copy() for k, v in params.items()}]
    for seed in range(2, 7):
        for k, v in _params(seed).items():
            params[k][...] = v
        a.update(params)
        iterates.append({k: v.copy() for k, v in params.items()})
    assert a.count == 6 and a.weights(params) is a.ax
    for k in params:
        np.testing.assert_allclose(a.ax[k], np.mean([it[k] for it in iterates], axis=0),
                                   rtol=1e-13)  # fmt: skip
    assert not a.check(0.5, params, 9)  # later checks change nothing


def test_state_round_trips():
    a = NTASGD(2)
    for v in (3.0, 2.0, 2.5, 2.4, 3.1):
        a.check(v, _params(0), 4)
    a.update(_params(1))
    b = NTASGD.from_parts(a.to_dict(), a.state_tensors())
    assert (b.nonmono, b.logs, b.start_step, b.count) == (2, a.logs, 4, 2)
    for k in a.ax:
        np.testing.assert_array_equal(a.ax[k], b.ax[k])
    with pytest.raises(KeyError):
        NTASGD.from_parts(a.to_dict(), {})
    assert NTASGD.from_parts(NTASGD(3).to_dict(), {}).weights({"w": 1}) == {"w": 1}
