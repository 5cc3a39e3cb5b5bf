"""The keyboard without a screen: suggestions as `lstm predict` gives them, spacing, panels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lstmcli import complete, inference, liveview
from lstmcli import memory as M
from lstmcli import tokenize as tok
from lstmcli import trace as T
from lstmcli.complete import context_prompt
from lstmcli.predict import Predictor
from lstmcli.session import (
    AFTER,
    COMPLETE,
    NEXT,
    Session,
    Suggestion,
    insertion,
)

EN_NEXT = ["", "Mari", "My sister ate the ", "The cake was\nMari ", "Mari likes the cake ."]
EN_PARTIAL = ["the ca", "My sister ate the c", "Mari", "zzq"]


def predict_next(p: Predictor, text: str, k: int) -> list[tuple[str, float]]:
    """What `lstm predict TEXT -k K` lists (from <eos> alone for an empty text)."""
    prompt = context_prompt(p, text)
    return [(c.token, c.prob) for c in p.top_k(p.run(prompt).logits[-1], k)]


def by_hand(p: Predictor, text: str, k: int) -> list[tuple[str, float]]:
    """`lstm predict --complete`'s list, from its definition: the words that begin with the
    partial word, p(w | context) renormalised over them, ties to the lower id."""
    context, partial = complete.split_partial(p.tokenizer, text)
    probs = inference.softmax(p.run(context_prompt(p, context)).logits[-1])
    ids = [i for i, t in enumerate(p.vocab.tokens) if t.startswith(partial) and i > 1]
    q = probs[ids] / probs[ids].sum()
    order = sorted(range(len(ids)), key=lambda n: (-q[n], ids[n]))[:k]
    return [(p.vocab.tokens[ids[n]], float(q[n])) for n in order]


def pairs(suggestions) -> list[tuple[str, float]]:
    return [(s.token, s.prob) for s in suggestions]


def assert_same(got, want):
    assert [t for t, _ in got] == [t for t, _ in want]
    np.testing.assert_allclose([q for _, q in got], [q for _, q in want], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("text", EN_NEXT)
def test_next_words_are_predicts(en, text):
    # an English text that ends in a space, a full stop or nothing is between words
    u = Session(en, 5).update(text)
    if complete and text and not text[-1].isspace() and text[-1] != ".":
        assert u.partial  # "Mari": still in the word
        return
    assert u.done and u.partial == "" and all(s.kind == NEXT for s in u.suggestions)
    assert_same(pairs(u.suggestions), predict_next(en, text, 5))


@pytest.mark.parametrize("text", EN_PARTIAL)
def test_completions_are_completes(en, text):
    u = Session(en, 4).update(text)
    assert u.partial == text.split(" ")[-1]
    assert all(s.kind == COMPLETE and s.token.startswith(u.partial) for s in u.suggestions)
    assert_same(pairs(u.suggestions), by_hand(en, text, 4))


def test_japanese_completion_of_a_word_not_in_the_vocabulary(ja):
    text = "麻里ちゃんはモン"
    u = Session(ja, 3).update(text)
    assert u.partial == "モン" and "モンブラン" in [s.token for s in u.suggestions]
    assert_same(pairs(u.suggestions), by_hand(ja, text, 3))
    assert u.tokens[-1] != "モン"  # not fed: it is not a word of the model


def test_japanese_finished_word_also_suggests_what_follows(ja):
    """「…ケーキは」: は may be finished or the start of はじめ: both readings, each with its
    probability given the context, renormalised over every way the text can go on."""
    text = "僕の麻里ちゃんの愛してやまないケーキは"
    s = Session(ja, 500)
    u = s.update(text)
    context, partial = complete.split_partial(ja.tokenizer, text)
    assert (u.partial, u.tokens[-1]) == ("は", "は") == (partial, partial)
    ctx = context_prompt(ja, context)
    p_ctx = inference.softmax(ja.run(ctx).logits[-1])
    ids = np.append(ctx.ids, ja.vocab.index["は"])
    p_next = inference.softmax(inference.run(ja.params, ja.config, ids).logits[-1])
    matching = [i for i, t in enumerate(ja.vocab.tokens) if t.startswith("は")]
    Z = p_ctx[matching].sum()
    want = {("complete", ja.vocab.tokens[i]): p_ctx[i] / Z for i in matching if i != ids[-1]}
    want.update({("after", w): p_ctx[ids[-1]] / Z * p_next[i]
                 for i, w in enumerate(ja.vocab.tokens)})  # fmt: skip
    top = sorted(want.items(), key=lambda kv: -kv[1])[:500]
    assert [(x.kind, x.token) for x in u.suggestions] == [key for key, _ in top]
    np.testing.assert_allclose([x.prob for x in u.suggestions], [q for _, q in top], rtol=1e-5)
    assert sum(want.values()) == pytest.approx(1.0)
    assert any(x.kind == AFTER for x in Session(ja, 5).update(text).suggestions)


def test_typing_letter_by_letter_equals_a_fresh_session(en, ja):
    for p, text in (
        (en, "My sister ate the cake at the café"),
        (ja, "麻里ちゃんがモンブランを食べている。僕の"),
    ):
        s = Session(p, 5)
        for n in range(len(text) + 1):
            u = s.update(text[:n])
            fresh = Session(p, 5).update(text[:n])
            assert u.tokens == fresh.tokens
            assert_same(pairs(u.suggestions), pairs(fresh.suggestions))
        # and the last few changes re-ran a token or two, not the whole text
        assert s.update(text[:-1]).fed <= 2


def test_budget_leaves_the_update_unfinished_until_all_is_read(en):
    s = Session(en, 3)
    text = "Mari likes the cake . " * 8
    first = s.update(text, budget=10)
    assert not first.done and first.suggestions == () and first.fed == 10
    while not (u := s.update(text, budget=10)).done:
        assert u.fed == 10
    assert_same(pairs(u.suggestions), predict_next(en, text, 3))


def tokenize_calls(s: Session) -> list[str]:
    """The lines the session's tokenizer is asked to read from now on, in order."""
    calls: list[str] = []
    inner = s.predictor.tokenizer._tokenizer
    real = inner.tokenize_line
    inner.tokenize_line = lambda line: calls.append(line) or real(line)
    return calls


