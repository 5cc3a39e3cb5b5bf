"""How good a next-word predictor is in the measures keyboards use, with perplexity, in one pass.

For every scored position of a text (every token after the first, as perplexity counts
them) the logits give:

- **top-k accuracy**, two ways. *Every position*: the next token is among the k most
  likely tokens of the whole vocabulary, ``<eos>`` and ``<unk>`` included, as ``lstm
  predict`` lists them. *Word targets*: only positions whose next token is a word (not
  ``<eos>``, not ``<unk>``), and the list holds the k most likely *words*, as a keyboard's
  suggestion bar shows them before the first letter is typed. Ties go to the lower
  vocabulary id.
- **keystroke savings** with S suggestions (S = 3). Without suggestions, a word costs its
  characters as they stand in the text (for Japanese, the characters after conversion:
  モンブラン is 5), plus 1 for the space after it where the tokenizer writes words apart
  (``space``, ``word``; none for ``ja``, ``ja-phrase``, ``char``); ``<eos>``, a line break,
  costs 1; a ``<unk>`` word costs its characters as in the text (Penn Treebank's literal
  ``<unk>``: 5) plus the space. With suggestions, before each character of a word and
  before the first, the typist sees the S most likely vocabulary words that begin with
  what is typed so far, ranked by the model given everything before the word — exactly
  :func:`lstmcli.complete.rank`. When the word is there, accepting it costs 1 keystroke,
  which also enters the space after it: a word accepted after j typed characters costs
  j + 1. A word never suggested is typed in full; ``<eos>`` and ``<unk>`` are never
  suggested and cost what they cost without. Savings = 1 − keystrokes with suggestions ÷
  keystrokes without. (With the ``char`` tokenizer every token is one keystroke either
  way, so the savings are 0.)

The simulation is vectorised over the vocabulary. Columns are put in :class:`Layout`
order — the words sorted by code point, as in the :class:`~lstmcli.complete.PrefixIndex`,
then ``<eos>`` and ``<unk>`` — by permuting the decoder's rows, so the logits come out in
that order at no cost. For a target word w, a word v *beats* w when its logit is higher,
or equal with a lower vocabulary id; w is in the list after j characters exactly when
fewer than S words of the span of w[:j] beat it. One comparison pass per block marks the
beaters, and one ``reduceat`` counts them over each prefix's span; as the spans shrink
with j, the prefixes where w is listed are the last ones, so counting them gives the
first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import cached_property

import numpy as np

from lstmcli import data
from lstmcli import tokenize as tok
from lstmcli.complete import PrefixIndex
from lstmcli.model import ModelConfig, Params, decoder_weight, row_nll, window_logits, zero_state
from lstmcli.vocab import Vocab
from lstmcli.workspace import Workspace

TOP_KS = (1, 3, 5)
SUGGESTIONS = 3
_BLOCK = 1 << 19  # elements per scored block: a few MB of logits and marks


def space_cost(tokenizer: tok.Tokenizer) -> int:
    """Keystrokes for the separator after a word: 1 where words are written apart."""
    return 1 if tokenizer.joiner == " " else 0


class Layout:
    """The vocabulary in completion order: column c holds vocabulary id ``order[c]``.

    Columns 0 … W−1 are the words of ``index`` (code-point order), W … V−1 the specials.
    """

    def __init__(self, index: PrefixIndex, vocab: Vocab, space: int = 1) -> None:
        self.index = index
        self.n_words = W = len(index)
        typable = set(index.ids.tolist())
        specials = [i for i in range(len(vocab)) if i not in typable]
        self.order = np.concatenate([index.ids, np.array(specials, dtype=np.int64)])  # (V,)
        self.column = np.empty(len(vocab), dtype=np.int64)  # (V,) column of each id
        self.column[self.order] = np.arange(len(vocab))
        self.eos, self.unk = self.column[vocab.eos_id], self.column[vocab.unk_id]
        self.length = np.zeros(len(vocab), dtype=np.int64)  # characters per column, 0: special
        self.length[:W] = [len(w) for w in index.words]
        self.space = space

    @cached_property
    def prefixes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(first, lo, hi)``: word column c's prefixes of 1 … L−1 characters have the
        spans ``lo[e]:hi[e]`` for e in ``first[c]:first[c + 1]``, shortest first."""
        words = self.index.words
        lo, hi = [], []
        for w in words:
            a, b = 0, len(words)
            for j in range(1, len(w)):  # each span lies inside the one before
                a, b = self.index.span(w[:j], a, b)
                lo.append(a)
                hi.append(b)
        first = np.zeros(self.n_words + 1, dtype=np.int64)
        np.cumsum(np.maximum(self.length[: self.n_words] - 1, 0), out=first[1:])
        return first, np.array(lo, dtype=np.int64), np.array(hi, dtype=np.int64)


