"""``lstm demo``: experiments that show what the LSTM is for."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from lstmcli.cliutil import handle_errors
from lstmcli.entry import one_blas_thread
from lstmcli.errors import LstmError

demo_app = typer.Typer(help="Demonstrations.", no_args_is_help=True)


def parse_distances(spec: str) -> tuple[int, ...]:
    """``"5,10,20"`` → ``(5, 10, 20)``; LstmError when empty or not whole numbers."""
    parts = [s.strip() for s in spec.split(",") if s.strip()]
    if not parts:
        raise LstmError("--distances is empty; give filler lengths like 5,10,20")
    try:
        return tuple(dict.fromkeys(int(s) for s in parts))
    except ValueError:
        raise LstmError(f"--distances {spec!r}: write whole numbers like 5,10,20") from None


@demo_app.command("long-range")
@handle_errors
def long_range(
    distances: Annotated[
        str | None,
        typer.Option(
            "--distances",
            "-d",
            help="Filler tokens between the cake and the question. [default: 5,10,20,40,80; "
            "--quick: 10,20,40]",
            show_default=False,
        ),
    ] = None,
    k: Annotated[
        int | None,
        typer.Option("--k", help="Cakes to choose from (chance is 1/k). [default: 4]"),
    ] = None,
    hidden: Annotated[
        int | None, typer.Option("--hidden", min=1, help="Units of both cells. [default: 64]")
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            "--steps",
            min=1,
            help="Training steps per cell and distance. [default: 2000; --quick: 1000]",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed (initialisation and episodes).")] = 0,
    quick: Annotated[
        bool, typer.Option("--quick", help="Three distances up to 40, fewer steps.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Train a simple RNN and an LSTM on a memory task and compare them.

    Each episode names one of k cakes, then D random filler tokens, then asks for the cake:
    「麻里ちゃんが 玲奈ちゃんと モンブランを 食べている 。 … 僕の 麻里ちゃんの 愛してやまない
    ケーキは」→ モンブラン. Both cells, of the same size, train for the same number of
    steps at each distance; then they answer held-out episodes. Shows the accuracy per
    distance, how much gradient reaches k steps back, and one LSTM episode traced.

    Example usage:

        lstm demo long-range --quick

        lstm demo long-range --distances 5,20,40 --k 6 --seed 1

        lstm demo long-range --quick --json
    """
    one_blas_thread()  # tiny matrices
    from dataclasses import replace

    from lstmcli import demo

    dc = demo.QUICK if quick else demo.DemoConfig()
    given = {"k": k, "hidden": hidden, "steps": steps, "seed": seed}
    if distances is not None:
        given["distances"] = parse_distances(distances)
    dc = replace(dc, **{name: v for name, v in given.items() if v is not None})
    if json_out:
        result = demo.run_demo(dc)
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    from lstmcli import demoview
    from lstmcli.render import make_console

    console = make_console()
    progress = demoview.DemoProgress(console)
    progress.start(dc, len(demo.build_vocab(dc.k)))
    try:
        result = demo.run_demo(dc, on_step=progress.on_step, on_result=progress.on_result)
    finally:
        progress.close()
    demoview.show(console, result)
