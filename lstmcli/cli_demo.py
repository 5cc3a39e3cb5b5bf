"""``lstm demo``: placeholder until the demos exist."""

import typer

demo_app = typer.Typer(help="Demonstrations.", no_args_is_help=True)


@demo_app.command("long-range")
def long_range() -> None:
    """Simple RNN vs LSTM on a long-range dependency."""
    raise typer.Exit(1)
