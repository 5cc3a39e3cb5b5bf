"""How long ``lstm trace`` takes on a long text: record the gates, plan the view, render.

A random 2-layer LSTM (V = 2000, E = H = 200) traces a 2,000-token text; the view is
windowed to fit a 120 × 50 terminal, as on screen, and drawn into memory with truecolor.
Prints the median seconds over the repeats for the whole trace and for the render alone.

Run::

    .venv/bin/python bench/bench_trace.py
    .venv/bin/python bench/bench_trace.py --tokens 5000 --repeats 7 --full   # no window
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import numpy as np
from rich.console import Console

from lstmcli import checkpoint, model
from lstmcli import trace as T
from lstmcli import traceview as V
from lstmcli.predict import Predictor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=2000)
    ap.add_argument("--hidden", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--full", action="store_true", help="render every token (no window)")
    a = ap.parse_args()

    V_, rng = 2000, np.random.default_rng(0)
    vocab = ["<eos>", "<unk>", *(f"w{n}" for n in range(V_ - 2))]
    cfg = model.ModelConfig(vocab_size=V_, embed_size=a.hidden, hidden_size=a.hidden)
    ck = checkpoint.Checkpoint(cfg, model.init_params(cfg, rng), vocab, {"name": "space"})
    p = Predictor(ck)
    text = " ".join(rng.choice(vocab[2:], size=a.tokens - 1))  # + the leading <eos>

    total, draw = [], []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        tr = T.record(p, text)
        c = Console(width=120, height=50, file=io.StringIO(), color_system="truecolor")
        whole = {"start": 0, "stop": len(tr.tokens)} if a.full else {}
        view = T.plan(tr, **whole, width=c.width, height=c.height)
        t1 = time.perf_counter()
        V.show(c, tr, view)
        t2 = time.perf_counter()
        total.append(t2 - t0)
        draw.append(t2 - t1)
    shown = f"tokens {view.lo}–{view.hi - 1}, {len(view.units[0])} units, layer {view.layers}"
    print(f"{len(tr.tokens)}-token trace ({shown})")
    print(
        f"median seconds: {statistics.median(total):.3f} total, "
        f"{statistics.median(draw):.3f} render"
    )


if __name__ == "__main__":
    main()
