"""Penn Treebank ablation of ``--preset ptb-awd``: what each regulariser buys on a CPU budget.

Trains the preset, then the preset with one regulariser turned off at a time, each for the
same ``--minutes`` of training (default 15), as ``bench/ptb.py`` trains a preset::

    lstm train ptb.train.txt --valid ptb.valid.txt --preset ptb-awd --max-minutes 15 \\
        [OPTIONS THAT TURN ONE OFF] --out runs/ablation-VARIANT.safetensors --json
    lstm eval ptb.test.txt --model runs/ablation-VARIANT.safetensors --json

Each variant's figures go to ``bench/results/ablation-VARIANT.json`` (or ``--results``),
and ``BENCHMARKS.md`` gets the ablation table. Run::

    python bench/ptb_ablation.py                          # all 8 runs, about 2.5 hours
    python bench/ptb_ablation.py --jobs 2                 # two at a time, a core each: 75 min
    python bench/ptb_ablation.py --only full,no-weight-drop
    python bench/ptb_ablation.py --minutes 0.2 --results /tmp/ablation   # a quick trial
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import ptb  # bench/ptb.py, beside this script

PRESET = "ptb-awd"
# variant → the options that turn its regulariser off (AWD-LSTM's ablation, Table 4)
VARIANTS: dict[str, list[str]] = {
    "full": [],
    "no-weight-drop": ["--wdrop", "0"],
    "no-nt-asgd": ["--nt-asgd", "0"],
    "no-word-dropout": ["--dropoute", "0"],
    "no-weight-decay": ["--wdecay", "0"],
    "no-ar-tar": ["--alpha", "0", "--beta", "0"],
    "no-vary-seq-len": ["--fixed-seq-len"],
    "no-locked-dropout": ["--dropouti", "0", "--dropouth", "0", "--dropouto", "0"],
}


def run_variant(variant: str, minutes: float, results: Path, jobs: int) -> dict:
    options = VARIANTS[variant]
    extra = ("--max-minutes", f"{minutes:g}", *options)
    r = ptb.run_preset(PRESET, extra, name=f"ablation-{variant}", results=results)
    r.update(variant=variant, options=options, minutes=minutes, order=list(VARIANTS).index(variant),
             jobs=jobs, threads=os.environ.get("OPENBLAS_NUM_THREADS"))  # fmt: skip
    (results / f"ablation-{variant}.json").write_text(json.dumps(r, indent=1) + "\n")
    return r


def run_all(names: list[str], minutes: float, results: Path, jobs: int) -> None:
    """Each variant in its own process (peak memory stays per run), ``jobs`` at a time, each
    with an equal share of the cores as BLAS threads, so that runs side by side get the same."""
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads,
           "MKL_NUM_THREADS": threads}  # fmt: skip
    for i in range(0, len(names), jobs):
        procs = []
        for v in names[i : i + jobs]:
            cmd = [sys.executable, __file__, "--variant", v, "--minutes", str(minutes),
                   "--results", str(results), "--jobs", str(jobs)]  # fmt: skip
            procs.append(subprocess.Popen(cmd, env=env))
        if failed := [p.args[3] for p in procs if p.wait() != 0]:
            sys.exit(f"ablation run failed: {', '.join(failed)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=15.0, help="training budget per run")
    ap.add_argument("--only", help=f"comma-separated variants (default all: {', '.join(VARIANTS)})")
    ap.add_argument("--results", type=Path, default=ptb.RESULTS, help="where the JSON goes")
    ap.add_argument("--jobs", type=int, default=1, help="runs at a time, sharing out the cores")
    ap.add_argument("--variant", help=argparse.SUPPRESS)  # one run, in a child process
    args = ap.parse_args()
    if args.variant:
        r = run_variant(args.variant, args.minutes, args.results, args.jobs)
        print(f"{args.variant}: valid ppl {r['best_valid_ppl']:.2f}, test {r['test_ppl']:.2f}, "
              f"{r['epochs']} epochs, {r['tokens_per_s']:,.0f} tokens/s", flush=True)  # fmt: skip
        return
    names = [v.strip() for v in (args.only or ",".join(VARIANTS)).split(",") if v.strip()]
    if unknown := [v for v in names if v not in VARIANTS]:
        ap.error(f"unknown variant {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    if not (ptb.PTB / "ptb.train.txt").exists():
        sys.exit(f"no Penn Treebank files in {ptb.PTB}; set PTB_DIR")
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")
    run_all(names, args.minutes, args.results, args.jobs)
    if args.results.resolve() == ptb.RESULTS.resolve():
        ptb.write_table()
    else:
        print("\n".join(ptb.ablation_table(args.results)))


if __name__ == "__main__":
    main()
