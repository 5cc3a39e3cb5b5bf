"""Penn Treebank from scratch: train a preset, evaluate on test, write BENCHMARKS.md.

For each preset given (default: zaremba-small, ptb-fast and ptb-awd) this runs, as a user
would::

    lstm train ptb.train.txt --valid ptb.valid.txt --preset NAME \
        --out runs/ptb-NAME.safetensors --json
    lstm eval ptb.test.txt --model runs/ptb-NAME.safetensors --json

and records epochs, wall time, training tokens/s, the best valid and the test perplexity and
the peak memory of the training process in ``bench/results/ptb-NAME.json``, with the
whole ``lstm eval --json`` answer (top-k accuracy and keystroke savings too). The
interpolated modified Kneser-Ney 5-gram of ``bench/kneser_ney.py`` is fitted on train and
scored on test by the same measures, into ``bench/results/ptb-kn5.json``, when that file is
missing (or with ``--kn``). Then it writes ``BENCHMARKS.md`` from every result present,
next to the published reference figures, with the ablation of ``bench/ptb_ablation.py``
when its results are there and the sections that ``bench/keyboard.py`` adds for the
bundled corpora.

The data is read where it lies (``$PTB_DIR``, default ``../shared/data/ptb`` beside the
repository); it is never copied into the project. Run::

    python bench/ptb.py                       # the three presets, about 2.5 hours on 2 cores
    python bench/ptb.py zaremba-small         # one preset
    python bench/ptb.py --table-only          # rewrite BENCHMARKS.md from saved results
    python bench/ptb.py --kn                  # only the Kneser-Ney 5-gram (a few minutes)
    python bench/ptb.py --eval-only zaremba-small=runs/ptb-zaremba-small.safetensors \
        ptb-fast=runs/ptb-ptb-fast.safetensors   # evaluate trained models, no training
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
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
    eval_cmd = _eval_cmd(out)
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
    test, eval_s = _eval(out, env)
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
        "test_eval": test,
        "eval_s": eval_s,
        "peak_rss_mb": peak_mb,
        "commands": [_relative(shlex.join(train_cmd)), _relative(shlex.join(eval_cmd))],
        "history": [
            {k: e[k] for k in ("epoch", "train_ppl", "valid_ppl", "lr", "seconds")} for e in epochs
        ],
        "averaged_from_epoch": next((e["epoch"] for e in epochs if e.get("averaged")), None),
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
    }
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def _eval_cmd(model: Path) -> list[str]:
    return ["lstm", "eval", str(PTB / "ptb.test.txt"), "--model", str(model), "--json"]


def _eval(model: Path, env: dict | None = None) -> tuple[dict, float]:
    """``lstm eval ptb.test.txt --model MODEL --json`` and its wall time."""
    t0 = time.perf_counter()
    ev = subprocess.run(LSTM + _eval_cmd(model)[1:], env=env, capture_output=True, text=True)
    if ev.returncode != 0:
        sys.exit(f"evaluation failed:\n{ev.stderr}")
    return json.loads(ev.stdout), time.perf_counter() - t0


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def eval_only(preset: str, model: Path) -> dict:
    """Evaluate a trained model on test and merge the figures into its preset's result."""
    path = RESULTS / f"ptb-{preset}.json"
    result = json.loads(path.read_text()) if path.exists() else {"preset": preset}
    test, eval_s = _eval(model)
    result.update(
        test_ppl=test["perplexity"],
        test_tokens=test["tokens"],
        test_eval=test,
        eval_s=eval_s,
        eval_command=_relative(shlex.join(_eval_cmd(model))),
        eval_machine=machine(),
        eval_date=time.strftime("%Y-%m-%d"),
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    return result


def run_kn() -> dict:
    """The Kneser-Ney 5-gram reference on train → test, saved to bench/results/ptb-kn5.json."""
    sys.path.insert(0, str(ROOT / "bench"))
    import kneser_ney

    r = {**kneser_ney.ptb(), "machine": machine(), "date": time.strftime("%Y-%m-%d")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ptb-kn5.json").write_text(json.dumps(r, indent=1) + "\n")
    return r


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


KEYBOARD_HEAD = [
    "| model | ppl | top-1 | top-3 | top-5 | words: top-1 / 3 / 5 | keystroke savings (3) |",
    "|---|---:|---:|---:|---:|---:|---:|",
]


def keyboard_row(name: str, ppl: float | None, e: dict | None) -> str:
    """A row of KEYBOARD_HEAD from an ``lstm eval --json`` answer; dashes where it is None."""
    e = e or {}
    cells = [name, "—" if ppl is None else f"{ppl:.2f}"]
    cells += [pct(e.get(f"top{k}")) for k in (1, 3, 5)]
    cells.append(" / ".join(pct(e.get(f"top{k}_words")) for k in (1, 3, 5)))
    cells.append(pct(e.get("keystroke_savings")))
    return "| " + " | ".join(cells) + " |"


KEYBOARD_NOTE = """
top-k: the next token is among the model's k most likely tokens, over every scored
position; *words*: over word targets only (not `<eos>`, not `<unk>`), among the most likely
words. Keystroke savings: a simulated typist is offered the 3 most likely words that begin
with what is typed, before each character and before the first; accepting costs 1
keystroke and enters the following space; a line break costs 1; `<unk>` words are typed in
full (every rule: `lstm eval --help`, or the README). Savings = 1 − keystrokes with
suggestions ÷ keystrokes without. The n-gram rows come from the same library code
(`lstmcli.keyboard.Tally`), fed with the n-gram's full next-token distributions.
""".strip().splitlines()


def _keyboard_sections(rows: list[dict]) -> list[str]:
    """The PTB keyboard table and, from bench/keyboard.py's results, the corpora's."""
    lines = ["", "## Penn Treebank as a keyboard: suggestions and keystrokes", ""]
    lines += [
        "The same test set in the measures a keyboard cares about: `lstm eval ptb.test.txt",
        "--json` on each preset's model, and an interpolated modified Kneser-Ney 5-gram fitted",
        "on ptb.train.txt (`bench/kneser_ney.py`).",
        "",
        *KEYBOARD_HEAD,
    ]
    for r in rows:
        e = r.get("test_eval")
        lines.append(keyboard_row(f"lstmcli `--preset {r['preset']}`", r.get("test_ppl"), e))
    kn_path = RESULTS / "ptb-kn5.json"
    kn = json.loads(kn_path.read_text()) if kn_path.exists() else None
    if kn:
        name = f"Kneser-Ney {kn['order']}-gram (interpolated, modified)"
        lines.append(keyboard_row(name, kn["test"]["perplexity"], kn["test"]))
    lines += ["", *KEYBOARD_NOTE, ""]
    lines += [
        "For scale, on Gboard's own logs (another text and vocabulary: only the gap compares)",
        "Hard et al. (2018) report top-1 / top-3 recall of 13.0 % / 22.1 % for an n-gram model",
        "and 16.5 % / 27.1 % for their 1.4M-parameter LSTM.",
        "",
    ]
    missing = [r["preset"] for r in rows if not r.get("test_eval")]
    if missing:
        lines += [
            f"Rows with dashes ({', '.join(missing)}) wait for their model files: train with",
            "the commands above, or evaluate models already trained with",
            "`python bench/ptb.py --eval-only PRESET=MODEL …`.",
            "",
        ]
    for r in rows:
        if r.get("eval_s"):
            where = r.get("eval_machine", r.get("machine", ""))
            lines.append(f"- `{r['preset']}`: `lstm eval` took {r['eval_s']:.0f} s ({where}).")
    if kn:
        lines.append(
            f"- Kneser-Ney: `python bench/ptb.py --kn` fitted it in {kn['fit_s']:.0f} s and "
            f"scored test in {kn['test_s']:.0f} s ({kn['machine']}, {kn['date']}); valid "
            f"perplexity {kn['valid_ppl']:.2f}, test {kn['test']['perplexity']:.2f} "
            "(Mikolov 2012: 141.2)."
        )
    return lines + _corpora_section()


def _corpora_section() -> list[str]:
    corpora = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("corpus-*.json"))]
    if not corpora:
        return []
    lines = ["", "## The bundled corpora as a keyboard", ""]
    lines += [
        "Each model on its own validation text (the tail of its corpus that training held",
        "out), beside a Kneser-Ney 5-gram fitted on the same training part and scored by the",
        "same code. Made by `python bench/keyboard.py MODEL …` on the models of the default",
        "preset (`lstm train`, `lstm train corpora/tales-en.txt`).",
        "",
        "| corpus " + KEYBOARD_HEAD[0],
        "|---" + KEYBOARD_HEAD[1],
    ]
    for c in corpora:
        for name, e in ((f"lstmcli, {c['describe']}", c["lstm"]), ("Kneser-Ney 5-gram", c["kn"])):
            lines.append(f"| {c['corpus']} " + keyboard_row(name, e["perplexity"], e))
    lines.append("")
    lines += [
        f"- `{Path(c['model']).name}`: `python bench/keyboard.py {Path(c['model']).name}` "
        f"({c['machine']}, {c['date']})."
        for c in corpora
    ]
    return lines


