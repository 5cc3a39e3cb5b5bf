"""A lesson in stages: how ``lstm train`` teaches the default model to carry the cue.

Trained on the bundled corpus alone, an LSTM stays on the plateau where every cake is
equally likely after the question: the link from the cue to the answer is too rare and
too far apart in that text for the gradient to find it (see "Does the default model
remember?" in the README). It is learned when it is taught in stages, the way a reader is
taught: first episodes with the question right after the cue, then with one sentence of
filler between, then with several. Each stage keeps the lines of the earlier ones in its
mix — the "mixed" curriculum of Zaremba & Sutskever (2014), in which the easy cases stay
while harder ones join — and after the last stage the corpus itself joins for the epochs,
so the model ends up knowing both the link and the rest of the text.

A stage is a name, the :class:`~lstmcli.stories.Recipe` that generates its lines, and the
updates it lasts. On the command line a lesson is written ``NAME:UPDATES,…`` with the
names of :data:`STAGES`::

    lstm train --stages cue:1200,near:600,far:600

Stage k's text is the generator's output for the corpus language with seed k + 1 (the
bundled corpora use seed 0, the recall probes seed 12345), so a lesson is fully given by
its stages and regenerates exactly when a run resumes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from lstmcli import stories
from lstmcli.errors import LstmError
from lstmcli.stories import Recipe

# After the first stage, 40 % of the episodes name a friend's cake before Mari's (the
# answer is Mari's), and 20 % have no cue (the answer is any cake, so a question asked out
# of the blue gets no favourite); in 40 % of the cue and rival sentences a few words (when,
# where, how, with whom) stand between the one who has the cake and the cake, so the
# memory holds whose cake it is past words the templates would not otherwise put there.
RIVAL, NOCUE, DETAIL = 0.4, 0.2, 0.4
# Episodes only (weights 1, 0, 0), growing apart. The recipes leave the rest of the
# generator as it is, so the words, cakes and sentences are those of the bundled corpora,
# but for the detail forms (``cue_detail``, ``rival_detail``), which only stages use.
STAGES: dict[str, tuple[str, Recipe]] = {
    "cue": (
        "the cue sentence, then the question: nothing between",
        Recipe(weights=(1, 0, 0), filler_counts=(0,), opener=0.0, more=0.0, closer=0.0),
    ),
    "near": (
        "a scene-setting sentence may come first, and none or one sentence of filler between;"
        " now and then a friend's cake before Mari's, or no cue at all, and words between who"
        " has the cake and the cake",
        Recipe(
            weights=(1, 0, 0),
            filler_counts=(0, 1),
            more=0.0,
            closer=0.0,
            rival=RIVAL,
            nocue=NOCUE,
            detail=DETAIL,
        ),
    ),
    "far": (
        "one to three sentences between, sometimes a second sentence about the cake; now and"
        " then a friend's cake before Mari's, or no cue at all, and words between who has the"
        " cake and the cake",
        Recipe(weights=(1, 0, 0), filler_counts=(1, 2, 3), rival=RIVAL, nocue=NOCUE, detail=DETAIL),
    ),
}
DEFAULT = "cue:1200,near:600,far:600"


@dataclass(frozen=True)
class Stage:
    """One stage of a lesson: ``steps`` updates on its lines and the earlier stages'."""

    name: str
    steps: int
    recipe: Recipe

    def to_dict(self) -> dict:
        return {"name": self.name, "steps": self.steps, "recipe": dataclasses.asdict(self.recipe)}

    @classmethod
    def from_dict(cls, d: dict) -> Stage:
        try:
            rec = dict(d["recipe"])
            for key in ("filler_counts", "weights"):
                rec[key] = tuple(rec[key])
            return cls(str(d["name"]), int(d["steps"]), Recipe(**rec))
        except (KeyError, TypeError, ValueError) as e:
            raise LstmError(f"the model's lesson is incomplete or corrupt ({e})") from None


def parse(spec: str | Sequence[Stage] | None) -> tuple[Stage, ...]:
    """The stages of ``spec``: ``"cue:1200,near:600"``, ``"none"`` or ``""`` (no stages), a
    sequence of :class:`Stage` (any recipes), or None (no stages)."""
    if spec is None:
        return ()
    if not isinstance(spec, str):
        stages = tuple(spec)
        if not all(isinstance(s, Stage) for s in stages):
            raise LstmError("stages must be a string such as 'cue:1200,near:600' or Stages")
        for s in stages:
            _check_steps(s.name, s.steps)
        return stages
    spec = spec.strip()
    if spec in ("", "none"):
        return ()
    out = []
    for item in spec.split(","):
        name, _, steps = item.strip().partition(":")
        if name not in STAGES:
            raise LstmError(
                f"unknown stage {name!r} in --stages {spec!r}; use NAME:UPDATES with NAME "
                f"one of {', '.join(STAGES)} (e.g. {DEFAULT}), or none"
            )
        try:
            n = int(steps)
        except ValueError:
            raise LstmError(
                f"stage {name!r} needs its number of updates, as in {name}:600"
            ) from None
        _check_steps(name, n)
        out.append(Stage(name, n, STAGES[name][1]))
    return tuple(out)


def _check_steps(name: str, steps: int) -> None:
    if not isinstance(steps, int) or steps <= 0:
        raise LstmError(f"stage {name!r} must last a positive number of updates, got {steps!r}")


def spec(stages: Sequence[Stage]) -> str:
    """``"cue:1200,near:600,far:600"``, or ``"none"``."""
    return ",".join(f"{s.name}:{s.steps}" for s in stages) or "none"


def texts(stages: Sequence[Stage], lang: str) -> list[str]:
    """The text of each stage in language ``lang``: stage k from the generator, seed k + 1."""
    if lang not in stories.LANGS:
        langs = ", ".join(stories.LANGS)
        raise LstmError(f"the lesson has no stories in {lang!r}; use one of {langs}")
    return [stories.make_corpus(lang, k + 1, s.recipe) for k, s in enumerate(stages)]
