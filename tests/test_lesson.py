"""The lesson's stages: parsing, their texts, and how they grow apart."""

from __future__ import annotations

import pytest

from lstmcli import lesson, stories
from lstmcli.errors import LstmError


def test_parse_names_steps_and_none():
    stages = lesson.parse("cue:1200, near:600,far:10")
    assert [(s.name, s.steps) for s in stages] == [("cue", 1200), ("near", 600), ("far", 10)]
    assert stages[0].recipe == lesson.STAGES["cue"][1]
    assert lesson.spec(stages) == "cue:1200,near:600,far:10"
    assert lesson.parse("none") == lesson.parse("") == lesson.parse(None) == ()
    assert lesson.spec(()) == "none"
    assert lesson.parse(lesson.DEFAULT) == lesson.parse("cue:1200,near:600,far:600")
    custom = lesson.Stage("mine", 5, stories.Recipe(filler_counts=(7,)))
    assert lesson.parse([custom]) == (custom,)


@pytest.mark.parametrize(
    "spec,match",
    [
        ("cue", "needs its number of updates"),
        ("cue:0", "positive number of updates"),
        ("cue:x", "needs its number of updates"),
        ("later:100", "unknown stage 'later'.*cue, near, far"),
    ],
)
def test_parse_refuses_what_it_cannot_read(spec, match):
    with pytest.raises(LstmError, match=match):
        lesson.parse(spec)


def test_a_stage_survives_the_model_file_as_a_dict():
    for s in lesson.parse(lesson.DEFAULT):
        assert lesson.Stage.from_dict(s.to_dict()) == s
    with pytest.raises(LstmError, match="lesson is incomplete"):
        lesson.Stage.from_dict({"name": "cue"})
    # a model written before recipes had ``detail`` regenerates its stages as they were
    old = lesson.parse("far:5")[0].to_dict()
    del old["recipe"]["detail"]
    assert lesson.Stage.from_dict(old).recipe.detail == 0.0


@pytest.mark.parametrize("lang", stories.LANGS)
def test_stage_texts_are_episodes_that_grow_apart(lang):
    stages = [lesson.Stage(n, 1, lesson.STAGES[n][1]) for n in ("cue", "near", "far")]
    texts = lesson.texts(stages, lang)
    assert texts == lesson.texts(stages, lang)  # the same bytes every time: resumable
    for k, (stage, text) in enumerate(zip(stages, texts, strict=True)):
        assert text == stories.make_corpus(lang, k + 1, stage.recipe)
        scenes = stories.generate(lang, k + 1, stage.recipe)
        assert {sc.kind for sc in scenes} == {"episode"}
        fillers = {sc.filler[1] - sc.filler[0] for sc in scenes}
        assert fillers == set(stage.recipe.filler_counts)
    # the cue stage as plain as the corpus; the later ones put words between who and cake
    assert stages[0].recipe.detail == 0 < stages[1].recipe.detail == stages[2].recipe.detail
    with pytest.raises(LstmError, match="no stories in 'fr'"):
        lesson.texts(stages, "fr")
