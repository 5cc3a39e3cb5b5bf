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

A :class:`Recipe` says how often each part appears: how many filler sentences, how often
someone else's cake comes first (a rival), how often words stand between whoever has the
cake and the cake (detail), how many lines of each kind. The default recipe
makes the bundled corpora; others make corpora for experiments and fresh test episodes::

    python -m lstmcli.stories ja --set filler_counts=0,0,1,2 --set rival=0.25 --set scenes=6000

Only ``random.Random.random`` is used, whose sequence Python promises to keep, so the
corpora regenerate byte for byte on any Python version.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import NamedTuple, TypeVar

LANGS = ("ja", "en")
_CHOICE = re.compile(r"\[([^\[\]]*)\]")  # an innermost [a|b|c]
_SLOT = re.compile(r"\{(\w+)\}")
T = TypeVar("T")


@dataclass(frozen=True)
class Scene:
    """One line of a corpus, kept as sentences so tests can check the episode structure.

    For an episode, ``sentences[cue]`` names ``cake``, ``sentences[cue + 1:question]``
    contains the filler (and maybe a second sentence about the cake right after the cue),
    ``sentences[question]`` asks and answers. ``sentences[rival]``, when ``rival >= 0``,
    comes before the cue and names someone else's cake, ``other``. An episode drawn
    without its cue (``Recipe.nocue``) has ``cue=-1``: nothing before the question names
    ``cake``, the one its answer names. Other scenes have ``cake=None``.
    """

    kind: str  # "episode", "daily" or "favourite"
    sentences: tuple[str, ...]
    cake: str | None = None
    cue: int = -1
    filler: tuple[int, int] = (0, 0)  # [start, stop) of the filler sentences
    question: int = -1
    rival: int = -1
    other: str | None = None


@dataclass(frozen=True)
class Recipe:
    """How often each part of a corpus appears; the defaults make the bundled corpora.

    A probability of 0 draws nothing from the generator: a part switched off leaves every
    other draw, and so the rest of the text, as it was.
    """

    filler_counts: tuple[int, ...] = (1, 2, 2, 3, 3, 3, 4, 4, 5, 6)  # sentences cue → question
    opener: float = 0.6  # a sentence setting the scene before the cue
    rival: float = 0.0  # someone else's cake named before Mari's
    detail: float = 0.0  # the cue (and rival) sentence with words between who and the cake
    nocue: float = 0.0  # an episode without its cue: nothing said before, any cake answers
    more: float = 0.5  # a second sentence about the cake, right after the cue
    closer: float = 0.35  # a sentence after the answer
    plain: float = 0.0  # the answer as the bare question and cake, not an "answer" wording
    weights: tuple[int, int, int] = (4, 4, 1)  # episode, daily and favourite lines
    scenes: int | None = None  # lines in all; None: the language's own number

    @classmethod
    def parse(cls, items: Sequence[str]) -> Recipe:
        """``["rival=0.25", "filler_counts=0,0,1,2"]`` → a recipe with those fields set."""
        kw: dict[str, object] = {}
        fields = [f.name for f in dataclasses.fields(cls)]
        for item in items:
            name, _, value = item.partition("=")
            if name not in fields or not value:
                raise ValueError(f"bad recipe item {item!r}; use NAME=VALUE with NAME one of "
                                 f"{', '.join(fields)}")  # fmt: skip
            if name in ("filler_counts", "weights"):
                kw[name] = tuple(int(v) for v in value.split(","))
            elif name == "scenes":
                kw[name] = int(value)
            else:
                kw[name] = float(value)
        return cls(**kw)  # type: ignore[arg-type]


def _happens(rng: random.Random, p: float) -> bool:
    """True with probability ``p``; draws from ``rng`` only when ``p > 0``."""
    return p > 0 and rng.random() < p


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


def _detailed(
    g: Grammar, key: str, rng: random.Random, r: Recipe, bound: dict[str, str]
) -> tuple[str, dict[str, str]]:
    """``key`` and ``bound``, or with probability ``r.detail`` its ``KEY_detail`` list, whose
    sentences put a few words (when, where, how, with whom: slot ``{detail}``, drawn here)
    between the one who has the cake and the cake, so whose cake it is must be carried past
    them, and ``bound`` with those words."""
    if not _happens(rng, r.detail):
        return key, bound
    return f"{key}_detail", bound | {"detail": expand("{details}", g.lex, rng)}


