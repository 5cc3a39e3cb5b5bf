"""The corpus generator: deterministic, matches the committed files, episodes are sound."""

import random
import re

import pytest

from lstmcli import stories
from lstmcli.corpora import bundled_dir

FILES = {"ja": "mari-ja.txt", "en": "tales-en.txt"}


@pytest.fixture(scope="module", params=stories.LANGS)
def lang(request):
    return request.param


@pytest.fixture(scope="module")
def scenes(lang):
    return stories.generate(lang, seed=0)


def mentions(text: str, cake: str, lang: str) -> bool:
    """Whether ``text`` names ``cake`` (a whole word in English: 'tart' is not 'started')."""
    return cake in text if lang == "ja" else re.search(rf"\b{cake}\b", text) is not None


def test_same_seed_same_text_other_seed_other_text(lang):
    assert stories.make_corpus(lang, 0) == stories.make_corpus(lang, 0)
    assert stories.make_corpus(lang, 0) != stories.make_corpus(lang, 1)


def test_committed_corpus_is_the_generator_output(lang, scenes):
    committed = (bundled_dir() / FILES[lang]).read_text(encoding="utf-8")
    assert committed == stories.render(scenes, lang), f"regenerate with: {stories.__doc__}"


def test_one_scene_per_line(lang, scenes):
    text = stories.render(scenes, lang)
    assert text.count("\n") == len(scenes)
    assert all("\n" not in s and s.strip() == s and s for sc in scenes for s in sc.sentences)


def test_every_question_is_answered_with_the_cake_of_its_episode(lang, scenes):
    g = stories.load_grammar(lang)
    sep = "" if lang == "ja" else " "
    episodes = [sc for sc in scenes if sc.kind == "episode"]
    assert len(episodes) >= 500
    for sc in episodes:
        assert sc.cue < sc.filler[0] <= sc.filler[1] == sc.question, sc
        assert mentions(sc.sentences[sc.cue], sc.cake, lang), sc
        assert g.question + sep + sc.cake in sc.sentences[sc.question], sc
        for s in sc.sentences[sc.filler[0] : sc.filler[1]]:
            assert sc.filler[1] - sc.filler[0] >= 1
            assert not any(mentions(s, c, lang) for c in g.cakes), s
        for s in sc.sentences[: sc.cue]:  # the opener names no cake either
            assert not any(mentions(s, c, lang) for c in g.cakes), s
    # the question belongs to episodes only
    others = [s for sc in scenes if sc.kind != "episode" for s in sc.sentences]
    assert not any(g.question in s for s in others)


def test_filler_is_long_and_every_cake_is_asked_for(lang, scenes):
    g = stories.load_grammar(lang)
    episodes = [sc for sc in scenes if sc.kind == "episode"]
    gaps = [sum(len(s) for s in sc.sentences[sc.filler[0] : sc.filler[1]]) for sc in episodes]
    assert sum(gaps) / len(gaps) > (50 if lang == "ja" else 150)  # characters of filler
    assert {sc.cake for sc in episodes} == set(g.cakes)


def test_favourite_cake_is_also_stated_without_an_episode(lang, scenes):
    g = stories.load_grammar(lang)
    lines = [sc.sentences[0] for sc in scenes if sc.kind == "favourite"]
    assert len(lines) >= 100
    assert all(any(mentions(s, c, lang) for c in g.cakes) for s in lines)
    assert len({re.sub("|".join(g.cakes), "", s) for s in lines}) >= 8  # varied forms


def test_expand_choices_slots_and_bound_slots():
    lex = {"who": ("[Mari|Rena]",), "cake": ("tart",)}
    rng = random.Random(0)
    out = {stories.expand("{who} ate [the|a] {cake}", lex, rng) for _ in range(50)}
    assert out == {f"{w} ate {a} tart" for w in ("Mari", "Rena") for a in ("the", "a")}
    assert stories.expand("{cake}", lex, rng, {"cake": "pavlova"}) == "pavlova"


def test_main_writes_the_corpus(tmp_path):
    out = tmp_path / "en.txt"
    stories.main(["en", "--seed", "3", "--out", str(out)])
    assert out.read_text(encoding="utf-8") == stories.make_corpus("en", 3)


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="unknown language"):
        stories.load_grammar("fr")
