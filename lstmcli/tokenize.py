"""Tokenizers and their specs: text lines in, token strings out; nothing about files or models.

Names: ``word`` (words, numbers and punctuation), ``space`` (whitespace split, for
pre-tokenized corpora), ``char`` (characters), ``ja`` (Japanese words by SudachiPy, split
mode C), ``ja-phrase`` (Japanese phrase units built from those words) and ``auto``, which
:func:`resolve` turns into ``ja`` or ``word``; ``auto`` itself is never stored in a model.

Every non-empty line becomes its tokens followed by one :data:`EOS`; a line that yields no
tokens (empty or whitespace only) yields nothing at all, not even ``<eos>``, so blank lines
between paragraphs do not teach the model to predict runs of ``<eos>``.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

from lstmcli.errors import CheckpointError, LstmError

EOS = "<eos>"
UNK = "<unk>"
SPACE = "▁"  # how the char tokenizer shows a space (U+2581)
NAMES = ("auto", "word", "space", "char", "ja", "ja-phrase")
CONCRETE = NAMES[1:]

_WORD = re.compile(r"\d+(?:[.,]\d+)+|\w+(?:['’]\w+)*|[^\w\s]")
_NO_SPACE_BEFORE = set(".,!?;:%)]}»”’…")
_NO_SPACE_AFTER = set("([{«“‘¿¡")
_MAX_SUDACHI_CHARS = 8000  # sudachi refuses input over 49149 bytes; 8000 chars stay below


LONG_LINE = 1 << 18  # characters; longer lines are tokenized in pieces of about this size
_BREAKS = re.compile(r"[\s。、．，！？!?.,]")


def line_pieces(line: str, size: int = LONG_LINE) -> Iterator[str]:
    """Cut a line into pieces of at most ``size`` characters at spaces or punctuation.

    Short lines come back whole. A piece ends at the last break character in its final
    tenth when there is one, so only a line with no breaks at all is cut inside a word.
    """
    start = 0
    while len(line) - start > size:
        end = start + size
        window = line[end - size // 10 : end]
        last = None
        for m in _BREAKS.finditer(window):
            last = m
        if last is not None:
            end = end - size // 10 + last.end()
        yield line[start:end]
        start = end
    yield line[start:]


class Tokenizer:
    """Base class: ``tokenize_line`` is the one method a tokenizer must define."""

    name = ""
    joiner = " "  # what detokenize puts between tokens of a line
    dictionary = False  # whether it needs SudachiPy's dictionary (see preload_sudachi)

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}  # what spec() stores; only ja and ja-phrase have any

    def tokenize_line(self, line: str) -> list[str]:
        """Tokens of one line, without ``<eos>``."""
        raise NotImplementedError

    def iter_tokens(self, lines: Iterable[str]) -> Iterator[str]:
        """Stream the tokens of ``lines``, each non-empty line followed by ``<eos>``.

        A very long line is tokenized piece by piece (see :func:`line_pieces`), so memory
        stays bounded by the piece, not by the line.
        """
        for line in lines:
            any_tokens = False
            for piece in line_pieces(line):
                toks = self.tokenize_line(piece)
                if toks:
                    any_tokens = True
                    yield from toks
            if any_tokens:
                yield EOS

    def tokenize(self, text: str) -> list[str]:
        """All tokens of ``text``, split into lines at ``\\n``."""
        return list(self.iter_tokens(text.split("\n")))

    def join_line(self, tokens: list[str]) -> str:
        """Join the tokens of one line back into text."""
        return self.joiner.join(tokens)

    def detokenize(self, tokens: Iterable[str]) -> str:
        """Join tokens back into text; ``<eos>`` becomes a newline."""
        out, line = [], []
        for tok in tokens:
            if tok == EOS:
                out.append(self.join_line(line) + "\n")
                line = []
            else:
                line.append(tok)
        if line:
            out.append(self.join_line(line))
        return "".join(out)

    def spec(self) -> dict[str, Any]:
        """What a model file stores to rebuild this tokenizer with :func:`from_spec`."""
        return {"name": self.name, "options": dict(self.options), "versions": {}}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and (self.name, self.options) == (
            other.name,
            other.options,
        )

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self.options.items()))))

    def __repr__(self) -> str:
        opts = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"get_tokenizer({self.name!r}{opts})"


class WordTokenizer(Tokenizer):
    """Words (``\\w`` runs, ``don't`` whole), numbers (``3.14``, ``1,000``), punctuation marks."""

    name = "word"

    def tokenize_line(self, line: str) -> list[str]:
        toks: list[str] = []
        end = -1
        for m in _WORD.finditer(line):
            tok = m.group()
            # a combining mark (e.g. Devanagari vowel signs) is not \w: keep it in its word
            if toks and m.start() == end and (_is_mark(tok[0]) or _is_mark(toks[-1][-1])):
                toks[-1] += tok
            else:
                toks.append(tok)
            end = m.end()
        return toks

    def join_line(self, tokens: list[str]) -> str:
        out = ""
        for tok in tokens:
            if out and tok not in _NO_SPACE_BEFORE and out[-1] not in _NO_SPACE_AFTER:
                out += " "
            out += tok
        return out


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M")


class SpaceTokenizer(Tokenizer):
    """Split on whitespace only, so pre-tokenized text (``<unk>``, ``N``) stays as is."""

    name = "space"

    def tokenize_line(self, line: str) -> list[str]:
        return line.split()


class CharTokenizer(Tokenizer):
    """One token per character of the stripped line; inner whitespace becomes ``▁``.

    Round trip: text whose lines are non-empty, have no leading or trailing whitespace, use
    only ``" "`` as whitespace and contain no ``▁`` comes back unchanged (plus a final
    newline).
    """

    name = "char"
    joiner = ""

    def tokenize_line(self, line: str) -> list[str]:
        return [SPACE if ch.isspace() else ch for ch in line.strip()]

    def join_line(self, tokens: list[str]) -> str:
        return "".join(tokens).replace(SPACE, " ")


_SUDACHI: dict[str, Any] = {}  # "core" → the sudachipy Dictionary, loaded once per process
_SUDACHI_LOCK = threading.Lock()


def sudachi_dictionary() -> Any:
    """SudachiPy's core dictionary, loaded on first use and then shared by every tokenizer.

    Loading takes about 0.1 s; the dictionary is read-only, so one per process serves all
    (each :class:`JaTokenizer` makes its own, cheap, sudachi tokenizer from it).
    """
    with _SUDACHI_LOCK:
        if "core" not in _SUDACHI:
            from sudachipy import Dictionary  # slow import: only when Japanese is used

            _SUDACHI["core"] = Dictionary(dict="core")
        return _SUDACHI["core"]


def preload_sudachi() -> None:
    """Start loading the dictionary in a background thread and return at once.

    SudachiPy releases the GIL while it loads, so the load overlaps with whatever the caller
    does next (importing NumPy, reading a model file); the first tokenization then waits for
    it. Any failure is left for that first use to report.
    """
    try:
        import sudachipy  # noqa: F401  (here, not in the thread: imports take locks)
    except ImportError:
        return

    def load() -> None:
        try:
            sudachi_dictionary()
        except Exception:  # reported by the first tokenization, with its own message
            pass

    threading.Thread(target=load, name="sudachi-preload", daemon=True).start()


class JaTokenizer(Tokenizer):
    """Japanese words from SudachiPy (``mode`` A, B or C; C keeps モンブラン whole).

    SudachiPy is imported, and its dictionary loaded, on first use (see
    :func:`sudachi_dictionary`). Whitespace morphemes are dropped.
    """

    name = "ja"
    joiner = ""
    dictionary = True

    def __init__(self, mode: str = "C") -> None:
        if mode not in ("A", "B", "C"):
            raise LstmError(f"unknown sudachi split mode {mode!r}; use A, B or C")
        super().__init__()
        self.options["mode"] = mode
        self._sudachi: Any = None

    def morphemes(self, line: str) -> Iterator[tuple[str, tuple[str, ...]]]:
        """``(surface, part_of_speech)`` for each non-whitespace morpheme of ``line``."""
        if self._sudachi is None:
            self._sudachi = sudachi_dictionary().tokenizer(mode=self.options["mode"])
        for i in range(0, len(line), _MAX_SUDACHI_CHARS):
            for m in self._sudachi.tokenize(line[i : i + _MAX_SUDACHI_CHARS]):
                surface = m.surface()
                if surface.strip():
                    yield surface, tuple(m.part_of_speech())

    def tokenize_line(self, line: str) -> list[str]:
        return [s for s, _ in self.morphemes(line)]

    def spec(self) -> dict[str, Any]:
        spec = super().spec()
        spec["versions"] = {p: package_version(p) for p in ("sudachipy", "sudachidict_core")}
        return spec


class JaPhraseTokenizer(JaTokenizer):
    """Japanese phrase units (bunsetsu-like), built from :class:`JaTokenizer` words.

    A morpheme joins the phrase before it when it is a particle (助詞), an auxiliary (助動詞)
    or a suffix (接尾辞); when it follows a prefix (接頭辞); when it is a noun after a noun
    (compounds such as 日本語教育); when it is a verb after the conjunctive particle て/で
    (愛して + やまない, 読んで + しまった); or when it is a non-independent (非自立可能) verb
    or adjective after a verb, adjective or auxiliary (食べたく + ない). Punctuation and
    symbols (補助記号, 記号) are tokens of their own, and nothing joins them.
    """

    name = "ja-phrase"

    def tokenize_line(self, line: str) -> list[str]:
        phrases: list[str] = []
        prev: tuple[str, ...] = ()  # part of speech of the previous morpheme
        prev_surface = ""
        for surface, pos in self.morphemes(line):
            if pos[0] in ("補助記号", "記号"):
                phrases.append(surface)
                prev = ()
                continue
            if prev and _joins(pos, prev, prev_surface):
                phrases[-1] += surface
            else:
                phrases.append(surface)
            prev, prev_surface = pos, surface
        return phrases


def _joins(pos: tuple[str, ...], prev: tuple[str, ...], prev_surface: str) -> bool:
    """Whether a morpheme with part of speech ``pos`` continues the phrase before it."""
    if pos[0] in ("助詞", "助動詞", "接尾辞") or prev[0] == "接頭辞":
        return True
    if pos[0] == "名詞" and prev[0] == "名詞":
        return True
    after_te = prev[:2] == ("助詞", "接続助詞") and prev_surface in ("て", "で")
    if pos[0] == "動詞" and after_te:
        return True
    return (
        pos[0] in ("動詞", "形容詞")
        and pos[1] == "非自立可能"
        and prev[0] in ("動詞", "形容詞", "助動詞")
    )


def package_version(package: str) -> str | None:
    from importlib import metadata  # about 30 ms: only when a model is saved

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


_CLASSES: dict[str, type[Tokenizer]] = {
    "word": WordTokenizer,
    "space": SpaceTokenizer,
    "char": CharTokenizer,
    "ja": JaTokenizer,
    "ja-phrase": JaPhraseTokenizer,
}


def needs_dictionary(name: str | None) -> bool:
    """Whether the tokenizer called ``name`` loads SudachiPy's dictionary (False for a name
    that is not a tokenizer's)."""
    cls = _CLASSES.get(name or "")
    return bool(cls and cls.dictionary)


def get_tokenizer(name: str, **options: Any) -> Tokenizer:
    """The tokenizer called ``name`` (not ``auto``: call :func:`resolve` first)."""
    if name == "auto":
        raise LstmError("tokenizer 'auto' must be resolved first; call resolve(name, text)")
    if name not in _CLASSES:
        raise LstmError(f"unknown tokenizer {name!r}; use one of {', '.join(NAMES)}")
    try:
        return _CLASSES[name](**options)
    except TypeError:
        raise LstmError(
            f"tokenizer {name!r} takes no options {sorted(options)}; "
            "only ja and ja-phrase take mode=A|B|C"
        ) from None


def from_spec(spec: Any) -> Tokenizer:
    """Rebuild a tokenizer from :meth:`Tokenizer.spec`; CheckpointError on anything else."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise CheckpointError(
            "tokenizer spec is not a dict with a 'name'; the model file is corrupt, retrain it"
        )
    options = spec.get("options", {})
    if spec["name"] not in CONCRETE or not isinstance(options, dict):
        raise CheckpointError(
            f"tokenizer spec {spec!r} is not valid; the model file is corrupt or from a newer"
            " lstmcli, retrain it or upgrade"
        )
    try:
        return get_tokenizer(spec["name"], **options)
    except LstmError as e:
        raise CheckpointError(f"tokenizer spec in the model file: {e}") from None


JA_SHARE = 0.3  # share of letters that must be kana or kanji for auto to pick ja
SNIFF_CHARS = 100_000  # auto looks at this many characters of the sample


def is_japanese(text: str) -> bool:
    """True when kana and kanji make up at least 30% of the letters and some kana occur.

    Requiring kana keeps Chinese text (kanji only) out.
    """
    letters = kana = kanji = 0
    for ch in text[:SNIFF_CHARS]:
        if not ch.isalpha():
            continue
        letters += 1
        o = ord(ch)
        if 0x3041 <= o <= 0x30FF or 0xFF66 <= o <= 0xFF9D:
            kana += 1
        elif 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or ch in "々〆":
            kanji += 1
    return kana > 0 and (kana + kanji) >= JA_SHARE * letters


def resolve(name: str, sample_text: str) -> str:
    """The concrete tokenizer name for ``name``: ``auto`` becomes ``ja`` or ``word``."""
    if name not in NAMES:
        raise LstmError(f"unknown tokenizer {name!r}; use one of {', '.join(NAMES)}")
    if name != "auto":
        return name
    return "ja" if is_japanese(sample_text) else "word"