def test_each_sentence_is_tokenized_once_while_it_stays_the_same(en):
    s = Session(en, 3)
    calls = tokenize_calls(s)
    s.update("Mari likes the cake. My sister ")
    s.update("Mari likes the cake. My sister a")
    s.update("Mari likes the cake. My sister at")
    assert calls.count("Mari likes the cake. ") == 1


@pytest.mark.parametrize("name", ["word", "ja", "ja-phrase"])
def test_tokens_by_sentence_equal_the_tokenizers(name):
    """The cache cuts lines after a sentence's end: the tokens must stay the same."""
    from lstmcli.textcache import SentenceCache

    corpus = "mari-ja.txt" if name.startswith("ja") else "tales-en.txt"
    sep = "" if name.startswith("ja") else " "
    lines = (Path(__file__).resolve().parents[1] / "corpora" / corpus).read_text("utf-8")
    lines = lines.splitlines()[:400]
    t = tok.get_tokenizer(name)
    cached = SentenceCache(t)
    for n in range(0, len(lines), 40):
        para = sep.join(lines[n : n + 40])
        assert cached.tokenize_line(para) == t.tokenize_line(para)


# ---- accepting


def _accept(p, before, s):
    delete, insert = insertion(p.tokenizer, before, s)
    return before[: len(before) - delete] + insert


