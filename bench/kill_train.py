"""Kills at any moment: stop ``lstm train`` a hundred times, resume it each time, and compare
the result with a run that was never stopped.

A small model trains on the first lines of the bundled English corpus, saving after every
epoch (``NAME.safetensors`` when it improves, ``NAME.last.safetensors`` always). The run is
stopped with ``--signal`` (KILL: no chance to clean up; INT: Ctrl-C, which saves the state
mid-epoch) after a random delay or, every other time, the moment a checkpoint's temporary
file appears (inside the write), and started again with the command that resumes it,
until it finishes; then a fresh run starts, until ``--kills`` stops have been made. After
every stop each model file on disk must load; after every finished run there must be no
temporary file left, and its two files must equal, bit for bit, those of the uninterrupted
reference run: the weights, the optimiser moments, the recurrent state, the counters and
the history (its wall-clock fields, seconds and tokens/s, excepted).

    python bench/kill_train.py --signal KILL --kills 100
    python bench/kill_train.py --signal INT --kills 100
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tinyrun import environment, train_command, write_corpus

CLOCK = ("seconds", "tokens_per_s")  # history fields that measure time, not training
SIZE = ("--hidden", "128", "--embed", "128")  # the tiny preset, a little wider


def command(corpus: Path, out: Path, epochs: int) -> list[str]:
    return train_command(corpus, out, epochs, 0, *SIZE)


def temps(folder: Path, pid: int | None = None) -> list[str]:
    """The temporary files in ``folder`` (those of process ``pid`` only, if given)."""
    end = ".tmp" if pid is None else f".{pid}.tmp"
    return [n for n in os.listdir(folder) if n.endswith(end)]


def same(a: Path, b: Path) -> str | None:
    """None when the checkpoints at ``a`` and ``b`` hold the same training, else what differs."""
    from lstmcli import checkpoint

    x, y = checkpoint.load(a), checkpoint.load(b)
    for what, p, q in (("weights", x.params, y.params), ("extra tensors", x.extra, y.extra)):
        if p.keys() != q.keys():
            return f"{what}: names differ"
        for k in p:
            if p[k].tobytes() != q[k].tobytes():
                diff = float(np.max(np.abs(p[k].astype(np.float64) - q[k])))
                return f"{what}: {k} differs (largest difference {diff:.3g})"
    strip = [{k: v for k, v in h.items() if k not in CLOCK} for h in x.history]
    if strip != [{k: v for k, v in h.items() if k not in CLOCK} for h in y.history]:
        return "history differs"
    rx, ry = dict(x.resume or {}), dict(y.resume or {})
    for r in (rx, ry):
        for k in ("seconds", "epoch_seconds"):
            r.pop(k, None)
    if rx != ry:
        return f"resume state differs: {sorted(k for k in rx if rx.get(k) != ry.get(k))}"
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--signal", choices=("KILL", "INT"), default="KILL")
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0, help="seed of the stopping times")
    args = ap.parse_args()
    sig = getattr(signal, f"SIG{args.signal}")
    rng = random.Random(args.seed)
    from lstmcli import checkpoint, paths
    from lstmcli.errors import CheckpointError

    with tempfile.TemporaryDirectory(prefix="lstm-kill-") as tmp:
        tmp = Path(tmp)
        corpus = write_corpus(tmp / "corpus.txt", 600)
        ref = tmp / "ref"
        ref.mkdir()
        t0 = time.perf_counter()
        subprocess.run(command(corpus, ref / "m.safetensors", args.epochs), check=True,
                       env=environment(ref / "home"), stdout=subprocess.DEVNULL)  # fmt: skip
        t_ref = time.perf_counter() - t0
        print(f"reference run: {t_ref:.1f} s, {args.epochs} epochs")

        stops = aimed = in_write = before_start = loaded = broken = bad_exit = 0
        runs = identical = 0
        stray: list[str] = []
        differences: list[str] = []
        t0 = time.perf_counter()
        while stops < args.kills:
            run = tmp / f"run{runs}"
            run.mkdir()
            out, last = run / "m.safetensors", paths.resume_path(run / "m.safetensors")
            while True:
                cmd = command(corpus, out, args.epochs)
                if last.exists():
                    cmd += ["--resume", str(last)]
                proc = subprocess.Popen(
                    cmd, env=environment(run / "home"), stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )  # fmt: skip
                at_write = stops % 2 == 1
                wait = 2 * t_ref if at_write else rng.uniform(0.3, max(0.6, t_ref / 2))
                deadline = time.monotonic() + wait
                while proc.poll() is None and time.monotonic() < deadline:
                    if at_write and temps(run, proc.pid):
                        break
                    time.sleep(0.0005 if at_write else 0.01)
                if proc.poll() is not None:  # finished before the stop came
                    err = proc.stderr.read().decode(errors="replace")
                    if proc.returncode != 0:
                        bad_exit += 1
                        differences.append(f"run {runs}: exit {proc.returncode}: {err[-300:]}")
                    break
                aimed += bool(temps(run, proc.pid))
                proc.send_signal(sig)
                code = proc.wait(timeout=120)
                stops += 1
                err = proc.stderr.read().decode(errors="replace")
                if args.signal == "INT" and code == -signal.SIGINT and not err:
                    before_start += 1  # Python not yet running: Ctrl-C's default action
                elif args.signal == "INT" and code not in (130, 0):
                    bad_exit += 1
                    differences.append(f"stop {stops}: exit {code}: {err[-300:]}")
                in_write += bool(temps(run, proc.pid))
                for f in (out, last):
                    if f.exists():
                        try:
                            checkpoint.load(f)
                            loaded += 1
                        except CheckpointError as e:
                            broken += 1
                            differences.append(f"stop {stops}: {e}")
            stray += [f"run{runs}/{n}" for n in temps(run)]
            ref_out = ref / "m.safetensors"
            diff = same(out, ref_out) or same(last, paths.resume_path(ref_out))
            identical += diff is None
            if diff:
                differences.append(f"run {runs}: {diff}")
            runs += 1
        seconds = time.perf_counter() - t0

    rows = [
        ("stops", f"{stops} (SIG{args.signal})"),
        ("sent while a checkpoint was being written", f"{aimed}"),
        ("died inside the write (its temp file left)", f"{in_write}"),
        ("model files checked after a stop", f"{loaded + broken}: {loaded} load, {broken} broken"),
        ("exits other than 0/130", f"{bad_exit}"),
        ("stopped while Python itself started", f"{before_start}"),
        ("runs resumed to the end", f"{runs}"),
        ("bit-identical to the uninterrupted run", f"{identical} of {runs}"),
        ("temporary files left", f"{len(stray)} {stray[:4] if stray else ''}"),
        ("time", f"{seconds:.0f} s"),
    ]
    for name, value in rows:
        print(f"  {name:44} {value}")
    for d in differences[:20]:
        print(f"  ! {d}")
    print(f"command: python bench/kill_train.py --signal {args.signal} --kills {args.kills}")
    sys.exit(1 if differences or stray or broken else 0)


if __name__ == "__main__":
    main()
