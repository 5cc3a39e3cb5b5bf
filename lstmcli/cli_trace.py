"""``lstm trace``: placeholder until the trace view exists."""

import typer


def trace(text: str = typer.Argument(None)) -> None:
    """Show the gates of the model token by token."""
    raise typer.Exit(1)
