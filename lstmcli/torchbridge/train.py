"""Train an lstmcli model further on many processes with PyTorch DDP, launched by torchrun.

    torchrun --nproc-per-node 2 -m lstmcli.torchbridge.train CORPUS \\
        --init model.safetensors --out bigger.safetensors

Each process trains its share of the B streams (:mod:`lstmcli.torchbridge.loop`) on its
device: one GPU each with ``nccl`` where CUDA is at hand, else the CPU with ``gloo``.
Rank 0 reads the model and the corpus, shows the progress and writes the files; the
result is an lstmcli model file like any other (``lstm predict``, ``trace``, ``eval``,
``live``, ``lstmcli.load``). Run as ``python -m lstmcli.torchbridge.train`` it trains on
one process.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from lstmcli import checkpoint, paths, render
from lstmcli.errors import LstmError
from lstmcli.model import num_params
from lstmcli.optim import OPTIMIZERS
from lstmcli.torchbridge import group as G
from lstmcli.torchbridge.plan import Options, Plan, read
from lstmcli.trainjob import StopFlag

PROG = "torchrun --nproc-per-node N -m lstmcli.torchbridge.train"
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def train(
    corpus: Annotated[Path, typer.Argument(help="Text file to train on.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the model.")],
    init: Annotated[Path | None, typer.Option(help="The lstmcli model to train further.")] = None,
    config: Annotated[
        str | None,
        typer.Option(help="Start from scratch with this preset's sizes (e.g. ptb-fast, tiny)."),
    ] = None,
    resume: Annotated[
        Path | None, typer.Option(help="Continue a stopped run from its .last.safetensors.")
    ] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="Passes over the corpus.")] = None,
    minutes: Annotated[
        float | None,
        typer.Option(
            "--minutes",
            "--max-minutes",
            min=0.001,
            help="Time budget: stop, validate and save once it is spent.",
        ),
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", min=1, help="Stop after this many updates.")
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option("--batch-size", min=1, help="Streams over all processes (global B)."),
    ] = None,
    seq_len: Annotated[
        int | None, typer.Option("--seq-len", min=1, help="TBPTT window: steps per update (T).")
    ] = None,
    lr: Annotated[float | None, typer.Option(min=0.0, help="Learning rate.")] = None,
    optimizer: Annotated[str | None, typer.Option(help="sgd or adam.")] = None,
    clip: Annotated[
        float | None, typer.Option(min=0, help="Global gradient-norm clip (0: off).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (weights and dropout).")] = None,
    layers: Annotated[int | None, typer.Option(min=1, help="With --config: layers.")] = None,
    hidden: Annotated[int | None, typer.Option(min=1, help="With --config: units (H).")] = None,
    embed: Annotated[int | None, typer.Option(min=1, help="With --config: embedding (E).")] = None,
    dropout: Annotated[
        float | None, typer.Option(min=0.0, max=0.99, help="With --config: dropout.")
    ] = None,
    valid: Annotated[
        Path | None, typer.Option(help="Validation text file (else --val-fraction of the corpus).")
    ] = None,
    val_fraction: Annotated[
        float | None,
        typer.Option("--val-fraction", min=0.0001, max=0.9, help="Tail held out to validate."),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding (default: detect UTF-8, Shift_JIS, EUC-JP).")
    ] = None,
    text_format: Annotated[
        str, typer.Option("--format", help="auto, plain or aozora (Aozora Bunko markup).")
    ] = "auto",
    cpu: Annotated[bool, typer.Option("--cpu", help="Train on the CPU even with CUDA.")] = False,
) -> None:
    """Train an lstmcli model further (or from scratch) with DistributedDataParallel.

    Example usage:

        torchrun --nproc-per-node 2 -m lstmcli.torchbridge.train novel.txt --init model.safetensors --out bigger.safetensors

        torchrun --nproc-per-node 4 -m lstmcli.torchbridge.train ptb.train.txt --valid ptb.valid.txt --config ptb-fast --out ptb.safetensors --minutes 30
    """  # noqa: E501
    sys.stderr = sys.__stderr__  # the command line parsed: every rank may speak again
    if optimizer is not None and optimizer not in OPTIMIZERS:
        raise typer.BadParameter(f"use one of: {', '.join(OPTIMIZERS)}", param_hint="--optimizer")
    given = {"epochs": epochs, "max_minutes": minutes, "max_steps": max_steps,
             "batch_size": batch_size, "seq_len": seq_len, "lr": lr, "optimizer": optimizer,
             "clip": clip, "seed": seed}  # fmt: skip
    o = Options(
        corpus=corpus, out=out, init=init, config=config, resume=resume, valid=valid,
        val_fraction=val_fraction, encoding=encoding, text_format=text_format,
        train={k: v for k, v in given.items() if v is not None},
        sizes={"layers": layers, "hidden": hidden, "embed": embed, "dropout": dropout},
    )  # fmt: skip
    code = run(o, cpu)
    if code:
        raise typer.Exit(code)


def run(o: Options, cpu: bool = False) -> int:
    """The run on this process: 0, 1 after an error (printed once, by rank 0), or 130/143
    after a signal."""
    stop = StopFlag()
    stop.install()
    g = None
    try:
        g = G.start(cpu)
        plan = _shared_plan(g, o)
        return _train(g, plan, o, stop)
    except G.PeerError:
        return 1
    except LstmError as e:
        if g is None or g.main:
            render.error(render.make_console(stderr=True), str(e))
        return 1
    except KeyboardInterrupt:  # a second Ctrl-C: at once, without saving
        if g is None or g.main:
            sys.stderr.write("interrupted\n")
        return 130
    finally:
        stop.restore()
        G.stop()


def _shared_plan(g: G.Group, o: Options) -> Plan:
    if g.main:
        if o.out.is_dir():
            raise LstmError(f"--out {o.out} is a folder; give a file name such as "
                            f"{o.out}/model.safetensors")  # fmt: skip
        for target in (o.out, paths.resume_path(o.out)):
            checkpoint.clear_stale_temps(target)
        try:
            plan = read(o, g.world)
        except LstmError as e:
            G.share(g, None, error=str(e))  # raises it, here and (as PeerError) elsewhere
            raise
        except Exception as e:  # a bug: let the others stop too, then show the traceback
            try:
                G.share(g, None, error=f"rank 0 failed: {type(e).__name__}: {e}")
            except LstmError:
                pass
            raise
        G.share(g, plan.header(), plan.arrays())
        return plan
    header, arrays = G.share(g, None)
    return Plan.from_shared(header, arrays)


def _train(g: G.Group, plan: Plan, o: Options, stop: StopFlag) -> int:
    from lstmcli.torchbridge.loop import Trainer

    console = render.make_console()
    display = render.TrainDisplay(console, "rich" if g.main else "quiet")
    trainer = Trainer(g, plan, o.out, display.on_event if g.main else lambda e: None, stop)
    if g.main:
        err = render.make_console(stderr=True)
        for note in plan.notes:
            render.note(err, note)
        _show_start(console, display, g, plan, o)
    try:
        outcome = trainer.run()
    finally:
        display.close()
    if not o.out.exists():  # stopped before the first epoch ended: keep what there is
        trainer.save("best")
    if not g.main:
        return 130 if outcome == "interrupted" else 0
    if outcome == "interrupted":
        err = render.make_console(stderr=True)
        err.print(f"Stopped. Saved the training state to {trainer.last_path}", soft_wrap=True)
        err.print(f"Resume with: {_resume_command(g, trainer.last_path)}", soft_wrap=True,
                  markup=False)  # fmt: skip
        return 143 if stop.signum == signal.SIGTERM else 130
    _show_end(console, trainer, outcome)
    return 0


def _show_start(console, display, g: G.Group, plan: Plan, o: Options) -> None:
    cfg, tc = plan.base.config, plan.train
    display.start({
        "corpus": str(o.corpus), "train_tokens": len(plan.ids),
        "valid_tokens": 0 if plan.valid is None else len(plan.valid),
        "vocab_size": cfg.vocab_size, "tokenizer": plan.base.tokenizer.get("name"),
        "cell": cfg.cell, "layers": cfg.num_layers, "hidden": cfg.hidden_size,
        "embed": cfg.embed_size, "params": num_params(cfg), "tied": cfg.tie_weights,
        "dropout": cfg.dropout, "optimizer": tc.optimizer, "lr": tc.lr,
        "batch_size": tc.batch_size, "seq_len": tc.seq_len, "epochs": tc.epochs,
        "max_steps": tc.max_steps, "resumed": str(o.resume) if o.resume else None,
        "model": str(o.out), "windows": "streams",
    })  # fmt: skip
    import torch

    start = f"from {o.init}" if plan.init and not o.resume else "from scratch"
    if o.resume:
        start = f"resumed from {o.resume}"
    console.print(
        f"[bold]engine[/]    torch {torch.__version__} DDP, world size {g.world} ({g.launcher}), "
        f"{g.backend} on {g.device.type}, {tc.batch_size // g.world} streams per process · "
        f"{render.escape(start)}"
    )


def _show_end(console, trainer, outcome: str) -> None:
    from lstmcli.training import best_epoch

    head = {"finished": "Training finished", "early-stopped": "Training stopped early",
            "max-steps": "Training reached --max-steps",
            "time-limit": "Training used up --minutes"}.get(outcome, "Training ended")  # fmt: skip
    b = best_epoch(trainer.history)
    console.print(f"\n[bold green]{head}[/] in {trainer.c.seconds:.0f} s "
                  f"({trainer.c.tokens:,} tokens).")  # fmt: skip
    console.print(f"  model       {render.escape(str(trainer.out))}")
    if b and b.get("valid_ppl") is not None:
        console.print(f"  valid ppl   {render.fmt_ppl(b['valid_ppl'])} (best, epoch {b['epoch']})")
    console.print(f"  resume      {render.escape(str(trainer.last_path))}")
    nxt = shlex.join(["lstm", "predict", "...", "--model", str(trainer.out)])
    console.print(f"  next        [bold]{render.escape(nxt)}[/]")


def _resume_command(g: G.Group, last: Path) -> str:
    """The command that continues this run: the same arguments, ``--resume`` the last file."""
    args, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
            continue
        if a in ("--resume", "--init", "--config"):
            skip = True
            continue
        if a.startswith(("--resume=", "--init=", "--config=")):
            continue
        args.append(a)
    head = ["torchrun", "--nproc-per-node", str(g.world)] if g.launcher == "torchrun" else [
        sys.executable]  # fmt: skip
    return shlex.join([*head, "-m", "lstmcli.torchbridge.train", *args, "--resume", str(last)])


def main(argv: list[str] | None = None) -> None:
    """Run the trainer with ``argv`` (default: the process's arguments). Only rank 0
    reports a bad command line: the others keep stderr closed until it is parsed."""
    if G.planned()[0] != 0:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - reopened in train()
    app(args=argv, prog_name=PROG)


if __name__ == "__main__":
    main()
