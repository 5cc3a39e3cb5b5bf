"""Peak memory of ``lstm train`` on a large corpus.

Writes a corpus of about ``--mb`` megabytes (the bundled English tales, repeated with
numbered lines so the vocabulary grows a little), runs ``lstm train`` on it with a small
model for a few steps in a child process, and prints the child's peak RSS next to the
target: at most 4 × the size of the text file plus the model.

    python bench/bench_memory.py            # 100 MB
    python bench/bench_memory.py --mb 20
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=100.0, help="corpus size in MB")
    args = ap.parse_args()
    src = (ROOT / "corpora" / "tales-en.txt").read_text(encoding="utf-8").splitlines()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "big.txt"
        target = int(args.mb * 1e6)
        with open(corpus, "w", encoding="utf-8") as f:
            written, n = 0, 0
            while written < target:
                line = f"{src[n % len(src)]} ({n // len(src)})\n"
                f.write(line)
                written += len(line.encode())
                n += 1
        size_mb = corpus.stat().st_size / 1e6
        out = Path(tmp) / "m.safetensors"
        cmd = [sys.executable, "-m", "lstmcli", "train", str(corpus), "--preset", "tiny",
               "--tokenizer", "word", "--max-steps", "5", "--out", str(out), "--quiet"]  # fmt: skip
        env = {**os.environ, "LSTM_HOME": tmp}
        t = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        seconds = time.perf_counter() - t
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 * 1.048576
        model_mb = out.stat().st_size / 1e6
        limit = 4 * size_mb + model_mb
        print(f"corpus      {size_mb:,.1f} MB ({n:,} lines)")
        print(f"model       {model_mb:,.1f} MB")
        print(f"peak RSS    {peak_mb:,.1f} MB  ({peak_mb / size_mb:.2f} × the corpus)")
        print(f"target      ≤ {limit:,.1f} MB (4 × corpus + model) → "
              f"{'met' if peak_mb <= limit else 'NOT met'}")  # fmt: skip
        print(f"wall time   {seconds:,.1f} s (read, tokenize, 5 steps, save)")


if __name__ == "__main__":
    main()
