"""Tokenizers: word, space, char, ja, ja-phrase, auto resolution and specs."""

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lstmcli.errors import CheckpointError, LstmError
from lstmcli.tokenize import (
    CONCRETE,
    EOS,
    SPACE,
    from_spec,
    get_tokenizer,
    needs_dictionary,
    resolve,
)


def test_word_english_punctuation_and_contractions():
    tok = get_tokenizer("word")
    line = "Don't panic, it's only 3.14 (or 1,000)! Isn't it?"
    assert tok.tokenize_line(line) == [
        "Don't", "panic", ",", "it's", "only", "3.14", "(", "or", "1,000", ")", "!",
        "Isn't", "it", "?",
    ]  # fmt: skip
    assert tok.detokenize([*tok.tokenize_line(line), EOS]) == line + "\n"


def test_word_keeps_case_and_unicode_words():
    tok = get_tokenizer("word")
    assert tok.tokenize_line("Café naïve ÜBER") == ["Café", "naïve", "ÜBER"]
    assert tok.tokenize_line("हिन्दी भाषा") == ["हिन्दी", "भाषा"]  # combining marks stay in


def test_lines_and_eos():
    tok = get_tokenizer("word")
    assert tok.tokenize("a b\n\n  \nc.") == ["a", "b", EOS, "c", ".", EOS]
    assert list(tok.iter_tokens(iter(["x", "", "y"]))) == ["x", EOS, "y", EOS]


def test_space_keeps_unk_whole():
    tok = get_tokenizer("space")
    line = " the <unk> rose N % to $ N "
    assert tok.tokenize(line) == ["the", "<unk>", "rose", "N", "%", "to", "$", "N", EOS]
    assert get_tokenizer("word").tokenize_line("<unk>") == ["<", "unk", ">"]


def test_char():
    tok = get_tokenizer("char")
    assert tok.tokenize(" ab c\n猫") == ["a", "b", SPACE, "c", EOS, "猫", EOS]
    assert tok.detokenize(["a", SPACE, "b", EOS]) == "a b\n"


def test_ja_keeps_mont_blanc_whole():
    tok = get_tokenizer("ja")
    toks = tok.tokenize("モンブランを 食べた。")
    assert toks == ["モンブラン", "を", "食べ", "た", "。", EOS]
    assert tok.detokenize(toks) == "モンブランを食べた。\n"


def test_ja_long_line():
    tok = get_tokenizer("ja")
    toks = tok.tokenize_line("猫が好き。" * 5000)  # 75,000 bytes: over sudachi's input limit
    assert "".join(toks) == "猫が好き。" * 5000


@pytest.mark.parametrize(
    ("line", "phrases"),
    [
        (
            "僕の麻里ちゃんの愛してやまないケーキは",
            ["僕の", "麻里ちゃんの", "愛してやまない", "ケーキは"],
        ),
        ("モンブランを食べた。", ["モンブランを", "食べた", "。"]),
        ("今日は、とても暑いです。", ["今日は", "、", "とても", "暑いです", "。"]),
        ("彼は東京大学に行きませんでした", ["彼は", "東京大学に", "行きませんでした"]),
        ("本を読んでしまった", ["本を", "読んでしまった"]),
        ("「お茶を飲みます」", ["「", "お茶を", "飲みます", "」"]),
        ("ケーキ屋さんへ行こう", ["ケーキ屋さんへ", "行こう"]),
        ("食べたくない", ["食べたくない"]),
    ],
)  # fmt: skip
def test_ja_phrase(line, phrases):
    tok = get_tokenizer("ja-phrase")
    assert tok.tokenize_line(line) == phrases
    assert tok.detokenize([*phrases, EOS]) == line + "\n"


