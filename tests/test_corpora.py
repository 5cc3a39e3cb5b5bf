"""Finding the bundled corpora in a wheel or in a source checkout."""

import pytest

from lstmcli import corpora
from lstmcli.errors import DataError


def test_default_corpus_is_found():
    path = corpora.bundled_corpus()
    assert path.name == corpora.DEFAULT_CORPUS and path.is_file()
    assert "僕の麻里ちゃんの愛してやまないケーキは" in path.read_text(encoding="utf-8")


def test_names_with_or_without_suffix():
    assert corpora.bundled_corpus("tales-en") == corpora.bundled_corpus("tales-en.txt")
    assert {"mari-ja.txt", "tales-en.txt"} <= set(corpora.list_bundled())


@pytest.mark.parametrize(
    "name", ["nope", "../pyproject.toml", "README.md", "README", "x/mari-ja.txt"]
)
def test_unknown_name_is_a_data_error(name):
    with pytest.raises(DataError, match="no bundled corpus named"):
        corpora.bundled_corpus(name)


def test_wheel_folder_wins_over_checkout_folder(tmp_path, monkeypatch):
    pkg = tmp_path / "lstmcli"
    for folder in (pkg / "_corpora", tmp_path / "corpora"):
        folder.mkdir(parents=True)
        (folder / "mari-ja.txt").write_text(folder.name, encoding="utf-8")
    monkeypatch.setattr(corpora, "_PACKAGE", pkg)
    assert corpora.bundled_corpus().read_text(encoding="utf-8") == "_corpora"
    (pkg / "_corpora" / "mari-ja.txt").unlink()
    (pkg / "_corpora").rmdir()
    assert corpora.bundled_corpus().read_text(encoding="utf-8") == "corpora"


def test_no_folder_at_all_is_a_data_error(tmp_path, monkeypatch):
    monkeypatch.setattr(corpora, "_PACKAGE", tmp_path / "lstmcli")
    with pytest.raises(DataError, match="no bundled corpora found"):
        corpora.bundled_dir()
