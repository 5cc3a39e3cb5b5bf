"""Vocabulary: order, limits, specials, encoding, decoding, streaming, Penn Treebank."""

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lstmcli.errors import LstmError
from lstmcli.tokenize import EOS, UNK, get_tokenizer
from lstmcli.vocab import Vocab, build_and_encode, count_tokens, encode_stream

PTB = (
    Path(os.environ.get("PTB_DIR", Path(__file__).resolve().parents[2] / "shared" / "data" / "ptb"))
    / "ptb.train.txt"
)


def test_order_and_specials():
    v = Vocab.build(Counter({"b": 2, "a": 2, "c": 5, "d": 1}))
    assert v.tokens == [EOS, UNK, "c", "a", "b", "d"]  # count desc, ties by code point
    assert (v.eos_id, v.unk_id) == (0, 1)
    assert len(v) == 6 and "c" in v and "z" not in v


def test_min_freq_and_max_size():
    counts = {"a": 5, "b": 3, "c": 1, UNK: 9}
    assert Vocab.build(counts, min_freq=2).tokens == [EOS, UNK, "a", "b"]
    v = Vocab.build(counts, max_size=3)
    assert v.tokens == [EOS, UNK, "a"]
    assert v.encode(["a", "b", "c", EOS]).tolist() == [2, 1, 1, 0]
    with pytest.raises(LstmError):
        Vocab.build(counts, max_size=1)
    with pytest.raises(LstmError):
        Vocab.build(counts, min_freq=0)


def test_encode_decode():
    v = Vocab.build(Counter(["the", "cat", "the", "dog"]))
    ids = v.encode(["the", "dog", "bird", EOS])
    assert ids.dtype == np.int32
    assert v.decode(ids) == ["the", "dog", UNK, EOS]
    assert v.id_of("bird") == v.unk_id
    with pytest.raises(LstmError, match="outside"):
        v.decode([len(v)])
    assert v.encode([]).shape == (0,)


def test_list_round_trip_and_validation():
    v = Vocab.build({"x": 1, "y": 2})
    assert Vocab.from_list(v.to_list()) == v
    for bad in (["a", "a", EOS, UNK], ["a", EOS], [EOS, UNK, 3], "abc", None):
        with pytest.raises(LstmError):
            Vocab.from_list(bad)


def test_streaming_matches_list_encoding():
    tok = get_tokenizer("word")
    lines = [f"line {i} has word{i % 7} and word{i % 3}." for i in range(20_000)]
    counts = count_tokens(tok.iter_tokens(iter(lines)))
    v = Vocab.build(counts, min_freq=2)
    streamed = encode_stream(tok.iter_tokens(iter(lines)), v)
    assert np.array_equal(streamed, v.encode(tok.tokenize("\n".join(lines))))
    v2, ids2 = build_and_encode(tok.iter_tokens(iter(lines)), min_freq=2)
    assert v2 == v
    assert np.array_equal(ids2, streamed)


def test_build_and_encode_empty():
    v, ids = build_and_encode(iter([]))
    assert v.tokens == [EOS, UNK] and ids.shape == (0,) and ids.dtype == np.int32


@given(st.lists(st.text(min_size=1), min_size=1, max_size=50))
def test_encode_decode_round_trip(tokens):
    v = Vocab.build(Counter(tokens))
    assert v.decode(v.encode(tokens)) == tokens
    assert Vocab.from_list(v.to_list()) == v


@pytest.mark.skipif(not PTB.exists(), reason="Penn Treebank files not present")
def test_ptb_train_has_10000_types():
    tok = get_tokenizer("space")
    with PTB.open(encoding="utf-8") as f:
        v, ids = build_and_encode(tok.iter_tokens(line.rstrip("\n") for line in f))
    assert len(v) == 10_000
    assert len(ids) == 929_589  # words and one <eos> per sentence
    assert int((ids == v.eos_id).sum()) == 42_068
