"""One ``lstm train`` run: options → corpus → session → checkpoints, with Ctrl-C handled.

This is the glue between the CLI and :mod:`lstmcli.training`: it resolves presets, reads the
corpus, starts or resumes a :class:`~lstmcli.training.Session`, writes the best model and the
resumable ``.last`` checkpoint, and turns SIGINT/SIGTERM into a clean stop that prints the
exact command to resume.
"""

from __future__ import annotations

import json
import shlex
import signal
import warnings
from pathlib import Path

import numpy as np

from lstmcli import (
    checkpoint,
    corpora,
    data,
    lesson,
    paths,
    prepare,
    presets,
    render,
    textio,
    training,
)
from lstmcli import tokenize as tok
from lstmcli.errors import LstmError
from lstmcli.model import ModelConfig, num_params
from lstmcli.vocab import Vocab

# the options of `lstm train` (and of lstmcli.train) that fill in each config, by the name
# the command gives them (--seq-len → seq_len) → their name in the config
MODEL_OPTIONS = {
    "cell": "cell",
    "layers": "num_layers",
    "hidden": "hidden_size",
    "embed": "embed_size",
    "dropout": "dropout",
    "tie_weights": "tie_weights",
    "init_scale": "init_scale",
    "forget_bias": "forget_bias",
}
TRAIN_OPTIONS = (
    "seq_len", "batch_size", "epochs", "max_steps", "max_minutes", "lr", "optimizer", "clip",
    "seed", "windows", "unk_noise",
)  # fmt: skip
# AWD-LSTM's regularisers: the command's name → the TrainConfig field (AWD-LSTM's name)
REG_OPTIONS = {
    "input_dropout": "dropouti",
    "hidden_dropout": "dropouth",
    "output_dropout": "dropouto",
    "word_dropout": "dropoute",
    "weight_drop": "wdrop",
    "ar": "alpha",
    "tar": "beta",
    "weight_decay": "wdecay",
    "vary_seq_len": "vary_seq_len",
    "nt_asgd": "nonmono",
}
DATA_OPTIONS = ("tokenizer", "min_freq", "max_vocab", "val_fraction", "stages", "lang")
MODEL_KEYS = tuple(MODEL_OPTIONS.values())
OPTION_NAMES = {key: "--" + name.replace("_", "-") for name, key in MODEL_OPTIONS.items()}


def given_options(options: dict) -> tuple[dict, dict, dict]:
    """Split the options the user gave (None: not given) into the model, training and
    corpus settings that :func:`run` takes."""
    model = {key: options.get(name) for name, key in MODEL_OPTIONS.items()}
    train = {k: options.get(k) for k in TRAIN_OPTIONS}
    train.update({key: options.get(name) for name, key in REG_OPTIONS.items()})
    return model, train, {k: options.get(k) for k in DATA_OPTIONS}


def check_data_options(given: dict) -> None:
    """The corpus options' ranges, as ``lstm train`` checks them (the configs check the rest)."""
    bounds = {"min_freq": 1, "max_vocab": 2}
    for key, low in bounds.items():
        v = given.get(key)
        if v is not None and not (isinstance(v, int) and v >= low):
            raise LstmError(f"--{key.replace('_', '-')} must be a whole number ≥ {low}, got {v!r}")
    f = given.get("val_fraction")
    if f is not None and not 0 < f < 1:
        raise LstmError(f"--val-fraction must be in (0, 1), got {f}")


def resolve_options(preset: str | None, given: dict) -> tuple[dict, list[str]]:
    """All options (the given ones over the preset) and the notes to show about them.

    Sizes the user gave win over a preset's tying: when they make the embedding and the
    hidden size differ, the model trains untied, with a note; when the user asked for
    tying too, that cannot be done, and the error says both ways out.
    """
    opts = presets.resolve(preset, given)
    notes = []
    E, H = opts["embed_size"], opts["hidden_size"]
    if opts["tie_weights"] and E != H:
        if given.get("tie_weights"):
            raise LstmError(
                f"--tie-weights needs --embed equal to --hidden, got --embed {E} and "
                f"--hidden {H}; give both the same size, or pass --no-tie-weights"
            )
        if given.get("embed_size") is not None or given.get("hidden_size") is not None:
            opts["tie_weights"] = False
            notes.append(
                f"--embed {E} and --hidden {H} differ, so the decoder gets its own weights "
                "(untied); give both the same size to tie them"
            )
    return opts, notes


