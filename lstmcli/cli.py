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
    dropout_value,
    fraction,
    handle_errors,
    load_predictor,
    positive_float,
)

app = typer.Typer(
    name="lstm",
    help="Train an LSTM language model on your own text, predict the next word, and "
    "watch its gates work token by token.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


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
        typer.Option(help="Option set: default, tiny, zaremba-small, ptb-fast, ptb-awd."),
    ] = None,
    cell: Annotated[
        str | None,
        typer.Option(help="Recurrent cell: lstm or rnn.", callback=choice(("lstm", "rnn"))),
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
        str | None, typer.Option(help="sgd or adam.", callback=choice(("sgd", "adam")))
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
        str | None, typer.Option(help="auto, word, space, char, ja or ja-phrase.")
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
            callback=choice(("auto", "plain", "aozora")),
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
        typer.Option(help="Continue an interrupted run from its .last.safetensors file."),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object per line instead of tables.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the model path.")
    ] = False,
) -> None:
    """Train a model on a text file (or the bundled corpus) and save it.

    Example usage:

        lstm train                          # the bundled Japanese corpus

        lstm train novel.txt --epochs 20

        lstm train ptb.train.txt --valid ptb.valid.txt --preset zaremba-small

        lstm train ptb.train.txt --valid ptb.valid.txt --preset ptb-awd

        lstm train novel.txt --optimizer sgd --lr 20 --dropouti 0.4 --wdrop 0.5 --nt-asgd 2
    """
    from lstmcli import trainjob

    given_model = {
        "cell": cell,
        "num_layers": layers,
        "hidden_size": hidden,
        "embed_size": embed,
        "dropout": dropout,
        "tie_weights": tie_weights,
        "init_scale": init_scale,
        "forget_bias": forget_bias,
    }
    given_train = {
        "seq_len": seq_len,
        "batch_size": batch_size,
        "epochs": epochs,
        "max_steps": max_steps,
        "max_minutes": max_minutes,
        "lr": lr,
        "optimizer": optimizer,
        "clip": clip,
        "seed": seed,
        "dropouti": input_dropout,
        "dropouth": hidden_dropout,
        "dropouto": output_dropout,
        "dropoute": word_dropout,
        "wdrop": weight_drop,
        "alpha": ar,
        "beta": tar,
        "wdecay": weight_decay,
        "vary_seq_len": vary_seq_len,
        "nonmono": nt_asgd,
    }
    given_data = {
        "tokenizer": tokenizer,
        "min_freq": min_freq,
        "max_vocab": max_vocab,
        "val_fraction": val_fraction,
    }
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
    text: Annotated[str, typer.Argument(help="The text to continue.")],
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
            "--top-p", help="Nucleus sampling mass for --generate, in (0, 1].", show_default=False
        ),
    ] = None,
    greedy: Annotated[
        bool, typer.Option(help="With --generate: always take the most likely token.")
    ] = False,
    seed: Annotated[int | None, typer.Option(help="Random seed for --generate.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the most likely next tokens after TEXT.

    Example usage:

        lstm predict "僕の麻里ちゃんの愛してやまないケーキは"

        lstm predict "Mari's favourite cake is the" --top-k 5 --json

        lstm predict "僕の麻里ちゃんの" --generate 20 --top-p 0.9 --seed 1
    """
    if top_p is not None and not 0 < top_p <= 1:
        raise typer.BadParameter(f"must be in (0, 1], got {top_p}", param_hint="--top-p")
    p = load_predictor(model)
    prompt = p.encode(text)
    out = p.run(prompt)
    cands = p.top_k(out.logits[-1], top_k, temperature)
    generated = None
    if generate:
        generated = p.generate(
            out, generate, temperature=temperature, top_p=top_p, greedy=greedy, seed=seed
        )
    if json_out:
        obj = {"tokens": prompt.tokens, "next": [{"token": c.token, "prob": c.prob} for c in cands]}
        if prompt.unknown:
            obj["unknown"] = prompt.unknown
        if generated is not None:
            obj["generated"] = generated
        typer.echo(json.dumps(obj, ensure_ascii=False))
        return
    from lstmcli.render import generation, make_console, predict_table

    console = make_console()
    predict_table(console, prompt.tokens, cands, prompt.unknown)
    if generated is not None:
        console.print()
        generation(console, text, p.tokenizer.detokenize(generated))


@app.command("eval")
@handle_errors
def eval_(
    file: Annotated[Path, typer.Argument(help="Text to score.")],
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
            "--format", help="auto, plain or aozora.", callback=choice(("auto", "plain", "aozora"))
        ),
    ] = "auto",
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Perplexity of a model on a text file.

    Example usage:

        lstm eval ptb.test.txt --json
    """
    import math

    from lstmcli import prepare, textio, train

    text = textio.read_text(file, encoding, text_format)  # the text first: cheaper to check
    p = load_predictor(model)
    ids = prepare.encode_text(text, p.tokenizer, p.vocab, str(file))
    loss, n = train.evaluate(p.params, p.config, ids, batch_size, seq_len)
    unk = float((ids == p.vocab.unk_id).mean())
    result = {"perplexity": math.exp(loss), "loss": loss, "tokens": n, "unk_rate": unk}
    if json_out:
        typer.echo(json.dumps(result))
        return
    from lstmcli.render import eval_result, make_console

    eval_result(make_console(), str(file), result)


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
    from lstmcli.train import best_epoch

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
    from lstmcli.render import regularizer_text
    from lstmcli.trainjob import regularizer_summary

    if reg := regularizer_summary(tr):
        summary["regularise"] = regularizer_text(reg)
    if tr.get("data", {}).get("corpus"):
        summary["corpus"] = tr["data"]["corpus"]
    b = best_epoch(ck.history)
    if b:
        summary["best valid ppl"] = f"{b['valid_ppl']:.2f} (epoch {b['epoch']})"
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
    from lstmcli.render import info_tables, make_console

    info_tables(make_console(), {"summary": summary, "history": ck.history})


from lstmcli.cli_demo import demo_app  # noqa: E402
from lstmcli.cli_trace import trace  # noqa: E402

app.command()(trace)
app.add_typer(demo_app, name="demo")


def main() -> None:
    app()
