"""AWD-LSTM's regularisers agree with an independent PyTorch implementation given the same
masks, and weight decay with torch.optim.SGD / AdamW.

The PyTorch side is written as AWD-LSTM's code does it (embedded_dropout on the weight
rows, LockedDropout, WeightDrop on weight_hh, AR on the dropped and TAR on the raw output
of the last layer) with autograd for the gradients. Skipped without torch.
"""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli import model as M
from lstmcli import optim, regularize
from lstmcli.regularize import Regularizers
from lstmcli.workspace import Workspace

torch = pytest.importorskip("torch")

REG = Regularizers(dropouti=0.3, dropouth=0.25, dropouto=0.4, dropoute=0.2, wdrop=0.5,
                   alpha=2.0, beta=1.0)  # fmt: skip


def _torch_awd(params, cfg, x, y, state, masks, reg):
    """Loss, penalty and gradients of the window in PyTorch (float64, autograd)."""
    P = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    t = lambda a: None if a is None else torch.tensor(a)  # noqa: E731
    E = P["encoder.weight"]
    words = t(masks.words)
    weight = E * words[:, None] if words is not None else E  # embedded_dropout
    inp = weight[torch.tensor(x)]  # (T, B, E)
    H, L = cfg.hidden_size, cfg.num_layers
    raw = None
    for k in range(L):
        if masks.locked[k] is not None:  # LockedDropout: the same (B, D) mask at every step
            inp = inp * t(masks.locked[k])[None]
        W_hh = P[f"rnn.weight_hh_l{k}"]
        if masks.weight[k] is not None:  # WeightDrop
            W_hh = W_hh * t(masks.weight[k])
        W_ih, b = P[f"rnn.weight_ih_l{k}"], P[f"rnn.bias_ih_l{k}"] + P[f"rnn.bias_hh_l{k}"]
        h, c = torch.tensor(state[k].h), torch.tensor(state[k].c)
        outs = []
        for step in range(inp.shape[0]):
            a = inp[step] @ W_ih.T + h @ W_hh.T + b
            i, f, g, o = a[:, :H].sigmoid(), a[:, H : 2 * H].sigmoid(), \
                a[:, 2 * H : 3 * H].tanh(), a[:, 3 * H :].sigmoid()  # fmt: skip
            c = f * c + i * g
            h = o * c.tanh()
            outs.append(h)
        raw = inp = torch.stack(outs)
    dropped = raw * t(masks.locked[L])[None] if masks.locked[L] is not None else raw
    W_d = P.get("decoder.weight", E)  # tied: the full matrix, not the dropped rows
    logits = dropped @ W_d.T + P["decoder.bias"]
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, cfg.vocab_size),
                                             torch.tensor(y).reshape(-1))  # fmt: skip
    penalty = reg.alpha * dropped.pow(2).mean() + reg.beta * (raw[1:] - raw[:-1]).pow(2).mean()
    (loss + penalty).backward()
    return loss.item(), penalty.item(), {k: p.grad.numpy() for k, p in P.items()}


@pytest.mark.parametrize("tie", [False, True])
@pytest.mark.parametrize("layers", [1, 2])
def test_regularised_window_agrees_with_pytorch(tie, layers):
    V, E, H, T, B = 13, 6, 6, 5, 3
    cfg = M.ModelConfig(V, E, H, layers, tie_weights=tie, init_scale=0.3, dtype="float64")
    rng = np.random.default_rng(0)
    params = M.init_params(cfg, rng)
    params["decoder.bias"] += rng.uniform(-0.1, 0.1, V)
    x, y = rng.integers(0, V, (T, B)), rng.integers(0, V, (T, B))
    state = [M.LayerState(rng.normal(0, 0.5, (B, H)), rng.normal(0, 0.5, (B, H)))
             for _ in range(layers)]  # fmt: skip

    loss, grads, _ = M.loss_and_grads(params, cfg, x, y, state, Workspace(),
                                      np.random.default_rng(7), REG)  # fmt: skip
    masks = regularize.draw_masks(REG, cfg, B, np.random.default_rng(7), Workspace())
    assert masks.words is not None and all(m is not None for m in masks.weight)
    t_loss, t_penalty, t_grads = _torch_awd(params, cfg, x, y, state, masks, REG)
    assert loss == pytest.approx(t_loss, rel=1e-12)
    assert grads.penalty == pytest.approx(t_penalty, rel=1e-12)
    for name in params:
        np.testing.assert_allclose(grads[name], t_grads[name], rtol=1e-9, atol=1e-12,
                                   err_msg=name)  # fmt: skip


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_weight_decay_matches_torch(name):
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(4, 3)), "b": rng.normal(size=3)}
    tparams = [torch.tensor(params[k].copy(), requires_grad=True) for k in ("w", "b")]
    lr, wd = 0.1, 0.05
    ours = optim.make_optimizer(name, lr, weight_decay=wd)
    theirs = (torch.optim.SGD(tparams, lr=lr, weight_decay=wd) if name == "sgd"
              else torch.optim.AdamW(tparams, lr=lr, weight_decay=wd, eps=1e-8))  # fmt: skip
    for _ in range(4):
        g = {k: rng.normal(size=v.shape) for k, v in params.items()}
        for tp, k in zip(tparams, ("w", "b"), strict=True):
            tp.grad = torch.tensor(g[k].copy())
        theirs.step()
        ours.step(params, g)
    for tp, k in zip(tparams, ("w", "b"), strict=True):
        np.testing.assert_allclose(params[k], tp.detach().numpy(), rtol=1e-12, err_msg=k)
