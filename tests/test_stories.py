"""The corpus generator: deterministic, matches the committed files, episodes are sound."""

import random
import re
from pathlib import Path

import pytest

from lstmcli import corpora, stories
from lstmcli.corpora import bundled_dir
from lstmcli.tokenize import get_tokenizer, resolve

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
            assert not any(mentions(s, c, lang) for c in g.cakes), s
        for k, s in enumerate(sc.sentences[: sc.cue]):  # the opener names no cake, the rival
            named = {c for c in g.cakes if mentions(s, c, lang)}  # someone else's only
            assert named == ({sc.other} if k == sc.rival else set()), (s, sc)
        assert (sc.rival >= 0) == (sc.other is not None) and sc.other != sc.cake
    # the question belongs to episodes only
    others = [s for sc in scenes if sc.kind != "episode" for s in sc.sentences]
    assert not any(g.question in s for s in others)


def test_filler_is_long_and_every_cake_is_asked_for(lang, scenes):
    g = stories.load_grammar(lang)
    episodes = [sc for sc in scenes if sc.kind == "episode"]
    gaps = [sum(len(s) for s in sc.sentences[sc.filler[0] : sc.filler[1]]) for sc in episodes]
    assert sum(gaps) / len(gaps) > (50 if lang == "ja" else 150)  # characters of filler
    assert {sc.cake for sc in episodes} == set(g.cakes)


def test_a_recipe_changes_distances_rivals_and_answers(lang):
    g = stories.load_grammar(lang)
    recipe = stories.Recipe(filler_counts=(0, 0, 1, 4), rival=0.3, plain=1.0, scenes=600)
    scenes = stories.generate(lang, 0, recipe)
    assert len(scenes) == 600
    episodes = [sc for sc in scenes if sc.kind == "episode"]
    counts = [sc.filler[1] - sc.filler[0] for sc in episodes]
    assert set(counts) == {0, 1, 4} and 0.4 < counts.count(0) / len(counts) < 0.6
    rivals = [sc for sc in episodes if sc.rival >= 0]
    assert 0.2 < len(rivals) / len(episodes) < 0.4
    for sc in rivals:  # someone else's cake, before Mari's, and only there
        assert sc.rival < sc.cue and sc.other != sc.cake
        assert mentions(sc.sentences[sc.rival], sc.other, lang)
        assert not mentions(sc.sentences[sc.rival], sc.cake, lang)
    sep = "" if lang == "ja" else " "
    assert all(sc.sentences[sc.question].startswith(g.question + sep + sc.cake) for sc in episodes)
    text = stories.render(scenes, lang)
    assert stories.make_corpus(lang, 0, recipe) == text != stories.make_corpus(lang, 0)


def test_recipe_parse_and_the_command_line(tmp_path):
    r = stories.Recipe.parse(["rival=0.25", "filler_counts=0,0,1", "scenes=50"])
    assert (r.rival, r.filler_counts, r.scenes) == (0.25, (0, 0, 1), 50)
    with pytest.raises(ValueError, match="bad recipe item 'colour=1'"):
        stories.Recipe.parse(["colour=1"])
    out = tmp_path / "ja.txt"
    stories.main(["ja", "--set", "scenes=40", "--set", "rival=0.5", "--out", str(out)])
    recipe = stories.Recipe(scenes=40, rival=0.5)
    assert out.read_text(encoding="utf-8") == stories.make_corpus("ja", 0, recipe)


def test_probes_are_fresh_episodes_cut_after_the_question(lang, scenes):
    g = stories.load_grammar(lang)
    corpus = stories.render(scenes, lang)
    probes = stories.probes(lang, 50, seed=2026)
    assert len(probes) == 50 and {p.cake for p in probes} <= set(g.cakes)
    for p in probes:
        assert p.prompt.endswith(g.question) and p.prompt.count(g.question) == 1
        assert mentions(p.prompt, p.cake, lang)
    assert sum(p.prompt in corpus for p in probes) < 5  # nearly all unseen
    assert stories.probes(lang, 50, seed=2026) == probes


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


# ---- the prompts that measure whether a model remembers (bench/bench_remember.py)

PROMPTS = Path(__file__).resolve().parents[1] / "bench" / "prompts"


def hand_written(lang: str) -> list[str]:
    """Every hand-written prompt of ``lang`` with every cake (and another) filled in."""
    g = stories.load_grammar(lang)
    lines = (PROMPTS / f"remember-{lang}.txt").read_text(encoding="utf-8").splitlines()
    frames = [ln.split("\t", 1)[1] for ln in lines if ln and not ln.startswith("#")]
    return [
        f.replace("{cake}", c).replace("{other}", g.cakes[(k + 1) % len(g.cakes)])
        for f in frames for k, c in enumerate(g.cakes)
    ]  # fmt: skip


def test_hand_written_prompts_are_not_in_the_corpus(lang, scenes):
    g = stories.load_grammar(lang)
    sentences = {s for sc in scenes for s in sc.sentences}
    for p in hand_written(lang):
        assert p.endswith(g.question)
        cut = re.split(r"(?<=[。.!?\"])\s*", p[: -len(g.question)])
        assert not any(s and s in sentences for s in cut), p


def test_the_running_example_is_known_to_a_model_of_the_corpus(lang, scenes):
    text = stories.render(scenes, lang)
    tokenizer = get_tokenizer(resolve("auto", text))
    known = set(tokenizer.tokenize(text))
    assert corpora.running_example(tokenizer, known) == corpora.RUNNING_EXAMPLES[lang]
    assert corpora.running_example(tokenizer, known - {"<eos>", "Rena", "玲奈"}) is None
