"""Penn Treebank from scratch: train a preset, evaluate on test, write BENCHMARKS.md.

For each preset given (default: zaremba-small and ptb-fast) this runs, as a user would::

    lstm train ptb.train.txt --valid ptb.valid.txt --preset NAME \
        --out runs/ptb-NAME.safetensors --json
    lstm eval ptb.test.txt --model runs/ptb-NAME.safetensors --json

and records epochs, wall time, training tokens/s, the best valid and the test perplexity and
the peak memory of the training process in ``bench/results/ptb-NAME.json``. Then it writes
``BENCHMARKS.md`` from every result present, next to the published reference figures.

The data is read where it lies (``$PTB_DIR``, default ``../shared/data/ptb`` beside the
repository); it is never copied into the project. Run::

    python bench/ptb.py                       # both presets, about 1.5 hours on 2 cores
    python bench/ptb.py zaremba-small         # one preset
    python bench/ptb.py --table-only          # rewrite BENCHMARKS.md from saved results
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PTB = Path(os.environ.get("PTB_DIR", ROOT.parent / "shared" / "data" / "ptb"))
RESULTS = ROOT / "bench" / "results"
LSTM = [sys.executable, "-m", "lstmcli"]

REFERENCES = [
    ("Interpolated Kneser-Ney 5-gram (Mikolov 2012)", "—", "141.2"),
    ("Interpolated Kneser-Ney 3-gram (Mikolov 2012)", "—", "148.3"),
    ("Zaremba et al. 2014, non-regularized small LSTM (2×200)", "120.7", "114.5"),
    ("PyTorch word_language_model, 2×200, dropout 0.2, tied, 40 epochs", "—", "87.17"),
]


def _relative(command: str) -> str:
    """A command with paths written relative to the repository, as a reader would type it."""
    return command.replace(str(PTB) + "/", os.path.relpath(PTB, ROOT) + "/").replace(
        str(ROOT) + "/", ""
    )


def run_preset(preset: str) -> dict:
    out = ROOT / "runs" / f"ptb-{preset}.safetensors"
    train_cmd = ["lstm", "train", str(PTB / "ptb.train.txt"), "--valid", str(PTB / "ptb.valid.txt"),
                 "--preset", preset, "--out", str(out), "--json"]  # fmt: skip
    eval_cmd = ["lstm", "eval", str(PTB / "ptb.test.txt"), "--model", str(out), "--json"]
    env = {**os.environ, "LSTM_HOME": str(ROOT / "runs")}
    t0 = time.perf_counter()
    proc = subprocess.run(LSTM + train_cmd[1:], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"training failed:\n{proc.stderr}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    epochs = [e for e in events if e["event"] == "epoch"]
    done = events[-1]
    ev = subprocess.run(LSTM + eval_cmd[1:], env=env, capture_output=True, text=True, check=True)
    test = json.loads(ev.stdout)
    train_tokens = sum(e["tokens_per_s"] * e["seconds"] for e in epochs)
    train_seconds = sum(e["seconds"] for e in epochs)
    result = {
        "preset": preset,
        "epochs": len(epochs),
        "outcome": done["outcome"],
        "wall_s": wall,
        "tokens_per_s": train_tokens / train_seconds,
        "best_valid_ppl": done["best_valid_ppl"],
        "test_ppl": test["perplexity"],
        "test_tokens": test["tokens"],
        "peak_rss_mb": peak_mb,
        "commands": [_relative(shlex.join(train_cmd)), _relative(shlex.join(eval_cmd))],
        "history": [
            {k: e[k] for k in ("epoch", "train_ppl", "valid_ppl", "lr", "seconds")} for e in epochs
        ],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"ptb-{preset}.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def write_table() -> None:
    rows = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("ptb-*.json"))]
    lines = [
        "# Benchmarks",
        "",
        "## Penn Treebank (Mikolov's split: 929k/74k/82k tokens, 10,000 types)",
        "",
        "Made by `python bench/ptb.py`, which trains each preset from scratch with the",
        "commands below and evaluates on test as the references do: one stream through the",
        "whole file, state carried across lines, every token after the first scored once.",
        "Tuned on valid; test reported once per configuration.",
        "",
        "| model | epochs | wall time | tokens/s | valid ppl | test ppl | peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| lstmcli `--preset {r['preset']}` | {r['epochs']} | {r['wall_s'] / 60:.1f} min | "
            f"{r['tokens_per_s']:,.0f} | {r['best_valid_ppl']:.2f} | **{r['test_ppl']:.2f}** | "
            f"{r['peak_rss_mb']:,.0f} MB |"
        )
    for name, valid, test in REFERENCES:
        lines.append(f"| {name} | | | | {valid} | {test} | |")
    lines += ["", "Commands:", ""]
    for r in rows:
        lines += [f"- `{r['preset']}` ({r['machine']}, {r['date']}):", ""]
        lines += [f"  ```\n  {_relative(c)}\n  ```" for c in r["commands"]]
        if r.get("note"):
            lines += ["", f"  {r['note']}"]
    lines += ["", "Per-epoch history: `lstm info runs/ptb-PRESET.safetensors`, or",
              "`bench/results/ptb-PRESET.json`.", ""]  # fmt: skip
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("presets", nargs="*", default=["zaremba-small", "ptb-fast"])
    ap.add_argument("--table-only", action="store_true")
    args = ap.parse_args()
    if not args.table_only:
        if not (PTB / "ptb.train.txt").exists():
            sys.exit(f"no Penn Treebank files in {PTB}; set PTB_DIR")
        if len(args.presets) > 1:  # one process per preset: peak memory stays per preset
            for preset in args.presets:
                subprocess.run([sys.executable, __file__, preset], check=True)
        for preset in args.presets if len(args.presets) == 1 else []:
            r = run_preset(preset)
            print(f"{preset}: test ppl {r['test_ppl']:.2f}, valid {r['best_valid_ppl']:.2f}, "
                  f"{r['epochs']} epochs, {r['wall_s'] / 60:.1f} min")  # fmt: skip
    write_table()


if __name__ == "__main__":
    main()
