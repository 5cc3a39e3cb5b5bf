"""The Python API: a trained model inside your own program (an editor plugin, a notebook).

    import lstmcli

    m = lstmcli.load("model.safetensors")  # or lstmcli.load(): as `lstm predict` finds one
    m.predict("僕の麻里ちゃんの愛してやまないケーキは", k=5)  # [(token, prob), …]
    m.complete("僕の麻里ちゃんの愛してやまないケーキはモン", k=3)  # the last, partial word
    m.generate("僕の", n=20, temperature=0.8, seed=1)  # the text that follows
    m.perplexity(text)
    m.trace(text)  # the gates, as `lstm trace --json` prints them

    m = lstmcli.train("novel.txt", epochs=20, out="novel.safetensors")

A thin layer over what the commands call: :class:`Model` wraps a
:class:`~lstmcli.predict.Predictor`, and :func:`train` runs the job of ``lstm train``, with
its presets and checks. Errors are :class:`~lstmcli.errors.LstmError`, with the message the
command would print. Importing this module is cheap; NumPy comes with the first model.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args, get_type_hints

from lstmcli import paths
from lstmcli import tokenize as tok
from lstmcli.errors import LstmError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from lstmcli.lesson import Stage
    from lstmcli.model import ModelConfig
    from lstmcli.predict import Predictor

PathLike = str | os.PathLike  # a file name


class Model:
    """A trained model: the next word, completions, generation, perplexity and gates."""

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor  # what the commands use: weights, vocabulary, tokenizer

    @property
    def path(self) -> Path | None:
        """The model file it was loaded from."""
        return self.predictor.path

    @property
    def config(self) -> ModelConfig:
        """The architecture: cell, layers, sizes, tying, dtype."""
        return self.predictor.config

    @property
    def tokenizer(self) -> str:
        """The tokenizer's name (``ja``, ``word``, …), as stored in the model."""
        return self.predictor.tokenizer.name

    @property
    def vocab(self) -> list[str]:
        """The tokens, in id order."""
        return self.predictor.vocab.tokens

    def __repr__(self) -> str:
        c = self.config
        return (
            f"<lstmcli.Model {c.cell} {c.num_layers}×{c.hidden_size}, vocabulary "
            f"{c.vocab_size}, tokenizer {self.tokenizer}, from {self.path}>"
        )

    def predict(
        self, text: str, k: int = 10, *, temperature: float = 1.0
    ) -> list[tuple[str, float]]:
        """The ``k`` most likely next tokens after ``text`` with their probabilities, most
        likely first, as ``lstm predict`` shows them."""
        p = self.predictor
        out = p.last(p.encode(text))
        return [(c.token, c.prob) for c in p.top_k(out.logits[-1], k, temperature)]

    def complete(self, text: str, k: int = 10) -> list[tuple[str, float]]:
        """Completions of the last, partial word of ``text``: the vocabulary words that begin
        with it, ranked by the model's probability given the text before it."""
        from lstmcli.complete import complete

        return complete(self.predictor, text, k)

    def generate(
        self,
        text: str,
        n: int = 20,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        greedy: bool = False,
        seed: int | None = None,
    ) -> str:
        """Continue ``text`` by ``n`` sampled tokens and return the text that follows it (as
        ``lstm predict --generate``; ``seed`` makes it repeat)."""
        p = self.predictor
        prompt = p.encode(text)
        generated = p.generate(
            p.last(prompt), n, temperature=temperature, top_k=top_k, top_p=top_p,
            greedy=greedy, seed=seed,
        )  # fmt: skip
        return p.continuation(prompt, generated)

    def evaluate(
        self,
        text: str,
        *,
        batch_size: int = 1,
        seq_len: int = 35,
        source: str = "the text",
        top_k: int | None = None,
        suggestions: int = 3,
    ) -> dict[str, Any]:
        """What ``lstm eval`` prints, as a dict: ``perplexity``, ``loss``, ``tokens``,
        ``unk_rate``, the top-1/3/5 accuracy over every position (``top1`` …) and over word
        targets (``top1_words`` …), and ``keystroke_savings`` at ``suggestions`` words offered
        (see :mod:`lstmcli.keyboard` for the exact rules); ``top_k`` adds one more cut. One
        stream through the text (``batch_size`` 1), the state carried across windows of
        ``seq_len``. ``source`` names the text in error messages."""
        from lstmcli import keyboard, prepare, textio

        p = self.predictor
        text = textio.normalize_newlines(text)
        ids, chars = prepare.encode_text_chars(text, p.tokenizer, p.vocab, source)
        layout = keyboard.Layout(p.prefix_index, p.vocab, keyboard.space_cost(p.tokenizer))
        ks = {*keyboard.TOP_KS, *([top_k] if top_k else [])}
        scores = keyboard.score(
            p.params, p.config, ids, layout, chars=chars, batch_size=batch_size,
            seq_len=seq_len, ks=ks, suggestions=suggestions,
        )  # fmt: skip
        unk = float((ids == p.vocab.unk_id).mean())
        head = {k: scores.pop(k) for k in ("perplexity", "loss", "tokens")}
        return {**head, "unk_rate": unk, **scores}

    def perplexity(self, text: str) -> float:
        """The model's perplexity on ``text`` (see :meth:`evaluate`)."""
        return self.evaluate(text)["perplexity"]

    def trace(
        self,
        text: str | None = None,
        *,
        gates: str | None = None,
        layer: int | None = None,
        units: str | None = None,
        top: int | None = None,
        start: int | None = None,
        stop: int | None = None,
    ) -> dict[str, Any]:
        """Every gate at every token, as ``lstm trace --json`` prints it: ``{"cell", "tokens",
        "positions", "layer_ids", "units", "layers": [{gate: [[value per unit] per token]}]}``.

        The options are those of the command (``gates="f,i"``, ``units="0-15"``, ``top=8``,
        ``start``/``stop`` for ``--from``/``--to``); all gates unless ``gates`` is given.
        ``numpy.array(t["layers"][0]["f"])`` is the first layer's forget gate, (T, H).
        """
        from lstmcli import trace as tr_

        p = self.predictor
        tr = tr_.record(p, text if text is not None else tr_.default_text(p))
        view = tr_.plan(
            tr, gates=gates, layer=layer, units=units, top=top, start=start, stop=stop,
            default_gates=tr_.LSTM_GATES,
        )  # fmt: skip
        return tr_.to_json(tr, view)


