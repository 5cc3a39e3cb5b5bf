"""Tokenizing a text that changes a little at a time, as the keys of ``lstm live`` change it.

:class:`Encoder` gives what :func:`lstmcli.complete.context_prompt` gives for a text — the
same tokens, ids and unknown words — from what it kept of the texts before it: each line is
tokenized once while it stays in the text, and a line that changed is tokenized by sentence
(:class:`SentenceCache`), so a key re-tokenizes the line it is in (in the line being typed,
only the sentence), and the rest of a long text costs it a dictionary look-up per line.

Both caches are sized to the text: each remembers the keys the last text used (a *pass*)
and, once it holds more than ``2 × used + MIN_ENTRIES`` entries, drops all the others.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Generic, NamedTuple, TypeVar

import numpy as np

from lstmcli import tokenize as tok

if TYPE_CHECKING:
    from lstmcli.vocab import Vocab

MIN_ENTRIES = 4096  # kept beyond what a pass used

# Where a line can be cut without changing its tokens: after a sentence's end. No token of
# the word and space tokenizers holds whitespace, and SudachiPy ends a word at 。！？ (the
# tokens of every paragraph of the bundled corpus equal those of its sentences).
SENTENCE_END = {
    "word": re.compile(r"(?<=[.!?]\s)"),
    "space": re.compile(r"(?<=[.!?]\s)"),
    "ja": re.compile(r"(?<=[。！？!?])"),
    "ja-phrase": re.compile(r"(?<=[。！？!?])"),
}

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    """``make(key)`` kept by key; :meth:`end_pass` drops the keys the pass did not use once
    there are more than ``2 × used + MIN_ENTRIES``."""

    def __init__(self, make: Callable[[K], V]) -> None:
        self._make = make
        self._kept: dict[K, V] = {}
        self._used: set[K] = set()  # by the pass going on
        self._last = 0  # keys the last pass used

    def __len__(self) -> int:
        return len(self._kept)

    @property
    def bound(self) -> int:
        """The most entries kept after the last pass."""
        return 2 * self._last + MIN_ENTRIES

    def get(self, key: K) -> V:
        self._used.add(key)
        hit = self._kept.get(key)
        if hit is None:
            hit = self._kept[key] = self._make(key)
        return hit

    def end_pass(self) -> None:
        self._last = len(self._used)
        if len(self._kept) > self.bound:
            self._kept = {key: self._kept[key] for key in self._used}
        self._used = set()


class SentenceCache:
    """A tokenizer that remembers the sentences it has seen (see :data:`SENTENCE_END`):
    typing at the end of a long line re-tokenizes only its last sentence."""

    def __init__(self, tokenizer: tok.Tokenizer) -> None:
        self._tokenizer = tokenizer
        self._cut = SENTENCE_END.get(tokenizer.name)
        self.sentences: Memo[str, list[str]] = Memo(lambda s: self._tokenizer.tokenize_line(s))

    def __getattr__(self, name: str):
        return getattr(self._tokenizer, name)

    def tokenize_line(self, line: str) -> list[str]:
        if self._cut is None:  # char: one token per character, cheap
            return self._tokenizer.tokenize_line(line)
        get = self.sentences.get
        return [t for piece in self._cut.split(line) if piece for t in get(piece)]


@dataclass
class Prompt:
    """A prompt as the model sees it (what :meth:`lstmcli.predict.Predictor.encode` and
    :meth:`Encoder.prompt` give)."""

    tokens: list[str]  # the tokens fed, in order; unknown words appear as <unk>
    ids: np.ndarray  # (T,) int ids
    unknown: list[str]  # words of the prompt that the vocabulary lacks


class Line(NamedTuple):
    """One line of a prompt: its ids and tokens (the vocabulary's strings, ``<unk>`` for a
    word it lacks) with the ``<eos>`` after it, and the words the vocabulary lacks."""

    ids: np.ndarray  # (n,) int32
    tokens: list[str]
    unknown: list[str]


def encode_line(tokenizer, vocab: Vocab, line: str, more: bool) -> Line:
    """``line`` as a prompt reads it, with ``tokenizer`` (anything with ``tokenize_line``):
    its tokens and ids, the ``<eos>`` after it when ``more`` lines follow and it is not
    blank, and the words ``vocab`` lacks."""
    get, unk, eos = vocab.index.get, vocab.unk_id, vocab.eos_id
    toks = tokenizer.tokenize_line(line)
    ids = [get(t, unk) for t in toks]
    unknown = [t for t, i in zip(toks, ids, strict=True) if i == unk and t not in vocab]
    if more and line.strip():
        ids.append(eos)
    return Line(np.array(ids, np.int32), [vocab.tokens[i] for i in ids], unknown)


class Encoder:
    """:func:`lstmcli.complete.context_prompt` by line, each line kept while it stays in
    the text: as ``lstm predict`` reads a prompt, lines joined by ``<eos>`` (none after a
    blank one), one ``<eos>`` in front; ``<eos>`` alone for a text without tokens."""

    def __init__(self, tokenizer: SentenceCache, vocab: Vocab) -> None:
        self.tokenizer, self.vocab = tokenizer, vocab
        self.lines: Memo[str, Line] = Memo(lambda line: self._line(line, more=True))
        eos = vocab.eos_id
        self._start = Line(np.array([eos], np.int32), [vocab.tokens[eos]], [])

    def _line(self, line: str, more: bool) -> Line:
        return encode_line(self.tokenizer, self.vocab, line, more)

    def prompt(self, text: str) -> Prompt:
        """The prompt of ``text``; ends the pass of both caches."""
        parts = [self._start]
        if text.strip():
            lines = text.replace("\r\n", "\n").split("\n")
            parts += map(self.lines.get, lines[:-1])
            parts.append(self._line(lines[-1], more=False))
        self.lines.end_pass()
        self.tokenizer.sentences.end_pass()
        tokens = list(chain.from_iterable(part.tokens for part in parts))
        if len(tokens) == 1:
            return Prompt([tok.EOS], np.array([self.vocab.eos_id]), [])
        ids = np.concatenate([part.ids for part in parts])
        return Prompt(tokens, ids, list(chain.from_iterable(part.unknown for part in parts)))
