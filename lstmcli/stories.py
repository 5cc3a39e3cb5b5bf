"""Generate the two bundled corpora (``ja``: corpora/mari-ja.txt, ``en``: corpora/tales-en.txt).

The text comes from hand-written templates (``stories_ja.py``, ``stories_en.py``) expanded
by a seeded random walk, so one seed always gives the same bytes::

    python -m lstmcli.stories ja --seed 0 --out corpora/mari-ja.txt
    python -m lstmcli.stories en --seed 0 --out corpora/tales-en.txt

Template syntax: ``[a|b|c]`` picks one alternative, ``{slot}`` picks an entry of the
lexicon list ``slot`` (itself a template) unless the slot is bound for the scene.

A corpus is a list of :class:`Scene`, one line each. The scenes that matter are the
episodes: a sentence names a cake (the cue), a few sentences of filler follow that name
no cake at all, then the question sentence (``僕の麻里ちゃんの愛してやまないケーキは``
or ``My friend Mari's favourite cake is the``) is answered with that same cake. Around
them, daily-life lines and lines stating Mari's favourite cake fill out the world.

Only ``random.Random.random`` is used, whose sequence Python promises to keep, so the
corpora regenerate byte for byte on any Python version.
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import TypeVar

LANGS = ("ja", "en")
FILLER_COUNTS = (1, 2, 2, 3, 3, 3, 4, 4, 5, 6)  # sentences between cue and question
_CHOICE = re.compile(r"\[([^\[\]]*)\]")  # an innermost [a|b|c]
_SLOT = re.compile(r"\{(\w+)\}")
T = TypeVar("T")


@dataclass(frozen=True)
class Scene:
    """One line of a corpus, kept as sentences so tests can check the episode structure.

    For an episode, ``sentences[cue]`` names ``cake``, ``sentences[cue + 1:question]``
    contains the filler (and maybe a second sentence about the cake right after the cue),
    ``sentences[question]`` asks and answers. Other scenes have ``cake=None``.
    """

    kind: str  # "episode", "daily" or "favourite"
    sentences: tuple[str, ...]
    cake: str | None = None
    cue: int = -1
    filler: tuple[int, int] = (0, 0)  # [start, stop) of the filler sentences
    question: int = -1


@dataclass(frozen=True)
class Grammar:
    """Everything language-specific: the templates, the cakes and how sentences join."""

    lang: str
    cakes: tuple[str, ...]
    question: str  # the fixed question prefix, always followed directly by the cake
    lex: dict[str, tuple[str, ...]]
    sep: str  # between the sentences of one line
    n_scenes: int
    capitalize: bool


def load_grammar(lang: str) -> Grammar:
    """The grammar of ``ja`` or ``en``."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGS)}")
    mod: ModuleType = import_module(f"lstmcli.stories_{lang}")
    lex = {k: tuple(v) for k, v in mod.LEX.items()}
    cakes = tuple(mod.CAKES)
    return Grammar(lang, cakes, mod.QUESTION, lex, mod.SEP, mod.N_SCENES, mod.CAPITALIZE)


def pick(rng: random.Random, seq: Sequence[T]) -> T:
    """A uniform choice built on ``rng.random()`` alone (stable across Python versions)."""
    return seq[int(rng.random() * len(seq))]


def expand(template: str, lex: dict[str, tuple[str, ...]], rng: random.Random,
           bound: dict[str, str] | None = None) -> str:  # fmt: skip
    """Fill ``template``: choices first (innermost, leftmost), then slots, recursively."""
    bound = bound or {}
    while m := _CHOICE.search(template):
        template = template[: m.start()] + pick(rng, m.group(1).split("|")) + template[m.end() :]

    def slot(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in bound:
            return bound[name]
        return expand(pick(rng, lex[name]), lex, rng, bound)

    return _SLOT.sub(slot, template)


def _sentence(g: Grammar, key: str, rng: random.Random, bound: dict[str, str]) -> str:
    """One sentence from lexicon list ``key``, capitalised for English."""
    s = expand(f"{{{key}}}", g.lex, rng, bound)
    if g.capitalize:
        i = 1 if s.startswith('"') else 0
        s = s[:i] + s[i].upper() + s[i + 1 :]
    return s


def episode(g: Grammar, rng: random.Random) -> Scene:
    """Opener?, cue, more about the cake?, filler, the question with its answer, closer?"""
    cake = pick(rng, g.cakes)
    others = [c for c in g.cakes if c != cake]
    bound = {
        "cake": cake,
        "other_cake": pick(rng, others),
        "friend": expand("{friend}", g.lex, rng),
        "shop": expand("{shop}", g.lex, rng),
    }
    s = [_sentence(g, "opener", rng, bound)] if rng.random() < 0.6 else []
    cue = len(s)
    s.append(_sentence(g, "cue", rng, bound))
    if rng.random() < 0.5:
        s.append(_sentence(g, "cue_more", rng, bound))
    start = len(s)
    s += [_sentence(g, "filler", rng, bound) for _ in range(pick(rng, FILLER_COUNTS))]
    question = len(s)
    s.append(_sentence(g, "answer", rng, bound | {"question": g.question}))
    if rng.random() < 0.35:
        s.append(_sentence(g, "closer", rng, bound))
    return Scene("episode", tuple(s), cake, cue, (start, question), question)


def daily(g: Grammar, rng: random.Random) -> Scene:
    """One to three sentences of everyday life; cakes may come up, the question never."""
    n = pick(rng, (1, 1, 2, 2, 3))
    keys = [pick(rng, ("daily", "daily", "filler")) for _ in range(n)]
    return Scene("daily", tuple(_sentence(g, k, rng, {}) for k in keys))


def favourite(g: Grammar, rng: random.Random) -> Scene:
    """A line stating Mari's favourite cake, in one of many ways."""
    return Scene("favourite", (_sentence(g, "favourite", rng, {}),))


def generate(lang: str, seed: int = 0) -> list[Scene]:
    """The scenes of corpus ``lang``, deterministic in ``seed``."""
    g = load_grammar(lang)
    rng = random.Random(seed)
    makers = (episode, episode, episode, episode, daily, daily, daily, daily, favourite)
    return [pick(rng, makers)(g, rng) for _ in range(g.n_scenes)]


def render(scenes: Sequence[Scene], lang: str) -> str:
    """The corpus text: one scene per line, sentences joined the way ``lang`` joins them."""
    sep = load_grammar(lang).sep
    return "".join(sep.join(sc.sentences) + "\n" for sc in scenes)


def make_corpus(lang: str, seed: int = 0) -> str:
    """The full text of corpus ``lang`` for ``seed``."""
    return render(generate(lang, seed), lang)


def main(argv: list[str] | None = None) -> None:
    """Write a corpus to ``--out`` (or stdout)."""
    ap = argparse.ArgumentParser(prog="python -m lstmcli.stories", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("lang", choices=LANGS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    text = make_corpus(args.lang, args.seed)
    if args.out is None:
        print(text, end="")
    else:
        args.out.write_bytes(text.encode("utf-8"))


if __name__ == "__main__":
    main()
