"""The recall probe: fresh episodes, their cakes, and how often a model names the cake."""

from __future__ import annotations

import numpy as np

from lstmcli import model as M
from lstmcli import stories
from lstmcli.recall import RecallProbe
from lstmcli.tokenize import get_tokenizer
from lstmcli.vocab import Vocab


def _vocab_of(lang, n):
    tok = get_tokenizer("word")
    words = {t for p in stories.probes(lang, n, 1) for t in tok.tokenize_line(p.prompt)}
    return tok, Vocab(["<eos>", "<unk>", *sorted(words)])


def test_the_probe_holds_fresh_episodes_with_their_cakes_and_fillers():
    tok, vocab = _vocab_of("en", 30)
    cfg = M.ModelConfig(vocab_size=len(vocab), embed_size=4, hidden_size=4, num_layers=1)
    probe = RecallProbe.for_language("en", cfg, tok, vocab, n=30, seed=1)
    assert len(probe) == 30
    episodes = stories.probes("en", 30, 1)
    got = sorted(zip(probe.cakes.tolist(), probe.filler.tolist(), strict=True))
    want = sorted((vocab.index[p.cake], p.filler) for p in episodes)
    assert got == want
    for ids in probe.prompts:
        assert ids[0] == vocab.eos_id and ids[-1] == vocab.index["the"]  # "… cake is the"
    # prompts are sorted by length: batches carry little padding
    assert [len(p) for p in probe.prompts] == sorted(len(p) for p in probe.prompts)


def test_recall_counts_the_top_token_against_the_cued_cake(monkeypatch):
    tok, vocab = _vocab_of("en", 40)
    cfg = M.ModelConfig(vocab_size=len(vocab), embed_size=4, hidden_size=4, num_layers=1)
    probe = RecallProbe.for_language("en", cfg, tok, vocab, n=40, seed=1)
    params = M.init_params(cfg, np.random.default_rng(0))
    right = probe.cakes.copy()
    wrong = right.copy()
    wrong[::4] = vocab.eos_id  # a quarter answered wrongly
    monkeypatch.setattr(RecallProbe, "answers", lambda self, p: wrong)
    r = probe(params)
    assert r["recall"] == 0.75
    by = r["recall_by_filler"]
    assert sum(n for _, n in by.values()) == 40 and sum(h for h, _ in by.values()) == 30
    assert list(by) == sorted(by, key=int)


def test_answers_are_the_argmax_of_each_prompts_last_logits():
    tok, vocab = _vocab_of("en", 10)
    cfg = M.ModelConfig(vocab_size=len(vocab), embed_size=6, hidden_size=6, num_layers=2,
                        dtype="float64")  # fmt: skip
    probe = RecallProbe.for_language("en", cfg, tok, vocab, n=10, seed=1)
    params = M.init_params(cfg, np.random.default_rng(3))
    from lstmcli import inference

    want = [int(np.argmax(inference.run(params, cfg, p).logits[-1])) for p in probe.prompts]
    assert probe.answers(params).tolist() == want


def test_episodes_whose_cake_the_vocabulary_lacks_are_left_out():
    tok, vocab = _vocab_of("en", 20)
    known = [t for t in vocab.tokens if t not in stories.load_grammar("en").cakes[:6]]
    small = Vocab(known)
    cfg = M.ModelConfig(vocab_size=len(small), embed_size=4, hidden_size=4, num_layers=1)
    probe = RecallProbe.for_language("en", cfg, tok, small, n=20, seed=1)
    cakes = [p.cake for p in stories.probes("en", 20, 1)]
    assert len(probe) == sum(c in small for c in cakes) < 20
    assert probe(M.init_params(cfg, np.random.default_rng(0)))["recall"] >= 0
