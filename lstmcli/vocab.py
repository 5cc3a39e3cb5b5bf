"""Token <-> id vocabulary and streaming encoding of token streams into int32 arrays.

Id order is deterministic: ``<eos>`` is 0, ``<unk>`` is 1, then tokens by descending
count, equal counts in code-point order of the token. A corpus that already contains
``<unk>`` or ``<eos>`` (Penn Treebank uses ``<unk>``) shares the special entry, so the PTB
training set gives exactly 10,000 entries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice

import numpy as np

from lstmcli.errors import LstmError
from lstmcli.tokenize import EOS, UNK

SPECIALS = (EOS, UNK)
CHUNK = 1 << 16  # tokens encoded per chunk when streaming


class Vocab:
    """An ordered list of unique token strings; a token's id is its index."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self.tokens: list[str] = list(tokens)
        self.index: dict[str, int] = {t: i for i, t in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise LstmError("vocabulary has duplicate tokens; the model file is corrupt")
        if any(s not in self.index for s in SPECIALS):
            raise LstmError(
                f"vocabulary lacks {EOS} or {UNK}; the model file is corrupt, retrain it"
            )
        self.eos_id = self.index[EOS]
        self.unk_id = self.index[UNK]

    @classmethod
    def build(
        cls, counts: Mapping[str, int], min_freq: int = 1, max_size: int | None = None
    ) -> Vocab:
        """Vocabulary of tokens seen at least ``min_freq`` times, at most ``max_size`` entries.

        ``max_size`` counts every entry, the two specials included.
        """
        if min_freq < 1:
            raise LstmError(f"min_freq must be at least 1, got {min_freq}; pass 1 or more")
        if max_size is not None and max_size < len(SPECIALS):
            raise LstmError(f"max_size must be at least 2 (for {EOS} and {UNK}), got {max_size}")
        kept = [(t, c) for t, c in counts.items() if c >= min_freq and t not in SPECIALS]
        kept.sort(key=lambda tc: (-tc[1], tc[0]))  # most frequent first, ties by code point
        if max_size is not None:
            kept = kept[: max_size - len(SPECIALS)]
        return cls([*SPECIALS, *(t for t, _ in kept)])

    @classmethod
    def from_list(cls, tokens: object) -> Vocab:
        """Rebuild from :meth:`to_list`; LstmError unless a list of unique strings."""
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise LstmError("vocabulary is not a list of strings; the model file is corrupt")
        return cls(tokens)

    def to_list(self) -> list[str]:
        """Tokens in id order (a copy), for saving."""
        return list(self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self.index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.tokens == other.tokens

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens)"

    def id_of(self, token: str) -> int:
        """Id of ``token``, or of ``<unk>`` if it is not in the vocabulary."""
        return self.index.get(token, self.unk_id)

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Ids of ``tokens`` as an int32 array of shape (N,); unknown tokens map to ``<unk>``."""
        return encode_stream(tokens, self)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids``; LstmError for an id outside ``[0, len)``."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.tokens):
                raise LstmError(f"token id {i} is outside the vocabulary of {len(self)} tokens")
            out.append(self.tokens[i])
        return out


def _chunks(it: Iterator, size: int = CHUNK) -> Iterator[list]:
    while chunk := list(islice(it, size)):
        yield chunk


def count_tokens(tokens: Iterable[str]) -> Counter:
    """Count a token stream without keeping it."""
    return Counter(tokens)


def encode_stream(tokens: Iterable[str], vocab: Vocab, max_tokens: int | None = None) -> np.ndarray:
    """Encode a token stream chunk by chunk into one int32 array of shape (N,).

    ``max_tokens``, an upper bound on the stream's length (see :func:`build_and_encode`),
    lets the ids go straight into one array instead of chunks joined at the end: one copy
    of the ids, not two.
    """
    get, unk = vocab.index.get, vocab.unk_id
    if max_tokens is None:
        parts = [
            np.fromiter((get(t, unk) for t in chunk), dtype=np.int32, count=len(chunk))
            for chunk in _chunks(iter(tokens))
        ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
    ids = np.empty(max_tokens, dtype=np.int32)
    n = 0
    for chunk in _chunks(iter(tokens)):
        if n + len(chunk) > len(ids):  # a wrong bound: grow
            ids = np.resize(ids, max(2 * len(ids), n + len(chunk)))
        ids[n : n + len(chunk)] = [get(t, unk) for t in chunk]
        n += len(chunk)
    return ids[:n]


def encode_stream_chars(tokens: Iterable[str], vocab: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`encode_stream`, with each token's length in characters (N,) int32."""
    get, unk = vocab.index.get, vocab.unk_id
    ids, chars = [], []
    for chunk in _chunks(iter(tokens)):
        ids.append(np.fromiter((get(t, unk) for t in chunk), np.int32, len(chunk)))
        chars.append(np.fromiter((len(t) for t in chunk), np.int32, len(chunk)))
    if not ids:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    return np.concatenate(ids), np.concatenate(chars)


def build_and_encode(
    tokens: Iterable[str],
    min_freq: int = 1,
    max_size: int | None = None,
    max_tokens: int | None = None,
) -> tuple[Vocab, np.ndarray]:
    """Build a vocabulary and encode with it in one pass over a token stream.

    Each new token gets a provisional id as it first appears; after the pass the counts
    give the vocabulary and one lookup array maps provisional ids to final ones, so the
    stream is tokenized once and never held as a list of strings. ``max_tokens``, an upper
    bound on the stream's length (a text of n characters and l lines has at most n + l
    tokens), lets the ids go straight into one array: its untouched tail costs address
    space but no memory, so the ids are never copied while they grow.
    """
    seen: dict[str, int] = {}
    ids = np.empty(max_tokens if max_tokens is not None else CHUNK, dtype=np.int32)
    n = 0
    for chunk in _chunks(iter(tokens)):
        if n + len(chunk) > len(ids):  # no bound given, or a wrong one: grow
            ids = np.resize(ids, max(2 * len(ids), n + len(chunk)))
        ids[n : n + len(chunk)] = [seen.setdefault(t, len(seen)) for t in chunk]
        n += len(chunk)
    prov = ids[:n]
    counts = np.zeros(len(seen), dtype=np.int64)
    for i in range(0, n, CHUNK):  # bincount casts to int64: a chunk at a time, not all
        counts += np.bincount(prov[i : i + CHUNK], minlength=len(seen))
    vocab = Vocab.build(dict(zip(seen, counts.tolist(), strict=True)), min_freq, max_size)
    remap = np.fromiter((vocab.id_of(t) for t in seen), dtype=np.int32, count=len(seen))
    for i in range(0, n, CHUNK):  # in place, a chunk at a time: no second copy
        prov[i : i + CHUNK] = remap[prov[i : i + CHUNK]]
    return vocab, prov
