"""What a person reads: Rich tables, the training progress display, summaries.

Every function takes the :class:`rich.console.Console` to draw on, so tests render through
a fixed-width console and compare strings. Piped or redirected output gets plain text:
Rich drops colour and escape codes when the console is not a terminal, and the training
display then prints one line per epoch instead of a live bar.
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # the training modules and rich.progress are not needed by predict
    from rich.progress import Progress

    from lstmcli.training import EpochEvent, StepEvent


def make_console(stderr: bool = False, width: int | None = None) -> Console:
    return Console(stderr=stderr, highlight=False, width=width)


def error(console: Console, message: str) -> None:
    """One line on the error console: ``error: <message>``."""
    console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)


def note(console: Console, message: str) -> None:
    """One line on the error console: ``note: <message>``, for what the user should know."""
    console.print(Text.assemble(("note: ", "yellow"), message), soft_wrap=True)


def bar(fraction: float, width: int = 20) -> str:
    """A horizontal bar of block characters for a value in [0, 1]."""
    fraction = min(max(fraction, 0.0), 1.0)
    full, rest = divmod(round(fraction * width * 8), 8)
    return "█" * full + ("" if rest == 0 else "▏▎▍▌▋▊▉"[rest - 1])


def fmt_ppl(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:,.2f}" if x < 1e6 else f"{x:.3g}"


class TrainDisplay:
    """Shows training as it happens: a live bar per epoch on a terminal, a row per epoch.

    ``mode`` is "rich" (human), "json" (one JSON object per line on stdout) or "quiet".
    """

    def __init__(self, console: Console, mode: str = "rich", json_every: int = 20) -> None:
        self.console = console
        self.mode = mode
        self.live = mode == "rich" and console.is_terminal
        self.progress: Progress | None = None
        self.task = None
        self.json_every = json_every
        self._header_done = False
        self.recall = False  # the run is probed: a recall column, and recall on the bar

    def json(self, obj: dict) -> None:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def start(self, info: dict) -> None:
        self.recall = bool(info.get("probes"))
        if self.mode == "json":
            self.json({"event": "start", **info})
        elif self.mode == "rich":
            c = self.console
            c.print(f"[bold]corpus[/]    {escape(str(info['corpus']))}")
            c.print(
                f"[bold]tokens[/]    {info['train_tokens']:,} train, "
                f"{info['valid_tokens']:,} valid · vocabulary {info['vocab_size']:,} · "
                f"tokenizer {info['tokenizer']}"
            )
            c.print(
                f"[bold]model[/]     {info['cell']} {info['layers']}×{info['hidden']}, "
                f"embed {info['embed']}, {info['params']:,} parameters"
                + (" · tied" if info.get("tied") else "")
                + (f" · dropout {info['dropout']}" if info.get("dropout") else "")
            )
            if info.get("windows") == "lines":
                batch = f"batch {info['batch_size']} lines, each from the zero state"
            else:
                batch = f"batch {info['batch_size']} × {info['seq_len']} steps"
            c.print(
                f"[bold]training[/]  {info['optimizer']} lr {info['lr']}, {batch}, "
                f"up to {info['epochs']} epochs"
                + (f" / {info['max_steps']} steps" if info.get("max_steps") else "")
            )
            if info.get("stages"):
                c.print(
                    f"[bold]lesson[/]    {info['stages']} (stage:updates) on {info['lang']} "
                    "stories before the epochs, each stage keeping the earlier ones"
                )
            if info.get("probes"):
                c.print(
                    f"[bold]recall[/]    of the cued cake on {info['probes']} fresh "
                    f"{info.get('lang') or ''} episodes (chance 8 %)"
                )
            if info.get("regularizers"):
                c.print(f"[bold]regularise[/] {regularizer_text(info['regularizers'])}")
            if info.get("resumed"):
                c.print(f"[bold]resumed[/]   from {escape(str(info['resumed']))}")

    def _header(self) -> None:
        if not self._header_done:
            recall = f"  {'recall':>6}" if self.recall else ""
            self.console.print(
                f"[bold]{'epoch':>5}  {'train ppl':>10}  {'valid ppl':>10}{recall}  {'lr':>9}  "
                f"{'tokens/s':>9}  {'seconds':>8}[/]"
            )
            self._header_done = True

    def on_event(self, e: StepEvent | EpochEvent) -> None:
        from lstmcli.training import StepEvent

        if isinstance(e, StepEvent):
            self._step(e)
        else:
            self._epoch(e)

    def _step(self, e: StepEvent) -> None:
        if self.mode == "json":
            every = max(1, e.windows // self.json_every)
            if e.window % every == 0 or e.window == e.windows:
                self.json(
                    {
                        "event": "step",
                        "epoch": e.epoch,
                        "step": e.step,
                        "window": e.window,
                        "windows": e.windows,
                        "loss": e.loss,
                        "ppl": math.exp(min(e.loss, 700)),
                        "lr": e.lr,
                        "tokens_per_s": e.tokens_per_s,
                        "grad_norm": e.grad_norm,
                        **({"stage": e.stage} if e.stage is not None else {}),
                        **({"recall": e.recall} if e.recall is not None else {}),
                    }
                )
            return
        if not self.live:
            return
        if self.progress is None:
            self._header()
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("[bold]{task.fields[round]}[/]"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.3f} · ppl {task.fields[ppl]:,.1f}"),
                TextColumn("· {task.fields[tps]:,.0f} tok/s"),
                TextColumn("{task.fields[recall]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task(
                "train",
                total=e.windows,
                completed=e.window - 1,
                round=round_name(e.epoch, e.stage),
                loss=e.loss,
                ppl=0.0,
                tps=0.0,
                recall="",
            )
        self.progress.update(
            self.task,
            total=e.windows,
            completed=e.window,
            round=round_name(e.epoch, e.stage),
            loss=e.loss,
            ppl=math.exp(min(e.loss, 700)),
            tps=e.tokens_per_s,
            recall="" if e.recall is None else f"· remembers the cake {pct(e.recall, 0)}",
        )

    def _stop_bar(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def _epoch(self, e: EpochEvent) -> None:
        if self.mode == "json":
            self.json({"event": "epoch", **{k: getattr(e, k) for k in e.__dataclass_fields__}})
            return
        self._stop_bar()
        if self.mode == "quiet":
            return
        self._header()
        mark = " [green]*[/]" if e.improved and e.valid_ppl is not None else ""
        mark += " [cyan]averaged[/]" if e.averaged else ""
        recall = f"  {fmt_recall(e.recall):>6}" if self.recall else ""
        label = str(e.epoch) if e.stage is None else e.stage
        self.console.print(
            f"{escape(label):>5}  {fmt_ppl(e.train_ppl):>10}  {fmt_ppl(e.valid_ppl):>10}{recall}  "
            f"{e.lr:>9.3g}  {e.tokens_per_s:>9,.0f}  {e.seconds:>8.1f}{mark}"
        )

    def close(self) -> None:
        self._stop_bar()


def round_name(epoch: int, stage: str | None) -> str:
    """A round in words: "epoch 3", or "stage cue" for a stage of the lesson (the bar, the
    summary, lstm info)."""
    return f"epoch {epoch}" if stage is None else f"stage {stage}"


def fmt_recall(x: float | None) -> str:
    return "—" if x is None else pct(x, 0)


def regularizer_text(reg: dict) -> str:
    """``{"weight-drop": 0.3, "vary-seq-len": True}`` → "weight-drop 0.3, vary-seq-len"."""
    return ", ".join(k if v is True else f"{k} {v:g}" for k, v in reg.items())


def schedule_text(tr: dict) -> str:
    """How training settings ``tr`` (a checkpoint's) moved the learning rate, in words:
    "×0.25 on a plateau, within 58 min", "×0.5 every epoch from 4", "linear to 0 over
    58 min" (over the budget that ends the run first)."""
    minutes = f"{tr['max_minutes']:g} min" if tr.get("max_minutes") else None
    parts = []
    if tr.get("anneal") == "linear":
        if minutes:
            over = minutes
        elif tr.get("max_steps"):
            over = f"{tr['max_steps']} steps"
        elif tr.get("data", {}).get("stages"):
            over = f"the {tr.get('epochs')} epochs after the lesson"
        else:
            over = f"{tr.get('epochs')} epochs"
        parts.append(f"linear to 0 over {over}")
        minutes = None  # said already: no "within" after it
    decay = f"×{tr.get('lr_decay', 0.5):g}"
    if tr.get("decay_after") is not None:
        parts.append(f"{decay} every epoch from {tr['decay_after']}")
    elif tr.get("decay_on_plateau", True):
        parts.append(f"{decay} on a plateau")
    text = ", ".join(parts) or "constant"
    return f"{text}, within {minutes}" if minutes else text


def lesson_text(tr: dict) -> str:
    """The lesson of training settings ``tr`` (a checkpoint's), in words: "cue 1,200, near
    600, far 600 updates on ja stories, each stage keeping the earlier ones, then 3 epochs"."""
    d = tr.get("data", {})
    stages = ", ".join(f"{st['name']} {st['steps']:,}" for st in d.get("stages", []))
    return (
        f"{stages} updates on {d.get('lang')} stories, each stage keeping the earlier ones, "
        f"then {tr.get('epochs')} epochs with the corpus"
    )


def torchrun_text(run: dict) -> str:
    """How ``lstmcli.torchbridge.train`` trained a model, from its record, in one line:
    "trained further with torchrun: world size 2, gloo on cpu, 929,589 tokens in 3.1 min"."""
    how = "trained further with" if run.get("init") else "trained with"
    if run.get("launcher") == "torchrun":
        who = f"torchrun: world size {run.get('world_size')}"
    else:
        who = "PyTorch: one process"
    where = f"{run.get('backend')} on {run.get('device')}"
    seconds = run.get("seconds") or 0
    took = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
    tokens = run.get("tokens")
    done = f"{tokens:,} tokens in {took}" if isinstance(tokens, int) else took
    return f"{how} {who}, {where}, {done}"


def train_summary(console: Console, s: dict) -> None:
    """The end of ``lstm train``: where the model is, how good it is, what to try next."""
    console.print()
    head = {
        "finished": "Training finished",
        "early-stopped": "Training stopped early: validation stopped improving",
        "max-steps": "Training reached --max-steps",
        "time-limit": "Training used up --max-minutes",
    }.get(s["outcome"], "Training ended")
    console.print(f"[bold green]{head}[/] in {s['seconds']:.0f} s.")
    console.print(f"  model       {escape(str(s['model']))}")
    if s.get("best_valid_ppl") is not None:
        where = round_name(s["best_epoch"], s.get("best_stage"))
        console.print(f"  valid ppl   {fmt_ppl(s['best_valid_ppl'])} (best, {where})")
    if s.get("best_recall") is not None:
        console.print(
            f"  remembers   the cued cake {pct(s['best_recall'])} of the time, on fresh "
            "episodes (chance 8.3 %)"
        )
    if len(s.get("recall_by_round") or ()) > 1:
        path = " → ".join(f"{name} {pct(r, 0)}" for name, r in s["recall_by_round"])
        console.print(f"  memory      {escape(path)}", soft_wrap=True)
    if s.get("valid_top1") is not None:
        console.print(f"  top-1/3     {valid_top_k(s, ' on valid')}")
    console.print(f"  resume      {escape(str(s['resume_file']))}")
    console.print(f"  next        [bold]{escape(s['next'])}[/]")


def valid_top_k(d: dict, where: str = "") -> str:
    """``"82.3 % / 88.1 %{where} (words 82.5 % / 88.1 %)"``: the validation top-1 and top-3
    of a training summary or history record."""
    return (
        f"{pct(d['valid_top1'])} / {pct(d['valid_top3'])}{where} (words "
        f"{pct(d['valid_top1_words'])} / {pct(d['valid_top3_words'])})"
    )


def predict_table(
    console: Console, prompt_tokens: list[str], cands, unknown: list[str], typed: str | None = None
) -> None:
    """Top-k next tokens with probabilities and bars; with ``typed`` (the partial word of
    ``predict --complete``), its completions."""
    console.print(Text.assemble(("tokens  ", "bold"), " | ".join(prompt_tokens)), soft_wrap=True)
    if typed is not None:
        console.print(Text.assemble(("typed   ", "bold"), typed or "(nothing yet: a new word)"))
    if unknown:
        words = ", ".join(sorted(set(unknown)))
        console.print(
            f"[yellow]note:[/] not in the vocabulary, read as <unk>: {escape(words)}",
            soft_wrap=True,
        )
    if typed is not None and not cands:
        console.print(f"no word of the vocabulary begins with {escape(typed)}", soft_wrap=True)
        return
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("next token" if typed is None else "completion")
    table.add_column("prob", justify="right")
    table.add_column("")
    top = cands[0].prob if cands else 1.0
    for n, c in enumerate(cands, 1):
        table.add_row(str(n), escape(c.token), f"{c.prob:.4f}", bar(c.prob / top if top else 0))
    console.print(table)


def generation(console: Console, prompt_text: str, generated_text: str) -> None:
    console.print(Text.assemble((prompt_text, "bold"), (generated_text, "cyan")))


def pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f} %"


