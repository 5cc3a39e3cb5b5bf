"""The ``lstm`` executable: ``lstm predict`` straight to the library, the rest through Typer.

Most of the time a one-off ``lstm predict`` takes is start-up, and Typer (with Pydantic,
which it uses to convert option values) costs more than the prediction itself. So a plain
``lstm predict TEXT [options]`` is read by :func:`lstmcli.cli_predict.parse_fast` and run
without importing Typer or Pydantic; any command line that parser does not take whole
(``--help``, a typo, a value out of range, another command) goes to the Typer app, which
runs it or reports the problem. Nothing here imports more than the standard library.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any


def guarded(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
    """Run a command's body; the exit status: 0, 1 after an LstmError (printed as one
    ``error:`` line on stderr), 130 after Ctrl-C. Anything else propagates."""
    from lstmcli.errors import LstmError

    try:
        fn(*args, **kwargs)
    except LstmError as e:
        from lstmcli.render import error, make_console

        error(make_console(stderr=True), str(e))
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    return 0


def one_blas_thread() -> None:
    """Give NumPy one BLAS thread unless the user chose: for batch-1 work (a prompt, a tiny
    demo model) one thread is faster than several waiting on each other, and starts sooner.
    Only before NumPy is first imported; afterwards it has no effect."""
    if "numpy" not in sys.modules:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")


def main(argv: list[str] | None = None) -> None:
    """Run ``lstm`` with ``argv`` (default: the process's arguments)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["predict"]:
        from lstmcli import cli_predict

        options = cli_predict.parse_fast(args[1:])
        if options is not None:
            sys.exit(guarded(cli_predict.run, **options))
    from lstmcli.cli import app

    app(args=args, prog_name="lstm")
