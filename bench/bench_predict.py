"""Start-up and answer time of ``lstm predict``, as a user runs it.

Runs ``lstm predict TEXT`` (a new process each time, the Japanese tokenizer included) and
``lstm --help`` several times and prints the median wall times. The model is the one
``lstm train`` wrote last, or ``--model PATH``; with no model at all it trains the ``tiny``
preset first into a temporary folder. Target: ≤ 0.5 s for ``lstm predict`` on the default
model.

    python bench/bench_predict.py
    python bench/bench_predict.py --model runs/ptb-fast.safetensors --text "the company said"
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

LSTM = [sys.executable, "-m", "lstmcli"]


def timed(cmd: list[str], env: dict, n: int) -> list[float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model file (default: the one lstm train wrote last)")
    ap.add_argument("--text", default="僕の麻里ちゃんの愛してやまないケーキは")
    ap.add_argument("-n", type=int, default=11, help="runs per command")
    args = ap.parse_args()
    env = dict(os.environ)
    if args.model:
        env["LSTM_MODEL"] = args.model
    probe = subprocess.run([*LSTM, "info", "--json"], env=env, capture_output=True)
    if probe.returncode != 0:
        home = tempfile.mkdtemp()
        env["LSTM_HOME"] = home
        print(f"no model found; training the tiny preset into {home}")
        subprocess.run([*LSTM, "train", "--preset", "tiny", "--quiet"], env=env, check=True)
    rows = [
        ("lstm --help", timed([*LSTM, "--help"], env, args.n)),
        ("lstm predict", timed([*LSTM, "predict", args.text], env, args.n)),
        ("lstm predict --json", timed([*LSTM, "predict", args.text, "--json"], env, args.n)),
    ]
    print(f"{'command':<22} {'median s':>9} {'min s':>7} {'max s':>7}   (n = {args.n})")
    for name, ts in rows:
        print(f"{name:<22} {statistics.median(ts):>9.3f} {min(ts):>7.3f} {max(ts):>7.3f}")
    med = statistics.median(rows[1][1])
    print(f"target: lstm predict ≤ 0.5 s median → {'met' if med <= 0.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