class Tally:
    """Sums over scored blocks; :meth:`result` turns them into rates."""

    def __init__(self, layout: Layout, ks: Iterable[int] = TOP_KS, suggestions: int = 0):
        self.layout = layout
        self.ks = tuple(sorted(set(ks)))
        self.suggestions = suggestions  # 0: no keystroke simulation
        self.positions = self.words = 0
        self.nll = 0.0
        self.hits = dict.fromkeys(self.ks, 0)  # target among the top k tokens
        self.word_hits = dict.fromkeys(self.ks, 0)  # word target among the top k words
        self.keys_with = self.keys_without = 0
        self._zero_bias: np.ndarray | None = None

    def add(self, z: np.ndarray, t: np.ndarray, chars: np.ndarray | None = None) -> None:
        """Score a block: z (n, V) logits or log-probabilities in layout column order (it is
        overwritten), t (n,) target columns, chars (n,) each target's characters in the
        text (needed for the keystrokes)."""
        lay, W = self.layout, self.layout.n_words
        n = len(z)
        zt = z[np.arange(n), t][:, None]  # (n, 1) the target's score
        beats = np.greater(z, zt)  # (n, V) who ranks above the target
        eq = np.equal(z, zt)
        if np.count_nonzero(eq) > n:  # a score equals the target's: the lower id ranks first
            tied = np.flatnonzero(np.count_nonzero(eq, axis=1) > 1)
            beats[tied] |= eq[tied] & (lay.order < lay.order[t[tied], None])
        # (n,) words above the target; whole-row counts are several times faster than axis=1
        rank_words = np.array([np.count_nonzero(row) for row in beats[:, :W]], dtype=np.int64)
        rank_all = rank_words + np.count_nonzero(beats[:, W:], axis=1)
        word = t < W
        for k in self.ks:
            self.hits[k] += int(np.count_nonzero(rank_all < k))
            self.word_hits[k] += int(np.count_nonzero(rank_words[word] < k))
        self.positions += n
        self.words += int(np.count_nonzero(word))
        if self.suggestions:
            self._keystrokes(beats, t, chars, rank_words, word)
        if self._zero_bias is None or len(self._zero_bias) != z.shape[1]:
            self._zero_bias = np.zeros(z.shape[1], z.dtype)
        self.nll += float(row_nll(z, self._zero_bias, t).sum())

    def _keystrokes(self, beats, t, chars, rank_words, word) -> None:
        lay, S = self.layout, self.suggestions
        chars = np.where(word, lay.length[t], chars)  # words as in the vocabulary
        without = np.where(t == lay.eos, 1, chars + lay.space)
        keys = without.copy()
        keys[word & (rank_words < S)] = 1  # listed before the first character
        rows = np.flatnonzero(word & (rank_words >= S) & (lay.length[t] >= 2))
        if len(rows):
            listed = self._listed_prefixes(beats, rows, t[rows])
            L = lay.length[t[rows]]
            keys[rows] = np.where(listed > 0, L - listed + 1, L + lay.space)
        self.keys_with += int(keys.sum())
        self.keys_without += int(without.sum())

    def _listed_prefixes(self, beats: np.ndarray, rows: np.ndarray, w: np.ndarray) -> np.ndarray:
        """For each row r (ascending) with target word w[r]: how many of its prefixes of 1 …
        L−1 characters list it among the top S (they are the longest ones)."""
        first, lo, hi = self.layout.prefixes
        V = beats.shape[1]
        count = first[w + 1] - first[w]  # (m,) prefixes per row, ≥ 1
        start = np.cumsum(count) - count  # where each row's entries begin
        e = np.arange(count.sum()) + np.repeat(first[w] - start, count)  # entry indices
        base = np.repeat(rows * V, count)
        bounds = np.empty(2 * len(e), dtype=np.intp)  # [lo, hi) of each span, flattened
        bounds[0::2] = base + lo[e]
        bounds[1::2] = base + hi[e]
        flat = beats.reshape(-1)[: (rows[-1] + 1) * V].view(np.uint8)
        beaten = np.add.reduceat(flat, bounds, dtype=np.int32)[0::2]  # beaters per span
        return np.add.reduceat((beaten < self.suggestions).astype(np.int32), start)

    def result(self) -> dict:
        """The figures, with the keys ``lstm eval --json`` prints: loss, perplexity, tokens,
        words (word targets), top{k} and top{k}_words per cut, and with the keystroke
        simulation suggestions, keystrokes {with, without} and keystroke_savings."""
        n, w = max(self.positions, 1), max(self.words, 1)
        loss = self.nll / n
        r: dict = {
            "loss": loss,
            "perplexity": math.exp(min(loss, 700.0)),
            "tokens": self.positions,
            "words": self.words,
        }
        r.update({f"top{k}": self.hits[k] / n for k in self.ks})
        r.update({f"top{k}_words": self.word_hits[k] / w for k in self.ks})
        if self.suggestions:
            r["suggestions"] = self.suggestions
            r["keystrokes"] = {"with": self.keys_with, "without": self.keys_without}
            r["keystroke_savings"] = 1.0 - self.keys_with / max(self.keys_without, 1)
        return r


