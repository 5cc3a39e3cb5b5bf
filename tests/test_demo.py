"""The long-range demo: data, the answer-only loss, learning, gradient flow, the command."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from lstmcli import cells, demo, demoview, longrange
from lstmcli.cli import app
from lstmcli.errors import LstmError
from lstmcli.workspace import Workspace

runner = CliRunner()


def _tiny(cell, D=2, B=3, H=3, E=4, seed=0):
    """A float64 model with non-trivial weights and a batch of episodes at distance D."""
    dc = demo.DemoConfig(hidden=H, embed=E, forget_bias=0.5)
    vocab = demo.build_vocab(dc.k)
    cfg = demo.model_config(cell, len(vocab), dc, dtype="float64")
    rng = np.random.default_rng(seed)
    params = demo.init_model(cfg, rng)
    for p in params.values():
        p += rng.uniform(-0.3, 0.3, p.shape)
    x, y = demo.encode(longrange.make_episodes(B, D, seed=seed), vocab)
    return params, cfg, x, y


def _loss_with_nudge(params, cfg, x, y, t, nudge):
    """Summed answer loss, with ``nudge`` (B, H) added to h_t as it is passed on."""
    W_ih, W_hh = params["rnn.weight_ih_l0"], params["rnn.weight_hh_l0"]
    b = params["rnn.bias_ih_l0"] + params["rnn.bias_hh_l0"]
    T, B = x.shape
    h = np.zeros((B, cfg.hidden_size))
    c = np.zeros_like(h)
    for s in range(T):
        e = params["encoder.weight"][x[s]]
        if cfg.cell == "lstm":
            h, c, _ = cells.lstm_step(e, h, c, W_ih, W_hh, b)
        else:
            h = cells.rnn_step(e, h, W_ih, W_hh, b)
        if s == t:
            h = h + nudge
    logits = h @ params["decoder.weight"].T + params["decoder.bias"]
    logits -= logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -logp[np.arange(B), y].sum()


def test_episodes_and_batches_are_deterministic():
    vocab = demo.build_vocab(4)
    a = demo.encode(longrange.make_episodes(8, 5, seed=demo.batch_seed(0, 5, 1)), vocab)
    b = demo.encode(longrange.make_episodes(8, 5, seed=demo.batch_seed(0, 5, 1)), vocab)
    c = demo.encode(longrange.make_episodes(8, 5, seed=demo.batch_seed(0, 5, 2)), vocab)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])
    x, y = a
    assert x.shape == (5 + 9, 8)  # cue (5) + filler + question (4)
    assert [vocab.tokens[i] for i in x[-4:, 0]] == longrange.QUESTION
    assert vocab.tokens[x[longrange.CUE_AT, 0]] == vocab.tokens[y[0]] + "を"
    dc = demo.DemoConfig(distances=(2,), hidden=4, embed=4, steps=3)
    p1, _ = demo.train("lstm", 2, dc, vocab)
    p2, _ = demo.train("lstm", 2, dc, vocab)
    assert all(np.array_equal(p1[k], p2[k]) for k in p1)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_answer_loss_gradients_match_finite_differences(cell, numerical_grad):
    params, cfg, x, y = _tiny(cell)
    loss, grads = demo.answer_loss_and_grads(params, cfg, x, y, Workspace())
    grads = {k: v.copy() for k, v in grads.items()}
    assert loss == pytest.approx(_loss_with_nudge(params, cfg, x, y, -1, 0) / x.shape[1])
    for name, p in params.items():
        num = numerical_grad(
            lambda: demo.answer_loss_and_grads(params, cfg, x, y, Workspace())[0], p
        )
        err = np.linalg.norm(grads[name] - num) / (
            np.linalg.norm(grads[name]) + np.linalg.norm(num)
        )
        assert err < 1e-6, f"{cell} {name}: relative error {err:.2e}"


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_hidden_grads_match_finite_differences(cell):
    params, cfg, x, y = _tiny(cell, D=3)
    dh = demo.hidden_grads(params, cfg, x, y)  # (T, B, H)
    T, B = x.shape
    H = cfg.hidden_size
    assert dh.shape == (T, B, H)
    eps = 1e-6
    num = np.zeros_like(dh)
    for t in range(T):
        for b in range(B):
            for j in range(H):
                nudge = np.zeros((B, H))
                nudge[b, j] = eps
                lp = _loss_with_nudge(params, cfg, x, y, t, nudge)
                lm = _loss_with_nudge(params, cfg, x, y, t, -nudge)
                num[t, b, j] = (lp - lm) / (2 * eps)
    err = np.abs(dh - num).max() / np.abs(num).max()
    assert err < 1e-6, f"{cell}: max relative error {err:.2e}"
    prof = demo.gradient_profile(params, cfg, x, y)
    assert len(prof) == T and prof[0] == pytest.approx(1.0)
    norms = np.linalg.norm(num, axis=2).mean(axis=1)
    assert prof[-1] == pytest.approx(norms[0] / norms[-1], rel=1e-3)  # tiny: noisy


def test_lstm_learns_a_short_distance():
    dc = demo.DemoConfig(distances=(3,), hidden=16, embed=8, steps=400, eval_episodes=100)
    vocab = demo.build_vocab(dc.k)
    params, cfg = demo.train("lstm", 3, dc, vocab)
    x, y = demo.encode(demo.held_out(3, dc), vocab)
    acc = demo.accuracy(params, cfg, x, y)
    assert acc >= 0.6, acc  # chance is 0.25


def test_config_is_checked():
    with pytest.raises(LstmError, match="at least one distance"):
        demo.DemoConfig(distances=())
    with pytest.raises(LstmError, match="positive"):
        demo.DemoConfig(distances=(5, 0))
    with pytest.raises(LstmError, match="k must be"):
        demo.DemoConfig(k=len(longrange.CAKES) + 1)


def _result() -> demo.DemoResult:
    dc = demo.DemoConfig(distances=(2, 4), hidden=6, embed=4, steps=5, eval_episodes=8)
    return demo.run_demo(dc)


def test_view_renders_every_part():
    r = _result()
    out = io.StringIO()
    console = Console(width=100, file=out, color_system=None, legacy_windows=False)
    demoview.show(console, r)
    text = out.getvalue()
    for part in ("accuracy on held-out episodes", "chance = 1/4", "gradient flow at D = 4",
                 "cake", "one lstm episode", "f", "→ predicts", "at D = 4"):  # fmt: skip
        assert part in text, part
    assert r.example is not None and r.example.answer in text
    assert len(r.gradients["rnn"]) == r.cue_k + 2  # k = 1 … T


def test_command_json_schema():
    r = runner.invoke(
        app,
        ["demo", "long-range", "--distances", "2,3", "--steps", "5", "--hidden", "4",
         "--k", "3", "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert obj["chance"] == pytest.approx(1 / 3)
    assert {(e["cell"], e["distance"]) for e in obj["results"]} == {
        (c, d) for c in ("rnn", "lstm") for d in (2, 3)
    }
    assert all(0 <= e["accuracy"] <= 1 for e in obj["results"])
    g = obj["gradient_norms"]
    assert g["distance"] == 3 and len(g["lstm"]) == len(g["rnn"]) == 3 + 9
    assert g["lstm"][0] == pytest.approx(1.0)


def test_command_renders_tables():
    r = runner.invoke(
        app, ["demo", "long-range", "--distances", "2", "--steps", "3", "--hidden", "4"]
    )
    assert r.exit_code == 0, r.output
    assert "accuracy on held-out episodes" in r.output and "gradient flow" in r.output
    assert "lstm  D=2" in r.output  # one plain line per run when not on a terminal


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--distances", ""], "--distances is empty"),
        (["--distances", " , "], "--distances is empty"),
        (["--distances", "5,0"], "distances must be positive"),
        (["--distances", "5,-3"], "distances must be positive"),
        (["--distances", "5,ten"], "whole numbers"),
        (["--k", "13"], "k must be between 2 and 12"),
        (["--k", "1"], "k must be between 2 and 12"),
    ],
)
def test_bad_options_give_one_line(args, message):
    r = runner.invoke(app, ["demo", "long-range", "--steps", "1", *args])
    assert r.exit_code == 1, r.output
    assert r.output.strip().count("\n") == 0 and message in r.output, r.output
    assert "Traceback" not in r.output


def test_bad_sizes_are_usage_errors():
    assert runner.invoke(app, ["demo", "long-range", "--hidden", "0"]).exit_code == 2
    assert runner.invoke(app, ["demo", "long-range", "--steps", "0"]).exit_code == 2
