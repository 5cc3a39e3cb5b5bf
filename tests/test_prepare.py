"""A corpus file read line by line gives what the same text read whole gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lstmcli import prepare, textfile, textio

CORPORA = Path(__file__).resolve().parents[1] / "corpora"


def same_corpus(a: prepare.Corpus, b: prepare.Corpus) -> None:
    assert a.tokenizer == b.tokenizer
    assert a.vocab == b.vocab
    assert a.train_ids.dtype == b.train_ids.dtype == np.int32
    assert np.array_equal(a.train_ids, b.train_ids)
    assert (a.valid_ids is None) == (b.valid_ids is None)
    if a.valid_ids is not None:
        assert np.array_equal(a.valid_ids, b.valid_ids)
    assert a.example == b.example
    assert len(a.extra_ids) == len(b.extra_ids)
    for x, y in zip(a.extra_ids, b.extra_ids, strict=True):
        assert np.array_equal(x, y)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"tokenizer": "word", "min_freq": 2, "max_vocab": 300, "val_fraction": 0.05},
        {"tokenizer": "char", "val_fraction": None},
        {"tokenizer": "space", "extra": ("the cake shop\nMari likes cake\n", "a b c\n")},
    ],
)
def test_a_file_streamed_gives_the_ids_of_its_text_read_whole(options, tmp_path, monkeypatch):
    path = tmp_path / "tales.txt"  # a part of the English corpus, with \r\n newlines
    lines = (CORPORA / "tales-en.txt").read_text(encoding="utf-8").split("\n")[:400]
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    monkeypatch.setattr(textfile, "BLOCK_BYTES", 4096)  # many blocks
    whole = prepare.load_corpus(path, **options, text=textio.read_text(path))
    monkeypatch.setattr(textio, "read_text", lambda *a, **kw: pytest.fail("read whole"))
    monkeypatch.setattr(textio, "read_bytes", lambda *a, **kw: pytest.fail("read whole"))
    same_corpus(prepare.load_corpus(path, **options), whole)


def test_a_legacy_aozora_file_and_a_validation_file_stream_as_read_whole(tmp_path, monkeypatch):
    pytest.importorskip("sudachipy")
    body = [ln for ln in (CORPORA / "mari-ja.txt").read_text(encoding="utf-8").split("\n") if ln]
    aozora = ["題名", "作者", "-" * 30, "テキスト中に現れる記号について", "-" * 30, ""]
    aozora += [f"　{ln}《るび》［＃注］" for ln in body[:60]] + ["", "底本：「架空」", "入力：誰か"]
    path, valid = tmp_path / "train.txt", tmp_path / "valid.txt"
    path.write_bytes("\n".join(aozora).encode("cp932"))
    valid.write_bytes("\r\n".join(body[60:80]).encode("euc-jp"))
    monkeypatch.setattr(textfile, "BLOCK_BYTES", 999)
    whole = prepare.load_corpus(path, valid_path=valid, text=textio.read_text(path))
    streamed = prepare.load_corpus(path, valid_path=valid)
    assert streamed.tokenizer.name == "ja"
    same_corpus(streamed, whole)
    expected = prepare.encode_text(textio.read_text(valid), whole.tokenizer, whole.vocab)
    assert np.array_equal(streamed.valid_ids, expected)
    got = prepare.encode_file(valid, whole.tokenizer, whole.vocab)
    assert np.array_equal(got, expected)
