"""``lstm live``: the next-word keyboard in the terminal, with the gates and the memory."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from lstmcli.cliutil import ModelOpt, handle_errors, load_predictor
from lstmcli.errors import LstmError

MIN_SIZE = (60, 20)  # columns, rows
NOT_A_TERMINAL = (
    "lstm live needs a terminal: run it in one, without a pipe or redirection; for "
    "suggestions in a script use `lstm predict TEXT --json`"
)


def terminal_size() -> os.terminal_size | None:
    """The size of the terminal on stdin, stdout and stderr; None when one is not a terminal
    (Textual draws on stderr: redirected, the screen would go to the file)."""
    if not (sys.stdin.isatty() and sys.stdout.isatty() and sys.stderr.isatty()):
        return None
    try:
        return os.get_terminal_size(sys.stdout.fileno())
    except OSError:
        return None


@handle_errors
def live(
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="[FILE]",
            help="Start from the text of this file (Ctrl+S saves back to it unless --out).",
            show_default=False,
        ),
    ] = None,
    model: ModelOpt = None,
    top_k: Annotated[
        int, typer.Option("--top-k", "-k", min=1, max=9, help="Suggestions to show.")
    ] = 5,
    layer: Annotated[
        int | None,
        typer.Option(
            "--layer",
            help="Layer whose gates and memory to show, from 0 (F4 cycles). Default: the last.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Where Ctrl+S saves the text. Default: FILE, else ask.",
            show_default=False,
        ),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Encoding of FILE (default: detect).")
    ] = None,
) -> None:
    """Type with the model: next-word suggestions on every key, the gates and the memory live.

    Tab takes the first suggestion, Alt+1…5 (or a click) any of them; inside a word the
    suggestions complete it. F2 shows or hides the gates of the last token, F3 the memory
    (what each earlier token left in the cell state), F4 changes the layer. Ctrl+S saves,
    Ctrl+O opens a file, Ctrl+Q or Esc quits (twice if the text is not saved).

    Example usage:

        lstm live

        lstm live notes.txt --model ja.safetensors

        lstm live --out draft.txt --top-k 3 --layer 0
    """
    size = terminal_size()
    if size is None:
        from lstmcli.render import error, make_console

        error(make_console(stderr=True), NOT_A_TERMINAL)
        raise typer.Exit(2)
    if size.columns < MIN_SIZE[0] or size.lines < MIN_SIZE[1]:
        raise LstmError(
            f"the terminal is {size.columns}×{size.lines}; lstm live needs at least "
            f"{MIN_SIZE[0]}×{MIN_SIZE[1]}: make the window larger"
        )
    p = load_predictor(model)
    L = p.config.num_layers
    if layer is not None and not 0 <= layer < L:
        raise LstmError(f"--layer {layer} is out of range: the model has {L} layers, 0 to {L - 1}")
    text = ""
    if file is not None:
        from lstmcli import textio

        if not file.exists():
            raise LstmError(
                f"{file}: no such file; to start with an empty text that Ctrl+S saves there, "
                f"use --out {file}"
            )
        text = textio.read_plain(file, encoding)
    from lstmcli.live.app import make_app

    app = make_app(p, text=text, top_k=top_k, layer=layer, out=out or file, encoding=encoding)
    app.run()
    if app.return_code:  # an error inside the app, its traceback printed: not a clean quit
        raise typer.Exit(app.return_code)
