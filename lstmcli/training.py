"""The training loop: epochs of truncated-BPTT windows, validation, schedule, resume.

It reports through one callback (``on_event`` receives :class:`StepEvent` and
:class:`EpochEvent`), saves through another (``save(kind, session)`` with kind ``"best"``
or ``"last"``), and stops early when ``should_stop()`` turns true (a signal handler in the
CLI sets it). It never prints.

Everything needed to continue exactly where training stopped lives in a
:class:`Session`: parameters, optimiser, schedule, counters, the recurrent state of an
unfinished epoch, the dropout RNG (which also draws the regularisers' masks and the
variable window lengths) and NT-ASGD's average. :func:`session_to_checkpoint_parts` and
:func:`session_from_checkpoint` turn it into checkpoint tensors and metadata and back.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import numpy as np

from lstmcli import data, model, optim, regularize
from lstmcli.asgd import NTASGD
from lstmcli.errors import LstmError
from lstmcli.model import ModelConfig, Params, State
from lstmcli.workspace import Workspace

MAX_NONFINITE = 5  # consecutive non-finite steps before training gives up
ANNEALS = ("none", "linear")
WINDOWS = ("streams", "lines")


@dataclass(frozen=True)
class TrainConfig:
    """How to train; saved in every checkpoint as JSON."""

    batch_size: int = 20
    seq_len: int = 35
    epochs: int = 10
    max_steps: int | None = None
    max_minutes: float | None = None  # time budget: stop (and validate) once it is spent
    optimizer: str = "sgd"
    lr: float = 1.0
    lr_decay: float = 0.5
    decay_after: int | None = None
    decay_on_plateau: bool = True
    anneal: str = "none"  # "linear": the rate falls to 0 over the budget (see budget_used)
    patience: int | None = 3  # stop after this many epochs without improvement
    clip: float = 5.0
    seed: int = 0
    eval_batch_size: int = 10
    # AWD-LSTM's regularisers, all off by default (lstmcli.regularize, optim, asgd)
    dropouti: float = 0.0  # locked dropout on the embeddings
    dropouth: float = 0.0  # locked dropout between layers
    dropouto: float = 0.0  # locked dropout before the decoder
    dropoute: float = 0.0  # embedding dropout (whole words)
    wdrop: float = 0.0  # weight drop on W_hh
    alpha: float = 0.0  # AR
    beta: float = 0.0  # TAR
    wdecay: float = 0.0  # weight decay: L2 for SGD, decoupled for Adam
    vary_seq_len: bool = False  # draw each window's length around seq_len
    nonmono: int = 0  # NT-ASGD's interval n in validation checks (0: off)
    # what a batch is: "streams" (B streams of the text, state carried from window to
    # window) or "lines" (B lines, each from the zero state; see data.LinePlan)
    windows: str = "streams"
    unk_noise: float = 0.0  # each input token read as <unk> with this probability
    probe_every: int = 100  # updates between recall probes while a round runs (0: only at its end)

    def __post_init__(self) -> None:
        for name in ("batch_size", "seq_len", "epochs", "eval_batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise LstmError(f"{name} must be a positive integer, got {value!r}")
        if self.max_steps is not None and self.max_steps <= 0:
            raise LstmError(f"max_steps must be positive, got {self.max_steps}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise LstmError(f"max_minutes must be positive, got {self.max_minutes}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise LstmError(f"learning rate must be positive, got {self.lr}")
        if not 0 < self.lr_decay <= 1:
            raise LstmError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if self.anneal not in ANNEALS:
            raise LstmError(f"unknown anneal {self.anneal!r}; use one of: {', '.join(ANNEALS)}")
        if self.clip < 0:
            raise LstmError(f"clip must be ≥ 0 (0 turns it off), got {self.clip}")
        if self.optimizer not in optim.OPTIMIZERS:
            raise LstmError(
                f"unknown optimizer {self.optimizer!r}; use one of: {', '.join(optim.OPTIMIZERS)}"
            )
        self.regularizers()  # checks their ranges
        if not self.wdecay >= 0:
            raise LstmError(f"weight decay must be ≥ 0, got {self.wdecay}")
        if not isinstance(self.nonmono, int) or self.nonmono < 0:
            raise LstmError(f"nonmono must be a whole number ≥ 0, got {self.nonmono!r}")
        if self.nonmono and self.optimizer != "sgd":
            raise LstmError("NT-ASGD averages SGD's iterates: use it with --optimizer sgd")
        if self.windows not in WINDOWS:
            raise LstmError(f"unknown windows {self.windows!r}; use one of: {', '.join(WINDOWS)}")
        if self.windows == "lines" and self.vary_seq_len:
            raise LstmError(
                "--vary-seq-len draws window lengths along streams; with --windows lines "
                "each line is read whole, so drop one of the two"
            )
        if not 0.0 <= self.unk_noise < 1.0:
            raise LstmError(f"unk_noise must be in [0, 1), got {self.unk_noise}")
        if not isinstance(self.probe_every, int) or self.probe_every < 0:
            raise LstmError(f"probe_every must be a whole number ≥ 0, got {self.probe_every!r}")

    def regularizers(self) -> regularize.Regularizers | None:
        """The window regularisers, or None when all are off (the plain path)."""
        names = regularize.Regularizers.__dataclass_fields__
        reg = regularize.Regularizers(**{k: getattr(self, k) for k in names})
        return reg if reg.active else None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass
class StepEvent:
    """Sent after every optimiser step."""

    epoch: int
    window: int  # 1-based index of the window just trained
    windows: int  # windows per epoch
    step: int  # optimiser steps so far
    loss: float
    lr: float
    tokens_per_s: float
    grad_norm: float
    stage: str | None = None  # the lesson's stage this update belongs to; None: an epoch
    recall: float | None = None  # the latest probe recall of the cued cake, when probed


@dataclass
class EpochEvent:
    """Sent after every epoch's validation."""

    epoch: int
    train_loss: float
    train_ppl: float
    valid_loss: float | None
    valid_ppl: float | None
    lr: float
    seconds: float
    tokens_per_s: float
    improved: bool
    averaged: bool = False  # validated with NT-ASGD's averaged weights
    stage: str | None = None  # the round was this stage of the lesson, not an epoch
    recall: float | None = None  # probe recall of the cued cake after the round