class StopFlag:
    """Set by SIGINT/SIGTERM; a second Ctrl-C stops at once."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict = {}

    def __call__(self) -> bool:
        return self.signum is not None

    def _handle(self, signum, frame) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (e.g. some test runners)
                pass

    def restore(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _resume_command(argv: list[str] | None, last: Path) -> str:
    """The command line that continues this run (a call, for a run started from Python)."""
    if argv is None:
        return f"lstmcli.train(..., resume={str(last)!r})"
    args, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "--resume":
            skip = True
            continue
        if a.startswith("--resume="):
            continue
        args.append(a)
    return shlex.join(["lstm", *args, "--resume", str(last)])


def default_preset(corpus) -> str:
    """The preset of a run that names none: the lesson for a bundled corpus (no CORPUS, or
    ``--lang``), today's settings for the user's own text."""
    return "lesson" if corpus is None else "default"


def _start(corpus_path, preset, given_model, given_train, given_data, valid, encoding, fmt, text):
    check_data_options(given_data)
    opts, notes = resolve_options(preset, {**given_model, **given_train, **given_data})
    stages = lesson.parse(opts["stages"])
    tfields = training.TrainConfig.__dataclass_fields__
    tcfg = training.TrainConfig(**{k: opts[k] for k in tfields if k in opts})
    if stages and tcfg.windows != "lines":
        raise LstmError(
            "a lesson's stages are taught line by line; add --windows lines, or drop --stages"
        )
    lang = opts.get("lang") or corpora.language_of(corpus_path)
    if stages and lang is None:  # the stages speak the corpus's language
        text = text if text is not None else textio.read_text(corpus_path, encoding, fmt)
        lang = "ja" if tok.is_japanese(text) else "en"
    corpus = prepare.load_corpus(
        corpus_path,
        opts["tokenizer"],
        encoding=encoding,
        fmt=fmt,
        min_freq=opts["min_freq"],
        max_vocab=opts["max_vocab"],
        valid_path=valid,
        val_fraction=None if valid else opts["val_fraction"],
        text=text,
        extra=lesson.texts(stages, lang) if stages else (),
    )
    mcfg = ModelConfig(vocab_size=len(corpus.vocab), **{k: opts[k] for k in MODEL_KEYS})
    data_opts = {
        "corpus": str(corpus_path),
        "valid": str(valid) if valid else None,
        "tokenizer": corpus.tokenizer.name,
        "min_freq": opts["min_freq"],
        "max_vocab": opts["max_vocab"],
        "val_fraction": None if valid else opts["val_fraction"],
        "encoding": encoding,
        "format": fmt,
        "preset": preset,
        "lang": lang,
        "stages": [st.to_dict() for st in stages],
    }
    return training.Session.start(mcfg, tcfg), corpus, data_opts, notes


def training_data(corpus: prepare.Corpus, tc: training.TrainConfig, stages) -> tuple:
    """What :func:`~lstmcli.training.run_training` trains and validates on: the token
    streams, or the lines (the lesson's stages first, each keeping the earlier ones, then
    the corpus), and the validation text the same way."""
    if tc.windows != "lines":
        return corpus.train_ids, corpus.valid_ids
    eos = corpus.vocab.eos_id
    parts = [data.split_lines(ids, eos) for ids in [*corpus.extra_ids, corpus.train_ids]]
    ends = tuple(int(e) for e in np.cumsum([len(p) for p in parts[:-1]]))
    staged = data.Staged(
        data.concat_lines(parts), tuple(st.name for st in stages), ends,
        tuple(st.steps for st in stages),
    )  # fmt: skip
    valid = None if corpus.valid_ids is None else data.split_lines(corpus.valid_ids, eos)
    return staged, valid


def make_probe(lang: str | None, cfg: ModelConfig, corpus: prepare.Corpus):
    """The recall probe of a run on the bundled stories (a lesson, or a bundled corpus),
    else None."""
    if lang is None:
        return None
    from lstmcli.recall import RecallProbe

    probe = RecallProbe.for_language(lang, cfg, corpus.tokenizer, corpus.vocab)
    return probe if len(probe) else None


def _resume(resume_path, corpus_path, given_model, given_train, valid, encoding, fmt, text):
    path = Path(resume_path)
    ck = checkpoint.load(path)
    if ck.resume is None:
        sibling = paths.resume_path(path)
        if sibling != path and sibling.exists():
            ck, path = checkpoint.load(sibling), sibling
        if ck.resume is None:
            raise LstmError(
                f"{resume_path} holds no training state to resume; pass the "
                f"{paths.resume_path(resume_path).name} file written next to the model"
            )
    if ck.resume.get("engine") == "torchbridge":
        raise LstmError(
            f"{path} is the state of a run of lstmcli.torchbridge.train; resume it with "
            f"torchrun --nproc-per-node N -m lstmcli.torchbridge.train CORPUS --resume {path}"
        )
    cfg = ck.config
    for key, value in given_model.items():
        if value is not None and getattr(cfg, key) != value:
            raise LstmError(
                f"{path} was trained with {OPTION_NAMES.get(key, key)} {getattr(cfg, key)}, "
                f"not {value}; drop the option to resume, or train a new model without --resume"
            )
    tdict = dict(ck.train)
    for key in ("epochs", "max_steps", "max_minutes"):
        if given_train.get(key) is not None:
            tdict[key] = given_train[key]
    tcfg = training.TrainConfig.from_dict(tdict)
    data_opts = dict(tdict.get("data", {}))
    tokenizer = tok.from_spec(ck.tokenizer)
    vocab = Vocab.from_list(ck.vocab)
    if text is None:
        ids = prepare.encode_file(corpus_path, tokenizer, vocab, encoding=encoding, fmt=fmt)
    else:
        ids = prepare.encode_text(text, tokenizer, vocab, str(corpus_path))
    valid_ids = None
    if valid:
        valid_ids = prepare.encode_file(valid, tokenizer, vocab, encoding=encoding, fmt=fmt)
    elif data_opts.get("val_fraction"):
        ids, valid_ids = data.split_tail(ids, data_opts["val_fraction"])
    stages = [lesson.Stage.from_dict(d) for d in data_opts.get("stages") or []]
    extra_ids = [
        prepare.encode_text(t, tokenizer, vocab, f"stage {st.name}")
        for st, t in zip(stages, lesson.texts(stages, data_opts.get("lang")), strict=True)
    ] if stages else []  # fmt: skip
    corpus = prepare.Corpus(tokenizer, vocab, ids, valid_ids, ck.example, extra_ids=extra_ids)
    extra_tensors, resume = ck.extra, ck.resume
    s = training.session_from_checkpoint(ck.params, cfg, tcfg, resume, extra_tensors, ck.history)
    return s, corpus, data_opts, path


def _trained_on(resume_path) -> tuple[str, str | None]:
    """The corpus and validation file a run to be resumed was trained on, from its record,
    for a ``--resume`` without CORPUS."""
    _, meta, _ = checkpoint.read_header(resume_path)
    try:
        data_opts = json.loads(meta.get("train", "{}")).get("data") or {}
        corpus, valid = data_opts.get("corpus"), data_opts.get("valid")
    except (ValueError, RecursionError, AttributeError):
        corpus = valid = None
    if not isinstance(corpus, str) or corpus == textio.STDIN:
        raise LstmError(
            f"{resume_path} does not record a corpus file to resume on; pass it: "
            f"lstm train CORPUS --resume {resume_path}"
        )
    if not Path(corpus).is_file():
        raise LstmError(
            f"{resume_path} was trained on {corpus}, which is not there any more; pass the "
            f"corpus: lstm train CORPUS --resume {resume_path}"
        )
    return corpus, valid if isinstance(valid, str) else None


def _model_beside(resume_path) -> Path:
    """Where a resumed run writes its model without ``--out``: beside the file it resumes
    (``NAME.last.safetensors`` → ``NAME.safetensors``)."""
    p = Path(resume_path)
    suffix = ".last.safetensors"
    return p.with_name(p.name[: -len(suffix)] + ".safetensors") if p.name.endswith(suffix) else p


def run(
    *,
    corpus,
    preset,
    given_model,
    given_train,
    given_data,
    valid,
    encoding,
    text_format,
    out,
    resume,
    mode,
    argv,
    text=None,
) -> int:
    """Run ``lstm train``; returns the exit status (0, or 130/143 when stopped by a signal).

    ``corpus`` ``-`` reads the corpus from standard input; ``text`` is a corpus already read
    (``corpus`` then names it). ``mode`` is that of :class:`~lstmcli.render.TrainDisplay`,
    or "silent": nothing printed, notes as warnings (for :func:`lstmcli.train`). ``argv``
    rebuilds the command that resumes; None for a run started from Python.
    """
    console = render.make_console()
    if text is None and corpus is not None and str(corpus) == "-":
        text = textio.read_stdin(encoding, text_format)
        corpus = textio.STDIN
    if resume and corpus is None and text is None:  # `lstm train --resume FILE` alone
        corpus, recorded_valid = _trained_on(resume)
        valid = valid or recorded_valid
    if resume and out is None:
        out = _model_beside(resume)
    preset = preset or default_preset(corpus)
    lang = given_data.get("lang")
    if lang is not None and lang not in corpora.BUNDLED:
        raise LstmError(f"unknown language {lang!r}; use one of: {', '.join(corpora.BUNDLED)}")
    corpus_path = Path(corpus) if corpus else corpora.bundled_corpus(corpora.BUNDLED[lang or "ja"])
    out = Path(out) if out else paths.default_model_path()
    if out.exists() and out.is_dir():
        raise LstmError(
            f"--out {out} is a folder; give a file name such as {out}/model.safetensors"
        )
    last_path = paths.resume_path(out)
    for target in (out, last_path):  # what a killed earlier run was writing
        checkpoint.clear_stale_temps(target)
    resumed_from = None
    if resume:
        s, corp, data_opts, resumed_from = _resume(
            resume, corpus_path, given_model, given_train, valid, encoding, text_format, text
        )
        notes = []
    else:
        s, corp, data_opts, notes = _start(
            corpus_path, preset, given_model, given_train, given_data, valid, encoding,
            text_format, text,
        )  # fmt: skip
    for note in notes:
        if mode == "silent":
            warnings.warn(note, stacklevel=3)
        else:
            render.note(render.make_console(stderr=True), note)
    # fail now, not after an epoch, if the corpus cannot fill one batch
    if s.train.windows == "streams":
        data.batchify(corp.train_ids, s.train.batch_size)
    stages = [lesson.Stage.from_dict(d) for d in data_opts.get("stages") or []]
    train_data, valid_data = training_data(corp, s.train, stages)
    if s.train.windows == "lines" and len(train_data.lines) == 0:
        raise LstmError(f"{corpus_path}: the text has no lines to train on; check the file")
    probe = make_probe(data_opts.get("lang"), s.config, corp)

    train_meta = {**s.train.to_dict(), "data": data_opts}

    def make_ckpt(with_resume: bool) -> checkpoint.Checkpoint:
        extra, res = training.session_to_checkpoint_parts(s) if with_resume else ({}, None)
        return checkpoint.Checkpoint(
            config=s.config,
            params=s.params if with_resume else s.model_params(),  # NT-ASGD: the average
            vocab=corp.vocab.to_list(),
            tokenizer=corp.tokenizer.spec(),
            train=train_meta,
            history=s.history,
            extra=extra,
            resume=res,
            example=corp.example,
        )

    def save(kind: str, _s) -> None:
        if kind == "best":
            checkpoint.save(out, make_ckpt(False))
            paths.remember(out)
        else:
            checkpoint.save(last_path, make_ckpt(True))

    display = render.TrainDisplay(console, "quiet" if mode == "silent" else mode)
    cfg, tc = s.config, s.train
    display.start(
        {
            "corpus": str(corpus_path),
            "train_tokens": len(corp.train_ids),
            "valid_tokens": 0 if corp.valid_ids is None else len(corp.valid_ids),
            "vocab_size": cfg.vocab_size,
            "tokenizer": corp.tokenizer.name,
            "cell": cfg.cell,
            "layers": cfg.num_layers,
            "hidden": cfg.hidden_size,
            "embed": cfg.embed_size,
            "params": num_params(cfg),
            "tied": cfg.tie_weights,
            "dropout": cfg.dropout,
            "optimizer": tc.optimizer,
            "lr": s.schedule.lr,
            "batch_size": tc.batch_size,
            "seq_len": tc.seq_len,
            "epochs": tc.epochs,
            "max_steps": tc.max_steps,
            "regularizers": regularizer_summary(tc.to_dict()),
            "resumed": str(resumed_from) if resumed_from else None,
            "model": str(out),
            "windows": tc.windows,
            "stages": lesson.spec(stages) if stages else None,
            "lang": data_opts.get("lang"),
            "lines": len(train_data.lines) if tc.windows == "lines" else None,
            "probes": len(probe) if probe is not None else None,
            "unk_noise": tc.unk_noise,
        }
    )
    stop = StopFlag()
    stop.install()
    watch = render.Stopwatch()
    try:  # the flag stays up through the last writes: a Ctrl-C then waits for them
        try:
            outcome = training.run_training(
                s, train_data, valid_data, display.on_event, save, stop, probe,
                corp.vocab.unk_id,
            )  # fmt: skip
        finally:
            display.close()
        if not out.exists():  # e.g. stopped before the first epoch ended: keep what we have
            save("best", s)
        b = training.best_epoch(s.history)
        if outcome != "interrupted" and b is not None and corp.valid_ids is not None:
            b.update(_record_valid_top_k(out, corp.valid_ids, s.train))
    finally:
        stop.restore()
    if outcome == "interrupted":
        command = _resume_command(argv, last_path)
        code = 143 if stop.signum == signal.SIGTERM else 130
        if mode == "json":
            display.json(
                {"event": "interrupted", "resume_file": str(last_path), "resume_command": command}
            )
        else:
            err = render.make_console(stderr=True)
            err.print(f"Stopped. Saved the training state to {last_path}", soft_wrap=True)
            err.print(f"Resume with: {command}", soft_wrap=True, markup=False)
        return code
    example = corp.example or "..."
    nxt = shlex.join(
        ["lstm", "predict", _prompt_hint(example, corp.tokenizer, corp.vocab)]
        + ([] if out == paths.default_model_path() else ["--model", str(out)])
    )
    summary = {
        "outcome": outcome,
        "model": str(out),
        "resume_file": str(last_path),
        "best_valid_ppl": b["valid_ppl"] if b else None,
        "best_epoch": b["epoch"] if b else None,
        "best_stage": b.get("stage") if b else None,
        "best_recall": b.get("recall") if b else None,
        "recall_by_round": [
            [h.get("stage") or f"epoch {h['epoch']}", h["recall"]]
            for h in s.history
            if h.get("recall") is not None
        ],
        **{k: v for k, v in (b or {}).items() if k.startswith("valid_top")},
        "seconds": watch.seconds(),
        "next": nxt,
    }
    if mode == "json":
        display.json({"event": "done", **summary})
    elif mode == "quiet":
        console.print(str(out), markup=False)
    elif mode == "rich":
        render.train_summary(console, summary)
    return 0


def regularizer_summary(tc: dict) -> dict:
    """The AWD-LSTM regularisers that are on in training settings ``tc``, by their option
    names, for the display and ``lstm info``."""
    names = {
        "dropouti": "input-dropout", "dropouth": "hidden-dropout", "dropouto": "output-dropout",
        "dropoute": "word-dropout", "wdrop": "weight-drop", "alpha": "ar", "beta": "tar",
        "wdecay": "weight-decay", "vary_seq_len": "vary-seq-len", "nonmono": "nt-asgd",
    }  # fmt: skip
    return {label: tc[key] for key, label in names.items() if tc.get(key)}


def _record_valid_top_k(out: Path, valid_ids, tc: training.TrainConfig) -> dict[str, float]:
    """Top-1/top-3 of the best model (the file at ``out``) on the validation text, computed
    once after training and written into that model's record of its best epoch."""
    from lstmcli import keyboard

    ck = checkpoint.load(out)
    best = training.best_epoch(ck.history)
    if best is None:
        return {}
    vocab = Vocab.from_list(ck.vocab)
    top = keyboard.valid_top_k(
        ck.params, ck.config, vocab, valid_ids, tc.eval_batch_size, tc.seq_len
    )
    best.update(top)
    checkpoint.save(out, ck)
    return top


def _prompt_hint(example: str, tokenizer, vocab) -> str:
    """A prompt to try: the running example when the model knows all its words, else the
    first two thirds of a line of the training text."""
    if (text := corpora.running_example(tokenizer, vocab)) is not None:
        return text
    toks = tokenizer.tokenize_line(example)
    if not toks:
        return example
    head = toks[: max(1, (2 * len(toks)) // 3)]
    return tokenizer.detokenize(head).strip()
