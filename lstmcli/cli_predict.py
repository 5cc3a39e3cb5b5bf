"""``lstm predict``: the command's work once its options are read, and a reader of its
command line that needs no Typer (see :mod:`lstmcli.entry`).

:func:`parse_fast` reads exactly what Typer would read from a well-formed command line —
the options of ``predict`` in ``cli.py``, long (``--top-k 5``, ``--top-k=5``) and short
(``-k 5``, ``-k5``), ``--`` before a TEXT that starts with ``-`` — and declines (None)
anything it does not take whole: ``--help``, an unknown option, a value that is malformed
or out of range, a missing or extra argument. Typer then runs or reports it, so an error
always reads the same. ``tests/test_cli_predict.py`` checks that both readings agree.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from lstmcli import textio

# option → (parameter of run, type of its value; or the value of a flag)
OPTIONS: dict[str, tuple[str, object]] = {
    "--model": ("model", Path),
    "-m": ("model", Path),
    "--top-k": ("top_k", int),
    "-k": ("top_k", int),
    "--temperature": ("temperature", float),
    "--generate": ("generate", int),
    "-g": ("generate", int),
    "--top-p": ("top_p", float),
    "--seed": ("seed", int),
    "--greedy": ("greedy", True),
    "--no-greedy": ("greedy", False),
    "--why": ("why", True),
    "--complete": ("complete", True),
    "-c": ("complete", True),
    "--json": ("json_out", True),
}
_INT = re.compile(r"\d{1,18}")  # anything else (signs, spaces, 1_000) is left to Typer
_FLOAT = re.compile(r"(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,3})?")
_MIN_ONE = ("top_k", "generate")  # min=1 in the command's declaration


def parse_fast(argv: list[str]) -> dict | None:
    """The arguments of :func:`run` from the words after ``lstm predict``, or None."""
    options: dict = {}
    texts: list[str] = []
    words = iter(argv)
    for word in words:
        if word == "--":
            texts += words
            break
        if word == "-" or not word.startswith("-"):
            texts.append(word)
            continue
        name, eq, value = word.partition("=") if word.startswith("--") else (word[:2], "", "")
        if not name.startswith("--") and len(word) > 2:
            value, eq = word[2:], "="  # -k5
        if name not in OPTIONS:
            return None
        key, kind = OPTIONS[name]
        if not isinstance(kind, type):  # a flag
            if eq:
                return None
            options[key] = kind
            continue
        if not eq:
            value = next(words, "")
            if not value:  # the last word, or an empty value: left to Typer
                return None
        parsed = _value(value, kind)
        if parsed is None or (key in _MIN_ONE and isinstance(parsed, int) and parsed < 1):
            return None
        options[key] = parsed
    if len(texts) > 1 or (not texts and sys.stdin.isatty()):
        return None  # Typer names the extra or the missing argument
    if not options.get("temperature", 1.0) > 0 or not 0 < options.get("top_p", 1.0) <= 1:
        return None
    if options.get("why") and options.get("generate"):
        return None  # a usage error
    if options.get("complete") and (options.get("generate") or options.get("why")):
        return None
    return {"text": texts[0] if texts else None, **options}


def _value(word: str, kind: type) -> object | None:
    if kind is int:
        return int(word) if _INT.fullmatch(word) else None
    if kind is float:
        return float(word) if _FLOAT.fullmatch(word) else None
    return Path(word) if word and not word.startswith("-") else None


def run(
    text: str | None,
    model: Path | None = None,
    top_k: int = 10,
    temperature: float = 1.0,
    generate: int | None = None,
    top_p: float | None = None,
    greedy: bool = False,
    seed: int | None = None,
    why: bool = False,
    json_out: bool = False,
    complete: bool = False,
) -> None:
    """Predict after ``text`` (``-`` or None: standard input) and print the table or JSON;
    ``why``: also which earlier tokens the top candidate rests on (see :mod:`lstmcli.why`);
    ``complete``: the completions of its last word instead (see :mod:`lstmcli.complete`)."""
    from lstmcli import api, entry

    text = textio.text_argument(text)
    entry.one_blas_thread()
    p = api.load(model).predictor
    if complete:
        _complete(p, text or "", top_k, temperature, json_out)
        return
    prompt = p.encode(text or "")
    out = p.run(prompt) if why else p.last(prompt)  # occlusion starts from every token's state
    cands = p.top_k(out.logits[-1], top_k, temperature)
    occ = None
    if why:
        from lstmcli import why as why_

        occ = why_.occlude(
            p.params, p.config, prompt.ids, p.vocab.unk_id, run=out, temperature=temperature
        )
    generated = None
    if generate:
        generated = p.generate(
            out, generate, temperature=temperature, top_p=top_p, greedy=greedy, seed=seed
        )
    if json_out:
        obj = {"tokens": prompt.tokens, "next": [{"token": c.token, "prob": c.prob} for c in cands]}
        if prompt.unknown:
            obj["unknown"] = prompt.unknown
        if generated is not None:
            obj["generated"] = generated
        if occ is not None:
            obj.update(why_.to_json(prompt.tokens, p.vocab.tokens, occ))
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        return
    from lstmcli.render import generation, make_console, predict_table

    console = make_console()
    predict_table(console, prompt.tokens, cands, prompt.unknown)
    if occ is not None:
        from lstmcli.whyview import why_table

        console.print()
        why_table(console, prompt.tokens, p.vocab.tokens, occ)
    if generated is not None:
        console.print()
        generation(console, text or "", p.continuation(prompt, generated))


def _complete(p, text: str, k: int, temperature: float, json_out: bool) -> None:
    """``lstm predict --complete``: the table or JSON of the last word's completions."""
    from lstmcli.complete import complete_text

    found = complete_text(p, text, k, temperature)
    if json_out:
        obj = {
            "tokens": found.context.tokens,
            "partial": found.partial,
            "completions": [{"token": c.token, "prob": c.prob} for c in found.completions],
        }
        if found.context.unknown:
            obj["unknown"] = found.context.unknown
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        return
    from lstmcli.render import make_console, predict_table

    predict_table(
        make_console(), found.context.tokens, found.completions, found.context.unknown,
        typed=found.partial,
    )  # fmt: skip
