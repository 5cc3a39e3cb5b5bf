"""The ``lstm`` command: parse, call the library, render. Nothing here computes.

Errors the user can fix (:class:`~lstmcli.errors.LstmError`) become one line on stderr
and exit status 1; usage errors exit with 2. Heavy modules (NumPy, the tokenizers, Rich
tables) are imported inside the commands so ``lstm --help`` starts at once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from lstmcli.cliutil import (
    ModelOpt,
    choice,
    completer,
    dropout_value,
    fraction,
    handle_errors,
    need_text,
    positive_float,
    unit_interval,
)

CELLS = ("lstm", "rnn")
OPTIMIZERS = ("sgd", "adam")
WINDOWS = ("streams", "lines")
LANGS = ("ja", "en")
FORMATS = ("auto", "plain", "aozora")

app = typer.Typer(
    name="lstm",
    help="Train an LSTM language model on your own text, predict the next word, and "
    "watch its gates work token by token.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def version_text() -> str:
    """``lstmcli 0.1.0`` and the versions of what decides its numbers and its tokens."""
    import platform

    from lstmcli import __version__
    from lstmcli.tokenize import package_version

    parts = [f"Python {platform.python_version()}"]
    for name, package in (("NumPy", "numpy"), ("SudachiPy", "sudachipy"),
                          ("sudachidict-core", "sudachidict_core"),
                          ("safetensors", "safetensors")):  # fmt: skip
        parts.append(f"{name} {package_version(package) or 'not installed'}")
    return f"lstmcli {__version__}\n" + ", ".join(parts)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help="Print the version, and those of NumPy and the tokenizer, and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    pass


@app.command()
@handle_errors
def train(
    corpus: Annotated[
        Path | None,
        typer.Argument(
            help="UTF-8, Shift_JIS or EUC-JP text file. Default: the bundled Japanese corpus.",
            show_default=False,
        ),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            help="Option set: lesson (without CORPUS), default (with one), tiny, "
            "zaremba-small, ptb-fast, ptb-awd.",
            autocompletion=completer("lstmcli.presets:PRESETS"),
        ),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option(
            help="Language of the bundled stories: ja (mari-ja.txt, the default corpus) or en "
            "(tales-en.txt); also the language of --stages.",
            callback=choice(LANGS),
            autocompletion=completer(LANGS),
        ),
    ] = None,
    windows: Annotated[
        str | None,
        typer.Option(
            help="What a batch is: streams (B streams of the text, state carried) or lines "
            "(B lines, each from the zero state, as predict reads a prompt).",
            callback=choice(WINDOWS),
            autocompletion=completer(WINDOWS),
        ),
    ] = None,
    stages: Annotated[
        str | None,
        typer.Option(
            help="A lesson before the epochs, NAME:UPDATES,… of the stages cue, near, far "
            "(each keeps the earlier ones' lines), or none. Needs --windows lines.",
            show_default=False,
        ),
    ] = None,
    unk_noise: Annotated[
        float | None,
        typer.Option(
            "--unk-noise",
            help="Read each input token as `<unk>` with this probability while training, so "
            "an unknown word does not break the memory.",
            callback=dropout_value,
        ),
    ] = None,
    cell: Annotated[
        str | None,
        typer.Option(
            help="Recurrent cell: lstm or rnn.",
            callback=choice(CELLS),
            autocompletion=completer(CELLS),
        ),
    ] = None,
    layers: Annotated[int | None, typer.Option(min=1, help="Stacked recurrent layers.")] = None,
    hidden: Annotated[int | None, typer.Option(min=1, help="Units per layer (H).")] = None,
    embed: Annotated[int | None, typer.Option(min=1, help="Embedding size (E).")] = None,
    seq_len: Annotated[
        int | None, typer.Option("--seq-len", min=1, help="TBPTT window: steps per update (T).")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", min=1, help="Parallel streams (B).")
    ] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="Passes over the corpus.")] = None,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", min=1, help="Stop after this many updates.")
    ] = None,
    max_minutes: Annotated[
        float | None,
        typer.Option(
            "--max-minutes",
            help="Time budget: stop, validate and save once it is spent.",
            callback=positive_float,
        ),
    ] = None,
    lr: Annotated[
        float | None, typer.Option(help="Learning rate.", callback=positive_float)
    ] = None,
    optimizer: Annotated[
        str | None,
        typer.Option(
            help="sgd or adam.", callback=choice(OPTIMIZERS), autocompletion=completer(OPTIMIZERS)
        ),
    ] = None,
    clip: Annotated[
        float | None, typer.Option(min=0, help="Global gradient-norm clip (0: off).")
    ] = None,
    dropout: Annotated[
        float | None,
        typer.Option(
            help="Per-step dropout on embeddings, between layers, before the decoder.",
            callback=dropout_value,
        ),
    ] = None,
    tie_weights: Annotated[
        bool | None,
        typer.Option(
            "--tie-weights/--no-tie-weights",
            help="Decoder shares the embedding (needs --embed = --hidden).",
            show_default=False,
        ),
    ] = None,
    init_scale: Annotated[
        float | None,
        typer.Option(
            "--init-scale", help="Weights start uniform in ±this.", callback=positive_float
        ),
    ] = None,
    forget_bias: Annotated[
        float | None,
        typer.Option(
            "--forget-bias", help="Added to the LSTM forget-gate bias at the start (e.g. 1)."
        ),
    ] = None,
    input_dropout: Annotated[
        float | None,
        typer.Option(
            "--input-dropout",
            "--dropouti",
            help="Locked dropout on the embeddings, one mask per stream and window (= --dropouti).",
            callback=dropout_value,
        ),
    ] = None,
    hidden_dropout: Annotated[
        float | None,
        typer.Option(
            "--hidden-dropout",
            "--dropouth",
            help="Locked dropout between layers (= --dropouth).",
            callback=dropout_value,
        ),
    ] = None,
    output_dropout: Annotated[
        float | None,
        typer.Option(
            "--output-dropout",
            "--dropouto",
            help="Locked dropout before the decoder (= --dropouto; AWD-LSTM's --dropout).",
            callback=dropout_value,
        ),
    ] = None,
    word_dropout: Annotated[
        float | None,
        typer.Option(
            "--word-dropout",
            "--dropoute",
            help="Embedding dropout: whole words dropped for a window (= --dropoute).",
            callback=dropout_value,
        ),
    ] = None,
    weight_drop: Annotated[
        float | None,
        typer.Option(
            "--weight-drop",
            "--wdrop",
            help="DropConnect on the recurrent weights W_hh, one mask per window (= --wdrop).",
            callback=dropout_value,
        ),
    ] = None,
    ar: Annotated[
        float | None,
        typer.Option(
            "--ar",
            "--alpha",
            min=0,
            help="Activation regularisation: loss + α·mean(h²) of the top layer (= --alpha).",
        ),
    ] = None,
    tar: Annotated[
        float | None,
        typer.Option(
            "--tar",
            "--beta",
            min=0,
            help="Temporal AR: loss + β·mean((h_t − h_{t−1})²) of the top layer (= --beta).",
        ),
    ] = None,
    weight_decay: Annotated[
        float | None,
        typer.Option(
            "--weight-decay",
            "--wdecay",
            min=0,
            help="Weight decay λ: L2 with sgd, decoupled (AdamW) with adam (= --wdecay).",
        ),
    ] = None,
    vary_seq_len: Annotated[
        bool | None,
        typer.Option(
            "--vary-seq-len/--fixed-seq-len",
            help="Draw each window's length around --seq-len (lr scaled by T / mean).",
            show_default=False,
        ),
    ] = None,
    nt_asgd: Annotated[
        int | None,
        typer.Option(
            "--nt-asgd",
            "--nonmono",
            min=0,
            help="NT-ASGD (sgd): average the weights from when validation is worse than the "
            "best of more than N epochs before (= --nonmono; 0: off).",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Random seed (initialisation and dropout).")
    ] = None,
    valid: Annotated[
        Path | None, typer.Option(help="Validation text file (else --val-fraction of the corpus).")
    ] = None,
    val_fraction: Annotated[
        float | None,
        typer.Option(
            "--val-fraction",
            help="Tail of the corpus held out for validation.",
            callback=fraction,
        ),
    ] = None,
    tokenizer: Annotated[
        str | None,
        typer.Option(
            help="auto, word, space, char, ja or ja-phrase.",
            autocompletion=completer("lstmcli.tokenize:NAMES"),
        ),
    ] = None,
    min_freq: Annotated[
        int | None, typer.Option("--min-freq", min=1, help="Rarer tokens become `<unk>`.")
    ] = None,
    max_vocab: Annotated[
        int | None,
        typer.Option("--max-vocab", min=2, help="Vocabulary size cap (with `<eos>` and `<unk>`)."),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding (default: detect UTF-8, Shift_JIS, EUC-JP).")
    ] = None,
    text_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="auto, plain or aozora (Aozora Bunko markup).",
            callback=choice(FORMATS),
            autocompletion=completer(FORMATS),
        ),
    ] = "auto",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Where to write the model. Default: $LSTM_HOME/model.safetensors.",
            show_default=False,
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            help="Continue an interrupted run from its .last.safetensors file (CORPUS and "
            "--out default to the run's own).",
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object per line instead of tables.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the model path.")
    ] = False,
) -> None:
    """Train a model on a text file (or the bundled corpus) and save it.

    Without CORPUS it trains on the bundled stories with the lesson preset: stages of
    episodes, the cue ever further from the question, before the epochs on the corpus.

    Example usage:

        lstm train                          # the bundled Japanese corpus, taught in stages

        lstm train --lang en                # the bundled English one

        lstm train novel.txt --epochs 20

        lstm train ptb.train.txt --valid ptb.valid.txt --preset zaremba-small

        lstm train ptb.train.txt --valid ptb.valid.txt --preset ptb-awd

        lstm train novel.txt --optimizer sgd --lr 20 --dropouti 0.4 --wdrop 0.5 --nt-asgd 2

        cat notes/*.txt | lstm train - --out notes.safetensors
    """
    from lstmcli import trainjob

    given_model, given_train, given_data = trainjob.given_options(
        dict(
            cell=cell, layers=layers, hidden=hidden, embed=embed, dropout=dropout,
            tie_weights=tie_weights, init_scale=init_scale, forget_bias=forget_bias,
            seq_len=seq_len, batch_size=batch_size, epochs=epochs, max_steps=max_steps,
            max_minutes=max_minutes, lr=lr, optimizer=optimizer, clip=clip, seed=seed,
            input_dropout=input_dropout, hidden_dropout=hidden_dropout,
            output_dropout=output_dropout, word_dropout=word_dropout, weight_drop=weight_drop,
            ar=ar, tar=tar, weight_decay=weight_decay, vary_seq_len=vary_seq_len,
            nt_asgd=nt_asgd, tokenizer=tokenizer, min_freq=min_freq, max_vocab=max_vocab,
            val_fraction=val_fraction, windows=windows, stages=stages, lang=lang,
            unk_noise=unk_noise,
        )
    )  # fmt: skip
    mode = "json" if json_out else "quiet" if quiet else "rich"
    code = trainjob.run(
        corpus=corpus,
        preset=preset,
        given_model=given_model,
        given_train=given_train,
        given_data=given_data,
        valid=valid,
        encoding=encoding,
        text_format=text_format,
        out=out,
        resume=resume,
        mode=mode,
        argv=sys.argv[1:],
    )
    if code:
        raise typer.Exit(code)


@app.command()
@handle_errors
def predict(
    text: Annotated[
        str | None,
        typer.Argument(
            help="The text to continue; - (or none, with text piped in) reads standard input.",
            show_default=False,
        ),
    ] = None,
    model: ModelOpt = None,
    top_k: Annotated[
        int, typer.Option("--top-k", "-k", min=1, help="How many candidates to show.")
    ] = 10,
    temperature: Annotated[
        float, typer.Option(help="Softmax temperature (> 0).", callback=positive_float)
    ] = 1.0,
    generate: Annotated[
        int | None,
        typer.Option("--generate", "-g", min=1, help="Continue the text by N tokens."),
    ] = None,
    top_p: Annotated[
        float | None,
        typer.Option(
            "--top-p",
            help="Nucleus sampling mass for --generate, in (0, 1].",
            show_default=False,
            callback=unit_interval,
        ),
    ] = None,
    greedy: Annotated[
        bool, typer.Option(help="With --generate: always take the most likely token.")
    ] = False,
    seed: Annotated[int | None, typer.Option(help="Random seed for --generate.")] = None,
    why_: Annotated[
        bool,
        typer.Option(
            "--why",
            help="Which earlier tokens the top candidate rests on: its probability with each "
            "token read as <unk> instead.",
        ),
    ] = False,
    complete_word: Annotated[
        bool,
        typer.Option(
            "--complete",
            "-c",
            help="Complete the last, partial word of TEXT: the vocabulary words that begin "
            "with it, ranked by the model given the text before it.",
        ),
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the most likely next tokens after TEXT, or with --complete the most likely
    completions of its last word.

    --complete: the partial word is what follows the last space (space tokenizer); the
    last token, unless TEXT ends with a space or punctuation (word, ja, ja-phrase: for
    Japanese the last SudachiPy token, so ケーキはモン completes モン); nothing with the char
    tokenizer, where completion is next-token prediction. Each completion's probability is
    the model's, given the text before the word, renormalised over the words that begin
    with the partial one. `<eos>` is never offered.

    Example usage:

        lstm predict "僕の麻里ちゃんの愛してやまないケーキは"

        lstm predict "Mari's favourite cake is the" --top-k 5 --json

        lstm predict "僕の麻里ちゃんの" --generate 20 --top-p 0.9 --seed 1

        lstm predict "僕の麻里ちゃんの愛してやまないケーキはモン" --complete

        lstm predict "麻里ちゃんがモンブランを食べている。僕の麻里ちゃんのケーキは" --why

        echo "the cat sat on the" | lstm predict - --json
    """
    from lstmcli import cli_predict

    if why_ and generate:
        raise typer.BadParameter("explains the next token; drop --generate", param_hint="--why")
    if complete_word and (generate or why_):
        raise typer.BadParameter(
            "completes the last word; drop --generate and --why", param_hint="--complete"
        )
    need_text(text, "predict")
    cli_predict.run(
        text, model, top_k, temperature, generate, top_p, greedy, seed, why_, json_out,
        complete=complete_word,
    )  # fmt: skip


@app.command("eval")
@handle_errors
def eval_(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="Text to score; - (or none, with text piped in) reads standard input.",
            show_default=False,
        ),
    ] = None,
    model: ModelOpt = None,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size",
            min=1,
            help="Parallel streams (1: one stream through the file, as published figures do).",
        ),
    ] = 1,
    seq_len: Annotated[
        int,
        typer.Option(
            "--seq-len", min=1, help="Window length (the state is carried across windows)."
        ),
    ] = 35,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detect).")] = None,
    text_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="auto, plain or aozora.",
            callback=choice(FORMATS),
            autocompletion=completer(FORMATS),
        ),
    ] = "auto",
    top_k: Annotated[
        int | None,
        typer.Option(
            "--top-k", "-k", min=1, help="One more top-k cut beside 1, 3 and 5.", show_default=False
        ),
    ] = None,
    suggestions: Annotated[
        int,
        typer.Option(min=1, help="Words offered at each keystroke, for the keystroke savings."),
    ] = 3,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Perplexity, top-k accuracy and keystroke savings of a model on a text file.

    Every token after the first is scored, by default in one stream through the file
    with the state carried across lines, as published perplexities are computed.

    **top-1/3/5**: the next token is among the model's 1, 3, 5 most likely tokens of the
    whole vocabulary (`<eos>` and `<unk>` included), over every scored position. **words**:
    the same over word targets only (not `<eos>`, not `<unk>`), among the most likely words,
    as a suggestion bar shows them before the first letter. Ties go to the lower
    vocabulary id.

    **keystroke savings**: a simulated typist enters each word character by character.
    Before each character, and before the first, it is offered the --suggestions (3)
    most likely vocabulary words that begin with what is typed so far, ranked by the
    model given everything before the word (as `lstm predict --complete` ranks them); when
    the word is offered, accepting it costs 1 keystroke and also enters the space after
    it. Without suggestions a word costs its characters as written (Japanese: after
    conversion, モンブラン = 5) plus 1 for the space after it where words are written
    apart (word and space tokenizers; none for ja, ja-phrase, char). `<eos>`, a line break,
    costs 1 and is never offered; `<unk>` words are typed in full (their characters in the
    text, PTB's literal `<unk>` = 5). Savings = 1 − keystrokes with suggestions ÷ keystrokes
    without.

    Example usage:

        lstm eval ptb.test.txt --json

        lstm eval novel.txt --top-k 10 --suggestions 5

        cat chapter*.txt | lstm eval -
    """
    from lstmcli import api, textio

    need_text(file, "eval", "FILE")
    # the text first: cheaper to check than the model
    if textio.wants_stdin(file):
        text, source = textio.read_stdin(encoding, text_format), textio.STDIN
    else:
        text, source = textio.read_text(file, encoding, text_format), str(file)
    result = api.load(model).evaluate(
        text, batch_size=batch_size, seq_len=seq_len, source=source, top_k=top_k,
        suggestions=suggestions,
    )  # fmt: skip
    if json_out:
        typer.echo(json.dumps(result))
        return
    from lstmcli.render import eval_result, make_console

    eval_result(make_console(), source, result)


@app.command()
@handle_errors
def info(
    model_path: Annotated[
        Path | None,
        typer.Argument(metavar="[MODEL]", help="Model file (default: as for predict)."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a model's settings, size, vocabulary, tokenizer and training history.

    Example usage:

        lstm info

        lstm info runs/ptb.safetensors --json
    """
    from lstmcli import checkpoint, paths
    from lstmcli.model import num_params
    from lstmcli.training import best_epoch

    path = paths.find_model(model_path)
    ck = checkpoint.load(path)
    cfg = ck.config
    summary = {
        "model": str(path),
        "cell": cfg.cell,
        "layers": cfg.num_layers,
        "hidden": cfg.hidden_size,
        "embed": cfg.embed_size,
        "tied weights": cfg.tie_weights,
        "dropout": cfg.dropout,
        "parameters": f"{num_params(cfg):,}",
        "vocabulary": f"{cfg.vocab_size:,}",
        "tokenizer": ck.tokenizer.get("name"),
        "dtype": cfg.dtype,
    }
    tr = ck.train
    for key in ("optimizer", "lr", "batch_size", "seq_len", "epochs", "clip"):
        if key in tr:
            summary[key.replace("_", " ")] = tr[key]
    from lstmcli.render import lesson_text, pct, regularizer_text, round_name, schedule_text
    from lstmcli.trainjob import regularizer_summary

    if "lr" in tr:
        summary["lr schedule"] = schedule_text(tr)

    if reg := regularizer_summary(tr):
        summary["regularise"] = regularizer_text(reg)
    if tr.get("windows") == "lines":
        summary["windows"] = "lines, each from the zero state"
    if tr.get("unk_noise"):
        summary["unk noise"] = tr["unk_noise"]
    if tr.get("data", {}).get("corpus"):
        summary["corpus"] = tr["data"]["corpus"]
    if tr.get("data", {}).get("stages"):
        summary["lesson"] = lesson_text(tr)
    if isinstance(tr.get("torchrun"), dict):
        from lstmcli.render import torchrun_text

        summary["distributed"] = torchrun_text(tr["torchrun"])
    b = best_epoch(ck.history)
    if b:
        where = round_name(b.get("epoch"), b.get("stage"))
        ppl = "—" if b.get("valid_ppl") is None else f"{b['valid_ppl']:.2f}"
        summary["best valid ppl"] = f"{ppl} ({where})"
        if b.get("recall") is not None:
            summary["remembers"] = f"the cued cake {pct(b['recall'])} of the time"
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "model": cfg.to_dict(),
                    "train": tr,
                    "tokenizer": ck.tokenizer,
                    "parameters": num_params(cfg),
                    "history": ck.history,
                    "path": str(path),
                },
                ensure_ascii=False,
            )
        )
        return
    from lstmcli.render import info_tables, make_console, valid_top_k

    if b and all(f"valid_top{k}{w}" in b for k in (1, 3) for w in ("", "_words")):
        summary["best valid top-1/3"] = valid_top_k(b)
    info_tables(make_console(), {"summary": summary, "history": ck.history})


from lstmcli.cli_demo import demo_app  # noqa: E402
from lstmcli.cli_live import live  # noqa: E402
from lstmcli.cli_trace import trace  # noqa: E402

app.command()(trace)
app.command()(live)
app.add_typer(demo_app, name="demo")
