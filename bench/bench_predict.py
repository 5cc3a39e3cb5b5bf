"""Start-up and answer time of ``lstm predict``, as a user runs it: a new process each time.

Times ``lstm predict TEXT`` (and ``--json``) on a Japanese and an English model of the
default size, and ``lstm --help``, next to the floor every run pays (Python, and Python
importing NumPy). Each round runs every command once, in turn, so a busy machine slows all
of them alike; the table shows medians over ``-n`` rounds. Targets: median below 0.25 s for
the Japanese model (its tokenizer's dictionary included), 0.15 s for the English one.

``--compare DIR`` also runs the lstmcli of another source tree (e.g. ``git worktree add
/tmp/old main``) in the same rounds, and prints the ratios old / new.

Without ``--ja``/``--en`` the models are made once under ``--work`` (default: a temporary
folder): the default preset on the bundled corpora, stopped after one update (the size,
vocabulary and tokenizer of a fully trained model, which is all start-up depends on).

    python bench/bench_predict.py
    python bench/bench_predict.py -n 31 --compare /tmp/old
    python bench/bench_predict.py --ja runs/ja.safetensors --en runs/ptb.safetensors
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JA_TEXT = "僕の麻里ちゃんの愛してやまないケーキは"
EN_TEXT = "Mari's favourite cake is the"
TARGETS = {"predict ja": 0.25, "predict en": 0.15}


def make_model(path: Path, corpus: Path | None, env: dict) -> Path:
    if not path.exists():
        print(f"making {path} (default preset, one update)", file=sys.stderr)
        args = [sys.executable, "-m", "lstmcli", "train"] + ([str(corpus)] if corpus else [])
        args += ["--max-steps", "1", "--out", str(path), "--quiet"]
        subprocess.run(args, env=env, cwd=path.parent, check=True, capture_output=True)
    return path


def commands(ja: Path, en: Path) -> dict[str, list[str]]:
    lstm = ["-m", "lstmcli"]
    return {
        "python": ["-c", "pass"],
        "import numpy": ["-c", "import numpy"],
        "lstm --help": [*lstm, "--help"],
        "predict ja": [*lstm, "predict", JA_TEXT, "--model", str(ja)],
        "predict ja --json": [*lstm, "predict", JA_TEXT, "--model", str(ja), "--json"],
        "predict en": [*lstm, "predict", EN_TEXT, "--model", str(en)],
        "predict en --json": [*lstm, "predict", EN_TEXT, "--model", str(en), "--json"],
    }


def run_once(args: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system, all threads) of one run. ``cwd`` is not a
    source tree: ``python -m`` looks there first, before ``PYTHONPATH``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, cwd=cwd, check=True, capture_output=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ja", type=Path, help="Japanese model (default: made under --work)")
    ap.add_argument("--en", type=Path, help="English model (default: made under --work)")
    ap.add_argument("--work", type=Path, help="where to make the models (default: temporary)")
    ap.add_argument("--compare", type=Path, help="another lstmcli source tree to time alongside")
    ap.add_argument("-n", type=int, default=21, help="rounds (default 21)")
    args = ap.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-predict-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LSTM_HOME": str(work / "home"), "PYTHONPATH": str(ROOT)}
    env.pop("LSTM_MODEL", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # cached bytecode, as an installed lstmcli has
    ja = args.ja or make_model(work / "ja.safetensors", None, env)
    en = args.en or make_model(work / "en.safetensors", ROOT / "corpora" / "tales-en.txt", env)

    sides = {"new": env}
    if args.compare:
        sides["old"] = {**env, "PYTHONPATH": str(args.compare.resolve())}
    cmds = commands(ja, en)
    times: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.n):
        for name, cmd in cmds.items():
            for side, side_env in sides.items():
                if side == "old" and not name.startswith(("predict", "lstm")):
                    continue  # the floors do not depend on the tree
                wall, used = run_once(cmd, side_env, work)
                times.setdefault((name, side), []).append(wall)
                cpu.setdefault((name, side), []).append(used)

    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    head = f"{'command':<20} {'median s':>9} {'min s':>7} {'cpu s':>6}"
    if args.compare:
        head += f" {'old median':>11} {'old cpu':>8} {'old/new':>8} {'cpu old/new':>12}"
    print(f"{head}   (n = {args.n}, one process per run; cpu: user + system, median)")
    for name in cmds:
        line = f"{name:<20} {med[name, 'new']:>9.3f} {min(times[name, 'new']):>7.3f}"
        line += f" {med_cpu[name, 'new']:>6.3f}"
        if (name, "old") in med:
            line += f" {med[name, 'old']:>11.3f} {med_cpu[name, 'old']:>8.3f}"
            line += f" {med[name, 'old'] / med[name, 'new']:>7.2f}x"
            line += f" {med_cpu[name, 'old'] / med_cpu[name, 'new']:>11.2f}x"
        print(line)
    floor = med["import numpy", "new"]
    print(f"import numpy is {floor:.3f} s of every run here (a quiet machine: about 0.1 s)")
    for name, target in TARGETS.items():
        m = med[name, "new"]
        print(f"target: {name} < {target} s median → {'met' if m < target else 'NOT met'}"
              f" ({m:.3f} s; {m - floor:.3f} s above import numpy)")  # fmt: skip


if __name__ == "__main__":
    main()