@pytest.mark.parametrize(
    ("before", "suggestion", "after"),
    [
        ("the ca", Suggestion("cake", 0.5, COMPLETE, "ca"), "the cake "),
        ("Mari likes the ", Suggestion("cake", 0.5), "Mari likes the cake "),
        ("Mari likes the cake ", Suggestion(".", 0.5), "Mari likes the cake. "),
        ("Mari likes the cake", Suggestion(",", 0.5), "Mari likes the cake, "),
        ("", Suggestion("Mari", 0.5), "Mari "),
        ("one\n", Suggestion("Mari", 0.5), "one\nMari "),
        ("the cake   ", Suggestion("<eos>", 0.5), "the cake\n"),
    ],
)
def test_english_words_are_typed_with_spaces(en, before, suggestion, after):
    assert _accept(en, before, suggestion) == after


def test_japanese_words_are_typed_without_spaces(ja):
    assert (
        _accept(ja, "ケーキはモン", Suggestion("モンブラン", 0.5, COMPLETE, "モン"))
        == "ケーキはモンブラン"
    )
    assert _accept(ja, "ケーキは", Suggestion("モンブラン", 0.5, AFTER)) == "ケーキはモンブラン"
    assert _accept(ja, "ケーキは。", Suggestion("僕", 0.5)) == "ケーキは。僕"


def test_char_tokens_are_typed_as_they_are():
    char = tok.get_tokenizer("char")
    assert insertion(char, "ab", Suggestion(tok.SPACE, 0.5)) == (0, " ")
    assert insertion(char, "ab", Suggestion("c", 0.5)) == (0, "c")


# ---- what the panels draw


def test_gates_panel_shows_the_last_tokens_gates_of_the_most_varying_units(en):
    s = Session(en, 3)
    text = "My sister ate the cake "
    s.update(text)
    run = en.run(en.encode(text))
    g = liveview.gates(s.tape, s.tokens, 1, 4)
    assert (g.layer, g.position, g.token, g.cell) == (1, len(s.tokens) - 1, "cake", "lstm")
    assert sorted(g.units) == list(T.most_varying(T.record(en, text), 1, T.DEFAULT_GATES, 4))
    assert [name for name, _ in g.rows] == ["f", "i", "o"]
    for name, values in g.rows:
        np.testing.assert_allclose(values, run.layers[1][name][-1, list(g.units)], atol=1e-6)


def test_gates_panel_of_an_rnn_is_h(trained_rnn):
    p = Predictor.load(trained_rnn)
    s = Session(p, 3)
    s.update("Mari likes the ")
    g = liveview.gates(s.tape, s.tokens, 0, 3)
    assert g.cell == "rnn" and [name for name, _ in g.rows] == ["h"]
    assert liveview.memory(s.tape, s.tokens, 0) is None


def test_memory_panel_equals_trace_memory(en):
    s = Session(en, 3)
    text = "Mari likes the cake . My sister ate the "
    s.update(text)
    mem = liveview.memory(s.tape, s.tokens, 0)
    run = en.run(en.encode(text))
    want = M.summarise(M.decompose(run.layers[0]))
    assert [r.token for r in mem.rows] == s.tokens
    np.testing.assert_allclose([r.share for r in mem.rows], want.share, atol=1e-6)
    np.testing.assert_allclose([r.left for r in mem.rows], want.retained, atol=1e-6)
    assert sum(r.share for r in mem.rows) == pytest.approx(1.0)


# ---- a long text: the caches and the sums give what a fresh computation gives

CORPORA = Path(__file__).resolve().parents[1] / "corpora"


def long_text(p: Predictor, lines: int = 120) -> str:
    """Lines of the bundled corpus in the model's language, a few thousand tokens."""
    name = "mari-ja.txt" if p.tokenizer.name.startswith("ja") else "tales-en.txt"
    rows = CORPORA.joinpath(name).read_text("utf-8").splitlines()
    return "\n".join(rows[200 : 200 + lines])


