"""Does the default model remember? Train it from scratch, then ask for the cake.

For each language (Japanese: ``lstm train`` with no corpus; English: ``lstm train --lang
en``, both the staged *lesson* preset: stages cue, near, far line by line, then the epochs on
the bundled corpus) this script trains the default model in a child process, exactly as a
user does, once per ``--seeds`` seed, and prints for each model, then the median and the
worst over the seeds:

- the machine: the float32 GEMM rate of numpy (1024×1024, median of several, measured at
  the start) and the BLAS threads, beside the wall times;
- the wall time of ``lstm train`` (tokenizing included) and its own seconds; the recall
  probe's trajectory round by round (``cue 17 % → near 65 % → far 85 % → epoch 1 90 % →
  …``); the best validation perplexity (validation line by line, as training computes it)
  and the stream perplexity of ``lstm eval`` on the validation split's whole lines (the
  state carried across lines, as published perplexities are computed);
- **fresh episodes**: top-1 recall of the cued cake after the question, on episodes drawn by
  the corpus generator with a seed nothing else uses (``--episode-seed``, 777: the corpora
  use 0, the lesson's stages 1, 2, 3, the training's probe 12345), by the number of filler
  sentences and by the number of tokens from the cue's cake to the end of the question;
- **hand-written prompts**, none of them in the corpus, in three sets: the *dev* set
  (``bench/prompts/remember-LANG.txt``), measured while the lesson was chosen, the *test*
  set (``remember-LANG-test.txt``), written after the first lesson (and measured since on
  later candidates too, so no longer strictly held out), and *test2*
  (``remember-LANG-test2.txt``), written after the lesson with detail forms was chosen:
  top-1 recall when the cue sentence comes right before the question (*near*), two to four
  sentences earlier (*far*), in one long sentence running on into the question (*seed*),
  with someone else's cake named too (*distractor*), and with words the corpus lacks, read
  as ``<unk>``, between the cue and the question (*unknown*; reported, no target); for
  prompts with no cue, the largest probability any one cake gets (it should stay near
  1/12: the model must not just have a favourite);
- the seed sentence of the project (Japanese): its top candidates and any ``<unk>`` in it;
- the targets, PASS or FAIL on the worst seed, in every set: ≥ 90 % near, far and seed,
  ≥ 80 % distractor, no-cue largest p ≤ 0.3, fresh episodes ≥ 97 %, validation perplexity
  < 1.98 (ja) / 2.16 (en).

Chance is 1/12 for every recall figure. Top-1 means the cake is the most likely next token
of the whole vocabulary, not just among the cakes.

    python bench/bench_remember.py                    # both languages, trained from scratch
    python bench/bench_remember.py --seeds 0,1,2      # three models per language
    python bench/bench_remember.py --lang ja --model ~/.local/share/lstmcli/model.safetensors
    python bench/bench_remember.py --json
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lstmcli import inference, stories, textio, training  # noqa: E402
from lstmcli.predict import Predictor, Prompt  # noqa: E402

TRAIN_ARGS = {"ja": [], "en": ["--lang", "en"]}  # the bundled corpus of each language
# hand-written prompts: "dev" was used while the lesson was chosen; "test" was written after
# the first lesson and measured on later candidates too; "test2" after the lesson with
# detail forms, measured once on its models
PROMPTS = {
    lang: {
        "dev": ROOT / "bench" / "prompts" / f"remember-{lang}.txt",
        "test": ROOT / "bench" / "prompts" / f"remember-{lang}-test.txt",
        "test2": ROOT / "bench" / "prompts" / f"remember-{lang}-test2.txt",
    }
    for lang in stories.LANGS
}
SEED_SENTENCE = (
    "麻里ちゃんが、玲奈ちゃんととても幸せそうにモンブランを食べている顔を見てピンときたのですが、"
    "僕の麻里ちゃんの愛してやまないケーキは"
)
BUCKETS = ((0, 19), (20, 39), (40, 59), (60, 10_000))  # tokens from the cue's cake to the end
EPISODE_SEED = 777  # corpora 0, lesson stages 1, 2, 3, the training's recall probe 12345
KINDS = ("near", "far", "seed", "distractor", "unknown")  # hand-written kinds, top-1 recall
SETS = ("dev", "test", "test2")  # the prompt files of each language
TARGETS = {"near": 0.9, "far": 0.9, "seed": 0.9, "distractor": 0.8}  # "unknown": reported
SIGN = {">=": "≥", "<=": "≤", "<": "<"}  # how a target prints
VALID_PPL = {"ja": 1.98, "en": 2.16}  # the best validation perplexity must stay below


@dataclass(frozen=True)
class Metric:
    """One figure of a run, its target, and which way is better."""

    key: str
    label: str
    higher: bool  # higher is better (recall), else lower (perplexity, seconds, p)
    kind: str  # how to print it: "pct", "ppl", "s" or "p"
    op: str | None = None  # the target: ">=", "<=" or "<", with value
    value: float | None = None

    def passes(self, x: float) -> bool:
        return {">=": x >= self.value, "<=": x <= self.value, "<": x < self.value}[self.op]


def metrics(lang: str) -> tuple[Metric, ...]:
    return (
        Metric("wall_s", "train wall", False, "s"),
        Metric("valid_ppl", "valid ppl, lines", False, "ppl", "<", VALID_PPL[lang]),
        Metric("stream_ppl", "valid ppl, stream", False, "ppl"),
        Metric("fresh", "fresh episodes", True, "pct", ">=", 0.97),
        *(
            Metric(
                f"{k}/{w}", f"{k} ({w})", True, "pct", *((">=", TARGETS[k]) if k in TARGETS else ())
            )
            for w in SETS
            for k in KINDS
        ),
        *(Metric(f"nocue/{w}", f"no cue max p ({w})", False, "p", "<=", 0.3) for w in SETS),
    )


@dataclass
class Tally:
    """Hits out of a number of prompts."""

    hits: int = 0
    n: int = 0
    probs: list[float] = field(default_factory=list)  # p(cued cake), for the mean

    def add(self, hit: bool, p: float) -> None:
        self.hits += int(hit)
        self.n += 1
        self.probs.append(p)

    def as_dict(self) -> dict:
        return {
            "recall": self.hits / self.n if self.n else None,
            "n": self.n,
            "mean_p": float(np.mean(self.probs)) if self.probs else None,
        }


def blas_threads() -> int | None:
    """Threads of numpy's OpenBLAS (as wheels bundle it), or None where it cannot be asked."""
    libs = Path(np.__file__).parent.with_name("numpy.libs")
    names = (
        "scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
        "openblas_get_num_threads",
    )  # fmt: skip
    for path in sorted(libs.glob("*openblas*")):
        try:
            lib = ctypes.CDLL(str(path))  # the copy numpy loaded: the same library
        except OSError:
            continue
        for name in names:
            fn = getattr(lib, name, None)
            if fn is not None:
                return int(fn())
    return None


