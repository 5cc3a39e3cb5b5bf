"""Our checkpoints load into PyTorch unchanged, and both frameworks agree on every number.

Skipped when torch is not installed (it is an optional extra: ``pip install torch==2.13.0``).
"""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli import checkpoint as C
from lstmcli import inference
from lstmcli import model as M
from lstmcli.workspace import Workspace

torch = pytest.importorskip("torch")
from safetensors.torch import load_file  # noqa: E402


class RNNModel(torch.nn.Module):
    """The shape of PyTorch's examples/word_language_model RNNModel (no dropout)."""

    def __init__(self, cell, V, E, H, L, tie):
        super().__init__()
        self.encoder = torch.nn.Embedding(V, E)
        if cell == "lstm":
            self.rnn = torch.nn.LSTM(E, H, L)
        else:
            self.rnn = torch.nn.RNN(E, H, L, nonlinearity="tanh")
        self.decoder = torch.nn.Linear(H, V)
        if tie:
            self.decoder.weight = self.encoder.weight

    def forward(self, x, state):
        out, state = self.rnn(self.encoder(x), state)
        return self.decoder(out), state


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("tie", [False, True])
def test_torch_loads_our_weights_and_agrees(tmp_path, cell, tie):
    V, E, H, L, T, B = 13, 6, 6, 2, 5, 3
    cfg = M.ModelConfig(V, E, H, L, cell=cell, tie_weights=tie, init_scale=0.3, dtype="float64")
    rng = np.random.default_rng(0)
    params = M.init_params(cfg, rng)
    params["decoder.bias"] += rng.uniform(-0.1, 0.1, V)
    path = tmp_path / "m.safetensors"
    C.save(path, C.Checkpoint(cfg, params, [f"w{i}" for i in range(V)], {"name": "space"}))

    net = RNNModel(cell, V, E, H, L, tie).double()
    missing, unexpected = net.load_state_dict(load_file(str(path)), strict=True)
    assert not missing and not unexpected

    x = rng.integers(0, V, (T, B))
    y = rng.integers(0, V, (T, B))
    h0 = rng.normal(0, 0.5, (L, B, H))
    c0 = rng.normal(0, 0.5, (L, B, H))
    state = [M.LayerState(h0[k], c0[k] if cell == "lstm" else None) for k in range(L)]
    loss, grads, new_state = M.loss_and_grads(params, cfg, x, y, state, Workspace())

    th = torch.tensor(h0)
    tstate = (th, torch.tensor(c0)) if cell == "lstm" else th
    logits, tnew = net(torch.tensor(x), tstate)
    tloss = torch.nn.functional.cross_entropy(logits.reshape(T * B, V), torch.tensor(y).reshape(-1))
    tloss.backward()
    assert abs(loss - tloss.item()) < 1e-10
    for name, p in net.named_parameters():
        ours = grads["encoder.weight"] if (tie and name == "decoder.weight") else grads[name]
        np.testing.assert_allclose(ours, p.grad.numpy(), rtol=1e-5, atol=1e-10, err_msg=name)
    th_new = tnew[0] if cell == "lstm" else tnew
    for k in range(L):
        np.testing.assert_allclose(new_state[k].h, th_new[k].detach().numpy(), atol=1e-12)

    # the inference path gives torch's logits too (float32 model, as saved by default)
    ids = x[:, 0]
    out = inference.run(params, cfg, ids)
    with torch.no_grad():
        zero = torch.zeros(L, 1, H, dtype=torch.float64)
        tl, _ = net(torch.tensor(ids)[:, None], (zero, zero) if cell == "lstm" else zero)
    np.testing.assert_allclose(out.logits, tl[:, 0].numpy(), rtol=1e-5, atol=1e-10)


def test_float32_logits_agree_to_1e5(tmp_path):
    V, E, H, L = 50, 16, 16, 2
    cfg = M.ModelConfig(V, E, H, L)
    params = M.init_params(cfg, np.random.default_rng(1))
    path = tmp_path / "m.safetensors"
    C.save(path, C.Checkpoint(cfg, params, [f"w{i}" for i in range(V)], {"name": "space"}))
    net = RNNModel("lstm", V, E, H, L, False)
    net.load_state_dict(load_file(str(path)))
    ids = np.random.default_rng(2).integers(0, V, 30)
    out = inference.run(params, cfg, ids)
    with torch.no_grad():
        tl, _ = net(torch.tensor(ids)[:, None], None)
    np.testing.assert_allclose(out.logits, tl[:, 0].numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("tie", [False, True])
def test_a_line_batch_agrees_with_torch_ignoring_the_padding(tie):
    """Line mode: B lines from the zero state, padded, the padding masked out of the loss —
    torch's cross-entropy with ``ignore_index`` on the padded targets."""
    from lstmcli import data

    V, H, L = 40, 8, 2
    cfg = M.ModelConfig(V, H, H, L, tie_weights=tie, init_scale=0.5, forget_bias=1.0,
                        dtype="float64")  # fmt: skip
    rng = np.random.default_rng(4)
    params = M.init_params(cfg, rng)
    params["decoder.bias"] += rng.uniform(-0.5, 0.5, V)
    ids = rng.integers(1, V, 120).astype(np.int32)
    ids[rng.random(120) < 0.12] = 0  # lines of many lengths
    lines = data.split_lines(ids, 0)
    plan = data.LinePlan(lines, [np.arange(min(6, len(lines)))], seq_len=500)
    w = plan.window(0)
    B = w.x.shape[1]
    loss, grads, _ = M.loss_and_grads(
        params, cfg, w.x, w.y, M.zero_state(cfg, B), Workspace(), None, None, w.mask
    )
    net = RNNModel("lstm", V, H, H, L, tie).double()
    net.load_state_dict({k: torch.tensor(v) for k, v in params.items()}, strict=False)
    if tie:
        assert net.decoder.weight is net.encoder.weight
    target = torch.tensor(w.y, dtype=torch.long)
    target[torch.tensor(w.mask) == 0] = -100  # torch's padding: ignored targets
    zero = torch.zeros(L, B, H, dtype=torch.float64)
    logits, _ = net(torch.tensor(w.x, dtype=torch.long), (zero, zero))
    tloss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), target.reshape(-1),
                                              ignore_index=-100)  # fmt: skip
    tloss.backward()
    assert abs(loss - tloss.item()) < 1e-12
    for name, p in net.named_parameters():
        ours = grads["encoder.weight"] if (tie and name == "decoder.weight") else grads[name]
        np.testing.assert_allclose(ours, p.grad.numpy(), rtol=1e-7, atol=1e-13, err_msg=name)
