"""Clipping and the optimisers' update rules."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli import optim


def _arrays(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = {"w": rng.normal(size=(4, 3)).astype(dtype), "b": rng.normal(size=3).astype(dtype)}
    grads = {k: rng.normal(size=v.shape).astype(dtype) for k, v in params.items()}
    return params, grads


@pytest.mark.parametrize("max_norm", [0.5, 1e9, 0.0])
def test_clip_scale_matches_clip_grads(max_norm):
    _, grads = _arrays()
    norm, scale = optim.clip_scale(grads, max_norm)
    clipped = {k: v.copy() for k, v in grads.items()}
    assert optim.clip_grads(clipped, max_norm) == norm
    for k in grads:
        np.testing.assert_allclose(clipped[k], scale * grads[k], rtol=1e-15)
    if max_norm > 0:
        assert optim.global_norm(clipped) <= max_norm
    else:
        assert scale == 1.0


@pytest.mark.parametrize("name", optim.OPTIMIZERS)
def test_step_with_scale_equals_clip_then_step(name):
    p1, g1 = _arrays()
    p2, g2 = _arrays()
    _, scale = optim.clip_scale(g1, 0.5)
    a, b = optim.make_optimizer(name, 0.1), optim.make_optimizer(name, 0.1)
    for _ in range(3):
        a.step(p1, {k: v.copy() for k, v in g1.items()}, scale)
        clipped = {k: v.copy() for k, v in g2.items()}
        optim.clip_grads(clipped, 0.5)
        b.step(p2, clipped)
    for k in p1:
        np.testing.assert_allclose(p1[k], p2[k], rtol=1e-13)


def test_sgd_rule():
    params, grads = _arrays(dtype=np.float32)
    expected = {k: params[k] - np.float32(0.3) * grads[k] for k in params}
    optim.SGD(0.3).step(params, {k: v.copy() for k, v in grads.items()})
    for k in params:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-6)


def _sparse_case(seed=0):
    """A gradient with non-zero rows [1, 4] only, as model.Grads, and its dense copy."""
    from lstmcli.model import Grads

    rng = np.random.default_rng(seed)
    params = {"emb": rng.normal(size=(6, 3)), "w": rng.normal(size=(2, 3))}
    emb = np.zeros((6, 3))
    emb[[1, 4]] = rng.normal(size=(2, 3))
    dense = {"emb": emb, "w": rng.normal(size=(2, 3))}
    sparse = Grads({k: v.copy() for k, v in dense.items()}, rows={"emb": np.array([1, 4])})
    return params, dense, sparse


def test_norm_and_sgd_visit_only_the_sparse_rows_and_agree_with_dense():
    params, dense, sparse = _sparse_case()
    norm = optim.global_norm(dense)
    assert optim.global_norm(sparse) == pytest.approx(norm, rel=1e-15)
    p_dense = {k: v.copy() for k, v in params.items()}
    optim.SGD(0.7).step(p_dense, dense, scale=0.5)
    optim.SGD(0.7).step(params, sparse, scale=0.5)
    for k in params:
        np.testing.assert_allclose(params[k], p_dense[k], rtol=1e-15)
    # rows outside the hint are taken to be zero: a value planted there is ignored
    planted = _sparse_case()[2]
    planted["emb"][0] = 100.0
    assert optim.global_norm(planted) == pytest.approx(norm, rel=1e-15)


def test_sgd_weight_decay_is_l2_on_every_row_also_with_a_sparse_gradient():
    params, dense, sparse = _sparse_case()
    lr, wd, scale = 0.7, 0.1, 0.5
    expected = {k: p - lr * (scale * dense[k] + wd * p) for k, p in params.items()}
    p_sparse = {k: v.copy() for k, v in params.items()}
    optim.SGD(lr, weight_decay=wd).step(p_sparse, sparse, scale=scale)
    for k in params:
        np.testing.assert_allclose(p_sparse[k], expected[k], rtol=1e-14)
    assert not np.allclose(p_sparse["emb"][0], params["emb"][0])  # untouched rows decay too


def test_adam_weight_decay_is_decoupled():
    """AdamW: the decay shrinks the weights and never enters the moments."""
    p1, g = _arrays()
    p2 = {k: v.copy() for k, v in p1.items()}
    lr, wd = 0.1, 0.2
    plain, decayed = optim.Adam(lr), optim.Adam(lr, weight_decay=wd)
    for _ in range(3):
        before = {k: v.copy() for k, v in p2.items()}
        step_plain = {k: v.copy() for k, v in before.items()}
        optim.Adam.step(plain, step_plain, g)  # the Adam update alone, from the same point
        decayed.step(p2, g)
        for k in p2:
            update = step_plain[k] - before[k]
            np.testing.assert_allclose(p2[k], (1 - lr * wd) * before[k] + update, rtol=1e-13)
    for k in p1:
        np.testing.assert_array_equal(decayed.m[k], plain.m[k])
        np.testing.assert_array_equal(decayed.v[k], plain.v[k])