def eval_result(console: Console, path: str, r: dict) -> None:
    console.print(f"[bold]{escape(path)}[/]")
    console.print(f"  perplexity  {fmt_ppl(r['perplexity'])}")
    console.print(f"  loss        {r['loss']:.4f} nats/token")
    console.print(f"  tokens      {r['tokens']:,} scored ({r['unk_rate']:.1%} <unk>)")
    ks = sorted(int(key[3:]) for key in r if key.startswith("top") and key[3:].isdigit())
    if not ks:
        return
    cuts = "top-" + "/".join(map(str, ks))
    every = " / ".join(pct(r[f"top{k}"]) for k in ks)
    words = " / ".join(pct(r[f"top{k}_words"]) for k in ks)
    console.print(f"  {cuts:<10}  {every}   next token, every position")
    console.print(f"  {'words':<10}  {words}   the {r['words']:,} word targets, among words")
    if "keystroke_savings" in r:
        k = r["keystrokes"]
        console.print(
            f"  keystrokes  {pct(r['keystroke_savings'])} saved with {r['suggestions']} "
            f"suggestions ({k['with']:,} instead of {k['without']:,})"
        )


def info_tables(console: Console, info: dict) -> None:
    """Everything ``lstm info`` knows about a model."""
    t = Table(box=None, show_header=False, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    for k, v in info["summary"].items():
        t.add_row(k, escape(str(v)))
    console.print(t)
    hist = info["history"]
    if not hist:
        return
    console.print()
    probed = any(r.get("recall") is not None for r in hist)
    h = Table(title="training history", header_style="bold", title_justify="left")
    names = ("epoch", "train ppl", "valid ppl", *(("recall",) if probed else ()), "lr",
             "tokens/s", "seconds")  # fmt: skip
    for name in names:
        h.add_column(name, justify="right")
    for r in hist:
        h.add_row(
            escape(r["stage"]) if r.get("stage") else str(r.get("epoch", "—")),
            fmt_ppl(r.get("train_ppl")),
            fmt_ppl(r.get("valid_ppl")),
            *((fmt_recall(r.get("recall")),) if probed else ()),
            f"{r.get('lr', 0):.3g}",
            f"{r.get('tokens_per_s', 0):,.0f}",
            f"{r.get('seconds', 0):.1f}",
        )
    console.print(h)


class Stopwatch:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.t0
