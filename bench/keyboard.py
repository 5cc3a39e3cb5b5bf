"""The bundled corpora as a keyboard: each model, and a Kneser-Ney 5-gram, on held-out text.

For each model file given, this reads the corpus it was trained on (its path is stored in
the model; a bundled corpus is found in ``corpora/`` when that path is gone), splits off
the validation text exactly as ``lstm train`` did (the ``--valid`` file, or the tail
``--val-fraction`` of the tokens), and scores that text

- with the model, as ``lstm eval`` scores a file (one stream, 35-token windows), and
- with the interpolated modified Kneser-Ney 5-gram of ``bench/kneser_ney.py``, fitted on
  the same training part and the model's vocabulary,

by the same code (:class:`lstmcli.keyboard.Tally`): perplexity, top-1/3/5 (every position
and word targets), keystroke savings with 3 suggestions. The figures go to
``bench/results/corpus-NAME.json`` and into ``BENCHMARKS.md`` (through ``bench/ptb.py``,
which writes that file).

    python bench/keyboard.py /work/models/default-ja.safetensors /work/models/default-en.safetensors
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _corpus_path(stored: str) -> Path:
    p = Path(stored)
    if not p.exists() and (ROOT / "corpora" / p.name).exists():  # installed elsewhere
        p = ROOT / "corpora" / p.name
    return p


def measure(model: Path) -> dict:
    import kneser_ney
    import ptb

    from lstmcli import data, keyboard, prepare, textio
    from lstmcli.model import num_params
    from lstmcli.predict import Predictor

    p = Predictor.load(model)
    d = p.ckpt.train.get("data", {})
    if not d.get("corpus"):
        sys.exit(f"{model} does not say which corpus it was trained on")
    corpus = _corpus_path(d["corpus"])
    enc, fmt = d.get("encoding"), d.get("format") or "auto"
    text = textio.read_text(corpus, enc, fmt)
    ids, chars = prepare.encode_text_chars(text, p.tokenizer, p.vocab, str(corpus))
    if d.get("valid"):
        vtext = textio.read_text(_corpus_path(d["valid"]), enc, fmt)
        train_ids = ids
        valid_ids, valid_chars = prepare.encode_text_chars(vtext, p.tokenizer, p.vocab)
    else:
        fraction = d.get("val_fraction") or 0.05
        train_ids, valid_ids = data.split_tail(ids, fraction)
        valid_chars = chars[len(train_ids) :]
    layout = keyboard.Layout(p.prefix_index, p.vocab, keyboard.space_cost(p.tokenizer))
    t0 = time.perf_counter()
    lstm = keyboard.score(p.params, p.config, valid_ids, layout, chars=valid_chars)
    lstm_s = time.perf_counter() - t0
    lm = kneser_ney.KneserNey(train_ids, len(p.vocab), p.vocab.eos_id, 5)
    kn = kneser_ney.scores(lm, valid_ids, layout, chars=valid_chars)
    cfg = p.config
    return {
        "corpus": corpus.name,
        "model": str(model),
        "describe": f"{cfg.cell} {cfg.num_layers}×{cfg.hidden_size}, "
        f"{num_params(cfg) / 1e6:.2f}M parameters, tokenizer {p.tokenizer.name}",
        "train_tokens": len(train_ids),
        "valid_tokens": len(valid_ids),
        "lstm": lstm,
        "lstm_s": lstm_s,
        "kn": kn,
        "command": f"`python bench/keyboard.py {model}`",
        "machine": ptb.machine(),
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", type=Path, help="model files")
    args = ap.parse_args()
    import ptb

    for model in args.models:
        r = measure(model)
        ptb.RESULTS.mkdir(parents=True, exist_ok=True)
        out = ptb.RESULTS / f"corpus-{model.stem}.json"
        out.write_text(json.dumps(r, indent=1, ensure_ascii=False) + "\n")
        for name in ("lstm", "kn"):
            e = r[name]
            print(f"{r['corpus']} {name}: ppl {e['perplexity']:.2f}, top-1 {ptb.pct(e['top1'])}, "
                  f"top-3 {ptb.pct(e['top3'])}, keystroke savings "
                  f"{ptb.pct(e['keystroke_savings'])}")  # fmt: skip
        print(f"wrote {out.relative_to(ROOT)}")
    ptb.write_table()


if __name__ == "__main__":
    main()