def score(
    params: Params,
    cfg: ModelConfig,
    ids: np.ndarray,
    layout: Layout,
    *,
    chars: np.ndarray | None = None,
    batch_size: int = 1,
    seq_len: int = 35,
    ks: Iterable[int] = TOP_KS,
    suggestions: int = SUGGESTIONS,
) -> dict:
    """Perplexity, top-k accuracy and (given ``chars``, with ``suggestions`` > 0) keystroke
    savings of a model on ``ids``, scored as :func:`lstmcli.train.evaluate` scores them."""
    ordered = dict(params)  # decoder rows in layout order: logits come out in column order
    ordered["decoder.weight"] = decoder_weight(params)[layout.order]
    bias = params["decoder.bias"][layout.order]
    batch_size = max(1, min(batch_size, len(ids) // 2))
    streams = data.batchify(ids, batch_size)
    char_streams = data.batchify(chars if chars is not None else ids, batch_size)
    tally = Tally(layout, ks, suggestions if chars is not None else 0)
    state, ws = zero_state(cfg, batch_size), Workspace()
    rows = max(1, _BLOCK // cfg.vocab_size)
    for (_, x, y), (_, _, c) in zip(
        data.windows(streams, seq_len), data.windows(char_streams, seq_len), strict=True
    ):
        z, state = window_logits(ordered, cfg, x, state, ws)  # (T·B, V)
        t, c = layout.column[y.reshape(-1)], c.reshape(-1)
        for r in range(0, len(z), rows):
            block = z[r : r + rows]
            block += bias
            tally.add(block, t[r : r + rows], c[r : r + rows])
    return tally.result()


def valid_top_k(
    params: Params, cfg: ModelConfig, vocab: Vocab, ids: np.ndarray, batch_size: int, seq_len: int
) -> dict[str, float]:
    """``valid_top1``, ``valid_top3`` and their ``_words`` forms on validation ids, scored in
    the streams and windows training validates with."""
    layout = Layout(PrefixIndex(vocab.tokens), vocab)
    r = score(
        params, cfg, ids, layout, batch_size=batch_size, seq_len=seq_len, ks=(1, 3), suggestions=0
    )
    return {f"valid_{key}": r[key] for key in ("top1", "top3", "top1_words", "top3_words")}
