"""Penn Treebank ablation of ``--preset ptb-awd``: what each regulariser buys on a CPU budget.

Trains the preset, then the preset with one regulariser turned off at a time, each for the
same ``--minutes`` of training (default 15), as ``bench/ptb.py`` trains a preset::

    lstm train ptb.train.txt --valid ptb.valid.txt --preset ptb-awd --max-minutes 15 \\
        [OPTIONS THAT TURN ONE OFF] --out runs/ablation-VARIANT.safetensors --json
    lstm eval ptb.test.txt --model runs/ablation-VARIANT.safetensors --json

Each variant's figures go to ``bench/results/ablation-VARIANT.json`` (or ``--results``),
and ``BENCHMARKS.md`` gets the ablation table. Run::

    python bench/ptb_ablation.py                          # all 8 runs, about 2.5 hours
    python bench/ptb_ablation.py --only full,no-weight-drop
    python bench/ptb_ablation.py --minutes 0.2 --results /tmp/ablation   # a quick trial
"""

from __future__ import annotations

import argparse
import json
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


def run_variant(variant: str, minutes: float, results: Path) -> dict:
    options = VARIANTS[variant]
    extra = ("--max-minutes", f"{minutes:g}", *options)
    r = ptb.run_preset(PRESET, extra, name=f"ablation-{variant}", results=results)
    r.update(variant=variant, options=options, minutes=minutes, order=list(VARIANTS).index(variant))
    (results / f"ablation-{variant}.json").write_text(json.dumps(r, indent=1) + "\n")
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=15.0, help="training budget per run")
    ap.add_argument("--only", help=f"comma-separated variants (default all: {', '.join(VARIANTS)})")
    ap.add_argument("--results", type=Path, default=ptb.RESULTS, help="where the JSON goes")
    ap.add_argument("--variant", help=argparse.SUPPRESS)  # one run, in a child process
    args = ap.parse_args()
    if args.variant:
        r = run_variant(args.variant, args.minutes, args.results)
        print(f"{args.variant}: valid ppl {r['best_valid_ppl']:.2f}, test {r['test_ppl']:.2f}, "
              f"{r['epochs']} epochs, {r['tokens_per_s']:,.0f} tokens/s", flush=True)  # fmt: skip
        return
    names = [v.strip() for v in (args.only or ",".join(VARIANTS)).split(",") if v.strip()]
    if unknown := [v for v in names if v not in VARIANTS]:
        ap.error(f"unknown variant {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    if not (ptb.PTB / "ptb.train.txt").exists():
        sys.exit(f"no Penn Treebank files in {ptb.PTB}; set PTB_DIR")
    for v in names:  # one process per run: peak memory stays per run
        subprocess.run([sys.executable, __file__, "--variant", v, "--minutes", str(args.minutes),
                        "--results", str(args.results)], check=True)  # fmt: skip
    if args.results.resolve() == ptb.RESULTS.resolve():
        ptb.write_table()
    else:
        print("\n".join(ptb.ablation_table(args.results)))


if __name__ == "__main__":
    main()
