"""What a distributed run trains, as rank 0 reads it: the model, the settings, the corpus.

Three ways in:

- ``--init MODEL``: an lstmcli model trained further. The corpus is tokenized with the
  model's own tokenizer and vocabulary (words it lacks become ``<unk>``); the training
  settings are the model's record (the learning rate its last epoch used), for one epoch,
  each given option winning.
- ``--config PRESET``: a new model of the preset's sizes (``--layers``, ``--hidden``,
  ``--embed``, ``--dropout`` over them), its vocabulary built from the corpus, its weights
  drawn as ``lstm train`` draws them for the same seed.
- ``--resume LAST``: the state this trainer saved when it was stopped.

Only :func:`read` touches files; the :class:`Plan` it returns goes to the other ranks by
:func:`lstmcli.torchbridge.group.share`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lstmcli import checkpoint, data, model, prepare, trainjob
from lstmcli import tokenize as tok
from lstmcli.checkpoint import Checkpoint
from lstmcli.errors import LstmError
from lstmcli.model import ModelConfig
from lstmcli.training import TrainConfig
from lstmcli.vocab import Vocab

ENGINE = "torchbridge"  # the resume metadata of this trainer's own checkpoints
# the settings this trainer uses; the rest of a TrainConfig (AWD-LSTM's regularisers, line
# windows, annealing, unk noise) keeps its default, off
KEPT = ("batch_size", "seq_len", "epochs", "max_steps", "max_minutes", "optimizer", "lr",
        "lr_decay", "decay_after", "decay_on_plateau", "patience", "clip", "seed",
        "eval_batch_size")  # fmt: skip
SIZES = {"layers": "num_layers", "hidden": "hidden_size", "embed": "embed_size",
         "dropout": "dropout"}  # fmt: skip


@dataclass
class Options:
    """The command line of the trainer, as given (None: not given)."""

    corpus: Path
    out: Path
    init: Path | None = None
    config: str | None = None
    resume: Path | None = None
    valid: Path | None = None
    val_fraction: float | None = None
    encoding: str | None = None
    text_format: str = "auto"
    train: dict = field(default_factory=dict)  # TrainConfig fields given on the command line
    sizes: dict = field(default_factory=dict)  # --layers … for --config


@dataclass
class Plan:
    """Everything every rank needs to train, and rank 0 to write the files."""

    base: Checkpoint  # config, weights to start from, vocabulary, tokenizer, record, history
    train: TrainConfig
    data: dict  # the corpus options, for the record
    ids: np.ndarray  # (N,) int32 training ids
    valid: np.ndarray | None
    init: str | None  # the model trained further, or None from scratch
    previous: dict | None  # that model's training record
    resume: dict | None = None  # the counters of a resumed run
    notes: list[str] = field(default_factory=list)

    def header(self) -> dict:
        """The JSON part of the plan (arrays go separately)."""
        b = self.base
        return {
            "config": b.config.to_dict(), "vocab": b.vocab, "tokenizer": b.tokenizer,
            "example": b.example, "record": b.train, "history": b.history,
            "train": self.train.to_dict(), "data": self.data, "init": self.init,
            "previous": self.previous, "resume": self.resume,
        }  # fmt: skip

    def arrays(self) -> dict[str, np.ndarray]:
        out = {f"param.{k}": v for k, v in self.base.params.items()}
        out.update({f"extra.{k}": v for k, v in self.base.extra.items()})
        out["ids"] = self.ids
        if self.valid is not None:
            out["valid"] = self.valid
        return out

    @classmethod
    def from_shared(cls, h: dict, arrays: dict[str, np.ndarray]) -> Plan:
        base = Checkpoint(
            config=ModelConfig.from_dict(h["config"]),
            params={k[6:]: v for k, v in arrays.items() if k.startswith("param.")},
            vocab=h["vocab"], tokenizer=h["tokenizer"], train=h["record"],
            history=h["history"], example=h["example"],
            extra={k[6:]: v for k, v in arrays.items() if k.startswith("extra.")},
        )  # fmt: skip
        return cls(base, TrainConfig.from_dict(h["train"]), h["data"], arrays["ids"],
                   arrays.get("valid"), h["init"], h["previous"], h["resume"])  # fmt: skip


def read(o: Options, world: int) -> Plan:
    """The plan of a run on ``world`` processes; LstmError with one line on bad input."""
    if o.init is not None and o.config is not None and o.resume is None:
        raise LstmError(
            "give --init MODEL (train it further) or --config PRESET (a new model), not both"
        )
    if o.resume is not None:
        plan = _resumed(o)
    elif o.init is not None:
        plan = _further(o)
    elif o.config is not None:
        plan = _scratch(o)
    else:
        raise LstmError(
            "give --init MODEL to train a model further, --config PRESET to start one from "
            "scratch, or --resume FILE to continue a stopped run"
        )
    B = plan.train.batch_size
    if world > B:
        raise LstmError(
            f"world size {world} is larger than the {B} streams of batch size {B}: each "
            f"process trains its own streams; run at most {B} processes, or pass "
            f"--batch-size {world} or more"
        )
    if B % world:
        up = -(-B // world) * world
        raise LstmError(
            f"batch size {B} does not split evenly over {world} processes; pass "
            f"--batch-size {up} (a multiple of {world})"
        )
    data.batchify(plan.ids, B)  # the corpus fills every stream
    return plan


def _train_config(start: dict, given: dict) -> TrainConfig:
    kept = {k: start[k] for k in KEPT if start.get(k) is not None}
    kept.update({k: v for k, v in given.items() if v is not None})
    return TrainConfig(**kept)


def _dropped(record: dict) -> list[str]:
    """Notes on the settings of an earlier training this trainer does not use."""
    notes = []
    reg = trainjob.regularizer_summary(record)
    if reg:
        notes.append(
            f"the model was trained with {', '.join(reg)}; this trainer uses the model's "
            "dropout only"
        )
    if record.get("windows") == "lines":
        notes.append("the model was trained on lines; this trainer reads streams (TBPTT)")
    return notes


def _encode(o: Options, tokenizer: tok.Tokenizer, vocab: Vocab, val_fraction: float | None):
    ids = prepare.encode_file(o.corpus, tokenizer, vocab, encoding=o.encoding, fmt=o.text_format)
    if o.valid is not None:
        valid = prepare.encode_file(
            o.valid, tokenizer, vocab, encoding=o.encoding, fmt=o.text_format
        )
    elif val_fraction:
        ids, valid = data.split_tail(ids, val_fraction)
    else:
        valid = None
    return ids, valid


def _data_options(o: Options, tokenizer: str, val_fraction: float | None) -> dict:
    return {
        "corpus": str(o.corpus), "valid": str(o.valid) if o.valid else None,
        "tokenizer": tokenizer, "encoding": o.encoding, "format": o.text_format,
        "val_fraction": None if o.valid else val_fraction,
    }  # fmt: skip


def _further(o: Options) -> Plan:
    ck = checkpoint.load(o.init)
    record = ck.train
    start = {k: v for k, v in record.items() if k not in ("epochs", "max_steps", "max_minutes")}
    if ck.history and ck.history[-1].get("lr"):  # go on at the rate training ended with
        start["lr"] = ck.history[-1]["lr"]
    tc = _train_config(start, {"epochs": 1, **o.train})  # one epoch, no other budget
    tokenizer, vocab = tok.from_spec(ck.tokenizer), Vocab.from_list(ck.vocab)
    frac = o.val_fraction if o.val_fraction is not None else 0.05
    ids, valid = _encode(o, tokenizer, vocab, frac)
    base = Checkpoint(ck.config, ck.params, ck.vocab, ck.tokenizer, record, ck.history,
                      example=ck.example)  # fmt: skip
    plan = Plan(base, tc, _data_options(o, tokenizer.name, frac), ids, valid, str(o.init),
                record or None, notes=_dropped(record))  # fmt: skip
    unk = float(np.mean(ids == vocab.unk_id))
    if unk > 0.05:
        plan.notes.append(f"{unk:.0%} of the corpus's tokens are not in the model's vocabulary"
                          " and read as <unk>")  # fmt: skip
    return plan


def _scratch(o: Options) -> Plan:
    given = {k: o.sizes.get(name) for name, k in SIZES.items()}
    opts, notes = trainjob.resolve_options(o.config, {**given, **o.train})
    frac = o.val_fraction if o.val_fraction is not None else opts["val_fraction"]
    corpus = prepare.load_corpus(
        o.corpus, opts["tokenizer"], encoding=o.encoding, fmt=o.text_format,
        min_freq=opts["min_freq"], max_vocab=opts["max_vocab"], valid_path=o.valid,
        val_fraction=None if o.valid else frac,
    )  # fmt: skip
    cfg = ModelConfig(vocab_size=len(corpus.vocab),
                      **{k: opts[k] for k in trainjob.MODEL_KEYS})  # fmt: skip
    tc = _train_config(opts, {})
    params = model.init_params(cfg, np.random.default_rng(tc.seed))  # as lstm train draws them
    data_opts = {**_data_options(o, corpus.tokenizer.name, frac), "preset": o.config,
                 "min_freq": opts["min_freq"], "max_vocab": opts["max_vocab"]}  # fmt: skip
    base = Checkpoint(cfg, params, corpus.vocab.to_list(), corpus.tokenizer.spec(),
                      example=corpus.example)  # fmt: skip
    return Plan(base, tc, data_opts, corpus.train_ids, corpus.valid_ids, None, None,
                notes=notes)  # fmt: skip


def _resumed(o: Options) -> Plan:
    ck = checkpoint.load(o.resume)
    r = ck.resume
    if r is None or r.get("engine") != ENGINE:
        raise LstmError(
            f"{o.resume} holds no training state of this trainer; pass the .last.safetensors "
            "file it wrote beside --out (a run of `lstm train` resumes with `lstm train`)"
        )
    record = ck.train
    tc = _train_config(record, {k: o.train.get(k) for k in ("epochs", "max_steps",
                                                            "max_minutes")})  # fmt: skip
    tokenizer, vocab = tok.from_spec(ck.tokenizer), Vocab.from_list(ck.vocab)
    frac = record.get("data", {}).get("val_fraction")
    ids, valid = _encode(o, tokenizer, vocab, None if o.valid else frac)
    run = record.get("torchrun") or {}
    data_opts = {**record.get("data", {}), "corpus": str(o.corpus)}
    if o.valid is not None:
        data_opts["valid"] = str(o.valid)
    base = Checkpoint(ck.config, ck.params, ck.vocab, ck.tokenizer, record, ck.history,
                      extra=ck.extra, example=ck.example)  # fmt: skip
    return Plan(base, tc, data_opts, ids, valid, run.get("init"),
                run.get("previous"), resume=r)  # fmt: skip
