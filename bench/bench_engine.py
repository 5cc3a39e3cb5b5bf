"""Training and generation speed of the NumPy engine next to torch.nn.LSTM.

The same model (embedding → L-layer LSTM → linear decoder, float32, uniform ±0.1 init,
mean cross-entropy, SGD lr 1.0, global-norm clipping at 5, state carried between
windows and cut at the window edge) is trained on the same token ids by lstmcli and by
PyTorch, each in its own child process of this script with the same thread count. Per
config it prints:

- training tokens/s (median over timed windows after a warm-up) and lstmcli / torch;
  the two run one after the other, ``--rounds`` times (default 3), and the figures are
  medians over rounds (the ratio: the median of the per-round ratios), so that drift in
  a shared machine's speed hits both sides alike;
- lstmcli as a % of the GEMM ceiling: NumPy's float32 GEMM GFLOP/s on a (B·T, H) × (H, V)
  product divided by the model's training FLOPs per token (3 GEMMs per weight:
  forward, dX, dW);
- peak RSS (MB) of each child process;
- generation latency at batch 1 (median µs per token, state carried) and torch / lstmcli:
  lstmcli through :class:`lstmcli.inference.Stepper`, the path ``lstm predict --generate``
  takes (the JSON also has ``step_us``, the same through ``inference.step`` with its gate
  records).

Token ids come from PTB (``ptb.train.txt`` in ``$PTB_DIR``, by default
``../shared/data/ptb`` beside the repository; ids ranked by frequency, rare words folded
into the last id) when present, else from a seeded generator.

Run::

    .venv/bin/pip install -e '.[bench]'   # torch is optional: pip install torch==2.13.0
    python bench/bench_engine.py                      # configs a, b, c; 2 threads
    python bench/bench_engine.py --config a --threads 1 --windows 30 --json
    git worktree add /tmp/before HEAD~3    # the engine before a change
    python bench/bench_engine.py --compare /tmp/before

``--compare DIR`` also runs the lstmcli of another source tree through the same harness, in
the same rounds (before this tree's child in every other round, after it in the rest), and
prints this tree / that tree: training tokens/s and generation speed, medians of the
per-round ratios.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

# PTB next to the repository (../shared/data/ptb), or wherever PTB_DIR points
PTB_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "ptb"
WARMUP = 5
GEN_WARMUP, GEN_STEPS = 20, 300  # batch-1 generation steps
# name: (V, E, H, L, B, T), training target (lstmcli / torch)
CONFIGS = {
    "a": ((10000, 200, 200, 2, 20, 20), 1.3),  # Zaremba et al. 2014 "small"
    "b": ((10000, 650, 650, 2, 20, 35), 1.0),  # Zaremba et al. 2014 "medium"
    "c": ((2000, 128, 128, 1, 32, 35), 1.0),
}
CEILING_GOAL = 75.0  # % of the GEMM ceiling
GEN_GOAL = 5.0  # torch µs / lstmcli µs per generated token


def flops_per_token(V: int, E: int, H: int, L: int) -> int:
    """Training FLOPs per token: 2·m·n·k per GEMM, three GEMMs (forward, dX, dW) per weight."""
    fwd = sum(2 * 4 * H * ((E if k == 0 else H) + H) for k in range(L)) + 2 * H * V
    return 3 * fwd


def token_ids(V: int, n: int, seed: int = 0):
    """n ids < V: PTB train ids ranked by frequency (rank ≥ V → V − 1), or random ones."""
    import numpy as np

    ptb = Path(os.environ.get("PTB_DIR") or PTB_DIR) / "ptb.train.txt"
    if not ptb.exists():
        return np.random.default_rng(seed).integers(0, V, size=n, dtype=np.int64)
    words = [w for line in ptb.read_text().splitlines() for w in [*line.split(), "<eos>"]]
    rank = {w: i for i, (w, _) in enumerate(Counter(words).most_common())}
    return np.minimum(np.array([rank[w] for w in words[:n]], dtype=np.int64), V - 1)


def windows(ids, B: int, T: int, n: int):
    """n consecutive (x, y) windows, time-major (T, B), from ids cut into B streams."""
    cols = ids[: (len(ids) // B) * B].reshape(B, -1).T  # (N/B, B)
    return [(cols[i * T : (i + 1) * T], cols[i * T + 1 : (i + 1) * T + 1]) for i in range(n)]


def median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else 0.5 * (xs[len(xs) // 2 - 1] + xs[len(xs) // 2])


def timed(fn, data, warmup: int) -> list[float]:
    """Seconds per call of fn on each item of data, after `warmup` untimed calls."""
    out = []
    for i, item in enumerate(data):
        t0 = time.perf_counter()
        fn(item)
        if i >= warmup:
            out.append(time.perf_counter() - t0)
    return out


def gemm_gflops(m: int, k: int, n: int) -> float:
    """NumPy float32 GEMM speed on an (m, k) × (k, n) product, median of 15."""
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = rng.random((m, k), np.float32), rng.random((k, n), np.float32)
    c = np.empty((m, n), np.float32)
    ts = timed(lambda _: np.matmul(a, b, out=c), range(18), 3)
    return 2 * m * k * n / median(ts) / 1e9


def run_lstmcli(shape: tuple, data_path: str, n_windows: int) -> dict:
    import numpy as np

    from lstmcli import model as M
    from lstmcli import optim
    from lstmcli.inference import Stepper, step
    from lstmcli.workspace import Workspace

    V, E, H, L, B, T = shape
    gflops = gemm_gflops(B * T, H, V)
    cfg = M.ModelConfig(vocab_size=V, embed_size=E, hidden_size=H, num_layers=L)
    params = M.init_params(cfg, np.random.default_rng(0))
    ws, opt, st = Workspace(), optim.SGD(lr=1.0), {"state": M.zero_state(cfg, B)}

    def train(xy):
        st["loss"], grads, st["state"] = M.loss_and_grads(params, cfg, *xy, st["state"], ws)
        _, scale = optim.clip_scale(grads, 5.0)
        opt.step(params, grads, scale)  # clip and update in one pass

    ids = np.load(data_path)
    secs = timed(train, windows(ids, B, T, WARMUP + n_windows), WARMUP)
    gen = {"state": M.zero_state(cfg, 1)}

    def generate(tok):
        gen["state"] = step(params, cfg, np.array([tok]), gen["state"]).state

    step_secs = timed(generate, ids[: GEN_WARMUP + GEN_STEPS].tolist(), GEN_WARMUP)
    stepper = Stepper(params, cfg, M.zero_state(cfg, 1))  # what predict --generate uses
    fast_secs = timed(lambda tok: stepper.feed(np.array([tok])),
                      ids[: GEN_WARMUP + GEN_STEPS].tolist(), GEN_WARMUP)  # fmt: skip
    return {"tok_s": B * T / median(secs), "gemm_gflops": gflops, "loss": st["loss"],
            "step_us": 1e6 * median(step_secs),
            "gen_us": 1e6 * median(fast_secs)}  # fmt: skip


def run_torch(shape: tuple, data_path: str, n_windows: int, threads: int) -> dict:
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    V, E, H, L, B, T = shape

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder, self.rnn = nn.Embedding(V, E), nn.LSTM(E, H, L)
            self.decoder = nn.Linear(H, V)
            for p in self.parameters():
                nn.init.uniform_(p, -0.1, 0.1)
            nn.init.zeros_(self.decoder.bias)

        def forward(self, x, state):
            out, state = self.rnn(self.encoder(x), state)  # (T, B, H)
            return self.decoder(out), state  # (T, B, V)

    model, loss_fn = RNNModel(), nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    st = {"state": (torch.zeros(L, B, H), torch.zeros(L, B, H))}

    def train(xy):
        x, y = (torch.from_numpy(np.ascontiguousarray(a)) for a in xy)
        state = tuple(s.detach() for s in st["state"])  # cut the graph at the window edge
        opt.zero_grad(set_to_none=True)
        logits, st["state"] = model(x, state)
        loss = loss_fn(logits.reshape(-1, V), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        st["loss"] = loss.item()

    ids = np.load(data_path)
    secs = timed(train, windows(ids, B, T, WARMUP + n_windows), WARMUP)
    gen = {"state": (torch.zeros(L, 1, H), torch.zeros(L, 1, H))}

    def generate(tok):
        _, gen["state"] = model(torch.tensor([[tok]]), gen["state"])

    with torch.no_grad():
        step_secs = timed(generate, ids[: GEN_WARMUP + GEN_STEPS].tolist(), GEN_WARMUP)
    return {"tok_s": B * T / median(secs), "loss": st["loss"], "gen_us": 1e6 * median(step_secs)}


def child(args: argparse.Namespace) -> None:
    """Measure one framework on one config; print a JSON line with peak RSS added."""
    import resource

    shape = CONFIGS[args.config][0]
    if args.child == "lstmcli":
        out = run_lstmcli(shape, args.data, args.windows)
    else:
        out = run_torch(shape, args.data, args.windows, args.threads)
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps(out))


def measure(framework: str, name: str, data_path: str, args: argparse.Namespace,
            root: Path | None = None) -> dict:  # fmt: skip
    """Run one child process with BLAS/OpenMP threads pinned before NumPy loads; lstmcli is
    imported from ``root`` (default: this checkout)."""
    n = str(args.threads)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": n, "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n}
    root = str(root or Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    cmd = [sys.executable, __file__, "--child", framework, "--config", name, "--data", data_path,
           "--threads", n, "--windows", str(args.windows)]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{framework} run of config {name} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench(name: str, args: argparse.Namespace, have_torch: bool) -> dict:
    import numpy as np

    (V, E, H, L, B, T), target = CONFIGS[name]
    row = {"config": name, "V": V, "E": E, "H": H, "L": L, "B": B, "T": T, "target": target}
    with tempfile.TemporaryDirectory() as tmp:
        data_path = os.path.join(tmp, "ids.npy")
        np.save(data_path, token_ids(V, (WARMUP + args.windows + 1) * B * T + B))
        rounds = []  # lstmcli and torch one after the other, round after round
        before = []  # --compare: the other tree's lstmcli, before ours in every other round
        for i in range(args.rounds):
            if args.compare and i % 2:
                before.append(measure("lstmcli", name, data_path, args, root=args.compare))
            ours = measure("lstmcli", name, data_path, args)
            if args.compare and not i % 2:
                before.append(measure("lstmcli", name, data_path, args, root=args.compare))
            rounds.append((ours, measure("torch", name, data_path, args) if have_torch else None))
    row["rounds"] = [{"lstmcli": o, "torch": t} for o, t in rounds]
    if before:  # this tree / that tree within each round, then the median
        pairs = list(zip([o for o, _ in rounds], before, strict=True))
        row["compare"] = {
            "tree": str(args.compare),
            "lstmcli": med_of(before),
            "train_ratio": median([o["tok_s"] / b["tok_s"] for o, b in pairs]),
            "gen_ratio": median([b["gen_us"] / o["gen_us"] for o, b in pairs]),
        }
    row["lstmcli"] = med_of([o for o, _ in rounds])
    row["torch"] = med_of([t for _, t in rounds]) if have_torch else None
    ours = row["lstmcli"]
    row["flops_per_token"] = flops_per_token(V, E, H, L)
    row["ceiling_tok_s"] = ours["gemm_gflops"] * 1e9 / row["flops_per_token"]
    row["ceiling_pct"] = 100 * ours["tok_s"] / row["ceiling_tok_s"]
    if row["torch"]:  # ratios within each round (measured side by side), then the median
        row["train_ratio"] = median([o["tok_s"] / t["tok_s"] for o, t in rounds])
        row["gen_ratio"] = median([t["gen_us"] / o["gen_us"] for o, t in rounds])
    return row


def med_of(results: list[dict]) -> dict:
    """Field-by-field median of several children's figures."""
    return {k: median([r[k] for r in results]) for k in results[0]}