def write_table() -> None:
    rows = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("ptb-*.json"))]
    rows = [r for r in rows if "preset" in r]  # ptb-kn5.json is the n-gram's
    trained = [r for r in rows if "epochs" in r]
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
    for r in trained:
        lines.append(
            f"| lstmcli `--preset {r['preset']}` | {r['epochs']} | {r['wall_s'] / 60:.1f} min | "
            f"{r['tokens_per_s']:,.0f} | {r['best_valid_ppl']:.2f} | **{r['test_ppl']:.2f}** | "
            f"{r['peak_rss_mb']:,.0f} MB |"
        )
    for name, valid, test in REFERENCES:
        lines.append(f"| {name} | | | | {valid} | {test} | |")
    lines += ["", "Commands:", ""]
    for r in trained:
        lines += [f"- `{r['preset']}` ({r['machine']}, {r['date']}):", ""]
        lines += [f"  ```\n  {_relative(c)}\n  ```" for c in r["commands"]]
        if r.get("note"):
            lines += ["", f"  {r['note']}"]
    lines += ["", "Per-epoch history: `lstm info runs/ptb-PRESET.safetensors`, or",
              "`bench/results/ptb-PRESET.json`.", ""]  # fmt: skip
    lines += ablation_table()
    lines += _keyboard_sections(rows)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))  # one blank line between sections
    (ROOT / "BENCHMARKS.md").write_text(text.rstrip("\n") + "\n")