@dataclass
class Session:
    """A training run in progress; enough to resume it exactly."""

    params: Params
    config: ModelConfig
    train: TrainConfig
    optimizer: optim.SGD | optim.Adam
    schedule: optim.LRSchedule
    rng: np.random.Generator  # dropout masks
    epoch: int = 1  # the current (1-based) epoch
    window: int = 0  # the next window of the current epoch
    step: int = 0
    state: State | None = None  # recurrent state within the current epoch
    epoch_loss: float = 0.0  # summed window losses × tokens, this epoch
    epoch_tokens: int = 0
    epoch_seconds: float = 0.0
    seconds: float = 0.0  # training time so far, validation included, across resumes
    history: list[dict] = field(default_factory=list)
    finished: bool = False
    nonfinite: int = 0
    row: int = 0  # the next row of the current epoch's streams
    asgd: NTASGD | None = None  # NT-ASGD's trigger and average, when it is on

    @classmethod
    def start(cls, config: ModelConfig, train: TrainConfig) -> Session:
        init_rng = np.random.default_rng(train.seed)
        params = model.init_params(config, init_rng)
        return cls(
            params=params,
            config=config,
            train=train,
            optimizer=optim.make_optimizer(train.optimizer, train.lr, train.wdecay),
            schedule=optim.LRSchedule(
                lr=train.lr,
                decay=train.lr_decay,
                decay_after=train.decay_after,
                decay_on_plateau=train.decay_on_plateau,
            ),
            rng=np.random.default_rng([train.seed, 1]),
            asgd=NTASGD(train.nonmono) if train.nonmono else None,
        )

    def model_params(self) -> Params:
        """The weights to evaluate and save: NT-ASGD's average once it has begun."""
        return self.asgd.weights(self.params) if self.asgd else self.params


