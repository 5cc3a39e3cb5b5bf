"""Shared pieces of the ``lstm`` commands: error handling, option checks, model loading."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer

from lstmcli.errors import LstmError


def handle_errors(fn):
    """Turn LstmError into ``error: …`` on stderr and exit 1; Ctrl-C into exit 130."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LstmError as e:
            from lstmcli.render import error, make_console

            error(make_console(stderr=True), str(e))
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            sys.stderr.write("interrupted\n")
            raise typer.Exit(130) from None

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


def choice(options: tuple[str, ...]):
    def check(value: str | None) -> str | None:
        if value is not None and value not in options:
            raise typer.BadParameter(f"{value!r} is not one of: {', '.join(options)}")
        return value

    return check


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
    from lstmcli import paths
    from lstmcli.predict import Predictor

    return Predictor.load(paths.find_model(model))