def machine(n: int = 1024, reps: int = 9) -> dict:
    """The float32 GEMM rate of this machine now (median of ``reps`` n×n matmuls)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm up: threads started, pages touched
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return {
        "gemm_gflops": 2 * n**3 / float(np.median(times)) / 1e9,
        "gemm": f"float32 {n}×{n}, median of {reps}",
        "blas_threads": blas_threads(),
        "cpus": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
    }


def answer(pred: Predictor, text: str) -> tuple[np.ndarray, Prompt]:
    """Next-token probabilities after ``text``, and the prompt as the model saw it."""
    prompt = pred.encode(text)
    return inference.softmax(pred.run(prompt).logits[-1]), prompt


def last_mention(tokens: list[str], cake: str) -> int:
    """Index of the last token of the last mention of ``cake``, which a tokenizer may have
    cut in pieces (Sudachi reads ショートケーキ as ショート + ケーキ after some particles)."""
    for end in range(len(tokens) - 1, -1, -1):
        text = ""
        for start in range(end, -1, -1):
            text = tokens[start] + text
            if text == cake:
                return end
            if not cake.endswith(text):
                break
    raise SystemExit(f"the prompt does not name its cake {cake!r}: {tokens}")


def fresh_episodes(pred: Predictor, lang: str, n: int, seed: int) -> dict:
    """Recall on ``n`` generated episodes, by filler sentences and by cue-to-question
    distance in tokens."""
    g = stories.load_grammar(lang)
    buckets = {b: Tally() for b in BUCKETS}
    fillers: dict[int, Tally] = {}
    total = Tally()
    for probe in stories.probes(lang, n, seed):
        p, prompt = answer(pred, probe.prompt)
        tokens = prompt.tokens
        cake_id = pred.vocab.index.get(probe.cake)
        if cake_id is None:
            raise SystemExit(f"the model's vocabulary lacks the cake {probe.cake!r}")
        d = len(tokens) - 1 - last_mention(tokens, probe.cake)
        hit = int(np.argmax(p)) == cake_id
        total.add(hit, float(p[cake_id]))
        fillers.setdefault(probe.filler, Tally()).add(hit, float(p[cake_id]))
        for lo, hi in BUCKETS:
            if lo <= d <= hi:
                buckets[(lo, hi)].add(hit, float(p[cake_id]))
    names = {(lo, hi): f"{lo}-{hi}" if hi < 10_000 else f"{lo}+" for lo, hi in BUCKETS}
    by_distance = {names[b]: t.as_dict() for b, t in buckets.items()}
    by_filler = {str(f): fillers[f].as_dict() for f in sorted(fillers)}
    return {
        "all": total.as_dict(),
        "by_filler": by_filler,
        "by_distance": by_distance,
        "cakes": len(g.cakes),
        "seed": seed,
    }


def hand_key(which: str) -> str:
    """Where a run's figures for prompt set ``which`` are: "hand", "hand_test", …"""
    return "hand" if which == "dev" else f"hand_{which}"