def edits(text: str) -> list[str]:
    """The texts before the cursor through typing at the end, at the cursor in the middle,
    deleting, a paste in the middle and at the end, a blank line, a line break."""
    mid = len(text) // 2
    return [
        text,
        text + "M",
        text + "Ma",
        text[:mid],
        text[:mid] + "x",
        text[:mid] + "xy",
        text[: mid - 40] + "xy" + text[mid:],  # a deletion in the middle, then to the end
        text[:-30],
        text[:mid] + text[:200] + text[mid:],  # a paste in the middle
        text + "\n" + text[:300],  # a paste at the end
        text + "\n\n ",
        text[:100] + "\r\n" + text[100:],
        "",
        text,
    ]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_edits_to_a_long_text_equal_a_fresh_session(request, lang):
    p = request.getfixturevalue(lang)
    s = Session(p, 5)
    for text in edits(long_text(p)):
        u = s.update(text)
        fresh = Session(p, 5)
        want = fresh.update(text)
        assert u.tokens == want.tokens and u.unknown == want.unknown
        assert (u.context, u.partial) == (want.context, want.partial)
        assert_same(pairs(u.suggestions), pairs(want.suggestions))
        np.testing.assert_array_equal(s.tape.ids, fresh.tape.ids)
        ids = s.tape.ids
        run = inference.run(p.params, p.config, ids)  # the model over all of the text
        for k, layer in enumerate(s.tape.layers):
            np.testing.assert_allclose(layer["h"][-1], run.layers[k]["h"][-1], atol=1e-5)
            np.testing.assert_allclose(layer["c"][-1], run.layers[k]["c"][-1], atol=1e-5)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_encoder_gives_what_context_prompt_gives(request, lang):
    p = request.getfixturevalue(lang)
    s = Session(p, 3)
    texts = [*edits(long_text(p, 30)), "\n", "  \n\t", "zzq qqz\n\nxx", "a\r\nb\rc", "。", "."]
    for text in texts:
        got, want = s.encoder.prompt(text), complete.context_prompt(p, text)
        assert got.tokens == want.tokens and got.unknown == want.unknown
        np.testing.assert_array_equal(got.ids, want.ids)


def test_the_caches_stay_within_their_bound(en, monkeypatch):
    from lstmcli import textcache

    monkeypatch.setattr(textcache, "MIN_ENTRIES", 8)
    s = Session(en, 3)
    lines, sentences = s.encoder.lines, s.predictor.tokenizer.sentences
    text = long_text(en, 60)
    for n in range(0, len(text), 97):  # a text that grows, then one that is replaced
        s.update(text[:n])
        assert len(lines) <= lines.bound and len(sentences) <= sentences.bound
    for n in range(20):
        s.update(f"line {n} .\n" * 30 + "the")
        assert len(lines) <= lines.bound and len(sentences) <= sentences.bound
    assert len(lines) <= 2 * 2 + 8  # the 30 lines are the same line: one used, the rest gone


