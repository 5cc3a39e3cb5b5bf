"""Peak memory and time of ``lstm train`` on big corpora, and of ``lstm predict`` on a big prompt.

Each corpus is generated under a temporary folder (never in the repository): lines of
``corpora/tales-en.txt`` with about one word in eight replaced by a made-up word drawn from
a Zipf law over 200,000 of them, so the vocabulary grows with the text as a real one does
(some 50,000 types; the tiny preset keeps the 20,000 most frequent). The *wide* corpora
have typographic apostrophes (U+2019) and an emoji in one line of 1,000: text that a
Python ``str`` would hold in 4 bytes a character. ``lstm train CORPUS --preset tiny
--max-steps N --tokenizer word --val-fraction 0.001`` then runs in a fresh child process
per corpus, with ``LSTM_HOME`` in the same folder. Its peak resident set size comes from
``os.wait4`` (``ru_maxrss``) of that child alone; *prep RSS* is its peak (VmHWM) when the
``start`` event of ``--json`` arrives, once the corpus is read, tokenized and encoded. The
time is split at the same event: *prep* before it, *train* after it (the updates, the
validation of the 0.1 % tail, writing the model).

``lstm predict -`` then reads a 1 MB (and a 10 MB) prompt from standard input with the
model of the first corpus; ``--json`` shows the answer: the tokens fed and the top 3.

``--compare DIR`` runs another lstmcli source tree on the same files, row under row. Each
child's address space is capped (``--limit-gb``, ``--predict-limit-gb``), so a runaway one
fails with a MemoryError instead of taking the machine.

The memory bound to meet: peak RSS grows far slower than the corpus — the int32 ids (4
bytes a token, under a byte per byte of English text) and a bounded working set, never a
copy of the text.

    python bench/big_inputs.py          # 50, 200, 500 MB; 500 MB wide; 1 and 10 MB prompts
    python bench/big_inputs.py --quick  # 5, 20 MB; 20 MB wide; a 1 MB prompt
    python bench/big_inputs.py --sizes 50 --wide "" --prompts 1,10 --ja 5 --compare /tmp/old
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TALES = ROOT / "corpora" / "tales-en.txt"
MARI = ROOT / "corpora" / "mari-ja.txt"
MB = 1 << 20
N_MADE_UP = 200_000  # made-up words to draw from
SWAP = 0.125  # share of words replaced by a made-up one
POOL = 100_000  # distinct generated lines; the corpus is drawn from them at random


def made_up_words(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct pronounceable words of two to four syllables."""
    onsets = [*"bcdfghjklmnprstvwz", "br", "st", "tr", "sh", "ch", "gl", "pl", "qu"]
    vowels = [*"aeiou", "ai", "ea", "ou", "oo"]
    words: dict[str, None] = {}
    while len(words) < n:
        k = int(rng.integers(2, 5))
        w = "".join(onsets[rng.integers(len(onsets))] + vowels[rng.integers(len(vowels))]
                    for _ in range(k))  # fmt: skip
        words[w] = None
    return list(words)


def line_pool(rng: np.random.Generator) -> list[str]:
    """:data:`POOL` lines: sentences of the English corpus with made-up words in them."""
    sentences = [s for ln in TALES.read_text(encoding="utf-8").splitlines()
                 for s in re.split(r"(?<=[.!?]) ", ln) if s.strip()]  # fmt: skip
    vocab = made_up_words(rng, N_MADE_UP)
    ranks = rng.zipf(1.1, size=POOL * 40)
    ranks = ranks[ranks <= N_MADE_UP] - 1
    r = 0
    pool = []
    for _ in range(POOL):
        n = int(rng.integers(1, 6))
        words = " ".join(sentences[i] for i in rng.integers(len(sentences), size=n)).split(" ")
        for j in np.flatnonzero(rng.random(len(words)) < SWAP):
            words[j] = vocab[ranks[r % len(ranks)]]
            r += 1
        pool.append(" ".join(words))
    return pool


def write_corpus(path: Path, size_mb: float, pool: list[str], rng: np.random.Generator) -> None:
    """About ``size_mb`` MB of lines drawn at random from ``pool``."""
    target = int(size_mb * MB)
    mean = sum(len(s.encode()) + 1 for s in pool[:1000]) / 1000
    with open(path, "wb") as f:
        written = 0
        while written < target:
            n = max(1, min(50_000, int((target - written) / mean) + 1))
            chunk = ("\n".join(pool[i] for i in rng.integers(len(pool), size=n)) + "\n").encode()
            f.write(chunk)
            written += len(chunk)


def write_ja_corpus(path: Path, size_mb: float, rng: np.random.Generator) -> None:
    """About ``size_mb`` MB of the Japanese corpus's lines in random order."""
    lines = [ln for ln in MARI.read_text(encoding="utf-8").splitlines() if ln.strip()]
    with open(path, "wb") as f:
        while f.tell() < size_mb * MB:
            f.write(("\n".join(lines[i] for i in rng.permutation(len(lines))) + "\n").encode())