def read_prompts(lang: str, which: str = "dev") -> list[tuple[str, str]]:
    """(kind, frame) pairs of a hand-written prompt file (``which``: dev or test)."""
    rows = []
    for line in PROMPTS[lang][which].read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, frame = line.split("\t")
            rows.append((kind, frame))
    return rows


def hand_written(pred: Predictor, lang: str, which: str = "dev") -> dict:
    """Recall on the hand-written frames, each filled with every cake; no-cue maxima."""
    cakes = stories.load_grammar(lang).cakes
    ids = [pred.vocab.index[c] for c in cakes]
    kinds: dict[str, Tally] = {}
    nocue: list[dict] = []
    unknown: set[str] = set()
    for kind, frame in read_prompts(lang, which):
        if kind == "nocue":
            p, prompt = answer(pred, frame)
            unknown |= set(prompt.unknown)
            best = int(np.argmax(p[ids]))
            nocue.append({"prompt": frame, "max_cake": cakes[best], "max_p": float(p[ids][best])})
            continue
        for j, cake in enumerate(cakes):
            other = cakes[(j + 5) % len(cakes)]
            text = frame.format(cake=cake, other=other)
            p, prompt = answer(pred, text)
            unknown |= set(prompt.unknown)
            kinds.setdefault(kind, Tally()).add(int(np.argmax(p)) == ids[j], float(p[ids[j]]))
    return {
        "kinds": {k: t.as_dict() for k, t in kinds.items()},
        "nocue": nocue,
        "unknown_words": sorted(unknown),
    }


def seed_sentence(pred: Predictor) -> dict:
    p, prompt = answer(pred, SEED_SENTENCE)
    top = np.argsort(-p)[:3]
    return {
        "top": [(pred.vocab.tokens[i], float(p[i])) for i in top],
        "unknown_words": prompt.unknown,
        "tokens": len(prompt.tokens),
    }


def rounds_of(records: list[dict]) -> list[dict]:
    """The rounds of a run, stages then epochs, from its ``epoch`` events (or the model's
    history, which holds the same fields): name, probe recall, validation perplexity."""
    return [
        {
            "round": r["stage"] if r.get("stage") else f"epoch {r['epoch']}",
            "recall": r.get("recall"),
            "valid_ppl": r.get("valid_ppl"),
        }
        for r in records
    ]


