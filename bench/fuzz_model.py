"""Hostile model files: mutate a real small model thousands of ways and open each one with
``lstm predict``, ``lstm info``, ``lstm trace`` and ``lstmcli.load``.

Every mutant must end one of two ways on every reader: a one-line ``error:`` message and
exit status 1, or an answer (exit 0, probabilities finite and in [0, 1]). Anything else is
counted against the reader:

    crash     a traceback, an exit status other than 0 or 1, or an error that is not one line
    wrong     exit 0 with an answer that is not a distribution (NaN, > 1, nothing)
    hang      still running after --timeout seconds (killed)
    leak      peak resident memory above --rss-limit MB
    written   a file created or changed next to the model, in the working folder or in
              LSTM_HOME (a reader writes nothing), or code from the file run

Each reader runs in a child forked from this process, so the ~0.3 s of imports is paid
once; peak memory is the child's ``ru_maxrss`` (which counts the pages it shares with this
parent, so it is an upper bound). Mutations are drawn from a seeded generator: the same
``--seed`` and ``--count`` give the same files. Kinds:

    header-flip   1-8 random bytes of the JSON header changed
    tensor-flip   1-16 random bytes of the tensor data changed
    truncate      the file cut at every length class: inside the length field, inside the
                  header, at its end, inside the data, one byte short
    length-lies   the header length field says 0, one less or more, the file size, 2**63, ...
    huge-shape    a tensor declared 10**12 × 10**12, 2**40, negative, fractional or nested
    dtype         a tensor declared F16, BF16, I32, I64, BOOL, an unknown name or a number
    offsets       data offsets reversed, overlapping, past the end, negative, fractional
    nan-inf       NaN, +Inf, -Inf or 1e38 written into a tensor
    meta-shape    metadata that is valid JSON of the wrong shape (config, train, history,
                  resume, example, format), deeply nested or with huge numbers
    vocab         a vocabulary one longer or shorter, of non-strings, with duplicates
    tokenizer     a tokenizer spec naming something unknown or with options it does not take
    foreign       a pickle whose unpickling would write a file, a zip, random bytes, JSON,
                  text, an empty file

    python bench/fuzz_model.py                 # 10,000 mutants × 4 readers
    python bench/fuzz_model.py --count 300     # the size the test suite runs
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import json
import os
import pickle
import resource
import shutil
import signal
import struct
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

READERS = ("predict", "info", "trace", "load")
PROMPT = "the cat sat on"
KINDS = (
    "header-flip", "tensor-flip", "truncate", "length-lies", "huge-shape", "dtype", "offsets",
    "nan-inf", "meta-shape", "vocab", "tokenizer", "foreign",
)  # fmt: skip
OUTCOMES = ("error", "answer", "crash", "wrong", "hang", "leak", "written")
CORPUS = "\n".join(
    ["the cat sat on the mat .", "mari likes the cake .", "the dog ate the cake on the mat ."] * 200
)


# --------------------------------------------------------------------------- the base model


def make_base(folder: Path) -> bytes:
    """A real small model, trained for a few steps by ``lstm train``."""
    from typer.testing import CliRunner

    from lstmcli.cli import app

    corpus = folder / "base.txt"
    corpus.write_text(CORPUS, encoding="utf-8")
    out = folder / "base.safetensors"
    old = os.environ.get("LSTM_HOME")
    os.environ["LSTM_HOME"] = str(folder / "home")
    try:
        r = CliRunner().invoke(app, ["train", str(corpus), "--preset", "tiny", "--max-steps",
                                     "5", "--out", str(out), "--quiet", "--seed", "0"])  # fmt: skip
    finally:
        if old is None:
            os.environ.pop("LSTM_HOME")
        else:
            os.environ["LSTM_HOME"] = old
    if r.exit_code != 0:
        raise SystemExit(f"could not train the base model: {r.output}")
    from lstmcli import checkpoint

    ck = checkpoint.load(out)  # the clock's figures zeroed: the same bytes on every run
    ck.history = [{**h, "seconds": 0.0, "tokens_per_s": 0.0} for h in ck.history]
    ck.train = {**ck.train, "data": {**ck.train.get("data", {}), "corpus": "base.txt"}}
    checkpoint.save(out, ck)
    return Parts(out.read_bytes()).assemble()  # the header's keys in one order, every run


class Parts:
    """A safetensors file split into its length, header object and data section."""

    def __init__(self, blob: bytes) -> None:
        (self.n,) = struct.unpack("<Q", blob[:8])
        self.header = json.loads(blob[8 : 8 + self.n])
        self.data = blob[8 + self.n :]

    def names(self) -> list[str]:
        return [k for k in self.header if k != "__metadata__"]

    def assemble(self, header: dict | None = None, data: bytes | None = None) -> bytes:
        raw = json.dumps(self.header if header is None else header, sort_keys=True).encode()
        return struct.pack("<Q", len(raw)) + raw + (self.data if data is None else data)

    def copy_header(self) -> dict:
        return json.loads(json.dumps(self.header))


# --------------------------------------------------------------------------- mutations


def _flip(rng: np.random.Generator, blob: bytes, lo: int, hi: int, most: int) -> bytes:
    b = bytearray(blob)
    for _ in range(int(rng.integers(1, most + 1))):
        pos = int(rng.integers(lo, hi))
        b[pos] = int(rng.integers(0, 256))
    return bytes(b)


def header_flip(rng, blob, p):
    return _flip(rng, blob, 8, 8 + p.n, 8)


def tensor_flip(rng, blob, p):
    return _flip(rng, blob, 8 + p.n, len(blob), 16)


def truncate(rng, blob, p):
    lo, hi = [(0, 1), (1, 8), (8, 8 + p.n), (8 + p.n, 8 + p.n + 1), (8 + p.n, len(blob)),
              (len(blob) - 1, len(blob))][int(rng.integers(0, 6))]  # fmt: skip
    return blob[: int(rng.integers(lo, hi))]


def length_lies(rng, blob, p):
    n = [0, 1, 2, p.n - 1, p.n + 1, p.n + 7, len(blob), len(blob) + 1, 2**31, 2**32, 2**63,
         2**64 - 1, int(rng.integers(0, 2**62))][int(rng.integers(0, 13))]  # fmt: skip
    return struct.pack("<Q", n) + blob[8:]


def _entry(rng, p) -> tuple[dict, dict]:
    h = p.copy_header()
    names = p.names()
    return h, h[names[int(rng.integers(0, len(names)))]]


def huge_shape(rng, blob, p):
    h, e = _entry(rng, p)
    shapes = [[10**12, 10**12], [2**40], [2**62, 4], [-1, 8], [0, 10**15], [1.5, 2],
              [[3], [4]], "16", None, [], [2**64], [10**30]]  # fmt: skip
    e["shape"] = shapes[int(rng.integers(0, len(shapes)))]
    if rng.random() < 0.5 and isinstance(e["shape"], list):  # offsets made to agree
        try:
            count = int(np.prod(e["shape"], dtype=object))
            e["data_offsets"] = [e["data_offsets"][0], e["data_offsets"][0] + 4 * count]
        except (TypeError, ValueError):
            pass
    return p.assemble(h)


def dtype(rng, blob, p):
    h, e = _entry(rng, p)
    choices = ["F16", "BF16", "I32", "I64", "BOOL", "U8", "F64", "X", "", 5, None, ["F32"]]
    e["dtype"] = choices[int(rng.integers(0, len(choices)))]
    return p.assemble(h)


def offsets(rng, blob, p):
    h, e = _entry(rng, p)
    b, end = e["data_offsets"]
    choices = [[end, b], [b, end + 4], [0, end - b], [b - 4, end - 4], [-4, end - b - 4],
               [b + 0.5, end + 0.5], [b], [b, end, end], None, [str(b), str(end)],
               [len(p.data), len(p.data) + end - b], [b, 2**70]]  # fmt: skip
    e["data_offsets"] = choices[int(rng.integers(0, len(choices)))]
    return p.assemble(h)


def nan_inf(rng, blob, p):
    h = p.header
    names = p.names()
    e = h[names[int(rng.integers(0, len(names)))]]
    b, end = e["data_offsets"]
    data = bytearray(p.data)
    values = [np.nan, np.inf, -np.inf, 1e38, -1e38, 1e-45]
    itemsize = 8 if e["dtype"] == "F64" else 4
    fmt = "<d" if itemsize == 8 else "<f"
    for _ in range(int(rng.integers(1, 4))):
        if end - b < itemsize:
            break
        at = b + itemsize * int(rng.integers(0, (end - b) // itemsize))
        data[at : at + itemsize] = struct.pack(fmt, values[int(rng.integers(0, len(values)))])
    if rng.random() < 0.5:  # the same everywhere: the whole tensor
        v = values[int(rng.integers(0, len(values)))]
        count = (end - b) // itemsize
        data[b:end] = np.full(count, v, dtype=fmt[1:]).astype(fmt).tobytes()
    return p.assemble(data=bytes(data))


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def meta_shape(rng, blob, p):
    h = p.copy_header()
    meta = h["__metadata__"]
    model = json.loads(meta["model"])
    key = ["model", "train", "history", "resume", "example", "format", "model-field",
           "deep", "number", "non-string", "missing"][int(rng.integers(0, 11))]  # fmt: skip
    wrong = ["[]", "5", '"x"', "null", "true", "{}", "[{}]", '[{"epoch": "a"}]', '{"a": [1]}',
             '{"step": "x", "rng": 5}', "1e999", "-0", "[1, 2]"]  # fmt: skip
    if key in ("model", "train", "history", "resume"):
        meta[key] = wrong[int(rng.integers(0, len(wrong)))]
    elif key == "example":
        meta[key] = ["", "\x00\x1b[2J\x07", "x" * 1_000_000, "\n" * 1000, "\ud800"][
            int(rng.integers(0, 5))
        ]
    elif key == "format":
        meta[key] = ["lstmcli/2", "", "lstmcli/1 ", "LSTMCLI/1"][int(rng.integers(0, 4))]
    elif key == "model-field":
        field = list(model)[int(rng.integers(0, len(model)))]
        values = [-1, 0, 10**9, 10**400, 0.5, "1", None, [], {}, True, "gru", "float16",
                  float("nan")]  # fmt: skip
        model[field] = values[int(rng.integers(0, len(values)))]
        if rng.random() < 0.2:
            model["unheard_of"] = 1
        meta["model"] = json.dumps(model)
    elif key == "deep":
        target = ["model", "train", "history", "vocab", "tokenizer", "resume"][
            int(rng.integers(0, 6))
        ]
        meta[target] = _deep(int(rng.choice([100, 2_000, 200_000])))
    elif key == "number":
        target = ["model", "train", "history", "resume"][int(rng.integers(0, 4))]
        big = "9" * int(rng.choice([5_000, 50_000]))
        meta[target] = (
            json.dumps({**model, "hidden_size": 0}).replace("0", big, 1)
            if target == "model"
            else f'{{"epochs": {big}}}'
            if target != "history"
            else f'[{{"epoch": {big}}}]'
        )
    elif key == "non-string":
        h["__metadata__"] = {**meta, "model": model}  # a JSON object, not a string
    else:
        meta.pop(["model", "vocab", "tokenizer", "format"][int(rng.integers(0, 4))])
    return p.assemble(h)


def vocab(rng, blob, p):
    h = p.copy_header()
    meta = h["__metadata__"]
    v = json.loads(meta["vocab"])
    choice = int(rng.integers(0, 8))
    if choice == 0:
        v = [*v, "extra"]
    elif choice == 1:
        v = v[:-1]
    elif choice == 2:
        v = list(range(len(v)))
    elif choice == 3:
        v[1] = v[2]
    elif choice == 4:
        v = {t: i for i, t in enumerate(v)}
    elif choice == 5:
        v = [t + "\x00\n" for t in v]  # still unique strings: a valid, odd vocabulary
    elif choice == 6:
        v = [[t] for t in v]
    else:
        v = ["<unk>"] * len(v)
    meta["vocab"] = json.dumps(v)
    return p.assemble(h)


def tokenizer(rng, blob, p):
    h = p.copy_header()
    specs = [{"name": "nonesuch"}, {"name": "__import__('os').system('true')"}, {"name": 5},
             {"name": "word", "options": {"mode": "Z"}}, {"name": "ja", "options": {"mode": "Q"}},
             {"name": "ja", "options": {"mode": "C"}}, {"name": "char"},
             {"name": "word", "options": []}, {}, [], "word", {"name": "auto"},
             {"name": "ja-phrase", "options": {"mode": 7}}, {"name": "word", "versions": 3},
             {"name": "ja", "versions": {"sudachipy": "0.0.1"}, "options": {"mode": "C"}},
             ]  # fmt: skip
    h["__metadata__"]["tokenizer"] = json.dumps(specs[int(rng.integers(0, len(specs)))])
    return p.assemble(h)


class _Exploit:
    """Unpickling this would create the file named in the environment variable FUZZ_MARKER."""

    def __reduce__(self):
        return (os.system, ('touch "$FUZZ_MARKER"',))


def foreign(rng, blob, p):
    choice = int(rng.integers(0, 8))
    if choice == 0:
        return pickle.dumps(_Exploit(), protocol=int(rng.integers(2, 6)))
    if choice == 1:  # a PyTorch-style zip around a pickle
        import io
        import zipfile

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("archive/data.pkl", pickle.dumps(_Exploit()))
        return buf.getvalue()
    if choice == 2:  # a pickle hidden in the metadata
        h = p.copy_header()
        h["__metadata__"]["example"] = base64.b64encode(pickle.dumps(_Exploit())).decode()
        h["__metadata__"]["model"] = pickle.dumps(_Exploit(), protocol=0).decode("latin-1")
        return p.assemble(h)
    if choice == 3:
        return rng.bytes(int(rng.integers(0, 4096)))
    if choice == 4:
        return json.dumps({"model": "lstm"}).encode()
    if choice == 5:
        return CORPUS.encode()[: int(rng.integers(0, 2000))]
    if choice == 6:
        return b""
    return blob + rng.bytes(int(rng.integers(1, 64)))  # trailing bytes after the data


MUTATORS: dict[str, Callable] = dict(zip(KINDS, (
    header_flip, tensor_flip, truncate, length_lies, huge_shape, dtype, offsets, nan_inf,
    meta_shape, vocab, tokenizer, foreign,
), strict=True))  # fmt: skip


def mutants(base: bytes, count: int, seed: int):
    """(index, kind, bytes) for ``count`` mutants, the kinds in turn."""
    p = Parts(base)
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        rng = np.random.default_rng([seed, i])
        yield i, kind, MUTATORS[kind](rng, base, p)


# --------------------------------------------------------------------------- one reader


def _reader(reader: str, model: Path) -> None:
    """Run one reader on ``model``, as a user would; exit as the command does."""
    from lstmcli import entry

    if reader == "load":
        import lstmcli
        from lstmcli.errors import LstmError

        try:
            m = lstmcli.load(model)
            answer = m.predict(PROMPT, k=5)
            print(json.dumps({"next": [{"token": t, "prob": float(q)} for t, q in answer]}))
        except LstmError as e:
            sys.stderr.write(f"error: {e}\n")
            sys.exit(1)
        sys.exit(0)
    argv = {
        "predict": ["predict", PROMPT, "--model", str(model), "--json"],
        "info": ["info", str(model)],
        "trace": ["trace", PROMPT, "--model", str(model)],
    }[reader]
    entry.main(argv)
    sys.exit(0)


def _child(reader: str, model: Path, out: Path, timeout: float, as_limit: int) -> None:
    """The forked child: output to files, an alarm for hangs, a cap on address space."""
    fd_out = os.open(out / "stdout", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    fd_err = os.open(out / "stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd_out, 1)
    os.dup2(fd_err, 2)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
    code = 0
    try:
        _reader(reader, model)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except MemoryError:
        traceback.print_exc()
        code = 75
    except BaseException:
        traceback.print_exc()
        code = 70
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.parent.name != "out"
    }


def _judge(reader: str, status: int, rss_mb: float, rss_limit: float, out: Path) -> tuple[str, str]:
    """(outcome, detail) of one finished child."""
    err = (out / "stderr").read_text(errors="replace")
    text = (out / "stdout").read_text(errors="replace")
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return ("hang" if sig == signal.SIGALRM else "crash"), f"killed by signal {sig}"
    code = os.WEXITSTATUS(status)
    if code == 75:
        return "leak", err.strip().splitlines()[-1] if err.strip() else "MemoryError"
    if "Traceback" in err or code not in (0, 1):
        last = err.strip().splitlines()[-1] if err.strip() else ""
        return "crash", f"exit {code}: {last[:200]}"
    if rss_mb > rss_limit:
        return "leak", f"peak RSS {rss_mb:.0f} MB"
    if code == 1:
        lines = err.strip().splitlines()
        if len(lines) != 1 or not lines[0].startswith("error: "):
            return "crash", f"error is not one line: {err[:200]!r}"
        return "error", lines[0]
    if reader in ("predict", "load"):
        try:
            probs = [c["prob"] for c in json.loads(text)["next"]]
        except (ValueError, KeyError, TypeError):
            return "wrong", f"not a JSON answer: {text[:200]!r}"
        ok = probs and all(np.isfinite(q) and 0 <= q <= 1 for q in probs) and sum(probs) <= 1.001
        return ("answer", "") if ok else ("wrong", f"probabilities {probs}")
    return ("answer", "") if text.strip() else ("wrong", "exit 0 and nothing printed")


def run(count: int, seed: int, timeout: float, rss_limit: float, workers: int,
        folder: Path, progress: bool = True) -> list[dict]:  # fmt: skip
    """Fuzz ``count`` mutants on every reader; one record per (mutant, reader)."""
    import lstmcli.cli  # noqa: F401  (imported once here, inherited by every child)
    from lstmcli import entry

    entry.one_blas_thread()
    base = make_base(folder)
    as_limit = int(max(4 * rss_limit, 2048) * 2**20)
    running: dict[int, tuple[dict, Path, dict[str, str], float]] = {}
    records: list[dict] = []

    def reap(block: bool) -> None:
        while running:
            pid, status, usage = os.wait4(-1, 0 if block else os.WNOHANG)
            if pid == 0:
                for pid2, (*_, started) in list(running.items()):
                    if time.monotonic() - started > timeout + 10:  # the alarm did not fire
                        os.kill(pid2, signal.SIGKILL)
                return
            rec, case, before, _ = running.pop(pid)
            rss = usage.ru_maxrss / 1024
            rec["outcome"], rec["detail"] = _judge(rec["reader"], status, rss, rss_limit,
                                                   case / "out")  # fmt: skip
            rec["rss_mb"] = round(rss, 1)
            after = _snapshot(case)
            if after != before and rec["outcome"] not in ("crash", "hang"):
                changed = sorted(set(after.items()) ^ set(before.items()))
                rec["outcome"], rec["detail"] = "written", str(changed[:3])
            records.append(rec)
            shutil.rmtree(case, ignore_errors=True)
            if block:
                return

    t0 = time.monotonic()
    for i, kind, blob in mutants(base, count, seed):
        for reader in READERS:
            while len(running) >= workers:
                reap(block=False)
                if len(running) >= workers:
                    time.sleep(0.002)
            case = folder / f"case-{i}-{reader}"
            (case / "out").mkdir(parents=True)
            model = case / "model.safetensors"
            model.write_bytes(blob)
            before = _snapshot(case)
            env_home, env_marker = str(case / "home"), str(case / "PWNED")
            pid = os.fork()
            if pid == 0:
                os.chdir(case)
                os.environ["LSTM_HOME"] = env_home
                os.environ["FUZZ_MARKER"] = env_marker
                os.environ.pop("LSTM_MODEL", None)
                _child(reader, model, case / "out", timeout, as_limit)
            rec = {"mutant": i, "kind": kind, "reader": reader, "size": len(blob)}
            running[pid] = (rec, case, before, time.monotonic())
        if progress and (i + 1) % 250 == 0:
            sys.stderr.write(f"  {i + 1}/{count} mutants, {time.monotonic() - t0:.0f} s\n")
    while running:
        reap(block=True)
    return records


def report(records: list[dict], seconds: float) -> str:
    """Counts by kind and by reader, outcome columns; then every bad case."""
    lines = []
    by = collections.defaultdict(collections.Counter)
    rss = collections.defaultdict(float)
    for r in records:
        by[r["kind"]][r["outcome"]] += 1
        by["reader " + r["reader"]][r["outcome"]] += 1
        by["all"][r["outcome"]] += 1
        rss[r["kind"]] = max(rss[r["kind"]], r["rss_mb"])
        rss["all"] = max(rss["all"], r["rss_mb"])
    head = f"{'':16}" + "".join(f"{o:>9}" for o in OUTCOMES) + f"{'peak MB':>9}"
    lines.append(head)
    for key in [*KINDS, *(f"reader {x}" for x in READERS), "all"]:
        c = by[key]
        peak = f"{rss[key]:9.0f}" if key in rss else " " * 9
        lines.append(f"{key:16}" + "".join(f"{c[o]:9d}" for o in OUTCOMES) + peak)
    bad = [r for r in records if r["outcome"] not in ("error", "answer")]
    lines.append(f"{len(records)} runs in {seconds:.0f} s; {len(bad)} bad")
    for r in bad[:40]:
        lines.append(f"  #{r['mutant']} {r['kind']} {r['reader']}: {r['outcome']}: {r['detail']}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=10_000, help="mutants (each on 4 readers)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds before a run is a hang")
    ap.add_argument("--rss-limit", type=float, default=300.0, help="MB of peak RSS allowed")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write every record to this file")
    args = ap.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lstm-fuzz-") as tmp:
        records = run(args.count, args.seed, args.timeout, args.rss_limit, args.workers,
                      Path(tmp))  # fmt: skip
    print(report(records, time.perf_counter() - t0))
    print(f"command: python bench/fuzz_model.py --count {args.count} --seed {args.seed}")
    if args.json:
        args.json.write_text(json.dumps(records, indent=0))
    bad = sum(r["outcome"] not in ("error", "answer") for r in records)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