def test_lines_are_tokenized_once_while_they_stay_in_the_text(en):
    s = Session(en, 3)
    calls = tokenize_calls(s)
    text = long_text(en, 40)
    s.update(text)
    calls.clear()
    s.update(text + " Mari")
    s.update(text[: len(text) // 2] + "the ")
    s.update(text + " Mari likes")
    assert len(calls) <= 12  # the sentences edited, not the text's 40 lines


def full_memory(tape, layer: int) -> M.Summary:
    """The memory panel's numbers from the whole record, as before any sums were kept."""
    return M.summarise(M.decompose(tape.layers[layer], dtype=np.float32))


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_panels_after_edits_equal_the_whole_texts(request, lang):
    """With the session's sums kept over the edits, the memory rows are the tail of the
    split of the whole text, and the gates panel's units those of lstm trace."""
    p = request.getfixturevalue(lang)
    s = Session(p, 3)
    for text in edits(long_text(p)):
        u = s.update(text)
        n = len(s.tape)
        for layer in range(p.config.num_layers):
            want = full_memory(s.tape, layer)
            for rows in (1, 7, 300, 5000):
                mem = liveview.memory(s.tape, u.tokens, layer, rows, s.stats)
                lo = max(0, n - rows)
                assert [r.position for r in mem.rows] == list(range(lo, n))
                assert [r.token for r in mem.rows] == list(u.tokens[lo:])
                np.testing.assert_allclose([r.share for r in mem.rows], want.share[lo:], rtol=1e-4)
                np.testing.assert_allclose(
                    [r.left for r in mem.rows], want.retained[lo:], rtol=1e-4
                )
                assert mem.held == pytest.approx(float(want.share[:lo].sum()), abs=1e-5)
                assert mem.top == pytest.approx(float(want.share.max()), rel=1e-4)
            g = liveview.gates(s.tape, u.tokens, layer, 6, s.stats)
            assert g.units == T.varying_units(s.tape.layers[layer], T.DEFAULT_GATES, 6)


def test_memory_panel_of_a_short_text_is_the_whole_split(en):
    s = Session(en, 3)
    s.update("Mari likes the cake . My sister ate the ")
    mem = liveview.memory(s.tape, s.tokens, 0, stats=s.stats)
    want = full_memory(s.tape, 0)
    assert [r.share for r in mem.rows] == want.share.tolist()  # the same numbers
    assert [r.left for r in mem.rows] == want.retained.tolist()
    assert mem.top == float(want.share.max())


def test_tape_stats_are_those_of_the_whole_record(en):
    from lstmcli.tapestats import BLOCK

    s = Session(en, 3)
    text = long_text(en, 150)
    s.update(text)
    assert len(s.tape) > 3 * BLOCK
    s.update(text[: len(text) // 3])  # a truncation into the summed blocks
    s.update(text)
    for layer in range(en.config.num_layers):
        record = s.tape.layers[layer]
        want = np.stack([record[g].astype(np.float64).std(axis=0) for g in s.stats.gates])
        np.testing.assert_allclose(s.stats.std(layer), want, rtol=1e-9)
        b = len(s.tape) // BLOCK * BLOCK
        mem = s.stats.before(layer, b).memory
        kept = np.abs(M.decompose({k: v[:b] for k, v in record.items()}).kept)
        np.testing.assert_allclose(mem.mass, kept.sum(axis=0), rtol=1e-6)
        np.testing.assert_allclose(mem.peak, kept.max(axis=0), rtol=1e-6)


class _Record:
    """A tape of made-up gates (what liveview.memory and TapeStats read of a Tape)."""

    def __init__(self, record: dict[str, np.ndarray]) -> None:
        from types import SimpleNamespace

        T, H = record["f"].shape
        self.layers, self.version = [record], 0
        self.cfg = SimpleNamespace(cell="lstm", num_layers=1, hidden_size=H)
        self._n = T

    def __len__(self) -> int:
        return self._n

    def unchanged(self, version: int) -> int:
        return self._n


def test_memory_panel_finds_the_largest_share_long_before_its_rows():
    """A unit that never forgets holds what token 3 wrote: the bars' scale is its share,
    though its row is thousands of tokens before those drawn."""
    from lstmcli.tapestats import TapeStats

    rng = np.random.default_rng(0)
    T, H = 3000, 8
    f = rng.uniform(0.2, 0.8, (T, H)).astype(np.float32)
    i = rng.uniform(0.0, 0.1, (T, H)).astype(np.float32)
    g = rng.uniform(-1, 1, (T, H)).astype(np.float32)
    f[:, 0], i[:, 0], i[3, 0], g[3, 0] = 1.0, 0.0, 1.0, 1.0
    zeros = np.zeros((T, H), np.float32)
    tape = _Record({"i": i, "f": f, "g": g, "o": zeros, "c": zeros, "h": zeros})
    want = full_memory(tape, 0)
    assert int(np.argmax(want.share)) == 3
    mem = liveview.memory(tape, [str(t) for t in range(T)], 0, 20, TapeStats(tape))
    assert mem.top == pytest.approx(float(want.share[3]), rel=1e-5)
    assert mem.held == pytest.approx(float(want.share[:-20].sum()), abs=1e-6)
    np.testing.assert_allclose([r.share for r in mem.rows], want.share[-20:], rtol=1e-5)