def train_lesson(lang: str, seed: int, out: Path) -> dict:
    """``lstm train`` as a user runs it (the lesson preset); wall time, rounds, validation."""
    cmd = [sys.executable, "-m", "lstmcli", "train", *TRAIN_ARGS[lang]]
    cmd += ["--seed", str(seed), "--out", str(out), "--json"]
    env = {**os.environ, "LSTM_HOME": str(out.parent / "home")}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"training failed:\n{proc.stderr}")
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    start = next(e for e in events if e.get("event") == "start")
    done = next(e for e in events if e.get("event") == "done")
    rounds = [e for e in events if e.get("event") == "epoch"]
    return {
        "command": " ".join(["lstm", *cmd[3:]]),
        "wall_s": wall,
        "seconds": done.get("seconds"),
        "stages": start.get("stages"),
        "valid_tokens": start.get("valid_tokens"),
        "rounds": rounds_of(rounds),
        "valid_ppl": done.get("best_valid_ppl"),
        "best_round": done.get("best_stage") or f"epoch {done.get('best_epoch')}",
        "best_recall": done.get("best_recall"),
        "epochs": sum(1 for e in rounds if not e.get("stage")),
        "outcome": done.get("outcome"),
    }


def recorded_training(pred: Predictor) -> dict:
    """What a given model's file records of its training (no wall time: not run here)."""
    best = training.best_epoch(pred.ckpt.history)
    return {
        "command": None,
        "seed": pred.ckpt.train.get("seed"),
        "rounds": rounds_of(pred.ckpt.history),
        "valid_ppl": best.get("valid_ppl") if best else None,
        "best_round": (best.get("stage") or f"epoch {best.get('epoch')}") if best else None,
        "best_recall": best.get("recall") if best else None,
    }


def validation_file(pred: Predictor, dest: Path) -> tuple[Path, int, int] | None:
    """The model's validation text as a file for ``lstm eval``: its ``--valid`` file, or the
    whole lines of the corpus tail that training held out (the split cuts the token stream,
    so its first, partial line is left out). With the split's size in tokens and the file's;
    None when the model's file does not say, or the corpus is gone."""
    data = pred.ckpt.train.get("data", {})
    if data.get("valid"):
        path = Path(data["valid"])
        return (path, -1, -1) if path.exists() else None
    corpus, fraction = data.get("corpus"), data.get("val_fraction")
    if not corpus or not fraction or not Path(corpus).exists():
        return None
    text = textio.read_text(corpus, data.get("encoding"), data.get("format") or "auto")
    lines = list(textio.split_lines(text))
    counts = [sum(1 for _ in pred.tokenizer.iter_tokens([line])) for line in lines]
    n_valid = max(2, round(sum(counts) * fraction))  # as lstmcli.data.split_tail
    kept, used = 0, 0
    while kept < len(lines) and used + counts[-1 - kept] <= n_valid:
        used += counts[-1 - kept]
        kept += 1
    dest.write_text("\n".join(lines[len(lines) - kept :]) + "\n", encoding="utf-8")
    return dest, n_valid, used


def stream_perplexity(pred: Predictor, model: Path, dest: Path) -> dict | None:
    """``lstm eval`` on the validation text (written to ``dest`` where it is the corpus
    tail): one stream, the state carried across lines."""
    found = validation_file(pred, dest)
    if found is None:
        return None
    path, split_tokens, file_tokens = found
    cmd = [sys.executable, "-m", "lstmcli", "eval", str(path), "--model", str(model), "--json"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"lstm eval failed:\n{proc.stderr}")
    r = json.loads(proc.stdout)
    return {
        "ppl": r["perplexity"],
        "top1": r.get("top1"),
        "tokens": r.get("tokens"),
        "split_tokens": split_tokens,
        "file_tokens": file_tokens,
        "wall_s": time.perf_counter() - t0,
    }


def measure(
    lang: str, model: Path | None, seed: int | None, episodes: int, episode_seed: int,
    work: Path,
) -> dict:  # fmt: skip
    result: dict = {"lang": lang, "seed": seed, "chance": 1 / 12}
    if model is None:
        model = work / f"seed{seed}" / f"{lang}.safetensors"
        model.parent.mkdir(parents=True, exist_ok=True)
        result["training"] = train_lesson(lang, seed, model)
    result["model"] = str(model)
    pred = Predictor.load(model)
    if "training" not in result:
        result["training"] = recorded_training(pred)
        result["seed"] = result["training"]["seed"]
    result["training"]["preset"] = pred.ckpt.train.get("data", {}).get("preset")
    dest = work / f"{lang}-seed{result['seed']}.valid.txt"
    result["stream"] = s = stream_perplexity(pred, model, dest)
    expected = result["training"].get("valid_tokens")
    if s and expected is not None and s["split_tokens"] >= 0:
        s["corpus_changed"] = s["split_tokens"] != expected  # edited since training
    result["fresh"] = fresh_episodes(pred, lang, episodes, episode_seed)
    for w in SETS:
        result[hand_key(w)] = hand_written(pred, lang, w)
    if lang == "ja":
        result["seed_sentence"] = seed_sentence(pred)
    return result


