"""lstmcli's NumPy engine next to PyTorch, one process and DDP, on Penn Treebank.

The three train the ``ptb-fast`` model (2×200 LSTM, tied, dropout 0.2, SGD lr 20 divided by
4 on a plateau, clip 0.25, batch 20 × 35) from the same initial weights for the same wall
time, validating at the end of every epoch and when the time is up:

- ``lstm train --preset ptb-fast``: the NumPy engine (two BLAS threads);
- ``torchrun --nproc-per-node 1 -m lstmcli.torchbridge.train``: torch, one process;
- ``torchrun --nproc-per-node 2 -m lstmcli.torchbridge.train``: DDP on gloo, two
  processes of one thread each, 10 streams each.

The initial weights are those ``lstm train`` draws for seed 0 (``model.init_params`` with
``default_rng(0)`` over the PTB vocabulary), written to ``init.safetensors`` and passed to
the torch runs with ``--init``. Printed side by side: training tokens/s (tokens over
seconds of the run's epochs, validation included, as the history records them), the
epochs done and the best validation perplexity, with NumPy's float32 GEMM rate on a
(700, 200) × (200, 10000) product (the decoder's, measured as bench_engine.py measures it)
and the load average before each run.

Run::

    .venv/bin/pip install -e '.[torch]'
    python bench/bench_torchbridge.py --minutes 3.5          # about 13 minutes
    python bench/bench_torchbridge.py --minutes 3 --threads 1   # one-process runs on 1 thread
    python bench/bench_torchbridge.py --minutes 1 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PTB_DIR = Path(os.environ.get("PTB_DIR", ROOT.parent / "shared" / "data" / "ptb"))


def gemm_gflops(m: int, k: int, n: int) -> float:
    """NumPy float32 GEMM speed on an (m, k) × (k, n) product, median of 15 after 3."""
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = rng.random((m, k), np.float32), rng.random((k, n), np.float32)
    c = np.empty((m, n), np.float32)
    times = []
    for i in range(18):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        if i >= 3:
            times.append(time.perf_counter() - t0)
    return 2 * m * k * n / statistics.median(times) / 1e9


def load_average() -> float:
    return os.getloadavg()[0]


def write_init(path: Path) -> dict:
    """The initial weights of ``lstm train --preset ptb-fast`` (seed 0), as a model file."""
    import numpy as np

    from lstmcli import checkpoint, model, prepare, presets, training, trainjob

    opts, _ = trainjob.resolve_options("ptb-fast", {})
    corpus = prepare.load_corpus(
        PTB_DIR / "ptb.train.txt", opts["tokenizer"], max_vocab=opts["max_vocab"],
        valid_path=PTB_DIR / "ptb.valid.txt", val_fraction=None,
    )  # fmt: skip
    cfg = model.ModelConfig(vocab_size=len(corpus.vocab),
                            **{k: opts[k] for k in trainjob.MODEL_KEYS})  # fmt: skip
    fields = training.TrainConfig.__dataclass_fields__
    tc = training.TrainConfig(**{k: opts[k] for k in fields if k in opts})
    params = model.init_params(cfg, np.random.default_rng(tc.seed))  # as Session.start
    record = {**tc.to_dict(), "data": {"corpus": str(PTB_DIR / "ptb.train.txt"),
                                       "preset": "ptb-fast"}}  # fmt: skip
    ck = checkpoint.Checkpoint(cfg, params, corpus.vocab.to_list(), corpus.tokenizer.spec(),
                               record, example=corpus.example)  # fmt: skip
    checkpoint.save(path, ck)
    assert presets.PRESETS["ptb-fast"]["batch_size"] == 20
    return {"vocab": len(corpus.vocab), "train_tokens": len(corpus.train_ids)}


def summary(history: list[dict], seconds: float) -> dict:
    tokens = sum(h["tokens_per_s"] * h["seconds"] for h in history)
    spent = sum(h["seconds"] for h in history)
    ppl = [h["valid_ppl"] for h in history if h.get("valid_ppl") is not None]
    return {
        "tokens_per_s": tokens / max(spent, 1e-9),
        "tokens": int(tokens),
        "epochs": len(history),
        "valid_ppl": min(ppl) if ppl else None,
        "last_valid_ppl": ppl[-1] if ppl else None,
        "wall_s": seconds,
    }


def run(name: str, cmd: list[str], out: Path, env: dict) -> dict:
    from lstmcli import checkpoint

    load = load_average()
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"{name} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    ck = checkpoint.load(out)
    return {"engine": name, "load": load, "vocab": ck.vocab, **summary(ck.history, wall),
            "command": " ".join(cmd)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=3.5, help="wall time per engine")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", type=Path, help="folder to keep the models in")
    ap.add_argument("--threads", type=int, help="BLAS/OpenMP threads of the one-process runs "
                    "(default: the libraries' own, one per core)")  # fmt: skip
    a = ap.parse_args()
    work = a.keep or Path(tempfile.mkdtemp(prefix="bench-torchbridge-"))
    work.mkdir(parents=True, exist_ok=True)
    gflops = gemm_gflops(700, 200, 10000)
    sizes = write_init(work / "init.safetensors")
    train, valid = str(PTB_DIR / "ptb.train.txt"), str(PTB_DIR / "ptb.valid.txt")
    m = str(a.minutes)
    bin_ = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env["LSTM_HOME"] = str(work / "home")
    one = dict(env)  # the one-process runs; torchrun gives each of the two processes 1 thread
    if a.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            one[var] = str(a.threads)
    torch_args = ["-m", "lstmcli.torchbridge.train", train, "--valid", valid, "--init",
                  str(work / "init.safetensors"), "--epochs", "40", "--minutes", m]  # fmt: skip
    runs = [
        ("lstmcli (NumPy)", [str(bin_ / "lstm"), "train", train, "--valid", valid, "--preset",
                             "ptb-fast", "--max-minutes", m, "--quiet", "--out",
                             str(work / "numpy.safetensors")], work / "numpy.safetensors"),
        ("torch, 1 process", [str(bin_ / "torchrun"), "--standalone", "--nproc-per-node", "1",
                              *torch_args, "--out", str(work / "torch1.safetensors")],
         work / "torch1.safetensors"),
        ("torch DDP, 2 processes", [str(bin_ / "torchrun"), "--standalone", "--nproc-per-node",
                                    "2", *torch_args, "--out", str(work / "ddp2.safetensors")],
         work / "ddp2.safetensors"),
    ]  # fmt: skip
    results = [run(name, cmd, out, env if "2" in name else one) for name, cmd, out in runs]
    vocabs = {tuple(r.pop("vocab")) for r in results}
    assert len(vocabs) == 1, "the engines trained on different vocabularies"
    report = {"gemm_gflops": gflops, "minutes": a.minutes, **sizes, "runs": results,
              "cpus": os.cpu_count(), "threads": a.threads}  # fmt: skip
    if a.json:
        print(json.dumps(report))
        return
    print(f"PTB, ptb-fast sizes, {a.minutes} min each; GEMM {gflops:.0f} GFLOP/s "
          f"(float32 700×200×10000); {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'engine':<24}{'tokens/s':>10}{'tokens':>11}{'epochs':>8}{'valid ppl':>11}"
          f"{'load':>7}")  # fmt: skip
    for r in results:
        print(f"{r['engine']:<24}{r['tokens_per_s']:>10,.0f}{r['tokens']:>11,}{r['epochs']:>8}"
              f"{r['valid_ppl']:>11.2f}{r['load']:>7.2f}")  # fmt: skip
    print(json.dumps(report))


if __name__ == "__main__":
    main()
