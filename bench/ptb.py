"""Penn Treebank from scratch: train a preset, evaluate on test, write BENCHMARKS.md.

For each preset given (default: zaremba-small, ptb-fast and ptb-awd) this runs, as a user
would::

    lstm train ptb.train.txt --valid ptb.valid.txt --preset NAME \
        --out runs/ptb-NAME.safetensors --json
    lstm eval ptb.test.txt --model runs/ptb-NAME.safetensors --json

and records epochs, wall time, training tokens/s, the best valid and the test perplexity and
the peak memory of the training process in ``bench/results/ptb-NAME.json``. Then it writes
``BENCHMARKS.md`` from every result present, next to the published reference figures, with
the ablation of ``bench/ptb_ablation.py`` when its results are there.

The data is read where it lies (``$PTB_DIR``, default ``../shared/data/ptb`` beside the
repository); it is never copied into the project. Run::

    python bench/ptb.py                       # the three presets, about 2.5 hours on 2 cores
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
    ("Zaremba et al. 2014, medium regularized LSTM (2×650, 20M parameters)", "86.2", "82.7"),
    ("PyTorch word_language_model, 2×650, dropout 0.5, tied, 40 epochs", "—", "75.96"),
    ("Merity et al. 2017, AWD-LSTM (3 layers, 1150 units, 24M parameters)", "60.0", "57.3"),
]


def _relative(command: str) -> str:
    """A command with paths written relative to the repository, as a reader would type it."""
    return command.replace(str(PTB) + "/", os.path.relpath(PTB, ROOT) + "/").replace(
        str(ROOT) + "/", ""
    )


def run_preset(preset: str, extra: tuple[str, ...] = (), name: str | None = None,
               results: Path = RESULTS) -> dict:  # fmt: skip
    """Train ``preset`` (with ``extra`` options) and evaluate on test; the figures go to
    ``results/NAME.json`` (NAME: ``ptb-PRESET`` unless given) and are returned."""
    name = name or f"ptb-{preset}"
    out = ROOT / "runs" / f"{name}.safetensors"
    train_cmd = ["lstm", "train", str(PTB / "ptb.train.txt"), "--valid", str(PTB / "ptb.valid.txt"),
                 "--preset", preset, *extra, "--out", str(out), "--json"]  # fmt: skip
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
        "averaged_from_epoch": next((e["epoch"] for e in epochs if e.get("averaged")), None),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
    }
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
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
    lines += ablation_table()
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))


def ablation_table(results: Path = RESULTS) -> list[str]:
    """The BENCHMARKS.md section for ``bench/ptb_ablation.py``'s results (none: no lines)."""
    rows = sorted((json.loads(p.read_text()) for p in results.glob("ablation-*.json")),
                  key=lambda r: r["order"])  # fmt: skip
    if not rows:
        return []
    full = next((r for r in rows if r["variant"] == "full"), None)
    lines = [
        f"## Ablation of `--preset ptb-awd` ({rows[0]['minutes']:g} minutes of training each)",
        "",
        "Made by `python bench/ptb_ablation.py`: the preset, then the preset with one",
        "regulariser turned off, each trained for the same time and scored as above.",
        "",
        "| variant | options | epochs | tokens/s | averaged from | valid ppl | Δ valid | test |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        delta = "—" if full in (None, r) else f"{r['best_valid_ppl'] - full['best_valid_ppl']:+.2f}"
        avg = r.get("averaged_from_epoch")
        lines.append(
            f"| {r['variant']} | `{' '.join(r['options']) or '—'}` | {r['epochs']} | "
            f"{r['tokens_per_s']:,.0f} | {'—' if avg is None else f'epoch {avg}'} | "
            f"{r['best_valid_ppl']:.2f} | {delta} | {r['test_ppl']:.2f} |"
        )
    lines += ["", f"Commands ({rows[0]['machine']}, {rows[0]['date']}), each variant adding its "
              "options to the first:", "", f"```\n{rows[0]['commands'][0]}\n```",
              f"```\n{rows[0]['commands'][1]}\n```", ""]  # fmt: skip
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("presets", nargs="*", default=["zaremba-small", "ptb-fast", "ptb-awd"])
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