def table(rows: list[dict], threads: int) -> str:
    def met(ok: bool) -> str:
        return "yes" if ok else "NO"

    def fmt(x, spec: str, unit: str = "") -> str:
        return "-" if x is None else format(x, spec) + unit

    head = ("cfg", "lstmcli tok/s", "torch tok/s", "ratio", "target", "met", "ceiling %",
            "met", "RSS MB ours/torch", "gen µs ours/torch", "speedup", "met")  # fmt: skip
    lines = []
    for r in rows:
        ours, tt = r["lstmcli"], r["torch"] or {}
        ratio, gen = r.get("train_ratio"), r.get("gen_ratio")
        lines.append((
            r["config"], f"{ours['tok_s']:,.0f}", fmt(tt.get("tok_s"), ",.0f"),
            fmt(ratio, ".2f", "x"), f">={r['target']:.1f}x",
            "-" if ratio is None else met(ratio >= r["target"]),
            f"{r['ceiling_pct']:.0f}%", met(r["ceiling_pct"] >= CEILING_GOAL),
            f"{ours['rss_mb']:.0f} / {fmt(tt.get('rss_mb'), '.0f')}",
            f"{ours['gen_us']:.0f} / {fmt(tt.get('gen_us'), '.0f')}",
            fmt(gen, ".1f", "x"), "-" if gen is None else met(gen >= GEN_GOAL),
        ))  # fmt: skip
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=True)]
    out = ["  ".join(str(x).rjust(w) for x, w in zip(row, widths, strict=True))
           for row in (head, *lines)]  # fmt: skip
    out.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"threads: {threads}; targets: training ratio as shown, ceiling >= "
             f"{CEILING_GOAL:.0f}%, generation speedup >= {GEN_GOAL:.0f}x"]  # fmt: skip
    for r in rows:
        shape = "V={V} E={E} H={H} L={L} B={B} T={T}".format(**r)
        loss = f"{r['lstmcli']['loss']:.3f} / {fmt((r['torch'] or {}).get('loss'), '.3f')}"
        notes.append(
            f"{r['config']}: {shape}; {r['flops_per_token'] / 1e6:.1f} MFLOP/token, "
            f"GEMM {r['lstmcli']['gemm_gflops']:.0f} GFLOP/s, "
            f"ceiling {r['ceiling_tok_s']:,.0f} tok/s; last-window loss {loss}"
        )
    for r in rows:
        if c := r.get("compare"):
            notes.append(
                f"{r['config']} against {c['tree']}: training {c['lstmcli']['tok_s']:,.0f} "
                f"tok/s there, this tree / that tree {c['train_ratio']:.3f}x; generation "
                f"{c['lstmcli']['gen_us']:.0f} µs there, speedup {c['gen_ratio']:.3f}x"
            )
    return "\n".join([*out, "", *notes])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="BLAS / torch threads (default 2)")
    ap.add_argument("--config", default="a,b,c", help="comma-separated subset of a,b,c")
    ap.add_argument("--windows", type=int, default=25, help="timed training windows")
    ap.add_argument("--rounds", type=int, default=3, help="alternating runs per config")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument(
        "--compare",
        type=Path,
        metavar="DIR",
        help="another lstmcli source tree to run in the same rounds (before / after)",
    )
    ap.add_argument("--child", choices=("lstmcli", "torch"), help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    names = [c.strip() for c in args.config.split(",") if c.strip()]
    if unknown := [c for c in names if c not in CONFIGS]:
        ap.error(f"unknown config {', '.join(unknown)}; choose from {', '.join(CONFIGS)}")
    have_torch = importlib.util.find_spec("torch") is not None
    if not have_torch:
        print("torch is not installed, measuring lstmcli alone; for the comparison run "
              "pip install -e '.[bench]'", file=sys.stderr)  # fmt: skip
    rows = []
    for name in names:
        print(f"config {name} ...", file=sys.stderr, flush=True)
        rows.append(bench(name, args, have_torch))
    if args.json:
        print(json.dumps({"threads": args.threads, "torch": have_torch, "configs": rows}, indent=2))
    else:
        print(table(rows, args.threads))


if __name__ == "__main__":
    main()
