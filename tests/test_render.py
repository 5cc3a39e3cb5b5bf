"""What a person reads, in words: the schedule and regulariser lines of lstm info."""

from __future__ import annotations

from lstmcli import presets, training
from lstmcli.render import regularizer_text, schedule_text


def _train_settings(preset: str) -> dict:
    opts = presets.resolve(preset, {})
    fields = training.TrainConfig.__dataclass_fields__
    return training.TrainConfig(**{k: opts[k] for k in fields if k in opts}).to_dict()


def test_schedule_text_of_each_kind_of_preset():
    assert schedule_text(_train_settings("default")) == "×0.5 on a plateau"
    assert schedule_text(_train_settings("zaremba-small")) == "×0.5 every epoch from 4"
    assert schedule_text(_train_settings("ptb-fast")) == "×0.25 on a plateau, within 58 min"
    awd = _train_settings("ptb-awd")
    assert schedule_text(awd) == "linear to 0 over 58 min"
    assert schedule_text({**awd, "anneal": "none"}) == "constant, within 58 min"
    steps = {**awd, "max_minutes": None, "max_steps": 500}
    assert schedule_text(steps) == "linear to 0 over 500 steps"
    assert schedule_text({**steps, "max_steps": None}) == "linear to 0 over 40 epochs"
    assert schedule_text({"decay_on_plateau": False}) == "constant"
    assert schedule_text({}) == "×0.5 on a plateau"  # a checkpoint from before these fields


def test_regularizer_text():
    assert regularizer_text({"weight-drop": 0.3, "vary-seq-len": True}) == (
        "weight-drop 0.3, vary-seq-len"
    )