def _jobs_option(r: dict) -> str:
    return f" --jobs {r['jobs']}" if r.get("jobs", 1) > 1 else ""


def _jobs_text(r: dict) -> str:
    """How the ablation's runs shared the machine, when they ran side by side."""
    if r.get("jobs", 1) == 1:
        return ""
    threads = r.get("threads") or "?"
    return f", {r['jobs']} at a time with {threads} BLAS thread{'s' * (threads != '1')} each"


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
        f"Made by `python bench/ptb_ablation.py{_jobs_option(rows[0])}`: the preset, then the",
        "preset with one regulariser turned off, each trained for the same time and scored as",
        f"above{_jobs_text(rows[0])}.",
        "",
        "| variant | options | epochs | tokens trained | tokens/s | averaged from | valid ppl "
        "| Δ valid | test |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        delta = "—" if full in (None, r) else f"{r['best_valid_ppl'] - full['best_valid_ppl']:+.2f}"
        avg = r.get("averaged_from_epoch")
        trained = r["tokens_per_s"] * sum(h["seconds"] for h in r["history"])
        lines.append(
            f"| {r['variant']} | `{' '.join(r['options']) or '—'}` | {r['epochs']} | "
            f"{trained / 1e6:.2f}M | {r['tokens_per_s']:,.0f} | "
            f"{'—' if avg is None else f'epoch {avg}'} | {r['best_valid_ppl']:.2f} | {delta} | "
            f"{r['test_ppl']:.2f} |"
        )
    if full and full.get("note"):  # what the runs say, written after them (in full's JSON)
        lines += ["", full["note"]]
    lines += ["", f"Commands ({rows[0]['machine']}, {rows[0]['date']}), each variant adding its "
              "options to the first:", "", f"```\n{rows[0]['commands'][0]}\n```",
              f"```\n{rows[0]['commands'][1]}\n```", ""]  # fmt: skip
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("presets", nargs="*", default=["zaremba-small", "ptb-fast", "ptb-awd"])
    ap.add_argument("--table-only", action="store_true")
    ap.add_argument("--kn", action="store_true", help="fit and score the Kneser-Ney 5-gram")
    ap.add_argument(
        "--eval-only",
        nargs="+",
        metavar="PRESET=MODEL",
        help="evaluate trained models on test instead of training",
    )
    args = ap.parse_args()
    if not args.table_only and not (PTB / "ptb.train.txt").exists():
        sys.exit(f"no Penn Treebank files in {PTB}; set PTB_DIR")
    if args.eval_only:
        for spec in args.eval_only:
            preset, sep, model = spec.partition("=")
            if not sep or not Path(model).is_file():
                sys.exit(f"--eval-only takes PRESET=MODEL with an existing model file: {spec}")
            r = eval_only(preset, Path(model))
            e = r["test_eval"]
            ks = pct(e["keystroke_savings"])
            print(f"{preset}: test ppl {e['perplexity']:.2f}, top-1 {pct(e['top1'])}, "
                  f"keystroke savings {ks}, {r['eval_s']:.0f} s")  # fmt: skip
    elif not args.table_only and not args.kn:
        if len(args.presets) > 1:  # one process per preset: peak memory stays per preset
            for preset in args.presets:
                subprocess.run([sys.executable, __file__, preset], check=True)
        for preset in args.presets if len(args.presets) == 1 else []:
            r = run_preset(preset)
            print(f"{preset}: test ppl {r['test_ppl']:.2f}, valid {r['best_valid_ppl']:.2f}, "
                  f"{r['epochs']} epochs, {r['wall_s'] / 60:.1f} min")  # fmt: skip
    if args.kn or (not args.table_only and not (RESULTS / "ptb-kn5.json").exists()):
        kn = run_kn()
        print(f"Kneser-Ney {kn['order']}-gram: test ppl {kn['test']['perplexity']:.2f}, "
              f"valid {kn['valid_ppl']:.2f}")  # fmt: skip
    write_table()


if __name__ == "__main__":
    main()