def episode(g: Grammar, rng: random.Random, r: Recipe = Recipe()) -> Scene:
    """Opener?, cue, more about the cake?, filler, the question with its answer, closer?"""
    cake = pick(rng, g.cakes)
    others = [c for c in g.cakes if c != cake]
    bound = {
        "cake": cake,
        "other_cake": pick(rng, others),
        "friend": expand("{friend}", g.lex, rng),
        "shop": expand("{shop}", g.lex, rng),
    }
    s = [_sentence(g, "opener", rng, bound)] if _happens(rng, r.opener) else []
    rival = -1
    if _happens(rng, r.rival):
        rival = len(s)
        key, words = _detailed(g, "rival", rng, r, bound)
        s.append(_sentence(g, key, rng, words))
    cue = len(s)
    if _happens(rng, r.nocue):
        cue = -1
    else:
        key, words = _detailed(g, "cue", rng, r, bound)
        s.append(_sentence(g, key, rng, words))
        if _happens(rng, r.more):
            s.append(_sentence(g, "cue_more", rng, bound))
    start = len(s)
    s += [_sentence(g, "filler", rng, bound) for _ in range(pick(rng, r.filler_counts))]
    question = len(s)
    key = "plain_answer" if _happens(rng, r.plain) else "answer"
    s.append(_sentence(g, key, rng, bound | {"question": g.question}))
    if _happens(rng, r.closer):
        s.append(_sentence(g, "closer", rng, bound))
    return Scene("episode", tuple(s), cake, cue, (start, question), question, rival,
                 bound["other_cake"] if rival >= 0 else None)  # fmt: skip


def daily(g: Grammar, rng: random.Random, r: Recipe = Recipe()) -> Scene:
    """One to three sentences of everyday life; cakes may come up, the question never."""
    n = pick(rng, (1, 1, 2, 2, 3))
    keys = [pick(rng, ("daily", "daily", "filler")) for _ in range(n)]
    return Scene("daily", tuple(_sentence(g, k, rng, {}) for k in keys))


def favourite(g: Grammar, rng: random.Random, r: Recipe = Recipe()) -> Scene:
    """A line stating Mari's favourite cake, in one of many ways."""
    return Scene("favourite", (_sentence(g, "favourite", rng, {}),))


def generate(lang: str, seed: int = 0, recipe: Recipe = Recipe()) -> list[Scene]:
    """The scenes of corpus ``lang``, deterministic in ``seed`` (and ``recipe``)."""
    g = load_grammar(lang)
    rng = random.Random(seed)
    kinds = (episode, daily, favourite)
    makers = [k for k, w in zip(kinds, recipe.weights, strict=True) for _ in range(w)]
    n = g.n_scenes if recipe.scenes is None else recipe.scenes
    return [pick(rng, makers)(g, rng, recipe) for _ in range(n)]


class Probe(NamedTuple):
    """An episode cut right after its question: does a model answer with ``cake``?"""

    prompt: str  # the episode's text up to and including the question prefix
    cake: str  # the cake its cue named
    filler: int  # sentences between the cue (and what follows it) and the question


def probes(lang: str, n: int, seed: int, recipe: Recipe = Recipe()) -> list[Probe]:
    """``n`` fresh episodes of corpus ``lang``, each cut right after its question.

    Draw them with a seed the corpus does not use (it uses 0) to get episodes the model has
    not seen: a test of whether it carries the cue, not of whether it remembers lines.
    """
    g = load_grammar(lang)
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        sc = episode(g, rng, recipe)
        if sc.cue < 0:  # no cue: nothing to remember
            continue
        q = sc.sentences[sc.question]
        head = q[: q.index(g.question) + len(g.question)]
        prompt = g.sep.join([*sc.sentences[: sc.question], head])
        out.append(Probe(prompt, sc.cake, sc.filler[1] - sc.filler[0]))
    return out


def render(scenes: Sequence[Scene], lang: str) -> str:
    """The corpus text: one scene per line, sentences joined the way ``lang`` joins them."""
    sep = load_grammar(lang).sep
    return "".join(sep.join(sc.sentences) + "\n" for sc in scenes)


def make_corpus(lang: str, seed: int = 0, recipe: Recipe = Recipe()) -> str:
    """The full text of corpus ``lang`` for ``seed`` (and ``recipe``)."""
    return render(generate(lang, seed, recipe), lang)


def main(argv: list[str] | None = None) -> None:
    """Write a corpus to ``--out`` (or stdout)."""
    ap = argparse.ArgumentParser(prog="python -m lstmcli.stories", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("lang", choices=LANGS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="change the recipe (fields of stories.Recipe), e.g. --set rival=0.25 "
                    "--set filler_counts=0,0,1,2; the bundled corpora use none")  # fmt: skip
    args = ap.parse_args(argv)
    try:
        recipe = Recipe.parse(args.set)
    except ValueError as e:
        ap.error(str(e))
    text = make_corpus(args.lang, args.seed, recipe)
    if args.out is None:
        print(text, end="")
    else:
        args.out.write_bytes(text.encode("utf-8"))


if __name__ == "__main__":
    main()
