"""One rank's training: DistributedDataParallel over its own streams, TBPTT as lstmcli trains.

The corpus is cut into B streams (:func:`lstmcli.data.batchify`); rank r of W trains the
B/W streams r·B/W … (r+1)·B/W − 1, window after window of T steps, the recurrent state
carried from each window to the next and cut at its edge. Each rank's loss is the mean
cross-entropy of its T·B/W tokens; DDP averages the gradients over the ranks during the
backward pass, so every rank holds the gradient of the mean over all T·B tokens — the
gradient lstmcli's own engine takes with batch B — and every rank makes the same update:
the global-norm clip, then SGD or Adam. Validation, the learning-rate schedule and the
budgets (epochs, ``--max-steps``, ``--minutes``) follow :mod:`lstmcli.training`.

After every update the ranks sum one small vector: the loss, the tokens, whether a signal
asked to stop and whether rank 0's clock has used up the time budget; so they all stop
after the same update. Dropout draws from a generator seeded by (seed, rank, update), so
a resumed run draws what the uninterrupted one would have.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from lstmcli import checkpoint, data, paths
from lstmcli.errors import LstmError
from lstmcli.optim import LRSchedule
from lstmcli.torchbridge import from_torch, to_torch
from lstmcli.torchbridge.group import Group, gather_columns, total
from lstmcli.torchbridge.plan import ENGINE, Plan
from lstmcli.training import MAX_NONFINITE, EpochEvent, StepEvent


@dataclass
class Counters:
    """Where the run stands; saved as the ``resume`` metadata of the ``.last`` file."""

    epoch: int = 1  # 1-based, of this run
    window: int = 0  # the next window of the epoch
    step: int = 0
    epoch_loss: float = 0.0  # Σ loss × tokens over all ranks, this epoch
    epoch_tokens: int = 0
    epoch_seconds: float = 0.0
    seconds: float = 0.0  # training time so far, validation included, across resumes
    tokens: int = 0  # tokens trained on so far, all ranks, across resumes
    offset: int = 0  # epochs the model had before this run (its history numbers go on)
    finished: bool = False


def _seed(seed: int, rank: int, step: int) -> int:
    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1)[0])


def _detach(state):
    if state is None:
        return None
    return tuple(t.detach() for t in state) if isinstance(state, tuple) else state.detach()


class Trainer:
    """The run on one rank; :meth:`run` trains until a budget is spent or a stop."""

    def __init__(self, g: Group, plan: Plan, out: Path, on_event: Callable = lambda e: None,
                 should_stop: Callable[[], bool] = lambda: False) -> None:  # fmt: skip
        self.g, self.plan, self.out = g, plan, out
        self.on_event, self.should_stop = on_event, should_stop
        self.last_path = paths.resume_path(out)
        tc, cfg = plan.train, plan.base.config
        self.tc, self.cfg = tc, cfg
        self.net = to_torch(plan.base, g.device)
        ids = g.device.index if g.device.type == "cuda" else None
        self.ddp = DistributedDataParallel(self.net, device_ids=None if ids is None else [ids])
        b = tc.batch_size // g.world
        streams = data.batchify(plan.ids, tc.batch_size)[:, g.rank * b : (g.rank + 1) * b]
        self.streams = torch.from_numpy(streams.astype(np.int64)).to(g.device)  # (N, b)
        self.n_windows = data.num_windows(streams, tc.seq_len)
        self.valid = None
        if plan.valid is not None and len(plan.valid) >= 2:
            vb = max(1, min(tc.eval_batch_size, len(plan.valid) // 2))
            cols = data.batchify(plan.valid, vb)[:, g.rank :: g.world]  # columns r, r+W, …
            self.valid = torch.from_numpy(cols.astype(np.int64)).to(g.device)
        self.c = Counters(offset=max([h.get("epoch") or 0 for h in plan.base.history] or [0]))
        self.schedule = LRSchedule(tc.lr, tc.lr_decay, tc.decay_after, tc.decay_on_plateau)
        self.history = list(plan.base.history)
        self.state = None
        self.opt = self._optimizer()
        if plan.resume is not None:
            self._restore(plan.resume, plan.base.extra)

    # --- optimiser and resume ------------------------------------------------------------

    def _optimizer(self) -> torch.optim.Optimizer:
        params = self.net.parameters()
        if self.tc.optimizer == "adam":  # lstmcli's Adam: β (0.9, 0.999), ε 1e-8
            return torch.optim.Adam(params, lr=self.tc.lr, betas=(0.9, 0.999), eps=1e-8)
        return torch.optim.SGD(params, lr=self.tc.lr)

    def _restore(self, r: dict, extra: dict[str, np.ndarray]) -> None:
        fields = Counters.__dataclass_fields__
        self.c = Counters(**{k: v for k, v in r.items() if k in fields})
        self.schedule = LRSchedule.from_dict(r["schedule"])
        if self.tc.optimizer == "adam" and r.get("optimizer_t"):
            for name, p in self.net.named_parameters():
                self.opt.state[p] = {
                    "step": torch.tensor(float(r["optimizer_t"])),
                    "exp_avg": torch.from_numpy(extra[f"optim.m.{name}"].copy()).to(p),
                    "exp_avg_sq": torch.from_numpy(extra[f"optim.v.{name}"].copy()).to(p),
                }
        if self.c.window > 0:
            b, r0 = self.tc.batch_size // self.g.world, self.g.rank
            L = self.cfg.num_layers

            def part(key: str) -> torch.Tensor:
                full = np.stack([extra[f"state.{key}_l{k}"] for k in range(L)])  # (L, B, H)
                return torch.from_numpy(full[:, r0 * b : (r0 + 1) * b].copy()).to(self.g.device)

            self.state = (part("h"), part("c")) if self.cfg.cell == "lstm" else part("h")

    def _resume_parts(self) -> tuple[dict[str, np.ndarray], dict]:
        """The ``.last`` file's extra tensors and resume metadata (collective: every rank
        calls it, for the state of all the streams)."""
        extra: dict[str, np.ndarray] = {}
        t = 0
        if self.tc.optimizer == "adam":
            for name, p in self.net.named_parameters():
                st = self.opt.state.get(p)
                if st:
                    extra[f"optim.m.{name}"] = st["exp_avg"].cpu().numpy()
                    extra[f"optim.v.{name}"] = st["exp_avg_sq"].cpu().numpy()
                    t = int(st["step"])
        if self.state is not None and self.c.window > 0:
            parts = self.state if isinstance(self.state, tuple) else (self.state,)
            for key, s in zip(("h", "c"), parts, strict=False):
                full = gather_columns(self.g, s).cpu().numpy()  # (L, B, H)
                for k in range(self.cfg.num_layers):
                    extra[f"state.{key}_l{k}"] = full[k]
        resume = {
            "engine": ENGINE, **asdict(self.c), "optimizer": self.tc.optimizer,
            "optimizer_t": t, "schedule": self.schedule.to_dict(), "world_size": self.g.world,
        }  # fmt: skip
        return extra, resume

    # --- files ---------------------------------------------------------------------------

    def record(self) -> dict:
        """The training record of the files: the settings, the corpus, and how it ran."""
        g = self.g
        return {
            **self.tc.to_dict(),
            "data": self.plan.data,
            "torchrun": {
                "launcher": g.launcher, "world_size": g.world, "backend": g.backend,
                "device": g.device.type, "torch": torch.__version__, "tokens": self.c.tokens,
                "seconds": round(self.c.seconds, 1), "steps": self.c.step,
                "init": self.plan.init, "previous": self.plan.previous,
            },
        }  # fmt: skip

    def save(self, kind: str) -> None:
        """Write the model (``best``) or the resumable state (``last``); collective."""
        extra, resume = self._resume_parts() if kind == "last" else ({}, None)
        if not self.g.main:
            return
        ck = from_torch(self.net, like=self.plan.base, train=self.record(), history=self.history)
        if kind == "last":
            ck.extra, ck.resume = extra, resume
            checkpoint.save(self.last_path, ck)
        else:
            checkpoint.save(self.out, ck)
            paths.remember(self.out)

    # --- training ------------------------------------------------------------------------

    def _budget_spent(self, time_up: bool) -> str | None:
        if self.tc.max_steps is not None and self.c.step >= self.tc.max_steps:
            return "max-steps"
        return "time-limit" if time_up else None

    def _time_up(self) -> bool:
        m = self.tc.max_minutes
        return self.g.main and m is not None and self.c.seconds >= 60 * m

    def run(self) -> str:
        """Train; "finished", "early-stopped", "max-steps", "time-limit" or "interrupted"."""
        c, tc, V = self.c, self.tc, self.cfg.vocab_size
        t_run = time.perf_counter() - c.seconds
        spent = self._budget_spent(bool(total(self.g, [float(self._time_up())])[0]))
        if spent or c.finished:
            return spent or "finished"
        self.net.train()
        while c.epoch <= tc.epochs and not c.finished:
            for group in self.opt.param_groups:
                group["lr"] = self.schedule.lr
            t_start = time.perf_counter() - c.epoch_seconds
            time_up, nonfinite = False, 0
            for k in range(c.window, self.n_windows):
                i = k * tc.seq_len
                T = min(tc.seq_len, len(self.streams) - 1 - i)
                x, y = self.streams[i : i + T], self.streams[i + 1 : i + 1 + T]
                torch.manual_seed(_seed(tc.seed, self.g.rank, c.step))  # dropout masks
                logits, new_state = self.ddp(x, self.state)
                loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
                self.opt.zero_grad(set_to_none=True)
                loss.backward()  # DDP: the gradients averaged over the ranks
                norm = float(torch.nn.utils.clip_grad_norm_(self.net.parameters(),
                                                            tc.clip or math.inf))  # fmt: skip
                c.seconds = time.perf_counter() - t_run
                n = y.numel()
                loss_sum, tokens, stops, ups = total(
                    self.g, [loss.item() * n, n, float(self.should_stop()), float(self._time_up())]
                )
                if not (math.isfinite(loss_sum) and math.isfinite(norm)):
                    nonfinite += 1  # the same on every rank: the sums and the norm are shared
                    if nonfinite >= MAX_NONFINITE:
                        raise LstmError(
                            f"the loss was NaN or infinite {MAX_NONFINITE} times in a row; "
                            "lower --lr or --clip and train again"
                        )
                    self.schedule.lr *= 0.5  # skip the update, keep the state, lower the rate
                    for group in self.opt.param_groups:
                        group["lr"] = self.schedule.lr
                    continue
                nonfinite = 0
                self.opt.step()
                self.state = _detach(new_state)
                c.step += 1
                c.window = k + 1
                c.epoch_loss += loss_sum
                c.epoch_tokens += int(tokens)
                c.tokens += int(tokens)
                c.epoch_seconds = time.perf_counter() - t_start
                self.on_event(StepEvent(
                    epoch=c.offset + c.epoch, window=k + 1, windows=self.n_windows, step=c.step,
                    loss=loss_sum / tokens, lr=self.schedule.lr,
                    tokens_per_s=c.epoch_tokens / max(c.epoch_seconds, 1e-9), grad_norm=norm,
                ))  # fmt: skip
                time_up = ups > 0
                spent = self._budget_spent(time_up)
                if stops > 0 and not spent and c.window < self.n_windows:
                    self.save("last")
                    return "interrupted"
                if spent:
                    break
            outcome = self._end_epoch(time_up, t_run)
            if outcome:
                return outcome
            if self.should_stop_all():
                return "interrupted"
        c.finished = True
        return "finished"

    def should_stop_all(self) -> bool:
        return total(self.g, [float(self.should_stop())])[0] > 0

    def evaluate(self) -> float | None:
        """Mean cross-entropy of the validation text, its streams shared out over the ranks
        (each from the zero state, as :func:`lstmcli.training.evaluate` reads them)."""
        if self.valid is None:
            return None
        nll, count, T = 0.0, 0, self.tc.seq_len
        self.net.eval()
        with torch.no_grad():
            state = None
            if self.valid.shape[1] > 0:
                for i in range(0, len(self.valid) - 1, T):
                    n = min(T, len(self.valid) - 1 - i)
                    x, y = self.valid[i : i + n], self.valid[i + 1 : i + 1 + n]
                    logits, state = self.net(x, state)
                    nll += float(F.cross_entropy(logits.reshape(-1, self.cfg.vocab_size),
                                                 y.reshape(-1), reduction="sum"))  # fmt: skip
                    count += y.numel()
        self.net.train()
        nll, count = total(self.g, [nll, count])
        return nll / count

    def _end_epoch(self, time_up: bool, t_run: float) -> str | None:
        c, tc = self.c, self.tc
        train_loss = c.epoch_loss / max(c.epoch_tokens, 1)
        valid_loss = self.evaluate()
        valid_ppl = None if valid_loss is None else math.exp(min(valid_loss, 700.0))
        lr_used = self.schedule.lr
        improved = self.schedule.end_epoch(c.epoch, valid_ppl) or valid_ppl is None
        self.history.append({
            "epoch": c.offset + c.epoch, "train_loss": train_loss,
            "train_ppl": math.exp(min(train_loss, 700.0)), "valid_loss": valid_loss,
            "valid_ppl": valid_ppl, "lr": lr_used, "seconds": c.epoch_seconds,
            "tokens_per_s": c.epoch_tokens / max(c.epoch_seconds, 1e-9), "steps": c.step,
            "best": improved,
        })  # fmt: skip
        rec = self.history[-1]
        self.on_event(EpochEvent(
            epoch=rec["epoch"], train_loss=train_loss, train_ppl=rec["train_ppl"],
            valid_loss=valid_loss, valid_ppl=valid_ppl, lr=lr_used, seconds=c.epoch_seconds,
            tokens_per_s=rec["tokens_per_s"], improved=improved,
        ))  # fmt: skip
        c.seconds = time.perf_counter() - t_run
        spent = self._budget_spent(time_up)
        patience_out = tc.patience is not None and self.schedule.bad_epochs >= tc.patience
        c.epoch += 1
        c.window = 0
        self.state = None
        c.epoch_loss, c.epoch_tokens, c.epoch_seconds = 0.0, 0, 0.0
        if spent or patience_out or c.epoch > tc.epochs:
            c.finished = True
        if improved:
            self.save("best")
        self.save("last")
        if spent:
            return spent
        return "early-stopped" if patience_out else None
