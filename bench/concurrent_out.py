"""Eight writers, eight readers, one model file: ``lstm train`` runs racing into one
``--out`` while ``lstm predict`` polls it.

Every write is a rename of a whole file, so a reader must always see one writer's complete
model: each ``lstm predict`` answers (exit 0, a distribution) or, before the first model
exists, says there is none (exit 1, one line). Any other error — a truncated or corrupt
file — is a torn read. Each writer must finish (exit 0) or fail with one line. At the end
the file must be, bit for bit, the model of one of the writers: the one whose seed the file
records, retrained alone for the comparison.

    python bench/concurrent_out.py                # 8 writers, 8 readers
    python bench/concurrent_out.py --writers 4 --readers 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tinyrun import environment, train_command, write_corpus


def read_once(out: Path, env: dict[str, str]) -> tuple[str, str]:
    """(outcome, detail) of one ``lstm predict`` on ``out``."""
    r = subprocess.run([sys.executable, "-m", "lstmcli", "predict", "the cat", "--model",
                        str(out), "--json"], env=env, capture_output=True, text=True)  # fmt: skip
    lines = r.stderr.strip().splitlines()
    if r.returncode == 0:
        try:
            probs = [c["prob"] for c in json.loads(r.stdout)["next"]]
        except (ValueError, KeyError, TypeError):
            return "torn", f"not an answer: {r.stdout[:200]!r}"
        return ("answer", "") if probs and all(0 <= p <= 1 for p in probs) else ("torn", "")
    if r.returncode == 1 and len(lines) == 1 and "no such model file" in lines[0]:
        return "none yet", ""
    return "torn", f"exit {r.returncode}: {r.stderr.strip()[-300:]}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--readers", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=4)
    args = ap.parse_args()
    from lstmcli import checkpoint

    with tempfile.TemporaryDirectory(prefix="lstm-race-") as tmp:
        tmp = Path(tmp)
        corpus = write_corpus(tmp / "corpus.txt", 1500)
        shared = tmp / "shared"
        shared.mkdir()
        out = shared / "model.safetensors"
        env = environment(tmp / "home")

        t0 = time.perf_counter()
        writers = [
            subprocess.Popen(train_command(corpus, out, args.epochs, seed), env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for seed in range(args.writers)
        ]  # fmt: skip
        reads: list[tuple[str, str]] = []
        lock = threading.Lock()

        def reader() -> None:
            while any(w.poll() is None for w in writers):
                result = read_once(out, env)
                with lock:
                    reads.append(result)

        threads = [threading.Thread(target=reader) for _ in range(args.readers)]
        for t in threads:
            t.start()
        results = [(w.wait(), w.stderr.read()) for w in writers]
        for t in threads:
            t.join()
        seconds = time.perf_counter() - t0

        writes = Counter()
        problems = []
        for code, err in results:
            lines_err = err.strip().splitlines()
            if code == 0:
                writes["finished"] += 1
            elif code == 1 and len(lines_err) == 1 and lines_err[0].startswith("error: "):
                writes["one-line error"] += 1
            else:
                writes["crashed"] += 1
                problems.append(f"writer exit {code}: {err[-300:]}")
        outcome = Counter(o for o, _ in reads)
        problems += [f"read: {d}" for o, d in reads if o == "torn"][:10]
        stray = [p.name for p in shared.iterdir() if p.name.endswith(".tmp")]

        final = checkpoint.load(out)
        seed = final.train["seed"]
        alone = tmp / "alone"
        subprocess.run(train_command(corpus, alone / "model.safetensors", args.epochs, seed),
                       env=environment(alone / "home"), check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        ref = checkpoint.load(alone / "model.safetensors")
        whole = all(final.params[k].tobytes() == ref.params[k].tobytes() for k in ref.params)
        if not whole:
            problems.append(f"the final file is not writer {seed}'s model")

    rows = [
        ("writers", f"{args.writers}: " + ", ".join(f"{v} {k}" for k, v in writes.items())),
        (
            "reads",
            f"{len(reads)} by {args.readers} readers: "
            + ", ".join(f"{v} {k}" for k, v in outcome.items()),
        ),
        ("torn reads", f"{outcome['torn']}"),
        ("final file", f"writer with seed {seed}'s model, bit for bit: {whole}"),
        ("temporary files left", f"{len(stray)}"),
        ("time", f"{seconds:.0f} s"),
    ]
    for name, value in rows:
        print(f"  {name:22} {value}")
    for p in problems:
        print(f"  ! {p}")
    print(f"command: python bench/concurrent_out.py --writers {args.writers} "
          f"--readers {args.readers}")  # fmt: skip
    sys.exit(1 if problems or stray else 0)


if __name__ == "__main__":
    main()