def _tokenizer_name(path: Path) -> str | None:
    """The tokenizer a model file names, read from its header without NumPy; None when the
    file cannot be read so (:func:`lstmcli.checkpoint.load` then says what is wrong)."""
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n > 1 << 26:
                return None
            meta = json.loads(f.read(n))["__metadata__"]
        name = json.loads(meta["tokenizer"])["name"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError, struct.error):
        return None
    return name if isinstance(name, str) else None


def load(path: PathLike | None = None) -> Model:
    """Load a model file: ``path``, else ``$LSTM_MODEL``, else the model ``lstm train``
    wrote last. The file is checked before anything is read into memory.

    For a Japanese model the tokenizer's dictionary starts loading at once, in the
    background, while NumPy and the weights load.
    """
    found = paths.find_model(path)
    if tok.needs_dictionary(_tokenizer_name(found)):
        tok.preload_sudachi()
    from lstmcli.predict import Predictor

    return Model(Predictor.load(found))


def train(
    corpus: PathLike | None = None,
    *,
    text: str | None = None,
    out: PathLike | None = None,
    progress: bool = False,
    preset: str | None = None,
    cell: str | None = None,
    layers: int | None = None,
    hidden: int | None = None,
    embed: int | None = None,
    seq_len: int | None = None,
    batch_size: int | None = None,
    epochs: int | None = None,
    max_steps: int | None = None,
    max_minutes: float | None = None,
    lr: float | None = None,
    optimizer: str | None = None,
    clip: float | None = None,
    dropout: float | None = None,
    tie_weights: bool | None = None,
    init_scale: float | None = None,
    forget_bias: float | None = None,
    input_dropout: float | None = None,
    hidden_dropout: float | None = None,
    output_dropout: float | None = None,
    word_dropout: float | None = None,
    weight_drop: float | None = None,
    ar: float | None = None,
    tar: float | None = None,
    weight_decay: float | None = None,
    vary_seq_len: bool | None = None,
    nt_asgd: int | None = None,
    windows: str | None = None,
    stages: str | Sequence[Stage] | None = None,
    lang: str | None = None,
    unk_noise: float | None = None,
    seed: int | None = None,
    valid: PathLike | None = None,
    val_fraction: float | None = None,
    tokenizer: str | None = None,
    min_freq: int | None = None,
    max_vocab: int | None = None,
    encoding: str | None = None,
    format: str = "auto",
    resume: PathLike | None = None,
) -> Model:
    """Train a model as ``lstm train`` does and return it.

    ``corpus`` is a text file (default: the bundled Japanese corpus), or pass the corpus
    itself as ``text``. The options are the command's, with ``_`` for ``-``
    (``seq_len=35`` for ``--seq-len 35``); a preset fills in those not given, and the same
    checks apply (an LstmError names the problem). The model is written where the command
    writes it (``out``, default ``$LSTM_HOME/model.safetensors``, then ``lstm predict``
    finds it), with ``NAME.last.safetensors`` for ``resume``. ``progress=True`` prints the
    command's tables; notes, such as untied weights, come as warnings. Ctrl-C saves the
    training state and raises KeyboardInterrupt.
    """
    from lstmcli import textio, trainjob

    options = {k: v for k, v in locals().items() if k not in ("textio", "trainjob")}
    _check_types(options)
    if text is not None:
        text = textio.clean_text(text, textio.TEXT, format)
        corpus = corpus or textio.TEXT
    given_model, given_train, given_data = trainjob.given_options(options)
    code = trainjob.run(
        corpus=corpus, preset=preset, given_model=given_model, given_train=given_train,
        given_data=given_data, valid=valid, encoding=encoding, text_format=format, out=out,
        resume=resume, mode="rich" if progress else "silent", argv=None, text=text,
    )  # fmt: skip
    if code:
        raise KeyboardInterrupt
    return load(out or paths.default_model_path())


def _check_types(options: dict[str, Any]) -> None:
    """LstmError for an option of the wrong type, e.g. ``hidden="256"`` or ``lr=True``.
    (``stages`` is checked by :func:`lstmcli.lesson.parse`.)"""
    from collections.abc import Sequence

    from lstmcli.lesson import Stage

    hints = get_type_hints(train, localns={"Sequence": Sequence, "Stage": Stage})
    for name, value in options.items():
        if value is None or name == "stages":
            continue
        kinds = tuple(t for t in get_args(hints[name]) or (hints[name],) if t is not type(None))
        if isinstance(value, bool):  # a bool is an int to isinstance, but not to us
            ok = bool in kinds
        else:
            ok = isinstance(value, kinds) or (float in kinds and isinstance(value, int))
        if not ok:
            want = " or ".join(k.__name__ for k in kinds)
            raise LstmError(f"train({name}={value!r}): {name} must be {want}")