def figures(r: dict) -> dict[str, float | None]:
    """The figures of one run that have targets or are compared across seeds."""
    out = {
        "wall_s": r["training"].get("wall_s"),
        "valid_ppl": r["training"]["valid_ppl"],
        "stream_ppl": r["stream"]["ppl"] if r["stream"] else None,
        "fresh": r["fresh"]["all"]["recall"],
    }
    for w in SETS:
        hand = r[hand_key(w)]
        kinds, nocue = hand["kinds"], hand["nocue"]
        out |= {f"{k}/{w}": kinds[k]["recall"] if k in kinds else None for k in KINDS}
        out[f"nocue/{w}"] = max(x["max_p"] for x in nocue) if nocue else None
    return out


def summarize(lang: str, runs: list[dict]) -> dict:
    """Each figure over the seeds: the values, the median and the worst; the worst against
    its target."""
    per_run = [figures(r) for r in runs]
    out = {}
    for m in metrics(lang):
        values = [f[m.key] for f in per_run]
        known = [v for v in values if v is not None]
        worst = (min(known) if m.higher else max(known)) if known else None
        row = {
            "values": values,
            "median": float(np.median(known)) if known else None,
            "worst": worst,
        }
        if m.op is not None:
            row["target"] = f"{SIGN[m.op]} {_fmt(m.value, m.kind)}"
            row["pass"] = None if worst is None else m.passes(worst)
        out[m.key] = row
    return out


def _pct(d: dict) -> str:
    return "—" if d["recall"] is None else f"{100 * d['recall']:5.1f} % of {d['n']:>3}"


def _fmt(x: float | None, kind: str) -> str:
    if x is None:
        return "—"
    if kind in ("pct", "pct0"):
        return f"{100 * x:.{1 if kind == 'pct' else 0}f} %"
    return {"ppl": f"{x:.3f}", "s": f"{x:.0f} s", "p": f"{x:.2f}"}[kind]


def _trajectory(rounds: list[dict]) -> str:
    """``cue 17 % → near 65 % → far 85 % → epoch 1 90 %``"""
    return " → ".join(f"{r['round']} {_fmt(r['recall'], 'pct0')}" for r in rounds) or "—"


def show_machine(m: dict) -> None:
    threads = m["blas_threads"] if m["blas_threads"] is not None else "?"
    print(f"machine    {m['gemm_gflops']:.1f} GFLOP/s ({m['gemm']}), {threads} BLAS threads, "
          f"{m['cpus']} CPUs")  # fmt: skip


