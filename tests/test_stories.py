"""The corpus generator: deterministic, matches the committed files, episodes are sound."""

import random
import re
from pathlib import Path

import pytest

from lstmcli import corpora, prepare, presets, stories
from lstmcli.corpora import bundled_dir
from lstmcli.tokenize import get_tokenizer, resolve

FILES = {"ja": "mari-ja.txt", "en": "tales-en.txt"}


@pytest.fixture(scope="module", params=stories.LANGS)
def lang(request):
    return request.param


@pytest.fixture(scope="module")
def scenes(lang):
    return stories.generate(lang, seed=0)


def times_named(text: str, cake: str, lang: str) -> int:
    """How often ``text`` names ``cake`` (whole words in English, as :func:`mentions`)."""
    return text.count(cake) if lang == "ja" else len(re.findall(rf"\b{cake}\b", text))


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


def _form(template: str, bound: dict[str, str]) -> re.Pattern:
    """A template as a pattern: bound slots as given, ``{detail}`` captured, the rest any."""
    out = re.escape(template)
    out = re.sub(r"\\\[(.*?)\\\]", lambda m: "(?:" + m.group(1).replace("\\|", "|") + ")", out)
    for name, value in bound.items():
        out = out.replace(re.escape("{" + name + "}"), re.escape(value))
    out = out.replace(re.escape("{detail}"), "(?P<detail>.+)")
    return re.compile(re.sub(r"\\\{\w+\\\}", ".+", out) + "$", re.IGNORECASE)


def test_detail_puts_words_between_who_and_the_cake_in_cue_and_rival(lang):
    g = stories.load_grammar(lang)
    recipe = stories.Recipe(weights=(1, 0, 0), rival=1.0, detail=1.0, scenes=300)
    for sc in stories.generate(lang, 6, recipe):
        for i, key, cake in ((sc.cue, "cue", sc.cake), (sc.rival, "rival", sc.other)):
            forms = [_form(t, {"cake": sc.cake, "other_cake": sc.other})
                     for t in g.lex[f"{key}_detail"]]  # fmt: skip
            hits = [m for f in forms if (m := f.match(sc.sentences[i]))]
            assert hits and all(m.group("detail").strip(" ,、") for m in hits), sc.sentences[i]
            assert mentions(sc.sentences[i], cake, lang)
        assert ("麻里" if lang == "ja" else "Mari") not in sc.sentences[sc.rival]
    plain = stories.Recipe(weights=(1, 0, 0), rival=1.0, scenes=300)
    assert stories.make_corpus(lang, 6, plain) != stories.make_corpus(lang, 6, recipe)
    assert stories.Recipe().detail == 0.0  # off: the bundled corpora are byte for byte as before


def test_an_episode_without_its_cue_names_its_cake_only_in_the_answer(lang):
    recipe = stories.Recipe(weights=(1, 0, 0), nocue=0.5, scenes=300)
    scenes = stories.generate(lang, 4, recipe)
    blank = [sc for sc in scenes if sc.cue < 0]
    assert 0.4 < len(blank) / len(scenes) < 0.6
    cakes = stories.load_grammar(lang).cakes
    for sc in blank:
        before = sc.sentences[: sc.question]
        assert not any(mentions(s, sc.cake, lang) for s in before), sc
        assert mentions(sc.sentences[sc.question], sc.cake, lang)
    assert len({sc.cake for sc in blank}) == len(cakes)  # any cake answers
    probes = stories.probes(lang, 40, seed=5, recipe=recipe)  # only episodes with a cue
    assert len(probes) == 40 and all(mentions(p.prompt, p.cake, lang) for p in probes)


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


# ---- what a model of the bundled corpus can read: the seed sentence and the prompts

# The sentence the project is built around: every word of it is known to a model of the
# bundled corpus, though the corpus never says it.
SEED_SENTENCE = (
    "麻里ちゃんが、玲奈ちゃんととても幸せそうにモンブランを食べている顔を見てピンときた"
    "のですが、僕の麻里ちゃんの愛してやまないケーキは"
)
KINDS = {  # prompts of each kind in the dev and the test file
    "dev": {"near": 6, "far": 6, "seed": 3, "distractor": 4, "nocue": 4, "unknown": 4},
    "test": {"near": 4, "far": 4, "seed": 2, "distractor": 4, "nocue": 2, "unknown": 2},
    "test2": {"near": 4, "far": 4, "seed": 2, "distractor": 4, "nocue": 2, "unknown": 2},
}
PROMPT_FILES = {
    "dev": "remember-{lang}.txt",
    "test": "remember-{lang}-test.txt",
    "test2": "remember-{lang}-test2.txt",
}


@pytest.fixture(params=PROMPT_FILES)
def which(request):
    return request.param


@pytest.fixture(scope="module")
def bundled(lang):
    """The committed corpus of ``lang`` read as ``lstm train`` reads it: its text, its
    tokenizer, its vocabulary and its tokens (<eos> included)."""
    path = bundled_dir() / FILES[lang]
    c = prepare.load_corpus(path, min_freq=presets.BASE["min_freq"],
                            max_vocab=presets.BASE["max_vocab"], val_fraction=None)  # fmt: skip
    text = path.read_text(encoding="utf-8")
    return text, c.tokenizer, c.vocab, c.vocab.decode(c.train_ids)


