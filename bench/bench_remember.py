"""Does the default model remember? Train it from scratch, then ask for the cake.

For each language (Japanese: ``lstm train`` with no arguments; English: ``lstm train
corpora/tales-en.txt``) this script trains the default model in a child process, exactly as a
user does, and prints:

- the wall time of ``lstm train`` (tokenizing included) and the best validation perplexity;
- **fresh episodes**: top-1 recall of the cued cake after the question, on episodes drawn by
  the corpus generator with a seed the corpus does not use (``--seed``), by the number of
  tokens from the cue's cake to the end of the question;
- **hand-written prompts** (``bench/prompts/remember-LANG.txt``, none of them in the corpus):
  top-1 recall when the cue sentence comes right before the question (*near*) or two to four
  sentences earlier (*far*), and with someone else's cake named too (*distractor*, a stretch);
  for prompts with no cue, the largest probability any one cake gets (it should stay near
  1/12: the model must not just have a favourite);
- the seed sentence of the project (Japanese): its top candidates and any ``<unk>`` in it.

Chance is 1/12 for every recall figure. Top-1 means the cake is the most likely next token
of the whole vocabulary, not just among the cakes.

    python bench/bench_remember.py                    # both languages, trained from scratch
    python bench/bench_remember.py --lang ja --model ~/.local/share/lstmcli/model.safetensors
    python bench/bench_remember.py --json
"""

from __future__ import annotations

import argparse
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

from lstmcli import inference, stories  # noqa: E402
from lstmcli.predict import Predictor, Prompt  # noqa: E402

CORPUS = {"ja": None, "en": ROOT / "corpora" / "tales-en.txt"}
PROMPTS = {lang: ROOT / "bench" / "prompts" / f"remember-{lang}.txt" for lang in stories.LANGS}
SEED_SENTENCE = (
    "麻里ちゃんが、玲奈ちゃんととても幸せそうにモンブランを食べている顔を見てピンときたのですが、"
    "僕の麻里ちゃんの愛してやまないケーキは"
)
BUCKETS = ((0, 19), (20, 39), (40, 59), (60, 10_000))  # tokens from the cue's cake to the end


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
    """Recall on ``n`` generated episodes, by cue-to-question distance in tokens."""
    g = stories.load_grammar(lang)
    buckets = {b: Tally() for b in BUCKETS}
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
        for lo, hi in BUCKETS:
            if lo <= d <= hi:
                buckets[(lo, hi)].add(hit, float(p[cake_id]))
    names = {(lo, hi): f"{lo}-{hi}" if hi < 10_000 else f"{lo}+" for lo, hi in BUCKETS}
    by_distance = {names[b]: t.as_dict() for b, t in buckets.items()}
    return {"all": total.as_dict(), "by_distance": by_distance, "cakes": len(g.cakes)}


def read_prompts(lang: str) -> list[tuple[str, str]]:
    """(kind, frame) pairs of the hand-written prompt file."""
    rows = []
    for line in PROMPTS[lang].read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, frame = line.split("\t")
            rows.append((kind, frame))
    return rows


def hand_written(pred: Predictor, lang: str) -> dict:
    """Recall on the hand-written frames, each filled with every cake; no-cue maxima."""
    cakes = stories.load_grammar(lang).cakes
    ids = [pred.vocab.index[c] for c in cakes]
    kinds: dict[str, Tally] = {}
    nocue: list[dict] = []
    unknown: set[str] = set()
    for kind, frame in read_prompts(lang):
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


def train_default(lang: str, out: Path) -> dict:
    """``lstm train`` as a user runs it (default preset); wall time and validation."""
    cmd = [sys.executable, "-m", "lstmcli", "train"]
    if CORPUS[lang] is not None:
        cmd.append(str(CORPUS[lang]))
    cmd += ["--out", str(out), "--json"]
    env = {**os.environ, "LSTM_HOME": str(out.parent / "home")}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"training failed:\n{proc.stderr}")
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    done = next(e for e in events if e.get("event") == "done")
    epochs = [e for e in events if e.get("event") == "epoch"]
    return {
        "command": " ".join(["lstm", *cmd[3:]]),
        "wall_s": wall,
        "valid_ppl": done.get("best_valid_ppl"),
        "epochs": len(epochs),
        "outcome": done.get("outcome"),
    }


def measure(lang: str, model: Path | None, episodes: int, seed: int, work: Path) -> dict:
    result: dict = {"lang": lang, "chance": 1 / 12}
    if model is None:
        model = work / f"default-{lang}.safetensors"
        result["training"] = train_default(lang, model)
    result["model"] = str(model)
    pred = Predictor.load(model)
    result["fresh"] = fresh_episodes(pred, lang, episodes, seed)
    result["hand"] = hand_written(pred, lang)
    if lang == "ja":
        result["seed_sentence"] = seed_sentence(pred)
    return result


def _pct(d: dict) -> str:
    return "—" if d["recall"] is None else f"{100 * d['recall']:5.1f} % of {d['n']:>3}"


def show(r: dict) -> None:
    print(f"\n== {r['lang']} · {r['model']}")
    if "training" in r:
        t = r["training"]
        print(f"training   {t['command']}")
        print(f"           {t['wall_s']:.0f} s wall, {t['epochs']} epochs ({t['outcome']}), "
              f"valid ppl {t['valid_ppl']:.2f}")  # fmt: skip
    print(f"chance     {100 * r['chance']:.1f} % (1 in 12 cakes)")
    f = r["fresh"]
    print(f"fresh episodes (generator seed unused by the corpus): {_pct(f['all'])}")
    for name, d in f["by_distance"].items():
        if d["n"]:
            print(f"  {name:>7} tokens from cue to answer   {_pct(d)}   mean p {d['mean_p']:.2f}")
    h = r["hand"]
    print("hand-written prompts (not in the corpus), each frame with all 12 cakes:")
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lang", choices=(*stories.LANGS, "both"), default="both")
    ap.add_argument("--model", type=Path, help="measure this model instead of training one")
    ap.add_argument("--episodes", type=int, default=240, help="fresh episodes per language")
    ap.add_argument("--seed", type=int, default=2026, help="generator seed of the fresh episodes")
    ap.add_argument("--work", type=Path, help="where trained models go (default: a temp dir)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    langs = stories.LANGS if args.lang == "both" else (args.lang,)
    if args.model and len(langs) > 1:
        ap.error("--model needs --lang")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = [measure(lang, args.model, args.episodes, args.seed, work) for lang in langs]
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
    else:
        for r in results:
            show(r)


if __name__ == "__main__":
    main()
