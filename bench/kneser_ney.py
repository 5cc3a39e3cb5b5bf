"""A reference n-gram model: interpolated modified Kneser-Ney (Chen & Goodman 1999), NumPy.

Not part of lstmcli: it is the baseline the benchmarks put the LSTM beside, scored by the
same library functions (:class:`lstmcli.keyboard.Tally`: perplexity, top-k accuracy,
keystroke savings) from its full next-token distribution at every position.

The model, for orders k = 1 … N (N = 5), as SRILM ``-kndiscount -interpolate`` and KenLM
build it::

    p_k(w | h) = max(a_k(h w) − D_k(a_k(h w)), 0) / Σ_v a_k(h v)  +  γ_k(h) · p_{k−1}(w | h')
    γ_k(h)     = (D_k1 N1(h •) + D_k2 N2(h •) + D_k3+ N3+(h •)) / Σ_v a_k(h v)
    p_0(w)     = 1 / V

h' is h without its first word; a context never seen at order k passes p_{k−1} through.
The counts a_k are raw counts at the top order and for n-grams that begin a sentence,
else continuation counts N1+(• h w), the number of distinct words seen before h w. The
discounts come from the count-of-counts n1 … n4 of each order:
Y = n1 / (n1 + 2 n2), D1 = 1 − 2Y n2/n1, D2 = 2 − 3Y n3/n2, D3+ = 3 − 4Y n4/n3.

Sentences are the lines of the text: each is padded with a start symbol, which is only
ever a context, and ends with ``<eos>``, which is predicted (as SRILM's ``</s>``); no
history reaches across a line. The start symbol shares ``<eos>``'s id: inside a sentence
``<eos>`` can only stand first (the start) or last (the end), so the two never meet.

    python bench/kneser_ney.py     # Penn Treebank: train on train, all figures on test
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PTB = Path(os.environ.get("PTB_DIR", ROOT.parent / "shared" / "data" / "ptb"))


def _padded(ids: np.ndarray, eos: int) -> tuple[np.ndarray, np.ndarray]:
    """A stream of sentences, each ending with <eos>, as (tokens, position in sentence) with
    a start symbol (id ``eos``, position 0) before every sentence."""
    ends = np.flatnonzero(ids == eos)
    if len(ends) == 0 or ends[-1] != len(ids) - 1:  # a last sentence without its <eos>
        ends = np.append(ends, len(ids) - 1)
    starts = np.r_[0, ends[:-1] + 1]
    lengths = ends - starts + 1
    out = np.insert(ids, starts, eos)
    pos = np.arange(len(out)) - np.repeat(np.cumsum(lengths + 1) - (lengths + 1), lengths + 1)
    return out, pos


class KneserNey:
    """An interpolated modified Kneser-Ney model of order N over ids 0 … V−1."""

    def __init__(self, train_ids: np.ndarray, vocab_size: int, eos: int, order: int = 5):
        self.N, self.V, self.eos = order, vocab_size, eos
        tok, pos = _padded(np.asarray(train_ids, np.int64), eos)
        V, N = self.V, order
        # gid[k][i]: id of the k-gram ending at position i (−1 where it would cross the start)
        self.keys = [None]  # per order: sorted keys prefix_gid·V + w of its n-grams
        gid = [None, np.where(pos >= 0, tok, -1)]
        self.keys.append(np.arange(V, dtype=np.int64))  # unigrams: every id
        for k in range(2, N + 1):
            ok = pos >= k - 1
            key = np.full(len(tok), -1, np.int64)
            key[ok] = np.roll(gid[k - 1], 1)[ok] * V + tok[ok]
            uniq, inv = np.unique(key[ok], return_inverse=True)
            g = np.full(len(tok), -1, np.int64)
            g[ok] = inv
            self.keys.append(uniq)
            gid.append(g)
        predicted = pos >= 1
        self.alpha, self.gamma, self.first, self.discounts = [None], [None], [None], [None]
        for k in range(1, N + 1):
            at = predicted & (gid[k] >= 0)
            raw = np.bincount(gid[k][at], minlength=len(self.keys[k]))
            if k == N:
                a = raw
            else:  # continuation counts: how many distinct (k+1)-grams end in this k-gram
                has = gid[k + 1] >= 0
                suffix = np.zeros(len(self.keys[k + 1]), np.int64)
                suffix[gid[k + 1][has]] = gid[k][has]  # each (k+1)-gram's last k words
                a = np.bincount(suffix, minlength=len(self.keys[k]))
                if k >= 2:  # n-grams that begin a sentence have no word before them
                    starts = np.zeros(len(self.keys[k]), bool)
                    starts[gid[k][(gid[k] >= 0) & (pos == k - 1)]] = True
                    a = np.where(starts, raw, a)
            self._fit_order(k, a)
        self.unigram = self.alpha[1] + self.gamma[1][0] / V  # p_1, interpolated with 1/V

    def _fit_order(self, k: int, a: np.ndarray) -> None:
        """Discounts, α (per n-gram) and γ (per context) of order k from its counts a."""
        n1, n2, n3, n4 = (max(int(np.count_nonzero(a == c)), 1) for c in (1, 2, 3, 4))
        Y = n1 / (n1 + 2 * n2)
        D = np.array([0.0, 1 - 2 * Y * n2 / n1, 2 - 3 * Y * n3 / n2, 3 - 4 * Y * n4 / n3])
        D = np.clip(D, 0.0, [0, 1, 2, 3])  # a small corpus can push them out of range
        self.discounts.append(D[1:])
        ctx = self.keys[k] // self.V if k > 1 else np.zeros(len(a), np.int64)
        seen = a > 0
        n_ctx = len(self.keys[k - 1]) if k > 1 else 1
        total = np.bincount(ctx[seen], weights=a[seen], minlength=n_ctx)
        d = D[np.minimum(a, 3)]
        mass = np.bincount(ctx[seen], weights=d[seen], minlength=n_ctx)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.alpha.append(np.where(seen, (a - d) / total[ctx], 0.0))
            self.gamma.append(np.where(total > 0, mass / total, 1.0))
        # n-grams of a context are contiguous in key order: first[c] … first[c + 1]
        self.first.append(np.searchsorted(ctx, np.arange(n_ctx + 1)))

    def histories(self, ids: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """For each token of ``ids``: its id and, per order k ≥ 2, the
        training gid of its k−1 preceding words in the sentence (−1 when unseen or when the
        sentence is too short)."""
        tok, pos = _padded(np.asarray(ids, np.int64), self.eos)
        V = self.V
        g = np.where(pos >= 0, tok, -1)
        ctx = [None, None]
        for k in range(2, self.N + 1):
            prev = np.roll(g, 1)  # the (k−1)-gram before each position
            ctx.append(np.where(pos >= k - 1, prev, -1))
            key = prev * V + tok
            idx = np.searchsorted(self.keys[k], key)
            idx = np.minimum(idx, len(self.keys[k]) - 1)
            found = (prev >= 0) & (pos >= k - 1) & (self.keys[k][idx] == key)
            g = np.where(found, idx, -1)
        keep = pos >= 1  # every token of ids, in order (the start symbols are not predicted)
        return tok[keep], [c[keep] if c is not None else None for c in ctx]

    def probs(self, ctx: list[np.ndarray], rows: slice) -> np.ndarray:
        """The next-token distributions (n, V) float64 of the positions ``rows``."""
        n = len(range(*rows.indices(len(ctx[2]))))
        scale = np.ones(n)  # Π of γ of the orders above
        parts = []
        for k in range(self.N, 1, -1):
            c = ctx[k][rows]
            seen = c >= 0
            lo = np.where(seen, self.first[k][np.maximum(c, 0)], 0)
            hi = np.where(seen, self.first[k][np.maximum(c, 0) + 1], 0)
            parts.append((k, scale.copy(), lo, hi))
            scale *= np.where(seen & (hi > lo), self.gamma[k][np.maximum(c, 0)], 1.0)
        P = scale[:, None] * self.unigram[None, :]
        for k, s, lo, hi in parts:
            count = hi - lo
            r = np.repeat(np.arange(n), count)
            e = np.arange(count.sum()) + np.repeat(lo - (np.cumsum(count) - count), count)
            P[r, self.keys[k][e] % self.V] += s[r] * self.alpha[k][e]
        return P


def scores(lm: KneserNey, ids, layout, *, chars=None, ks=None, suggestions=3, rows=512) -> dict:
    """:func:`lstmcli.keyboard.score`'s figures for the n-gram model on ``ids``, from the
    same positions (every token after the first) and by the same :class:`Tally`."""
    from lstmcli import keyboard

    y, ctx = lm.histories(ids)
    tally = keyboard.Tally(layout, ks or keyboard.TOP_KS, suggestions if chars is not None else 0)
    for r in range(1, len(y), rows):
        block = slice(r, r + rows)
        P = lm.probs(ctx, block)
        assert np.allclose(P.sum(1), 1), "each distribution sums to 1"
        z = np.log(P[:, layout.order])  # log-probabilities in the layout's column order
        tally.add(z, layout.column[y[block]], None if chars is None else chars[block])
    return tally.result()


def ptb(order: int = 5) -> dict:
    """The n-gram model on Penn Treebank train; its figures on test, its valid perplexity."""
    from lstmcli import keyboard, prepare, textio
    from lstmcli.complete import PrefixIndex

    corpus = prepare.load_corpus(PTB / "ptb.train.txt", "space", val_fraction=None)
    t0 = time.perf_counter()
    lm = KneserNey(corpus.train_ids, len(corpus.vocab), corpus.vocab.eos_id, order)
    fit_s = time.perf_counter() - t0
    layout = keyboard.Layout(PrefixIndex(corpus.vocab.tokens), corpus.vocab, 1)
    enc = {}
    for split in ("valid", "test"):
        text = textio.read_text(PTB / f"ptb.{split}.txt")
        enc[split] = prepare.encode_text_chars(text, corpus.tokenizer, corpus.vocab)
    valid = scores(lm, enc["valid"][0], layout, ks=(1,))
    t0 = time.perf_counter()
    test = scores(lm, enc["test"][0], layout, chars=enc["test"][1])
    return {
        "order": order,
        "discounts": {k: lm.discounts[k].round(4).tolist() for k in range(1, order + 1)},
        "fit_s": fit_s,
        "test_s": time.perf_counter() - t0,
        "valid_ppl": valid["perplexity"],
        "test": test,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(ptb(), indent=1))
