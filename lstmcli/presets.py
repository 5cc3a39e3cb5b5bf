"""Named sets of training options (``lstm train --preset NAME``).

A preset fills in every option the user did not give; options given on the command line
always win. ``default`` is what ``lstm train`` uses without ``--preset``.
"""

from __future__ import annotations

from lstmcli.errors import LstmError

# option name (as in ModelConfig / TrainConfig / corpus options) → value
BASE: dict[str, object] = {
    # model
    "cell": "lstm",
    "num_layers": 2,
    "hidden_size": 256,
    "embed_size": 256,
    "dropout": 0.2,
    "tie_weights": True,
    "init_scale": 0.1,
    "forget_bias": 0.0,
    # training
    "batch_size": 32,
    "seq_len": 35,
    "epochs": 12,
    "max_steps": None,
    "max_minutes": None,
    "optimizer": "adam",
    "lr": 0.003,
    "lr_decay": 0.5,
    "decay_after": None,
    "decay_on_plateau": True,
    "patience": 3,
    "clip": 1.0,
    "seed": 0,
    "eval_batch_size": 10,
    # corpus
    "tokenizer": "auto",
    "min_freq": 1,
    "max_vocab": 20000,
    "val_fraction": 0.05,
    "windows": "streams",
    "unk_noise": 0.0,
    "stages": None,
    "lang": None,
}

PRESETS: dict[str, dict[str, object]] = {
    # your own text, as streams: what `lstm train CORPUS` uses without --preset
    "default": {},
    # the bundled stories, taught in stages so the model carries the cue to the question:
    # what `lstm train` (and `lstm train --lang en`) uses without --preset. One layer of
    # 256 tied units read line by line from the zero state, as `lstm predict` reads a
    # prompt; weights from ±0.5 so the link is found in hundreds of updates, not thousands,
    # and a forget bias of 5 so the cell keeps the cue from the first update (at 1 and 3 the
    # link formed on some seeds only); 10 % of the input words read as <unk>, so an unknown
    # word between cue and question does not break the memory, and the write of a cake does
    # not hang on the words around it (and the stages' cue and rival sentences put words
    # of their own between who has the cake and the cake); Adam at 0.01, the rate falling
    # linearly to zero over the epochs after the stages (lstmcli.lesson; measurements in
    # the README).
    "lesson": {
        "num_layers": 1,
        "hidden_size": 256,
        "embed_size": 256,
        "dropout": 0.0,
        "tie_weights": True,
        "init_scale": 0.5,
        "forget_bias": 5.0,
        "batch_size": 32,
        "seq_len": 200,
        "epochs": 3,
        "optimizer": "adam",
        "lr": 0.01,
        "decay_on_plateau": False,
        "anneal": "linear",
        "patience": None,
        "clip": 1.0,
        "windows": "lines",
        "unk_noise": 0.1,
        "stages": "cue:1200,near:600,far:600",
    },
    # a few seconds: for trying the commands out and for tests
    "tiny": {
        "num_layers": 1,
        "hidden_size": 32,
        "embed_size": 32,
        "dropout": 0.0,
        "batch_size": 8,
        "seq_len": 16,
        "epochs": 2,
        "lr": 0.01,
    },
    # the non-regularised "small" model of Zaremba, Sutskever & Vinyals (2014). Their loss
    # is summed over the T = 20 steps of a window (averaged over the batch); ours is the mean
    # per token, so their lr 1.0 and clip 5 are lr 20 and clip 0.25 here: the same updates.
    "zaremba-small": {
        "num_layers": 2,
        "hidden_size": 200,
        "embed_size": 200,
        "dropout": 0.0,
        "tie_weights": False,
        "init_scale": 0.1,
        "batch_size": 20,
        "seq_len": 20,
        "epochs": 13,
        "optimizer": "sgd",
        "lr": 20.0,
        "lr_decay": 0.5,
        "decay_after": 4,
        "decay_on_plateau": False,
        "patience": None,
        "clip": 0.25,
        "tokenizer": "space",
        "max_vocab": None,
        "val_fraction": None,
    },
    # Penn Treebank within an hour on two cores: dropout, tied weights, SGD at a high rate
    # divided by 4 whenever validation stops improving, stopped by the time budget
    "ptb-fast": {
        "num_layers": 2,
        "hidden_size": 200,
        "embed_size": 200,
        "dropout": 0.2,
        "tie_weights": True,
        "init_scale": 0.1,
        "batch_size": 20,
        "seq_len": 35,
        "epochs": 40,
        "max_minutes": 58.0,
        "optimizer": "sgd",
        "lr": 20.0,
        "lr_decay": 0.25,
        "decay_after": None,
        "decay_on_plateau": True,
        "patience": None,
        "clip": 0.25,
        "tokenizer": "space",
        "max_vocab": None,
        "val_fraction": None,
    },
    # Penn Treebank within an hour with AWD-LSTM's regularisers (Merity et al. 2017) on a
    # model sized for two cores: a step of 2×400 tied with all of them on costs 2.5× one of
    # ptb-fast (CPU time, measured side by side), so about 3,700 tokens/s and 13–14 epochs
    # in 58 minutes. AWD-LSTM (3×1150, 500+ epochs) uses dropouti 0.4, dropouth 0.25,
    # dropout 0.4, dropoute 0.1, wdrop 0.5: a smaller model trained for a few epochs gets
    # milder dropout; AR, TAR and weight decay are AWD-LSTM's. Windows of about 35 steps
    # give twice AWD-LSTM's updates per epoch (T = 70). The rate falls linearly to zero
    # over the 58 minutes (anneal "linear"), so the run anneals within its budget however
    # many epochs the machine allows: a plateau rule, as in ptb-fast, waits for an epoch
    # that does not improve, and with this much dropout validation still creeps down at the
    # full rate when the hour ends (ptb-fast itself, on a machine at half its usual speed,
    # decayed first in epoch 16 of 17). NT-ASGD (n = 1) averages the weights once
    # validation is worse than its best before the previous epoch.
    "ptb-awd": {
        "num_layers": 2,
        "hidden_size": 400,
        "embed_size": 400,
        "dropout": 0.0,
        "tie_weights": True,
        "init_scale": 0.07,
        "batch_size": 20,
        "seq_len": 35,
        "epochs": 40,
        "max_minutes": 58.0,
        "optimizer": "sgd",
        "lr": 20.0,
        "decay_after": None,
        "decay_on_plateau": False,
        "anneal": "linear",
        "patience": None,
        "clip": 0.25,
        "dropouti": 0.3,
        "dropouth": 0.2,
        "dropouto": 0.3,
        "dropoute": 0.1,
        "wdrop": 0.3,
        "alpha": 2.0,
        "beta": 1.0,
        "wdecay": 1.2e-6,
        "vary_seq_len": True,
        "nonmono": 1,
        "tokenizer": "space",
        "max_vocab": None,
        "val_fraction": None,
    },
}


def resolve(name: str | None, given: dict[str, object]) -> dict[str, object]:
    """All options: ``given`` (only the ones the user set) over the preset over the base."""
    name = name or "default"
    if name not in PRESETS:
        raise LstmError(f"unknown preset {name!r}; use one of: {', '.join(PRESETS)}")
    opts = {**BASE, **PRESETS[name]}
    opts.update({k: v for k, v in given.items() if v is not None})
    return opts
