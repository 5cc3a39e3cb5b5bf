"""Prompts as the model sees them, and ``lstm predict`` on a long prompt."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lstmcli import cli_predict, inference
from lstmcli import tokenize as tok
from lstmcli.predict import Predictor

VOCAB = ["<eos>", "<unk>", "the", "cat", "sat", "on", "mat", "."]


def reference_encode(p: Predictor, text: str):
    """A prompt's tokens, ids and unknown words, computed the plain way: every line split
    into a list, every token kept as typed, then looked up."""
    lines = text.replace("\r\n", "\n").split("\n")
    tokens = [tok.EOS]
    for n, line in enumerate(lines):
        tokens += p.tokenizer.tokenize_line(line)
        if n < len(lines) - 1 and line.strip():
            tokens.append(tok.EOS)
    unknown = [t for t in tokens if t not in p.vocab]
    seen = [t if t in p.vocab else tok.UNK for t in tokens]
    return seen, [p.vocab.index[t] for t in seen], unknown


PROMPTS = [
    "the cat",
    "the dog sat\non the mat.\n",
    "the cat\r\n\r\nsat on\n  \nthe <unk> rug\n\n",
    "dog\n",
    "\nthe\tcat  sat\n\n\non a mat .",
    "<unk> cat <eos> sat",
]


@pytest.mark.parametrize("tokenizer", ["space", "word"])
@pytest.mark.parametrize("text", PROMPTS)
def test_encode_gives_the_tokens_ids_and_unknown_words_of_the_plain_reading(
    text, tokenizer, tmp_path, random_model
):
    path = random_model(tmp_path / "m.safetensors", VOCAB, {"name": tokenizer, "options": {}})
    p = Predictor.load(path)
    tokens, ids, unknown = reference_encode(p, text)
    prompt = p.encode(text)
    assert prompt.tokens == tokens
    assert prompt.ids.dtype == np.int32 and prompt.ids.tolist() == ids
    assert prompt.unknown == unknown
    # the tokens kept are the vocabulary's own strings, not a new one per token
    assert all(t is p.vocab.tokens[i] for t, i in zip(prompt.tokens, ids, strict=True))


def test_predict_feeds_a_long_prompt_without_recording_every_token(
    tmp_path, random_model, monkeypatch, capsys
):
    path = random_model(tmp_path / "m.safetensors", VOCAB)
    text = "the cat sat on the mat .\n" * 300 + "the cat"
    expected = Predictor.load(path)
    want = expected.top_k(expected.run(expected.encode(text)).logits[-1], 3)

    def refuse(*args, **kwargs):
        raise AssertionError("inference.run records (T, V) logits: not for a plain predict")

    monkeypatch.setattr(inference, "run", refuse)
    cli_predict.run(text, model=path, top_k=3, json_out=True)
    out = json.loads(capsys.readouterr().out)
    assert len(out["tokens"]) == 1 + 300 * 8 + 2  # <eos>, 300 lines of 7 and their <eos>, 2
    assert [(c["token"], c["prob"]) for c in out["next"]] == [(c.token, c.prob) for c in want]
    cli_predict.run(text, model=path, generate=4, seed=1, json_out=True)
    assert len(json.loads(capsys.readouterr().out)["generated"]) == 4