LIMIT_GB = 12.0  # address space a child may take: a runaway one fails, the machine stays up


def measure(args: list[str], env: dict, stdin: Path | None = None) -> dict:
    """Run ``python -m lstmcli ARGS`` in a fresh child: wall seconds, seconds to the first
    JSON line that is a ``start`` event, peak RSS (MB) of that child, and its JSON lines.
    The child's address space is capped at ``env["BIG_INPUTS_LIMIT_GB"]``."""
    limit = int(float(env.get("BIG_INPUTS_LIMIT_GB", LIMIT_GB)) * (1 << 30))

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    t0 = time.perf_counter()
    with open(stdin or os.devnull, "rb") as fin:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lstmcli", *args], env=env, stdin=fin, preexec_fn=cap,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=env["LSTM_HOME"],
        )  # fmt: skip
        events, t_start, rss_start = [], None, None
        for raw in proc.stdout:  # type: ignore[union-attr]
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            if isinstance(ev, dict) and ev.get("event") == "start" and t_start is None:
                t_start = time.perf_counter() - t0
                rss_start = high_water_mb(proc.pid)
            events.append(ev)
        err = proc.stderr.read().decode(errors="replace")  # type: ignore[union-attr]
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    rss = usage.ru_maxrss / 1024  # KiB on Linux
    failed = None
    if proc.returncode != 0:
        last = (err.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        failed = f"failed ({proc.returncode}): {last[:120]}"
    return {
        "wall": wall, "prep": t_start, "rss": rss, "rss_prep": rss_start, "events": events,
        "failed": failed,
    }  # fmt: skip


def high_water_mb(pid: int) -> float | None:
    """The peak RSS (MB) of a running process so far: VmHWM in /proc/PID/status."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def train_row(corpus: Path, tokenizer: str, steps: int, env: dict, out: Path) -> dict:
    args = ["train", str(corpus), "--preset", "tiny", "--max-steps", str(steps), "--json",
            "--tokenizer", tokenizer, "--val-fraction", "0.001", "--out", str(out)]  # fmt: skip
    m = measure(args, env)
    size = corpus.stat().st_size / MB
    row = {"mb": size, "rss": m["rss"], "ratio": m["rss"] / size, "wall": m["wall"]}
    start = next((e for e in m["events"] if e.get("event") == "start"), None)
    if m["failed"] or start is None:
        return {**row, "failed": m["failed"] or "no start event"}
    return {
        **row,
        "tokens": start["train_tokens"] + start["valid_tokens"],
        "vocab": start["vocab_size"],
        "prep": m["prep"],
        "rss_prep": m["rss_prep"],
        "train": m["wall"] - m["prep"],
    }


def predict_row(model: Path, prompt: Path, env: dict) -> dict:
    m = measure(["predict", "-", "--model", str(model), "--json", "-k", "3"], env, stdin=prompt)
    row = {"mb": prompt.stat().st_size / MB, "rss": m["rss"], "wall": m["wall"]}
    if m["failed"] or not m["events"]:
        return {**row, "failed": m["failed"] or "no answer"}
    answer = m["events"][-1]
    return {
        **row,
        "tokens": len(answer["tokens"]),
        "unknown": len(answer.get("unknown", [])),
        "top": " ".join(f"{c['token']}:{c['prob']:.3f}" for c in answer["next"]),
    }


def baseline(env: dict) -> float:
    """Peak RSS (MB) of a child that imports lstmcli's training and does nothing more."""
    code = "import lstmcli.trainjob, lstmcli.cli"
    t = subprocess.Popen([sys.executable, "-c", code], env=env)
    _, _, usage = os.wait4(t.pid, 0)
    t.returncode = 0
    return usage.ru_maxrss / 1024


def pool_types(pool: list[str]) -> int:
    """Distinct word-tokenizer types in the generated lines (a corpus has about as many)."""
    from lstmcli.tokenize import get_tokenizer

    return len(set(get_tokenizer("word").iter_tokens(pool)))


def wide(pool: list[str]) -> list[str]:
    """The lines with typographic apostrophes (U+2019) and, in one line of 1,000, an emoji:
    text that a Python ``str`` holds in 4 bytes a character."""
    return [s.replace("'", "\u2019") + (" \U0001f370" if i % 1000 == 0 else "")
            for i, s in enumerate(pool)]  # fmt: skip


TRAIN_HEAD = (f"{'corpus':<14} {'tree':<4} {'MB':>5} {'tokens':>12} {'vocab':>7}"
              f" {'peak RSS MB':>12} {'prep RSS':>9} {'RSS/MB':>7} {'prep s':>7}"
              f" {'train s':>8} {'total s':>8}")  # fmt: skip


def print_train(name: str, tree: str, r: dict) -> None:
    line = f"{name:<14} {tree:<4} {r['mb']:>5.0f}"
    if "failed" in r:
        line += f" {'':>12} {'':>7} {r['rss']:>12.0f} {'':>9} {r['ratio']:>7.2f}   {r['failed']}"
    else:
        prep_rss = f"{r['rss_prep']:.0f}" if r["rss_prep"] is not None else "?"
        line += (f" {r['tokens']:>12,} {r['vocab']:>7,} {r['rss']:>12.0f} {prep_rss:>9}"
                 f" {r['ratio']:>7.2f}"
                 f" {r['prep']:>7.1f} {r['train']:>8.1f} {r['wall']:>8.1f}")  # fmt: skip
    print(line, flush=True)


def print_predict(tree: str, r: dict) -> None:
    line = f"{r['mb']:>9.1f} {tree:<4}"
    if "failed" in r:
        line += f" {'':>11} {'':>8} {r['rss']:>12.0f} {r['wall']:>7.1f}  {r['failed']}"
    else:
        line += (f" {r['tokens']:>11,} {r['unknown']:>8,} {r['rss']:>12.0f} {r['wall']:>7.1f}"
                 f"  {r['top']}")  # fmt: skip
    print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="50,200,500", help="English corpora, MB")
    ap.add_argument("--wide", default="500", help="English corpora with U+2019 and emoji, MB")
    ap.add_argument("--prompts", default="1,10", help="prompts for predict, MB")
    ap.add_argument("--ja", default="", help="Japanese corpora (ja tokenizer), MB, e.g. 5")
    ap.add_argument("--steps", type=int, default=20, help="training updates per run (default 20)")
    ap.add_argument("--quick", action="store_true", help="5 and 20 MB, 20 MB wide, a 1 MB prompt")
    ap.add_argument("--compare", type=Path, help="another lstmcli source tree to run alongside")
    ap.add_argument("--work", type=Path, help="where the corpora go (default: temporary)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit-gb", type=float, default=LIMIT_GB, help="address space per child")
    ap.add_argument("--predict-limit-gb", type=float, default=3.0, help="the same, for predict")
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.wide, args.prompts = "5,20", "20", "1"

    def mbs(spec: str) -> list[float]:
        return [float(s) for s in spec.split(",") if s]

    with tempfile.TemporaryDirectory(prefix="big-inputs-", dir=args.work) as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        env = {**os.environ, "LSTM_HOME": str(work / "home"), "PYTHONPATH": str(ROOT)}
        env["BIG_INPUTS_LIMIT_GB"] = str(args.limit_gb)
        env.pop("LSTM_MODEL", None)
        trees = {"new": env}
        if args.compare:
            trees["old"] = {**env, "PYTHONPATH": str(args.compare.resolve())}
        rng = np.random.default_rng(args.seed)
        pool = line_pool(rng)
        types = pool_types(pool)
        print(f"python importing lstmcli: {baseline(env):.0f} MB peak RSS; the generated lines"
              f" hold {types:,} word types (vocab: the tiny preset keeps 20,000)\n")  # fmt: skip
        print(TRAIN_HEAD)
        runs = [(f"en-{s:g}MB", s, "word", pool) for s in mbs(args.sizes)]
        runs += [(f"en-wide-{s:g}MB", s, "word", wide(pool)) for s in mbs(args.wide)]
        runs += [(f"ja-{s:g}MB", s, "ja", None) for s in mbs(args.ja)]
        model = None
        for name, size, tokenizer, lines in runs:
            corpus = work / f"{name}.txt"
            if lines is None:
                write_ja_corpus(corpus, size, rng)
            else:
                write_corpus(corpus, size, lines, rng)
            for tree, tree_env in trees.items():
                out = work / f"{name}-{tree}.safetensors"
                r = train_row(corpus, tokenizer, args.steps, tree_env, out)
                print_train(name, tree, r)
                if model is None and tokenizer == "word" and "failed" not in r:
                    model = out
            corpus.unlink()
        if model is None or not args.prompts:
            return
        print(f"\nlstm predict - --json (prompt on standard input; model {model.stem})")
        print(f"{'prompt MB':>9} {'tree':<4} {'tokens fed':>11} {'unknown':>8} {'peak RSS MB':>12}"
              f" {'wall s':>7}  top 3")  # fmt: skip
        for size in mbs(args.prompts):
            prompt = work / f"prompt-{size:g}MB.txt"
            write_corpus(prompt, size, pool, rng)
            for tree, tree_env in trees.items():
                tree_env = {**tree_env, "BIG_INPUTS_LIMIT_GB": str(args.predict_limit_gb)}
                print_predict(tree, predict_row(model, prompt, tree_env))


if __name__ == "__main__":
    main()