def test_import_does_not_load_sudachi():
    code = (
        "import sys, lstmcli.tokenize as t; t.get_tokenizer('ja');"
        " print('sudachipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_resolve_auto():
    assert resolve("auto", "吾輩は猫である。名前はまだ無い。") == "ja"
    assert resolve("auto", "The cat sat on the mat. " * 10) == "word"
    assert resolve("auto", "我们是学生") == "word"  # kanji without kana: not Japanese
    assert resolve("auto", "Python で 機械学習 を学ぶ") == "ja"
    assert resolve("space", "吾輩は猫である") == "space"
    with pytest.raises(LstmError, match="ja-phrase"):
        resolve("bpe", "x")


def test_unknown_names_and_options():
    with pytest.raises(LstmError, match="word, space"):
        get_tokenizer("bpe")
    with pytest.raises(LstmError, match="resolve"):
        get_tokenizer("auto")
    with pytest.raises(LstmError, match="mode"):
        get_tokenizer("ja", mode="D")
    with pytest.raises(LstmError, match="options"):
        get_tokenizer("word", lower=True)


def test_which_tokenizers_need_the_dictionary():
    assert [n for n in CONCRETE if needs_dictionary(n)] == ["ja", "ja-phrase"]
    assert not needs_dictionary(None) and not needs_dictionary("bpe")


def test_spec_round_trip_and_versions():
    for name in CONCRETE:
        tok = get_tokenizer(name)
        spec = tok.spec()
        assert spec["name"] == name
        again = from_spec(spec)
        assert again == tok
        line = "僕の麻里ちゃんの don't 3.14 <unk>"
        assert again.tokenize(line) == tok.tokenize(line)
    assert get_tokenizer("ja").spec()["versions"]["sudachipy"]
    assert get_tokenizer("ja", mode="A").spec()["options"] == {"mode": "A"}


@pytest.mark.parametrize(
    "spec",
    [None, [], {}, {"name": 3}, {"name": "auto"}, {"name": "bpe"}, {"name": "word", "options": 1},
     {"name": "ja", "options": {"mode": "Z"}}, {"name": "char", "options": {"x": 1}}],
)  # fmt: skip
def test_from_spec_rejects_garbage(spec):
    with pytest.raises(CheckpointError):
        from_spec(spec)


# line text without newlines; the documented round-trip conditions for each tokenizer
_line_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r")


@given(st.lists(st.lists(st.text(_line_chars, min_size=1).filter(lambda s: not any(
    c.isspace() for c in s)), min_size=1), min_size=1))  # fmt: skip
def test_space_round_trip(lines):
    tok = get_tokenizer("space")
    text = "\n".join(" ".join(words) for words in lines) + "\n"
    toks = tok.tokenize(text)
    assert toks.count(EOS) == len(lines)
    assert tok.detokenize(toks) == text


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=SPACE)
    .filter(lambda c: c == " " or not c.isspace()), min_size=1)
    .filter(lambda s: s == s.strip() and s), min_size=1))  # fmt: skip
def test_char_round_trip(lines):
    tok = get_tokenizer("char")
    text = "\n".join(lines) + "\n"
    toks = tok.tokenize(text)
    assert len(toks) == len(text)  # one token per character, <eos> per newline
    assert tok.detokenize(toks) == text


@given(st.text(_line_chars, max_size=60))
def test_from_spec_behaves_the_same(text):
    for name in ("word", "space", "char"):
        tok = get_tokenizer(name)
        assert from_spec(tok.spec()).tokenize(text) == tok.tokenize(text)


def test_one_sudachi_dictionary_per_process_preloaded_in_the_background():
    code = (
        "import sys, threading, lstmcli.tokenize as t\n"
        "t.preload_sudachi()\n"
        "names = [th.name for th in threading.enumerate()]\n"
        "a, b = t.get_tokenizer('ja'), t.get_tokenizer('ja-phrase', mode='A')\n"
        "print('sudachi-preload' in names, a.tokenize_line('モンブランを食べた'),"
        " t.sudachi_dictionary() is t.sudachi_dictionary())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "['モンブラン',", "'を',", "'食べ',", "'た']", "True"]
