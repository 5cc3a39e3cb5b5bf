"""Completion of the word being typed: the split, the prefix index, the ranking."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstmcli import complete as C
from lstmcli import inference
from lstmcli import model as M
from lstmcli import tokenize as tok
from lstmcli.checkpoint import Checkpoint
from lstmcli.predict import Predictor

TOKENS = ["<eos>", "<unk>", "the", "a", "and", "ant", "an", "b", "bee", "."]


def test_prefix_index_spans_are_the_words_that_begin_with_the_prefix():
    index = C.PrefixIndex(TOKENS)
    assert index.words == [".", "a", "an", "and", "ant", "b", "bee", "the"]
    assert [TOKENS[i] for i in index.ids] == index.words  # specials are left out
    for prefix in ["", "a", "an", "ant", "b", "be", "bee", "beer", "c", "t", "."]:
        lo, hi = index.span(prefix)
        assert index.words[lo:hi] == [w for w in index.words if w.startswith(prefix)], prefix


@given(
    st.lists(st.text("ab\U0010ffffé", max_size=4), unique=True), st.text("ab\U0010ffff", max_size=3)
)
def test_prefix_spans_on_any_words(words, prefix):
    index = C.PrefixIndex(["<eos>", "<unk>", *[w for w in words if w not in ("<eos>", "<unk>")]])
    lo, hi = index.span(prefix)
    assert index.words[lo:hi] == [w for w in index.words if w.startswith(prefix)]


@pytest.mark.parametrize(
    ("name", "text", "context", "partial"),
    [
        ("word", "Mari's favourite cake is the mon", "Mari's favourite cake is the ", "mon"),
        ("word", "the cake.", "the cake.", ""),  # punctuation: the next word is not begun
        ("word", "the (mon", "the (", "mon"),
        ("word", "the cake ", "the cake ", ""),
        ("word", "mon", "", "mon"),
        ("word", "", "", ""),
        ("word", "first line\nsec", "first line\n", "sec"),
        ("word", "first line\n", "first line\n", ""),
        ("space", "the n't", "the ", "n't"),
        ("space", "the (mon", "the ", "(mon"),  # pre-tokenized: everything after the space
        ("space", "the\tmon", "the\t", "mon"),
        ("char", "the mon", "the mon", ""),  # every token is one character
        ("ja", "ケーキはモン", "ケーキは", "モン"),
        ("ja", "僕の麻里ちゃ", "僕の麻里", "ちゃ"),
        ("ja", "ケーキは。", "ケーキは。", ""),
        ("ja", "ケーキは ", "ケーキは ", ""),
    ],
)
def test_split_partial(name, text, context, partial):
    assert C.split_partial(tok.get_tokenizer(name), text) == (context, partial)


def test_rank_is_the_models_probability_renormalised_over_the_matching_words():
    index = C.PrefixIndex(TOKENS)
    rng = np.random.default_rng(0)
    logits = rng.normal(size=len(TOKENS))
    p = inference.softmax(logits)
    got = C.rank(logits, index, "a", 10)
    matching = [
        i for i, t in enumerate(TOKENS) if t.startswith("a") and t not in ("<eos>", "<unk>")
    ]
    total = p[matching].sum()
    expected = sorted(((TOKENS[i], p[i] / total) for i in matching), key=lambda c: -c[1])
    assert [c.token for c in got] == [t for t, _ in expected]
    np.testing.assert_allclose([c.prob for c in got], [q for _, q in expected], rtol=1e-12)
    assert abs(sum(c.prob for c in got) - 1) < 1e-12
    # the same from log-probabilities, and the cut to k
    from_logp = C.rank(np.log(p), index, "a", 2)
    assert [c.token for c in from_logp] == [c.token for c in got[:2]]
    np.testing.assert_allclose([c.prob for c in from_logp], [c.prob for c in got[:2]], rtol=1e-12)
    assert C.rank(logits, index, "zz", 3) == []


def test_rank_breaks_ties_by_vocabulary_id_and_never_offers_eos():
    index = C.PrefixIndex(TOKENS)
    logits = np.zeros(len(TOKENS))
    logits[0] = 9.0  # <eos> is the most likely token, but it is not a word
    got = C.rank(logits, index, "", 3)
    assert [c.token for c in got] == ["the", "a", "and"]  # ids 2, 3, 4
    assert all(c.prob == pytest.approx(1 / 8) for c in got)


def _predictor(tokenizer: str, tokens: list[str]) -> Predictor:
    cfg = M.ModelConfig(vocab_size=len(tokens), embed_size=8, hidden_size=8, num_layers=1)
    params = M.init_params(cfg, np.random.default_rng(1))
    spec = tok.get_tokenizer(tokenizer).spec()
    return Predictor(Checkpoint(config=cfg, params=params, vocab=tokens, tokenizer=spec))


def test_complete_ranks_the_partial_word_given_the_text_before_it():
    p = _predictor("word", TOKENS)
    got = C.complete(p, "the b", 5)
    assert [c.token for c in got] and {c.token for c in got} == {"b", "bee"}
    logits = C.next_logits(p, p.encode("the "))  # the model reads the context alone
    assert got == C.rank(logits, p.prefix_index, "b", 5)
    np.testing.assert_allclose(logits, p.run(p.encode("the ")).logits[-1], rtol=1e-5, atol=1e-6)
    assert p.prefix_index is p.prefix_index  # built once
    # an empty text, or one word being typed: predicted from the start of a line
    start = C.next_logits(p, C.context_prompt(p, ""))
    assert C.complete(p, "an", 3) == C.rank(start, p.prefix_index, "an", 3)
    assert [c.token for c in C.complete(p, "", 3)] == [
        c.token for c in C.rank(start, p.prefix_index, "", 3)
    ]


def test_next_logits_of_a_long_prompt_carry_the_state_across_windows():
    p = _predictor("word", TOKENS)
    prompt = p.encode(" ".join(["the a and b bee ."] * 30))  # 181 tokens
    whole = p.run(prompt).logits[-1]
    np.testing.assert_allclose(C.next_logits(p, prompt, window=16), whole, rtol=1e-5, atol=1e-6)


def test_complete_with_a_char_model_is_next_token_prediction():
    tokens = ["<eos>", "<unk>", "a", "b", "c", tok.SPACE]
    p = _predictor("char", tokens)
    got = C.complete(p, "ab", 2)
    nxt = p.top_k(p.run(p.encode("ab")).logits[-1], 6)
    words = [c for c in nxt if c.token not in ("<eos>", "<unk>")][:2]
    assert [c.token for c in got] == [c.token for c in words]


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_completion_probabilities_sum_to_one_over_the_matching_words(d):
    words = d.draw(st.lists(st.text("abc", min_size=1, max_size=3), min_size=1, unique=True))
    index = C.PrefixIndex(["<eos>", "<unk>", *words])
    logits = np.array(d.draw(st.lists(st.integers(-3, 3), min_size=len(words) + 2,
                                      max_size=len(words) + 2)), dtype=float)  # fmt: skip
    prefix = d.draw(st.text("abc", max_size=2))
    got = C.rank(logits, index, prefix, len(words))
    assert sorted(c.token for c in got) == sorted(w for w in words if w.startswith(prefix))
    if got:
        assert abs(sum(c.prob for c in got) - 1) < 1e-9
        probs = [c.prob for c in got]
        assert probs == sorted(probs, reverse=True)
