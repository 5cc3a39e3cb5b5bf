"""Shared pieces of the ``lstm`` commands: error handling, option checks, model loading."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer

from lstmcli.entry import guarded


def handle_errors(fn):
    """Turn LstmError into ``error: …`` on stderr and exit 1; Ctrl-C into exit 130."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        code = guarded(fn, *args, **kwargs)
        if code:
            raise typer.Exit(code)

    return wrapper


def dropout_value(value: float | None) -> float | None:
    if value is not None and not 0 <= value < 1:
        raise typer.BadParameter(f"must be in [0, 1), got {value}")
    return value


def fraction(value: float | None) -> float | None:
    if value is not None and not 0 < value < 1:
        raise typer.BadParameter(f"must be in (0, 1), got {value}")
    return value


def positive_float(value: float | None) -> float | None:
    if value is not None and not value > 0:
        raise typer.BadParameter(f"must be positive, got {value}")
    return value


def unit_interval(value: float | None) -> float | None:
    if value is not None and not 0 < value <= 1:
        raise typer.BadParameter(f"must be in (0, 1], got {value}")
    return value


def need_text(text: object, command: str, name: str = "TEXT") -> None:
    """A usage error when the argument is missing and no text is piped in to stand for it."""
    if text is None and sys.stdin.isatty():
        raise typer.BadParameter(
            f"none given and none piped in; give {name}, or pipe the text in: … | lstm {command} -",
            param_hint=name,
        )


def choice(options: tuple[str, ...]):
    def check(value: str | None) -> str | None:
        if value is not None and value not in options:
            raise typer.BadParameter(f"{value!r} is not one of: {', '.join(options)}")
        return value

    return check


def completer(names: tuple[str, ...] | str):
    """Shell completion of an option's value from ``names``, or from the names in the module
    attribute ``names`` (``"lstmcli.presets:PRESETS"``), imported only when completing."""

    def complete(incomplete: str) -> list[str]:
        found = names
        if isinstance(names, str):
            import importlib

            module, _, attr = names.partition(":")
            found = tuple(getattr(importlib.import_module(module), attr))
        return [n for n in found if n.startswith(incomplete)]

    return complete


def complete_gates(incomplete: str) -> list[str]:
    """Shell completion of ``--gates f,i,…``: the list typed so far and one more gate."""
    from lstmcli.trace import LSTM_GATES

    *done, last = incomplete.split(",")
    if not set(done) <= set(LSTM_GATES):
        return []  # nothing completes a list with a typo in it
    head = "".join(f"{g}," for g in done)
    return [head + g for g in LSTM_GATES if g not in done and g.startswith(last)]


ModelOpt = Annotated[
    Path | None,
    typer.Option(
        "--model",
        "-m",
        help="Model file. Default: $LSTM_MODEL, else the model `lstm train` wrote last.",
        show_default=False,
    ),
]
"""The ``--model`` option of every command that reads a model: ``model: ModelOpt = None``."""


def load_predictor(model: Path | None):
    from lstmcli import api

    return api.load(model).predictor
