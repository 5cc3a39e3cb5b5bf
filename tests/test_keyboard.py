"""Top-k accuracy and keystroke savings: by hand, against the completion ranking, on a model."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstmcli import data, inference, keyboard, training
from lstmcli import model as M
from lstmcli.complete import PrefixIndex, rank
from lstmcli.vocab import Vocab

# ids:     0        1        2      3    4      5      6     7
TOKENS = ["<eos>", "<unk>", "the", "a", "and", "ant", "an", "b"]
EOS, UNK, THE, A, AND, ANT, AN, B = range(8)
# (target id, logits over ids 0…7, characters of the target as typed)
ROWS = [
    (AND, [0, 0, 5, 4, 3, 2, 1, 0], 3),  # words above: the, a → listed before a letter
    (ANT, [7, 0, 6, 5, 4, 2, 3, 1], 3),  # 4 words above; after "an" only and, an → "an" + 1
    (UNK, [0, 1, 0, 0, 0, 0, 0, 0], 6),  # an unknown 6-letter word: typed in full
    (EOS, [2, 0, 0, 0, 0, 0, 0, 0], 0),  # a line break: 1 key
    (B, [0, 0, 3, 3, 3, 3, 0, 0], 1),  # one letter, never listed: eos, unk, an win ties
    (AN, [0, 0, 1, 2, 2, 2, 2, 2], 2),  # ties: a, and, ant (lower ids) rank above an
    (A, [0, 0, 2, 2, 2, 2, 2, 2], 1),  # ties: only "the" (id 2) ranks above a (id 3)
]


def _layout(space: int = 1) -> keyboard.Layout:
    vocab = Vocab(TOKENS)
    return keyboard.Layout(PrefixIndex(TOKENS), vocab, space)


def _table(layout: keyboard.Layout):
    z = np.array([r[1] for r in ROWS], dtype=np.float32)[:, layout.order]
    t = layout.column[[r[0] for r in ROWS]]
    return z, t, np.array([r[2] for r in ROWS])


def test_layout_puts_words_in_code_point_order_then_the_specials():
    lay = _layout()
    assert [TOKENS[i] for i in lay.order] == ["a", "an", "and", "ant", "b", "the", "<eos>", "<unk>"]
    assert (lay.order[lay.column] == np.arange(8)).all()
    first, lo, hi = lay.prefixes
    words = [TOKENS[i] for i in lay.order[: lay.n_words]]
    for c, w in enumerate(words):  # prefixes of 1 … L−1 letters and their spans
        spans = [(lo[e], hi[e]) for e in range(first[c], first[c + 1])]
        assert spans == [lay.index.span(w[:j]) for j in range(1, len(w))]


def test_top_k_and_keystrokes_by_hand():
    lay = _layout(space=1)
    z, t, chars = _table(lay)
    tally = keyboard.Tally(lay, (1, 3, 5), suggestions=3)
    tally.add(z.copy(), t, chars)
    r = tally.result()
    # ranks over every token: and 2, ant 5, unk 0, eos 0, b 7, an 3, a 1
    assert (r["top1"], r["top3"], r["top5"]) == (2 / 7, 4 / 7, 5 / 7)
    # word targets (and, ant, b, an, a) among words: ranks 2, 4, 5, 3, 1
    assert r["words"] == 5
    assert (r["top1_words"], r["top3_words"], r["top5_words"]) == (0.0, 2 / 5, 4 / 5)
    # without: and 3+1, ant 3+1, unk 6+1, eos 1, b 1+1, an 2+1, a 1+1 = 23
    # with:    and 1,   ant 2+1, unk 7,   eos 1, b 2,   an 3,   a 1   = 18
    assert r["keystrokes"] == {"with": 18, "without": 23}
    assert r["keystroke_savings"] == pytest.approx(5 / 23)
    logp = z - np.log(np.exp(z.astype(np.float64)).sum(1, keepdims=True))
    assert r["loss"] == pytest.approx(-logp[np.arange(7), t].mean(), rel=1e-6)


def test_keystrokes_without_spaces_as_for_japanese():
    lay = _layout(space=0)
    z, t, chars = _table(lay)
    tally = keyboard.Tally(lay, (1,), suggestions=3)
    tally.add(z, t, chars)
    # without: 3, 3, 6, 1, 1, 2, 1 = 17; with: 1, 3, 6, 1, 1, 2, 1 = 15
    assert tally.result()["keystrokes"] == {"with": 15, "without": 17}


@pytest.mark.parametrize(
    ("S", "keys"), [(1, 3 + 4 + 7 + 1 + 2 + 3 + 2), (5, 1 + 1 + 7 + 1 + 2 + 1 + 1)]
)
def test_the_number_of_suggestions(S, keys):
    # S = 1: and is alone on top after "an" (an 1, ant 2 < and 3): 2 + 1; ant never leads
    # (and, an rank above it after "an"); a and b, one letter each, are typed (2 each)
    # S = 5: every word but b is listed before its first letter
    z, t, chars = _table(_layout())
    tally = keyboard.Tally(_layout(), (1,), S)
    tally.add(z, t, chars)
    assert tally.keys_with == keys


def _keys_by_completion(tokens, logits, target, chars, index, S, space):
    """One token typed against ``complete.rank``: the rule of the README, as a loop."""
    if tokens[target] == "<eos>":
        return 1
    if tokens[target] == "<unk>":
        return chars + space
    w = tokens[target]
    for j in range(len(w)):  # before each letter, the first included
        if w in [c.token for c in rank(logits, index, w[:j], S)]:
            return j + 1  # j letters and the accepting key, which enters the space too
    return len(w) + space


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_the_vectorised_simulation_is_the_completion_ranking(d):
    words = d.draw(st.lists(st.text("ab", min_size=1, max_size=4), min_size=1, max_size=12,
                            unique=True))  # fmt: skip
    tokens = ["<eos>", "<unk>", *words]
    V, n = len(tokens), d.draw(st.integers(1, 9))
    vocab, index = Vocab(tokens), PrefixIndex(tokens)
    S, space = d.draw(st.integers(1, 4)), d.draw(st.integers(0, 1))
    lay = keyboard.Layout(index, vocab, space)
    cells = d.draw(st.lists(st.integers(-2, 2), min_size=n * V, max_size=n * V))
    z = np.array(cells, dtype=np.float32).reshape(n, V)  # small integers: many ties
    y = np.array(d.draw(st.lists(st.integers(0, V - 1), min_size=n, max_size=n)))
    chars = np.array([4 if i == 1 else len(tokens[i]) for i in y])
    tally = keyboard.Tally(lay, (1, 2, 3), S)
    tally.add(z[:, lay.order].copy(), lay.column[y], chars)
    expected = sum(
        _keys_by_completion(tokens, z[r], y[r], chars[r], index, S, space) for r in range(n)
    )
    assert tally.keys_with == expected
    # top-k over every token: the order of lstm predict (probability, then the lower id)
    order = np.argsort(-z, axis=1, kind="stable")
    for k in (1, 2, 3):
        assert tally.hits[k] == sum(y[r] in order[r, :k] for r in range(n))


def _tiny_model(V=12, tie=False):
    cfg = M.ModelConfig(vocab_size=V, embed_size=6, hidden_size=6, num_layers=2, tie_weights=tie,
                        dtype="float64")  # fmt: skip
    rng = np.random.default_rng(3)
    params = M.init_params(cfg, rng)
    params["decoder.bias"] += rng.normal(size=V)
    tokens = ["<eos>", "<unk>", *[f"w{i}" for i in range(V - 2)]]
    return cfg, params, tokens, rng


@pytest.mark.parametrize(("tie", "batch_size"), [(False, 1), (True, 3)])
def test_score_on_a_model_matches_its_logits_and_the_training_loss(tie, batch_size):
    cfg, params, tokens, rng = _tiny_model(tie=tie)
    vocab = Vocab(tokens)
    ids = rng.integers(0, cfg.vocab_size, 61).astype(np.int32)
    chars = np.array([len(tokens[i]) for i in ids], dtype=np.int32)
    lay = keyboard.Layout(PrefixIndex(tokens), vocab, 1)
    r = keyboard.score(params, cfg, ids, lay, chars=chars, batch_size=batch_size, seq_len=7)
    loss, count = training.evaluate(params, cfg, ids, batch_size, 7)
    assert r["tokens"] == count and r["loss"] == pytest.approx(loss, rel=1e-9)
    assert r["perplexity"] == pytest.approx(math.exp(loss), rel=1e-9)
    # the same figures from the token-by-token logits of each stream
    tally = keyboard.Tally(lay, keyboard.TOP_KS, keyboard.SUGGESTIONS)
    streams, cstreams = data.batchify(ids, batch_size), data.batchify(chars, batch_size)
    for b in range(batch_size):
        logits = inference.run(params, cfg, streams[:-1, b]).logits
        tally.add(logits[:, lay.order].copy(), lay.column[streams[1:, b]], cstreams[1:, b])
    expected = tally.result()
    for key in ("top1", "top3", "top5", "top1_words", "keystrokes", "words"):
        assert r[key] == expected[key], key


def test_valid_top_k_are_the_top_1_and_3_of_score():
    cfg, params, tokens, rng = _tiny_model()
    ids = rng.integers(0, cfg.vocab_size, 40).astype(np.int32)
    vocab = Vocab(tokens)
    got = keyboard.valid_top_k(params, cfg, vocab, ids, 2, 5)
    r = keyboard.score(params, cfg, ids, keyboard.Layout(PrefixIndex(tokens), vocab),
                       batch_size=2, seq_len=5)  # fmt: skip
    assert got == {f"valid_{k}": r[k] for k in ("top1", "top3", "top1_words", "top3_words")}
    assert "keystroke_savings" not in r  # no characters given: no simulation