def evaluate(
    params: Params,
    cfg: ModelConfig,
    ids: np.ndarray,
    batch_size: int = 1,
    seq_len: int = 35,
    ws: Workspace | None = None,
) -> tuple[float, int]:
    """Mean cross-entropy (nats per token) of ``ids`` and the number of tokens scored.

    The ids are cut into ``batch_size`` streams, each run from a zero state with the state
    carried across windows; with ``batch_size=1`` every token after the first is scored
    once, as the published Penn Treebank figures are computed.
    """
    ws = ws or Workspace()
    batch_size = max(1, min(batch_size, len(ids) // 2))
    streams = data.batchify(ids, batch_size)
    state = model.zero_state(cfg, batch_size)
    total, count = 0.0, 0
    for _, x, y in data.windows(streams, seq_len):
        loss, state = model.window_loss(params, cfg, x, y, state, ws)
        total += loss
        count += y.size
    return total / count, count


def evaluate_lines(
    params: Params,
    cfg: ModelConfig,
    lines: data.Lines,
    batch_size: int = 64,
    seq_len: int = 256,
    ws: Workspace | None = None,
) -> tuple[float, int]:
    """Mean cross-entropy (nats per token) of ``lines``, each read from the zero state as
    ``lstm predict`` reads a prompt, and the number of tokens scored (every step of every
    line: its words and its <eos>). Lines are batched by length, so the result does not
    depend on ``batch_size`` beyond float rounding."""
    ws = ws or Workspace()
    order = np.argsort(lines.size, kind="stable")
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    plan = data.LinePlan(lines, batches, seq_len)
    total, count = 0.0, 0
    state = None
    for k in range(len(plan)):
        w = plan.window(k)
        if w.fresh:
            state = model.zero_state(cfg, w.x.shape[1])
        loss, state = model.window_loss(params, cfg, w.x, w.y, state, ws, w.mask)
        total += loss
        count += int(w.mask.sum())
    return total / max(count, 1), count


def best_epoch(history: list[dict]) -> dict | None:
    """The history record of the model kept as the best: the last round marked ``best``
    (models trained before rounds were marked: the lowest validation perplexity), or
    None without any."""
    if any("best" in h for h in history):
        return next((h for h in reversed(history) if h.get("best")), None)
    scored = [h for h in history if h.get("valid_ppl") is not None]
    return min(scored, key=lambda h: h["valid_ppl"]) if scored else None


def _ppl(loss: float) -> float:
    return math.exp(min(loss, 700.0))


class _Round(NamedTuple):
    """One row of the run: an epoch, or a stage of the lesson."""

    epoch: int | None  # 1-based epoch number; None for a stage
    stage: str | None  # the stage's name; None for an epoch
    n_windows: int  # updates in it (for streams with varying windows, an estimate)


class _Streams:
    """Epochs over B streams of the text, state carried from window to window (the PyTorch
    word_language_model way; AWD-LSTM's windows of varying length when asked)."""

    def __init__(self, s: Session, ids: np.ndarray) -> None:
        self.streams = data.batchify(ids, s.train.batch_size)
        self.rounds = s.train.epochs

    def round(self, s: Session) -> tuple[_Round, Iterator]:
        tc = s.train
        n = data.num_windows(self.streams, tc.seq_len)
        if s.state is None or s.window == 0:
            s.state = model.zero_state(s.config, tc.batch_size)
            s.row = 0
        if tc.vary_seq_len:
            it = regularize.variable_windows(self.streams, tc.seq_len, s.rng, s.window, s.row)
        else:
            it = data.windows(self.streams, tc.seq_len, start=s.window)
        return _Round(s.epoch, None, n), ((k, x, y, None, False) for k, x, y in it)


class _LineRounds:
    """Rounds of line batches: first the lesson's stages, each a number of updates on the
    lines of its mix (passes over them, reshuffled each time), then epochs over all lines.

    The order of each pass is drawn from a generator seeded by (seed, round, pass), so a
    resumed run rebuilds the same batches from its counters alone.
    """

    def __init__(self, s: Session, train: data.Lines | data.Staged) -> None:
        self.mix = train if isinstance(train, data.Staged) else data.Staged(train)
        self.stages = len(self.mix.steps)
        self.rounds = self.stages + s.train.epochs
        self._plan: tuple[int, data.LinePlan] | None = None

    def plan(self, s: Session, r: int) -> data.LinePlan:
        """The windows of round r (1-based)."""
        if self._plan is not None and self._plan[0] == r:
            return self._plan[1]
        tc, lines = s.train, self.mix.lines
        if r <= self.stages:
            pool, limit = np.arange(self.mix.ends[r - 1]), self.mix.steps[r - 1]
        else:
            pool, limit = np.arange(len(lines)), None
        batches: list[np.ndarray] = []
        for j in itertools.count():
            rng = np.random.default_rng([tc.seed, 2, r, j])
            batches += data.line_batches(lines, pool, tc.batch_size, rng)
            plan = data.LinePlan(lines, batches, tc.seq_len, limit)
            if limit is None or plan.n_windows >= limit:
                break
        self._plan = (r, plan)
        return plan

    def round(self, s: Session) -> tuple[_Round, Iterator]:
        plan = self.plan(s, s.epoch)
        stage = s.epoch <= self.stages
        info = _Round(
            None if stage else s.epoch - self.stages,
            self.mix.names[s.epoch - 1] if stage else None,
            len(plan),
        )

        def windows() -> Iterator:
            for k in range(s.window, len(plan)):
                w = plan.window(k)
                yield k, w.x, w.y, w.mask, w.fresh

        return info, windows()  # a round begins with a fresh window: no state to set up


def run_training(
    s: Session,
    train_ids: np.ndarray | data.Lines | data.Staged,
    valid_ids: np.ndarray | data.Lines | None,
    on_event: Callable[[StepEvent | EpochEvent], None] = lambda e: None,
    save: Callable[[str, Session], None] = lambda kind, s: None,
    should_stop: Callable[[], bool] = lambda: False,
    probe: Callable[[Params], dict] | None = None,
    unk_id: int = 1,
) -> str:
    """Train until the epochs, the step budget or the patience run out, or until stopped.

    ``train_ids`` is the token stream (``windows="streams"``), or its lines — a
    :class:`~lstmcli.data.Lines`, or a :class:`~lstmcli.data.Staged` whose stages come
    first (``windows="lines"``). ``valid_ids`` is scored the same way: as streams, or line
    by line from the zero state. ``probe(params)`` returns ``{"recall": share, …}``, how
    often the model names the cued cake of fresh episodes; it runs after every round and
    every ``probe_every`` updates, its figures go into the events and the history, and the
    best model is chosen on validation and recall together (see :func:`_improves`).
    ``unk_id`` is the token that ``unk_noise`` reads inputs as.

    Returns "finished", "early-stopped", "max-steps", "time-limit" or "interrupted". A
    "last" checkpoint is saved after every round and on interruption; a "best" one whenever
    the model improves (or after every round when there is no validation data).
    """
    tc, cfg = s.train, s.config
    lines = tc.windows == "lines"
    if lines != isinstance(train_ids, data.Lines | data.Staged):
        want = "lines (data.Lines or data.Staged)" if lines else "a token stream"
        raise LstmError(f"windows={tc.windows!r} trains on {want}")
    feed = _LineRounds(s, train_ids) if lines else _Streams(s, train_ids)  # type: ignore[arg-type]
    if probe is not None:
        probe = _once_per_update(probe, s)
    reg = tc.regularizers()
    ws = Workspace()
    t_run = time.perf_counter() - s.seconds
    spent = _budget_spent(s)
    if spent:
        return spent
    recall = _last_recall(s.history)
    while s.epoch <= feed.rounds and not s.finished:
        rnd, batches = feed.round(s)
        n_windows = rnd.n_windows
        s.optimizer.lr = s.schedule.lr
        t_start = time.perf_counter() - s.epoch_seconds
        for k, x, y, mask, fresh in batches:
            if fresh:
                s.state = model.zero_state(cfg, x.shape[1])
            if tc.unk_noise:
                x = regularize.unk_noise(x, tc.unk_noise, unk_id, s.rng)
            loss, grads, new_state = model.loss_and_grads(
                s.params, cfg, x, y, s.state, ws, s.rng, reg, mask
            )
            norm, scale = optim.clip_scale(grads, tc.clip)  # applied inside the step
            if not (math.isfinite(loss) and math.isfinite(norm)):
                # roll back: skip the update, keep the old state, lower the rate
                s.nonfinite += 1
                if s.nonfinite >= MAX_NONFINITE:
                    raise LstmError(
                        f"the loss was NaN or infinite {MAX_NONFINITE} times in a row; "
                        "lower --lr or --clip and train again"
                    )
                s.schedule.lr *= 0.5
                s.optimizer.lr = s.schedule.lr
                continue
            s.nonfinite = 0
            lr = s.optimizer.lr = _rate(s, rnd)
            if tc.vary_seq_len:  # AWD-LSTM: the rate scales with the window's length, lr·T / mean
                s.optimizer.lr = lr * len(x) / tc.seq_len
                rows_left = len(feed.streams) - 1 - s.row - len(x)  # type: ignore[union-attr]
                n_windows = k + 1 + regularize.expected_windows(rows_left, tc.seq_len)
                rnd = rnd._replace(n_windows=n_windows)
            s.optimizer.step(s.params, grads, scale)  # overwrites grads
            s.optimizer.lr = lr  # the rate the step event and the epoch's record show
            if s.asgd is not None:
                s.asgd.update(s.params)
            s.state = new_state
            s.step += 1
            s.window = k + 1
            s.row += len(x)
            n = y.size if mask is None else int(mask.sum())  # real tokens, padding not counted
            s.epoch_loss += loss * n
            s.epoch_tokens += n
            s.epoch_seconds = time.perf_counter() - t_start
            s.seconds = time.perf_counter() - t_run
            if probe is not None and tc.probe_every and s.step % tc.probe_every == 0:
                recall = probe(s.model_params())["recall"]
            on_event(
                StepEvent(
                    epoch=rnd.epoch if rnd.epoch is not None else s.epoch,
                    window=k + 1,
                    windows=n_windows,
                    step=s.step,
                    loss=loss,
                    lr=s.optimizer.lr,
                    tokens_per_s=s.epoch_tokens / max(s.epoch_seconds, 1e-9),
                    grad_norm=norm,
                    stage=rnd.stage,
                    recall=recall,
                )
            )
            spent = _budget_spent(s)
            if should_stop() and not spent and s.window < n_windows:
                save("last", s)
                return "interrupted"
            if spent:
                break
        outcome = _end_round(s, rnd, feed.rounds, valid_ids, ws, on_event, save, t_run, probe)
        if outcome:
            return outcome
        if should_stop():
            return "interrupted"
    s.finished = True
    return "finished"


def _once_per_update(probe: Callable[[Params], dict], s: Session) -> Callable[[Params], dict]:
    """``probe`` run at most once per update: a round that ends on an update the loop has
    just probed (a stage of 1,200 updates, probed every 100) reuses that figure."""
    last: list = [None, None]  # the update probed, its figures

    def run(params: Params) -> dict:
        if last[0] != s.step:
            last[:] = [s.step, probe(params)]
        return last[1]

    return run


def _last_recall(history: list[dict]) -> float | None:
    """The recall of the latest round that was probed, if any."""
    return next((h["recall"] for h in reversed(history) if h.get("recall") is not None), None)


def budget_used(s: Session, rnd: _Round | int) -> float:
    """The share of the run's budget spent, in [0, 1]: of its epochs (the stages of a
    lesson before them count as none), or of ``max_steps`` or ``max_minutes`` when one of
    those is further along. ``rnd`` is the current round, or the windows in an epoch."""
    tc = s.train
    if isinstance(rnd, int):
        rnd = _Round(s.epoch, None, rnd)
    used = 0.0
    if rnd.epoch is not None:
        used = (rnd.epoch - 1 + s.window / max(rnd.n_windows, 1)) / tc.epochs
    if tc.max_steps is not None:
        used = max(used, s.step / tc.max_steps)
    if tc.max_minutes is not None:
        used = max(used, s.seconds / (60 * tc.max_minutes))
    return min(used, 1.0)


def _rate(s: Session, rnd: _Round) -> float:
    """The learning rate of the next update: the schedule's, and with ``anneal="linear"``
    scaled by the share of the budget left (Li et al. 2020, "Budgeted Training": a linear
    decay to zero suits a run that a budget ends, however many epochs it allows). A
    lesson's stages run at the full rate; the anneal spans the epochs after them."""
    if s.train.anneal == "linear":
        return s.schedule.lr * (1.0 - budget_used(s, rnd))
    return s.schedule.lr


def _budget_spent(s: Session) -> str | None:
    """The outcome "max-steps" or "time-limit" once that budget is used up, else None."""
    tc = s.train
    if tc.max_steps is not None and s.step >= tc.max_steps:
        return "max-steps"
    if tc.max_minutes is not None and s.seconds >= 60 * tc.max_minutes:
        return "time-limit"
    return None


RECALL_TOLERANCE = 0.02  # recall differences this small are noise (5 of 240 probes)


def _improves(best: dict | None, valid_ppl: float | None, recall: float | None) -> bool:
    """Whether a round's model is better than the best one so far (its history record).

    Without a probe, lower validation perplexity is better. With one, a model improves
    when it names the cued cake more often by more than ``RECALL_TOLERANCE``, or about as
    often (within it) with a lower validation perplexity: the model kept is one that both
    remembers and predicts the text well, not one caught at the top of a swing in recall.
    """
    if best is None:
        return True
    before = best.get("valid_ppl")
    ppl_better = valid_ppl is not None and (before is None or valid_ppl < before)
    if recall is None or best.get("recall") is None:
        return ppl_better or valid_ppl is None
    if recall > best["recall"] + RECALL_TOLERANCE:
        return True
    return recall >= best["recall"] - RECALL_TOLERANCE and (ppl_better or valid_ppl is None)


def _end_round(s, rnd, rounds, valid_ids, ws, on_event, save, t_run, probe) -> str | None:
    """Validate, probe, record, schedule and save after a round (an epoch, a stage, or a
    partial one at a budget's end)."""
    tc = s.train
    train_loss = s.epoch_loss / max(s.epoch_tokens, 1)
    weights = s.model_params()
    valid_loss = None
    if isinstance(valid_ids, data.Lines):
        valid_loss, _ = evaluate_lines(weights, s.config, valid_ids, ws=ws)
    elif valid_ids is not None and len(valid_ids) >= 2:
        valid_loss, _ = evaluate(weights, s.config, valid_ids, tc.eval_batch_size, tc.seq_len, ws)
    valid_ppl = None if valid_loss is None else _ppl(valid_loss)
    probed = probe(weights) if probe is not None else {}
    recall = probed.get("recall")
    lr_used = s.optimizer.lr
    best = best_epoch(s.history)
    improved = _improves(best, valid_ppl, recall)
    if rnd.epoch is not None:  # the plateau rule and patience count epochs, not stages
        s.schedule.end_epoch(rnd.epoch, valid_ppl)
    averaged = s.asgd is not None and s.asgd.averaging  # the weights just validated
    if s.asgd is not None and valid_loss is not None:
        s.asgd.check(valid_loss, s.params, s.step)
    record = {
        "epoch": rnd.epoch,
        "train_loss": train_loss,
        "train_ppl": _ppl(train_loss),
        "valid_loss": valid_loss,
        "valid_ppl": valid_ppl,
        "lr": lr_used,
        "seconds": s.epoch_seconds,
        "tokens_per_s": s.epoch_tokens / max(s.epoch_seconds, 1e-9),
        "steps": s.step,
        "best": improved,
    }
    if rnd.stage is not None:
        record["stage"] = rnd.stage
    record.update(probed)
    if s.asgd is not None:
        record["averaged"] = averaged
    s.history.append(record)
    on_event(
        EpochEvent(
            epoch=rnd.epoch if rnd.epoch is not None else s.epoch,
            train_loss=train_loss,
            train_ppl=record["train_ppl"],
            valid_loss=valid_loss,
            valid_ppl=valid_ppl,
            lr=lr_used,
            seconds=s.epoch_seconds,
            tokens_per_s=record["tokens_per_s"],
            improved=improved,
            averaged=averaged,
            stage=rnd.stage,
            recall=recall,
        )
    )
    s.seconds = time.perf_counter() - t_run
    spent = _budget_spent(s)
    patience_out = (
        rnd.epoch is not None and tc.patience is not None and s.schedule.bad_epochs >= tc.patience
    )
    s.epoch += 1
    s.window = 0
    s.state = None
    s.epoch_loss, s.epoch_tokens, s.epoch_seconds = 0.0, 0, 0.0
    if spent or patience_out or s.epoch > rounds:
        s.finished = True
    if improved:
        save("best", s)
    save("last", s)
    if spent:
        return spent
    if patience_out:
        return "early-stopped"
    return None


def session_to_checkpoint_parts(s: Session) -> tuple[dict[str, np.ndarray], dict]:
    """Extra tensors and the ``resume`` metadata that let :func:`session_from_checkpoint`
    rebuild the session."""
    tensors = dict(s.optimizer.state_tensors())
    if s.asgd is not None:
        tensors.update(s.asgd.state_tensors())
    if s.state is not None and s.window > 0:
        for k, layer in enumerate(s.state):
            tensors[f"state.h_l{k}"] = layer.h
            if layer.c is not None:
                tensors[f"state.c_l{k}"] = layer.c
    resume = {
        "epoch": s.epoch,
        "window": s.window,
        "step": s.step,
        "optimizer": s.optimizer.name,
        "optimizer_t": s.optimizer.t,
        "schedule": s.schedule.to_dict(),
        "rng": s.rng.bit_generator.state,
        "epoch_loss": s.epoch_loss,
        "epoch_tokens": s.epoch_tokens,
        "epoch_seconds": s.epoch_seconds,
        "seconds": s.seconds,
        "finished": s.finished,
        "row": s.row,
    }
    if s.asgd is not None:
        resume["asgd"] = s.asgd.to_dict()
    return tensors, resume


def session_from_checkpoint(
    params: Params,
    config: ModelConfig,
    train: TrainConfig,
    resume: dict,
    extra: dict[str, np.ndarray],
    history: list[dict],
) -> Session:
    """Rebuild a :class:`Session` saved with :func:`session_to_checkpoint_parts`.

    ``train`` may differ from the saved settings in ``epochs``, ``max_steps`` and
    ``max_minutes`` (to train
    for longer); everything else continues as it was.
    """
    try:
        opt = optim.make_optimizer(resume["optimizer"], resume["schedule"]["lr"], train.wdecay)
        opt.load_state(
            {
                k: v
                for k, v in extra.items()
                if k.startswith("optim.") and not k.startswith(NTASGD.PREFIX)
            },
            resume["optimizer_t"],
        )
        rng = np.random.default_rng()
        rng.bit_generator.state = resume["rng"]
        state = None
        if resume["window"] > 0:
            state = [
                model.LayerState(extra[f"state.h_l{k}"], extra.get(f"state.c_l{k}"))
                for k in range(config.num_layers)
            ]
        s = Session(
            params=params,
            config=config,
            train=train,
            optimizer=opt,
            schedule=optim.LRSchedule.from_dict(resume["schedule"]),
            rng=rng,
            epoch=resume["epoch"],
            window=resume["window"],
            step=resume["step"],
            state=state,
            epoch_loss=resume["epoch_loss"],
            epoch_tokens=resume["epoch_tokens"],
            epoch_seconds=resume["epoch_seconds"],
            seconds=resume.get("seconds", 0.0),
            history=list(history),
            row=resume.get("row", resume["window"] * train.seq_len),
            asgd=NTASGD.from_parts(resume["asgd"], extra) if "asgd" in resume else None,
        )
    except (KeyError, TypeError, ValueError) as e:
        raise LstmError(f"the model's training state is incomplete or corrupt ({e})") from None
    return s