def show(r: dict, m: dict) -> None:
    print(f"\n== {r['lang']} · seed {r['seed']} · {r['model']}")
    t = r["training"]
    if t.get("command"):
        print(f"training   {t['command']}")
        print(f"           {t['wall_s']:.0f} s wall ({t['seconds']:.0f} s by lstm), "
              f"preset {t['preset']}: stages {t['stages']}, then {t['epochs']} epoch(s) "
              f"({t['outcome']}); "
              f"machine {m['gemm_gflops']:.1f} GFLOP/s")  # fmt: skip
    else:
        print(f"training   not run here; the model records preset {t['preset']}, seed {t['seed']}")
    print(f"recall     {_trajectory(t['rounds'])}")
    best = _fmt(t["valid_ppl"], "ppl")
    print(f"valid ppl  {best} line by line (best round: {t['best_round']}, "
          f"recall {_fmt(t['best_recall'], 'pct')})")  # fmt: skip
    s = r["stream"]
    if s:
        part = "" if s["split_tokens"] < 0 else (
            f", the split's whole lines: {s['file_tokens']:,} of {s['split_tokens']:,} tokens"
        )  # fmt: skip
        print(f"           {s['ppl']:.3f} in one stream (lstm eval, {s['wall_s']:.0f} s{part})")
        if s.get("corpus_changed"):
            print("           (the corpus changed since training: not the split it held out)")
    print(f"chance     {100 * r['chance']:.1f} % (1 in 12 cakes)")
    f = r["fresh"]
    print(f"fresh episodes (generator seed {f['seed']}, unused elsewhere): {_pct(f['all'])}")
    for name, d in f["by_filler"].items():
        print(f"  {name:>7} filler sentences           {_pct(d)}   mean p {d['mean_p']:.2f}")
    for name, d in f["by_distance"].items():
        if d["n"]:
            print(f"  {name:>7} tokens from cue to answer   {_pct(d)}   mean p {d['mean_p']:.2f}")
    for w in SETS:
        h = r[hand_key(w)]
        print(f"hand-written prompts, {w} set (not in the corpus), each frame with all 12 cakes:")
        for kind, d in h["kinds"].items():
            print(f"  {kind:<10} {_pct(d)}   mean p {d['mean_p']:.2f}")
        worst = max(h["nocue"], key=lambda x: x["max_p"])
        print(f"  no cue     largest p of any cake {worst['max_p']:.2f} ({worst['max_cake']}), "
              f"over {len(h['nocue'])} prompts")  # fmt: skip
        if h["unknown_words"]:
            print(f"  <unk> in the prompts: {' '.join(h['unknown_words'])}")
    if "seed_sentence" in r:
        s = r["seed_sentence"]
        top = ", ".join(f"{t} {p:.2f}" for t, p in s["top"])
        unk = " ".join(s["unknown_words"]) or "none"
        print(f"seed sentence ({s['tokens']} tokens): {top}; <unk>: {unk}")


def show_summary(lang: str, runs: list[dict], summary: dict) -> None:
    seeds = [f"seed {r['seed']}" for r in runs]
    print(f"\n== {lang}: {len(runs)} model(s); the target is checked on the worst")
    head = "".join(f"{s:>10}" for s in seeds)
    print(f"  {'':<18}{head}{'median':>10}{'worst':>10}  {'target':<8} ")
    for m in metrics(lang):
        row = summary[m.key]
        cells = "".join(f"{_fmt(v, m.kind):>10}" for v in row["values"])
        verdict = ""
        if "target" in row:
            verdict = f"{row['target']:<8} " + {True: "PASS", False: "FAIL", None: "—"}[row["pass"]]
        print(f"  {m.label:<18}{cells}{_fmt(row['median'], m.kind):>10}"
              f"{_fmt(row['worst'], m.kind):>10}  {verdict}")  # fmt: skip


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seeds like 0,1,2, got {text!r}") from None
    if not seeds:
        raise argparse.ArgumentTypeError("give at least one seed")
    return seeds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lang", choices=(*stories.LANGS, "both"), default="both")
    ap.add_argument("--model", type=Path, help="measure this model instead of training one")
    ap.add_argument("--seeds", type=parse_seeds, default=[0], help="training seeds, e.g. 0,1,2")
    ap.add_argument("--episodes", type=int, default=240, help="fresh episodes per language")
    ap.add_argument(
        "--episode-seed", type=int, default=EPISODE_SEED,
        help="generator seed of the fresh episodes (default 777: used nowhere else)",
    )  # fmt: skip
    ap.add_argument("--work", type=Path, help="where trained models go (default: a temp dir)")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = ap.parse_args()
    langs = stories.LANGS if args.lang == "both" else (args.lang,)
    if args.model and len(langs) > 1:
        ap.error("--model needs --lang")
    if args.model and len(args.seeds) > 1:
        ap.error("--model measures one model; drop --seeds")
    seeds = [None] if args.model else args.seeds
    mach = machine()
    if not args.json:
        show_machine(mach)
    out: dict = {"machine": mach, "episode_seed": args.episode_seed, "langs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for lang in langs:
            runs = []
            for seed in seeds:
                r = measure(lang, args.model, seed, args.episodes, args.episode_seed, work)
                runs.append(r)
                if not args.json:
                    show(r, mach)
            summary = summarize(lang, runs)
            out["langs"][lang] = {"runs": runs, "summary": summary}
            if not args.json:
                show_summary(lang, runs, summary)
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
