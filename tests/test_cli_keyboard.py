"""``lstm eval``'s keyboard measures, ``lstm predict --complete``, the validation top-k in
the training summary and in ``lstm info``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lstmcli import keyboard, prepare, textio, training
from lstmcli.cli import app
from lstmcli.predict import Predictor

runner = CliRunner()
TEXT = "\n".join(
    ["the cat sat on the mat .", "the dog sat on the log .", "mari likes the cake ."] * 40
)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model and what its training printed."""
    d = tmp_path_factory.mktemp("kb")
    corpus = d / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    model = d / "m.safetensors"
    r = invoke("train", corpus, "--preset", "tiny", "--epochs", "2", "--lr", "0.03", "-o", model)
    assert r.exit_code == 0, r.output
    return corpus, model, r.output


def test_eval_json_has_the_keyboard_measures(trained):
    corpus, model, _ = trained
    r = invoke("eval", corpus, "--model", model, "--json")
    assert r.exit_code == 0, r.output
    obj = json.loads(r.output)
    assert set(obj) == {
        "perplexity", "loss", "tokens", "unk_rate", "words", "top1", "top3", "top5",
        "top1_words", "top3_words", "top5_words", "suggestions", "keystrokes",
        "keystroke_savings",
    }  # fmt: skip
    assert 0 <= obj["top1"] <= obj["top3"] <= obj["top5"] <= 1
    assert 0 <= obj["top1_words"] <= obj["top3_words"] <= obj["top5_words"] <= 1
    k = obj["keystrokes"]
    assert obj["suggestions"] == 3 and 0 < k["with"] <= k["without"]
    assert obj["keystroke_savings"] == pytest.approx(1 - k["with"] / k["without"])
    # 120 lines of 760 tokens in all (the first is not scored) and one <eos> each
    assert obj["tokens"] == 760 + 120 - 1 and obj["words"] == 760 - 1
    # characters, plus a space after each token, plus one key per line break
    assert k["without"] == sum(len(w) + 1 for w in TEXT.split()) - 4 + 120
    # the perplexity is the one training's loss function gives
    p = Predictor.load(model)
    ids = prepare.encode_text(textio.read_text(corpus), p.tokenizer, p.vocab)
    loss, _ = training.evaluate(p.params, p.config, ids, 1, 35)
    assert obj["loss"] == pytest.approx(loss, rel=1e-6)


def test_eval_top_k_and_suggestions_options(trained):
    corpus, model, _ = trained
    r = invoke("eval", corpus, "-m", model, "--json", "--top-k", "10", "--suggestions", "1")
    assert r.exit_code == 0, r.output
    obj = json.loads(r.output)
    assert obj["top5"] <= obj["top10"] <= 1 and "top10_words" in obj
    assert obj["suggestions"] == 1
    more = json.loads(invoke("eval", corpus, "-m", model, "--json", "--suggestions", "5").output)
    assert more["keystrokes"]["with"] <= obj["keystrokes"]["with"]


def test_eval_prints_the_measures_and_says_which_is_which(trained):
    corpus, model, _ = trained
    r = invoke("eval", corpus, "-m", model)
    assert r.exit_code == 0, r.output
    assert "top-1/3/5" in r.output and "every position" in r.output
    assert "word targets" in r.output and "saved with 3 suggestions" in r.output


def test_predict_complete(trained):
    _, model, _ = trained
    r = invoke("predict", "the cat sat on the m", "--complete", "-m", model, "--json")
    assert r.exit_code == 0, r.output
    obj = json.loads(r.output)
    assert obj["tokens"] == ["<eos>", "the", "cat", "sat", "on", "the"]
    assert obj["partial"] == "m"
    assert {c["token"] for c in obj["completions"]} == {"mat", "mari"}
    probs = [c["prob"] for c in obj["completions"]]
    assert probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(1)
    r = invoke("predict", "the cat sat on the m", "--complete", "-m", model)
    assert r.exit_code == 0 and "completion" in r.output and "typed   m" in r.output
    r = invoke("predict", "the zq", "--complete", "-m", model)
    assert r.exit_code == 0 and "no word of the vocabulary begins with zq" in r.output


def test_predict_complete_and_generate_do_not_go_together(trained):
    _, model, _ = trained
    r = invoke("predict", "the c", "--complete", "--generate", "3", "-m", model)
    assert r.exit_code == 2 and "--generate" in r.output


def test_training_summary_and_info_show_the_validation_top_k(trained, tmp_path):
    corpus, model, output = trained
    assert "top-1/3" in output and "on valid (words" in output
    r = invoke("info", model)
    assert r.exit_code == 0 and "best valid top-1/3" in r.output
    hist = json.loads(invoke("info", model, "--json").output)["history"]
    best = min(hist, key=lambda h: h["valid_ppl"])
    assert 0 <= best["valid_top1"] <= best["valid_top3"] <= 1
    # the figures are those of the saved model on the validation text
    p = Predictor.load(model)
    ids = prepare.encode_text(textio.read_text(corpus), p.tokenizer, p.vocab)
    valid = ids[-round(len(ids) * 0.05) :]  # the tiny preset's 5 % tail
    got = keyboard.valid_top_k(p.params, p.config, p.vocab, valid, 10, 16)
    assert best["valid_top1"] == got["valid_top1"] and best["valid_top3"] == got["valid_top3"]
    r = invoke("train", corpus, "--preset", "tiny", "--epochs", "1", "-o", tmp_path / "m", "--json")
    done = json.loads(r.output.splitlines()[-1])
    assert done["event"] == "done" and 0 <= done["valid_top1_words"] <= 1
