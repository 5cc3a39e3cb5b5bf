"""``lstm trace``: the gates of the model, token by token, as colour tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from lstmcli.cliutil import ModelOpt, complete_gates, handle_errors, load_predictor
from lstmcli.errors import LstmError


@handle_errors
def trace(
    text: Annotated[
        str | None,
        typer.Argument(
            help="Text to trace; - (or none, with text piped in) reads standard input. Default: "
            "the running example, a cake named and then the question "
            "(「麻里ちゃんが玲奈ちゃんとモンブランを食べている。"
            "僕の麻里ちゃんの愛してやまないケーキは」, "
            "or in English for an English model), when the model knows all its words; else "
            "the example sentence stored in the model.",
            show_default=False,
        ),
    ] = None,
    model: ModelOpt = None,
    gates: Annotated[
        str | None,
        typer.Option(
            "--gates",
            help="Comma-separated, of f,i,o,g,c,h: forget, input, output gate, candidate, cell "
            "state, hidden state. Default: f,i,o (h for an rnn).",
            show_default=False,
            autocompletion=complete_gates,
        ),
    ] = None,
    layer: Annotated[
        int | None,
        typer.Option(
            "--layer", help="Layer to show, from 0. Default: all (the last if space is short)."
        ),
    ] = None,
    units: Annotated[
        str | None,
        typer.Option("--units", help="Units to show, e.g. 3,17,42 or 0-15.", show_default=False),
    ] = None,
    top: Annotated[
        int | None,
        typer.Option("--top", min=1, help="Show the N units that vary most over this text."),
    ] = None,
    start: Annotated[
        int | None, typer.Option("--from", help="First token position to show (from 0).")
    ] = None,
    stop: Annotated[
        int | None, typer.Option("--to", help="Show tokens before this position.")
    ] = None,
    summary: Annotated[
        bool,
        typer.Option(
            "--summary", help="Per token: gate means, saturation, next-token guess, loss."
        ),
    ] = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain", help="Per token, in words: what was written, forgotten, exposed."
        ),
    ] = False,
    memory: Annotated[
        bool,
        typer.Option(
            "--memory",
            help="Split the cell state c into what each token wrote and how much of it is "
            "left; which tokens were kept, which forgotten (lstm only).",
        ),
    ] = False,
    cue: Annotated[
        int | None,
        typer.Option(
            "--cue",
            help="With --memory: the position whose units to list. Default: the earlier "
            "token that holds most of the memory.",
            show_default=False,
        ),
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export", help="Also write the view to FILE.svg or FILE.html.", show_default=False
        ),
    ] = None,
    json_out: Annotated[
        bool,
        typer.Option("--json", help="Print the raw values as JSON (all gates unless --gates)."),
    ] = False,
    csv_out: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            help="Write token,position,layer,gate,unit,value rows (all gates unless --gates).",
            show_default=False,
        ),
    ] = None,
    width: Annotated[
        int | None,
        typer.Option("--width", min=40, help="Columns to fit (default: terminal)."),
    ] = None,
) -> None:
    """Watch the gates of the LSTM work, token by token: rows are tokens, columns units.

    The forget gate f keeps (1) or erases (0) the memory c, the input gate i admits the
    candidate g, the output gate o exposes tanh(c) as h. Every cell prints its value.

    Example usage:

        lstm trace

        lstm trace "僕の麻里ちゃんの愛してやまないケーキは" --gates f,i,o,c --top 12

        lstm trace "the cat sat on the" --summary --layer 1

        lstm trace --explain --from 0 --to 6

        lstm trace --explain --units 3,17 --layer 1

        lstm trace "麻里ちゃんがモンブランを食べている。僕の麻里ちゃんのケーキは" --memory

        lstm trace "Mari's cake" --export trace.svg --json > gates.json

        echo "the cat sat on the mat" | lstm trace - --summary
    """
    from lstmcli import textio
    from lstmcli import trace as tr_
    from lstmcli import traceview as tv

    if export is not None:
        tv.check_export(export)
    if memory and csv_out is not None:
        raise LstmError("--csv writes gate values; for the memory use --memory --json")
    if cue is not None and not memory:
        raise LstmError("--cue picks a token for --memory; add --memory")
    text = textio.text_argument(text)
    p = load_predictor(model)
    tr = tr_.record(p, text if text is not None else tr_.default_text(p))
    picks = dict(gates=gates, layer=layer, units=units, top=top, start=start, stop=stop)
    if memory:
        from lstmcli import memory as mem_
        from lstmcli import memview, why

        mem_.check(tr.layers[0])
        if cue is not None and not 0 <= cue < len(tr.tokens):
            raise LstmError(
                f"--cue {cue} is outside the text: positions run 0 to {len(tr.tokens) - 1}"
            )
    if memory and json_out:
        full = tr_.plan(tr, **picks)
        change = why.memory_change_at(
            p.params, p.config, tr.ids, p.vocab.unk_id, tr.logits, tr.layers, full.hi
        )
        obj = mem_.to_json(tr.tokens, tr.layers, full.layers, full.hi, change)
        typer.echo(json.dumps(obj, ensure_ascii=False))
        if export is None:
            return
    elif json_out or csv_out is not None:
        full = tr_.plan(tr, **picks, default_gates=tr_.LSTM_GATES)
        if csv_out is not None:
            n = tr_.write_csv(csv_out, tr, full)
            typer.echo(f"wrote {n:,} rows to {csv_out}", err=True)
        if json_out:
            typer.echo(json.dumps(tr_.to_json(tr, full), ensure_ascii=False))
            if export is None:
                return
    # with --json, stdout holds the JSON: the view is drawn for the export only
    console = tv.make_console(width=width, record=export is not None, silent=json_out)
    words = summary or explain or memory
    fit = None if words else console.width  # only the tables have unit columns
    # a line per token in words: the screen's height, but never fewer than 50 tokens
    height = max(console.height, 58) if explain or memory else console.height
    held = None
    if memory:  # the memory is read at the last token shown: show the last ones
        lo, hi = mem_.window(len(tr.tokens), start, stop, height - 8)
        if cue is not None and cue >= hi:
            raise LstmError(f"--cue {cue} comes after the memory shown, at position {hi - 1}")
        change = why.memory_change_at(
            p.params, p.config, tr.ids, p.vocab.unk_id, tr.logits, tr.layers, hi
        )
        held = memview.Pick(lo, hi, cue, change)
        picks.update(start=lo, stop=hi)
    view = tr_.plan(tr, **picks, width=fit, height=height)
    numbers = units is not None or top is not None
    tv.show(console, tr, view, summary=summary, explain=explain, numbers=numbers, memory=held)
    if export is not None:
        tv.export(console, export)
        typer.echo(f"wrote {export}", err=True)
