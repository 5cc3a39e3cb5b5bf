"""From text files to the id arrays training needs: decode, tokenize, build the vocabulary.

The training text is tokenized once, as a stream, into an int32 array; the validation
text (a separate file, or the tail of the training text) is encoded with the training
vocabulary, so words it alone has become ``<unk>``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lstmcli import data, textio
from lstmcli import tokenize as tok
from lstmcli.errors import DataError
from lstmcli.vocab import Vocab, build_and_encode, encode_stream, encode_stream_chars


@dataclass
class Corpus:
    """A tokenized corpus ready for training."""

    tokenizer: tok.Tokenizer
    vocab: Vocab
    train_ids: np.ndarray
    valid_ids: np.ndarray | None
    example: str  # a line of the training text, for `lstm trace` without arguments
    encoding: str | None = None
    extra_ids: list[np.ndarray] = field(default_factory=list)  # the extra texts, encoded


def _example_line(text: str, max_chars: int = 60) -> str:
    """A typical line of the text: the first of median length among the early lines."""
    lines = []
    for ln in textio.split_lines(text):
        if ln.strip():
            lines.append(ln.strip()[:1000])
        if len(lines) >= 2000:
            break
    if not lines:
        return ""
    short = [ln for ln in lines if len(ln) <= max_chars] or [lines[0][:max_chars]]
    ranked = sorted(short, key=len)
    return ranked[len(ranked) // 2]


def load_corpus(
    path: str | Path,
    tokenizer: str = "auto",
    *,
    encoding: str | None = None,
    fmt: str = "auto",
    min_freq: int = 1,
    max_vocab: int | None = None,
    valid_path: str | Path | None = None,
    val_fraction: float | None = 0.1,
    text: str | None = None,
    extra: Sequence[str] = (),
) -> Corpus:
    """Read, tokenize and encode a training corpus (and its validation part).

    ``text`` is the corpus when it has been read already (standard input, a string given
    to :func:`lstmcli.train`, cleaned by :func:`~lstmcli.textio.clean_text`); ``path``
    then only names it in messages. ``extra`` texts (a lesson's stages) are tokenized the
    same way and share the vocabulary; they come back encoded in ``extra_ids``, and none of
    them is held out for validation.
    """
    if text is None:
        text = textio.read_text(path, encoding, fmt)
    name = tok.resolve(tokenizer, text)
    t = tok.get_tokenizer(name)
    parts = [*extra, text]
    bound = sum(len(p) + p.count("\n") + 1 for p in parts)  # a character per token, or <eos>
    counts: list[int] = []
    vocab, ids = build_and_encode(
        _counted([t.iter_tokens(textio.split_lines(p)) for p in parts], counts),
        min_freq,
        max_vocab,
        max_tokens=bound,
    )
    edges = np.r_[0, np.cumsum(counts)]  # part k is ids[edges[k] : edges[k + 1]]
    extra_ids = [ids[edges[k] : edges[k + 1]] for k in range(len(extra))]
    ids = ids[edges[-2] :]
    if len(ids) == 0 or (ids == vocab.eos_id).all():
        raise DataError(
            f"{path}: the text gives no tokens with the {name} tokenizer; check the file"
        )
    valid = None
    if valid_path is not None:
        vtext = textio.read_text(valid_path, encoding, fmt)
        valid = encode_stream(t.iter_tokens(textio.split_lines(vtext)), vocab)
        if len(valid) < 2:
            raise DataError(f"{valid_path}: the validation text gives fewer than 2 tokens")
    elif val_fraction:
        ids, valid = data.split_tail(ids, val_fraction)
    return Corpus(t, vocab, ids, valid, _example_line(text), extra_ids=extra_ids)


def _counted(streams: list[Iterator[str]], counts: list[int]) -> Iterator[str]:
    """The tokens of ``streams`` one after another; ``counts`` gets the length of each."""
    for stream in streams:
        counts.append(0)
        for token in stream:
            counts[-1] += 1
            yield token


def encode_text(
    text: str, tokenizer: tok.Tokenizer, vocab: Vocab, source: str = "text"
) -> np.ndarray:
    """Encode text with a model's tokenizer and vocabulary (one <eos> per line)."""
    ids = encode_stream(tokenizer.iter_tokens(textio.split_lines(text)), vocab)
    return _at_least_two(ids, source)


def encode_text_chars(
    text: str, tokenizer: tok.Tokenizer, vocab: Vocab, source: str = "text"
) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`encode_text`, with each token's length in characters as it stands in the
    text (N,) int32 beside its id: what a typist enters, ``<unk>`` words included."""
    ids, chars = encode_stream_chars(tokenizer.iter_tokens(textio.split_lines(text)), vocab)
    return _at_least_two(ids, source), chars


def _at_least_two(ids: np.ndarray, source: str) -> np.ndarray:
    if len(ids) < 2:
        raise DataError(f"{source}: the text gives fewer than 2 tokens; give a longer text")
    return ids


def encode_file(
    path: str | Path,
    tokenizer: tok.Tokenizer,
    vocab: Vocab,
    *,
    encoding: str | None = None,
    fmt: str = "auto",
) -> np.ndarray:
    """Encode a text file with a model's tokenizer and vocabulary."""
    return encode_text(textio.read_text(path, encoding, fmt), tokenizer, vocab, str(path))
