"""From text files to the id arrays training needs: decode, tokenize, build the vocabulary.

The training text is tokenized once, as a stream, into an int32 array; the validation
text (a separate file, or the tail of the training text) is encoded with the training
vocabulary, so words it alone has become ``<unk>``. A file is read line by line
(:mod:`lstmcli.textfile`), never whole: what a corpus costs is its ids, 4 bytes a token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lstmcli import data, textfile, textio
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


EXAMPLE_LINES = 2000  # the early lines an example line is chosen from


def _example_line(lines: list[str], max_chars: int = 60) -> str:
    """A typical line of the text: the first of median length among its early non-empty
    ``lines`` (stripped, cut at 1000 characters; see :func:`_noting`)."""
    if not lines:
        return ""
    short = [ln for ln in lines if len(ln) <= max_chars] or [lines[0][:max_chars]]
    ranked = sorted(short, key=len)
    return ranked[len(ranked) // 2]


def _noting(lines: Iterable[str], early: list[str]) -> Iterator[str]:
    """``lines`` passed through; ``early`` gets the first :data:`EXAMPLE_LINES` non-empty
    ones, stripped and cut at 1000 characters, for :func:`_example_line`."""
    for ln in lines:
        if len(early) < EXAMPLE_LINES and ln.strip():
            early.append(ln.strip()[:1000])
        yield ln


def _lines_of(
    path: str | Path, text: str | None, encoding: str | None, fmt: str
) -> tuple[str, Callable[[], Iterator[str]], int]:
    """The start of a corpus (for ``auto``), a way to stream its lines, and a bound on its
    tokens: from ``text`` when it has been read already, else from the file, line by line."""
    if text is not None:
        return text[: tok.SNIFF_CHARS], lambda: textio.split_lines(text), _bound(text)
    tf = textfile.open_text(path, encoding, fmt)
    return tf.head(tok.SNIFF_CHARS), tf.lines, tf.chars + tf.newlines + 1


def _bound(text: str) -> int:
    """At most this many tokens: a character per token, or an <eos> per line."""
    return len(text) + text.count("\n") + 1


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
    sample, lines, size = _lines_of(path, text, encoding, fmt)
    name = tok.resolve(tokenizer, sample)
    t = tok.get_tokenizer(name)
    early: list[str] = []
    streams = [t.iter_tokens(textio.split_lines(p)) for p in extra]
    streams.append(t.iter_tokens(_noting(lines(), early)))
    counts: list[int] = []
    vocab, ids = build_and_encode(
        _counted(streams, counts),
        min_freq,
        max_vocab,
        max_tokens=sum(map(_bound, extra)) + size,
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
        valid = _encode_file(valid_path, t, vocab, encoding, fmt)
        if len(valid) < 2:
            raise DataError(f"{valid_path}: the validation text gives fewer than 2 tokens")
    elif val_fraction:
        ids, valid = data.split_tail(ids, val_fraction)
    return Corpus(t, vocab, ids, valid, _example_line(early), extra_ids=extra_ids)


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
    """Encode a text file with a model's tokenizer and vocabulary, line by line."""
    return _at_least_two(_encode_file(path, tokenizer, vocab, encoding, fmt), str(path))


def _encode_file(
    path: str | Path, tokenizer: tok.Tokenizer, vocab: Vocab, encoding: str | None, fmt: str
) -> np.ndarray:
    tf = textfile.open_text(path, encoding, fmt)
    return encode_stream(tokenizer.iter_tokens(tf.lines()), vocab, tf.chars + tf.newlines + 1)
