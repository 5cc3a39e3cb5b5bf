"""Where the bundled corpora live, and how to find one by name.

An installed wheel carries them in ``lstmcli/_corpora`` (pyproject.toml copies the
top-level ``corpora/`` folder there); a source checkout has them in ``corpora/`` next to
the package. The first of the two that exists wins.
"""

from __future__ import annotations

from pathlib import Path

import lstmcli
from lstmcli.errors import DataError

DEFAULT_CORPUS = "mari-ja.txt"  # the Japanese story of 麻里ちゃん and her cakes
BUNDLED = {"ja": "mari-ja.txt", "en": "tales-en.txt"}  # the bundled corpus of each language
# The story the bundled corpora teach, as one prompt per language: a cake is named, and
# then comes the question that the cake answers.
RUNNING_EXAMPLES = {
    "ja": "麻里ちゃんが玲奈ちゃんとモンブランを食べている。僕の麻里ちゃんの愛してやまないケーキは",
    "en": "Mari and Rena were sharing a slice of pavlova. My friend Mari's favourite cake is the",
}
_PACKAGE = Path(lstmcli.__file__).resolve().parent


def running_example(tokenizer, vocab) -> str | None:
    """The first running example whose every token, as the model's ``tokenizer`` cuts it,
    is in ``vocab`` (any container of tokens); None when the model knows neither."""
    for text in RUNNING_EXAMPLES.values():
        if all(t in vocab for t in tokenizer.tokenize_line(text)):
            return text
    return None


def _candidates() -> list[Path]:
    """The folders that may hold the corpora, in lookup order."""
    return [_PACKAGE / "_corpora", _PACKAGE.parent / "corpora"]


def bundled_dir() -> Path:
    """The folder holding the bundled corpora."""
    for folder in _candidates():
        if folder.is_dir():
            return folder
    raise DataError(
        f"no bundled corpora found (looked in {', '.join(str(p) for p in _candidates())}); "
        "reinstall lstmcli"
    )


def list_bundled() -> list[str]:
    """File names of the bundled corpora, sorted."""
    return sorted(p.name for p in bundled_dir().glob("*.txt"))


def bundled_corpus(name: str | None = None) -> Path:
    """Path of the bundled corpus ``name`` (``mari-ja`` or ``mari-ja.txt``); None: the default."""
    name = DEFAULT_CORPUS if name is None else name
    folder = bundled_dir()
    candidate = name if name.endswith(".txt") else f"{name}.txt"
    path = folder / candidate
    if Path(candidate).name == candidate and path.is_file():
        return path
    known = ", ".join(list_bundled()) or "none"
    raise DataError(f"no bundled corpus named {name!r} (bundled: {known})")


def language_of(path: Path) -> str | None:
    """The language of a bundled corpus at ``path`` (``ja``, ``en``), or None for any other
    file: the runs whose episodes a recall probe can test."""
    try:
        resolved = Path(path).resolve()
        folders = [folder.resolve() for folder in _candidates()]
    except OSError:
        return None
    if resolved.parent not in folders:
        return None
    return next((lang for lang, name in BUNDLED.items() if name == resolved.name), None)