def prompt_rows(lang: str, which: str = "dev") -> list[tuple[str, str]]:
    """``(kind, prompt)`` for each line of ``bench/prompts/remember-{lang}.txt`` (dev) or
    ``remember-{lang}-test.txt`` (test)."""
    path = PROMPTS / PROMPT_FILES[which].format(lang=lang)
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [ln.split("\t") for ln in lines if ln and not ln.startswith("#")]
    assert all(len(r) == 2 for r in rows), rows
    return [(k, p) for k, p in rows]


def fill(prompt: str, lang: str) -> list[str]:
    """``prompt`` with each cake in turn for ``{cake}`` and the next one for ``{other}``."""
    cakes = stories.load_grammar(lang).cakes
    return [prompt.replace("{cake}", c).replace("{other}", cakes[(k + 1) % len(cakes)])
            for k, c in enumerate(cakes)]  # fmt: skip


def sentences_of(text: str, lang: str) -> list[str]:
    """The sentences of ``text``: cut after 。 in Japanese, after . ! ? (and a closing
    quote) before a space in English."""
    cut = r"(?<=。)" if lang == "ja" else r"(?<=[.!?])(?<![A-Z][a-z]\.)\"?\s+"
    return [s.strip() for s in re.split(cut, text) if s.strip()]


def test_every_cake_is_one_token_wherever_the_corpus_names_it(lang, bundled):
    text, _, _, tokens = bundled
    counts = {c: tokens.count(c) for c in stories.load_grammar(lang).cakes}
    named = {c: times_named(text, c, lang) for c in counts}
    assert counts == named  # no cake is cut into pieces ("ショート", "ケーキ") anywhere


def test_the_seed_sentence_is_known_but_never_said(bundled, lang, scenes):
    if lang != "ja":
        pytest.skip("the seed sentence is Japanese")
    text, tokenizer, vocab, _ = bundled
    tokens = tokenizer.tokenize_line(SEED_SENTENCE)
    assert [t for t in tokens if t not in vocab] == []
    assert "モンブラン" in tokens and len(tokens) > 30
    g = stories.load_grammar("ja")
    head = SEED_SENTENCE[: -len(g.question)]
    assert SEED_SENTENCE not in text and head not in text and "ピンときたのですが" not in text
    # and the templates cannot say it: the question starts a sentence (each sentence ends
    # a sentence, never with 、), or follows a fixed word or two that the seed does not end with
    assert not any(s.endswith("、") for sc in scenes for s in sc.sentences)
    before = [e.split("{question}")[0] for v in g.lex.values() for e in v if "{question}" in e]
    assert before
    for b in before:
        fixed = "{" not in b and "]" not in b
        assert b in ("",) or b.endswith("。") or (fixed and not head.endswith(b)), b


def test_the_prompt_files_have_every_kind_in_its_shape(lang, which):
    g = stories.load_grammar(lang)
    rows = prompt_rows(lang, which)
    kinds = KINDS[which]
    assert {k: sum(r[0] == k for r in rows) for k in kinds} == kinds
    assert len(rows) == sum(kinds.values())
    for kind, p in rows:
        assert p.endswith(g.question) and p.count(g.question) == 1, p
        assert ("{cake}" in p) == (kind != "nocue") and ("{other}" in p) == (kind == "distractor")
        body = sentences_of(p[: -len(g.question)], lang)
        cue = max((i for i, s in enumerate(body) if "{cake}" in s), default=-1)
        if kind == "near":
            assert cue == len(body) - 1, p  # the cue right before the question
        elif kind == "far":
            assert 2 <= len(body) - 1 - cue <= 4, p  # two to four sentences between
        elif kind == "seed":  # one long sentence with the cue, run on into the question in
            assert body and cue == 0 == len(body) - 1, p  # Japanese, right before it in English
            assert lang == "en" or not body[0].endswith("。"), p
        elif kind == "unknown":  # the cue first, the words the corpus lacks after it
            assert cue == 0 and len(body) in (1, 2), p
    if lang == "ja" and which == "dev":
        assert ("seed", SEED_SENTENCE.replace("モンブラン", "{cake}")) in rows


def test_no_sentence_of_a_prompt_is_in_the_corpus(lang, bundled, which):
    text = bundled[0]
    g = stories.load_grammar(lang)
    for _, p in prompt_rows(lang, which):
        for filled in fill(p, lang):
            for s in sentences_of(filled[: -len(g.question)], lang):
                assert s not in text, (s, p)


def test_every_word_of_every_prompt_is_known(lang, bundled, which):
    _, tokenizer, vocab, _ = bundled
    cakes = stories.load_grammar(lang).cakes
    for kind, p in prompt_rows(lang, which):
        for filled in fill(p, lang):
            tokens = tokenizer.tokenize_line(filled)
            unknown = [t for t in tokens if t not in vocab]
            if kind == "unknown":  # after the cake, never in place of it
                assert unknown and tokens.index(unknown[0]) > min(
                    i for i, t in enumerate(tokens) if t in cakes
                ), filled
            else:
                assert unknown == [], filled
            for c in cakes:  # and each cake it names stays one token
                assert tokens.count(c) == times_named(filled, c, lang), (c, filled)
