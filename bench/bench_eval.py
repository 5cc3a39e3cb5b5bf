"""How long ``lstm eval`` takes, and what its keyboard measures add to perplexity.

Runs, in alternating rounds on the same model and text (default: the Penn Treebank test
set, 82k tokens, from ``$PTB_DIR``, by default ``../shared/data/ptb`` beside the
repository):

- ``perplexity``: :func:`lstmcli.training.evaluate`, the loss alone (what ``lstm eval`` did
  before it had the keyboard measures);
- ``+ top-k``: :func:`lstmcli.keyboard.score` without the keystroke simulation;
- ``+ keystrokes``: the same with it, all measures (the prefix tables built each round);
- ``lstm eval --json``: the whole command in a new process, start-up and reading included.

It prints the median of each over the rounds and its ratio to ``perplexity`` (the median
of the per-round ratios). Target: ``lstm eval`` on PTB test with all measures within 60 s
on 2 cores. Threads follow ``OPENBLAS_NUM_THREADS``.

    python bench/bench_eval.py --model runs/ptb-ptb-fast.safetensors
    python bench/bench_eval.py --model m.safetensors --text corpora/mari-ja.txt --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PTB = Path(os.environ.get("PTB_DIR", ROOT.parent / "shared" / "data" / "ptb"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="model file")
    ap.add_argument("--text", default=str(PTB / "ptb.test.txt"), help="text to score")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-cli", action="store_true", help="skip the lstm eval subprocess")
    args = ap.parse_args()

    from lstmcli import keyboard, prepare, textio, training
    from lstmcli.predict import Predictor

    p = Predictor.load(args.model)
    text = textio.read_text(args.text, None, "auto")
    ids, chars = prepare.encode_text_chars(text, p.tokenizer, p.vocab, args.text)
    space = keyboard.space_cost(p.tokenizer)

    def perplexity():
        training.evaluate(p.params, p.config, ids, 1, 35)

    def topk():
        layout = keyboard.Layout(p.prefix_index, p.vocab, space)
        keyboard.score(p.params, p.config, ids, layout, chars=chars, suggestions=0)

    def everything():
        layout = keyboard.Layout(p.prefix_index, p.vocab, space)
        keyboard.score(p.params, p.config, ids, layout, chars=chars)

    cli = [sys.executable, "-m", "lstmcli", "eval", args.text, "--model", args.model, "--json"]

    def command():
        subprocess.run(cli, check=True, capture_output=True)

    phases = [("perplexity", perplexity), ("+ top-k", topk), ("+ keystrokes", everything)]
    if not args.no_cli:
        phases.append(("lstm eval --json", command))
    times: dict[str, list[float]] = {name: [] for name, _ in phases}
    for n in range(args.rounds):
        for name, fn in phases:
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
        round_times = ", ".join(f"{name} {ts[-1]:.1f} s" for name, ts in times.items())
        print(f"round {n + 1}: {round_times}", flush=True)
    base = times["perplexity"]
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"{len(ids):,} tokens, V = {len(p.vocab):,}, H = {p.config.hidden_size}, "
          f"OPENBLAS_NUM_THREADS={threads}, {args.rounds} rounds")  # fmt: skip
    print(f"{'phase':<18} {'median s':>9} {'× perplexity':>13}")
    for name, ts in times.items():
        ratio = statistics.median(t / b for t, b in zip(ts, base, strict=True))
        print(f"{name:<18} {statistics.median(ts):>9.2f} {ratio:>12.2f}×")
    if "lstm eval --json" in times:
        med = statistics.median(times["lstm eval --json"])
        print(f"target: lstm eval ≤ 60 s → {'met' if med <= 60 else 'NOT met'} ({med:.1f} s)")


if __name__ == "__main__":
    main()
