"""Reading text files: binary checks, encoding detection, newlines and Aozora Bunko cleaning.

This module turns a path into one clean ``str`` (:mod:`lstmcli.textfile`, built on it,
streams the same text line by line); it knows nothing of tokens or models.

Encoding detection (no guessing library) decodes strictly, in this order:

1. ``utf-8-sig`` (UTF-8 with or without a byte-order mark). UTF-8 is so strict that a
   legacy Japanese file almost never decodes as UTF-8 by accident, so it wins outright.
2. ``cp932`` (Shift_JIS as Windows writes it; a decode that uses the bytes Shift_JIS leaves
   undefined counts as failed) and ``euc-jp``. EUC-JP bytes are often also
   valid cp932 (they read as half-width katakana), so when both decode, the text with the
   higher :func:`_japanese_score` wins; a tie goes to ``cp932``. Pass ``encoding`` to
   skip detection.
"""

from __future__ import annotations

import codecs
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from lstmcli.errors import DataError

FORMATS = ("auto", "plain", "aozora")
SNIFF_BYTES = 8192  # how much of the file the binary check looks at
MAX_CONTROL_SHARE = 0.10  # more control bytes than this in the sniffed part means binary
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\v\x1b")  # control bytes that plain text may contain
_LEGACY = ("cp932", "euc-jp")
# Python's cp932 maps bytes that Shift_JIS leaves undefined (0x80, 0xA0, 0xFD-0xFF) to these
# instead of failing; detection treats them as a failed decode
_CP932_UNDEFINED = re.compile("[\x80\uf8f0-\uf8f3]")


def check_not_binary(data: bytes, source: str = "input") -> None:
    """Raise DataError if ``data`` looks binary: a NUL byte or many control bytes early on."""
    head = data[:SNIFF_BYTES]
    if b"\x00" in head:
        raise DataError(
            f"{source}: looks like a binary file (it contains NUL bytes); give a plain-text file"
            " (convert UTF-16 text to UTF-8 first)"
        )
    controls = sum(1 for b in head if b < 32 and b not in _TEXT_CONTROLS)
    if head and controls / len(head) > MAX_CONTROL_SHARE:
        raise DataError(
            f"{source}: looks like a binary file ({controls} control bytes in the first"
            f" {len(head)}); give a plain-text file"
        )


def _japanese_score(text: str) -> int:
    """How Japanese a decode looks: hiragana 3, kana and kanji 1, odd characters -1 each.

    Hiragana weighs most because a wrong decode almost never produces it (EUC-JP read as
    cp932 turns hiragana into half-width katakana, while kanji appear in both directions).
    """
    score = 0
    for ch in text:
        o = ord(ch)
        if 0x3041 <= o <= 0x309F:
            score += 3  # hiragana
        elif 0x30A0 <= o <= 0x30FF or 0x4E00 <= o <= 0x9FFF or 0x3000 <= o <= 0x303F:
            score += 1  # katakana, CJK ideographs, CJK punctuation
        elif 0xFF61 <= o <= 0xFF9F or 0xE000 <= o <= 0xF8FF or (o < 32 and ch not in "\t\n\r"):
            score -= 1  # half-width katakana, private use, stray control characters
    return score


def check_encoding(encoding: str, head: bytes, source: str = "input") -> str:
    """The codec name of a declared ``encoding``; DataError when Python knows no such
    encoding, or when ``head`` (the first bytes) looks binary for it (UTF-16 and UTF-32
    text is full of NUL bytes, so those are not checked)."""
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise DataError(
            f"unknown encoding {encoding!r}; pass a name Python knows, such as utf-8,"
            " cp932 or euc-jp"
        ) from None
    if not codec.startswith(("utf-16", "utf-32")):
        check_not_binary(head, source)
    return codec


def decode_bytes(
    data: bytes, encoding: str | None = None, *, source: str = "input"
) -> tuple[str, str]:
    """Decode ``data`` strictly and return ``(text, encoding_used)``.

    Without ``encoding``, detect it as described in the module docstring; ``source`` names
    the input in error messages.
    """
    if encoding is None:
        check_not_binary(data, source)
    else:
        codec = check_encoding(encoding, data, source)
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as e:
            hint = " (try cp932, which extends Shift_JIS)" if "jis" in encoding.lower() else ""
            # utf-8-sig decodes what follows its byte-order mark: count the mark's 3 bytes
            bom = codec == "utf-8-sig" and data.startswith(codecs.BOM_UTF8)
            raise DataError(
                f"{source}: cannot decode byte {e.start + 3 * bom} as {encoding}{hint}; pass"
                " the file's real encoding with --encoding NAME"
            ) from None
    try:
        return data.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        pass
    decoded = []
    for enc in _LEGACY:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc != "cp932" or not _CP932_UNDEFINED.search(text):
            decoded.append((text, enc))
    if not decoded:
        raise DataError(
            f"{source}: cannot decode the text as utf-8, cp932 (Shift_JIS) or euc-jp;"
            " pass its encoding with --encoding NAME"
        )
    # max() keeps the first of equal scores, so a tie goes to cp932
    return max(decoded, key=lambda d: _japanese_score(d[0]))


def normalize_newlines(text: str) -> str:
    """Turn ``\\r\\n`` and lone ``\\r`` into ``\\n``."""
    if "\r" not in text:  # nothing to do: no copy of a large text
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --- Aozora Bunko -------------------------------------------------------------------------

_DASHES = re.compile(r"^-{20,}[ \t]*$", re.M)  # the lines framing the notation block
_NOTATION_TITLE = "テキスト中に現れる記号について"
_FOOTER = re.compile(r"^[ \t\u3000]*底本[：:]", re.M)
_RUBY = re.compile(r"《[^《》\n]*》")


def is_aozora(text: str) -> bool:
    """Guess whether ``text`` is an Aozora Bunko plain-text file.

    True when it has the notation block, or two of: a ``底本：`` footer line,
    ``《ruby》`` annotations, ``［＃notes］``.
    """
    if _NOTATION_TITLE in text:
        return True
    signs = [bool(_FOOTER.search(text)), bool(_RUBY.search(text)), "［＃" in text]
    return sum(signs) >= 2


def _remove_notes(text: str) -> str:
    """Remove ``［＃…］`` notes, nested brackets included, and a ``※`` gaiji mark before one."""
    out: list[str] = []
    i = 0
    while True:
        j = text.find("［＃", i)
        if j < 0:
            out.append(text[i:])
            break
        k, depth = j, 0
        while k < len(text):  # find the bracket that closes the note
            if text[k] == "［":
                depth += 1
            elif text[k] == "］":
                depth -= 1
                if depth == 0:
                    break
            elif text[k] == "\n":
                break  # a note never spans lines; keep an unclosed one as text
            k += 1
        if depth != 0:
            out.append(text[i : j + 2])
            i = j + 2
            continue
        start = j - 1 if j > i and text[j - 1] == "※" else j  # ※ stands for the missing glyph
        out.append(text[i:start])
        i = k + 1
    return "".join(out)


def strip_markup(text: str) -> str:
    """``text`` without Aozora Bunko's ruby ``《…》``, ruby start marks ``｜`` and ``［＃…］``
    notes (none spans a line: a line at a time gives the same)."""
    return _remove_notes(_RUBY.sub("", text)).replace("｜", "")


def clean_aozora(text: str) -> str:
    """Strip Aozora Bunko markup and return the body text.

    Removes the header (title and author lines plus the notation block between the two
    dashed lines), the footer (from the line starting ``底本：``), ruby ``《…》``, the ruby
    start mark ``｜``, and ``［＃…］`` notes. Lines are stripped of surrounding whitespace
    (including the ideographic indent ``\\u3000``); runs of blank lines become one.
    """
    text = normalize_newlines(text)
    dashes = list(_DASHES.finditer(text))
    if len(dashes) >= 2 and _NOTATION_TITLE in text[dashes[0].end() : dashes[1].start()]:
        text = text[dashes[1].end() :]  # title, author and notation block
    footer = _FOOTER.search(text)
    if footer:
        text = text[: footer.start()]
    text = strip_markup(text)
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


# --- files ----------------------------------------------------------------------------------


def read_bytes(path: str | Path) -> bytes:
    """Read a file's bytes, turning every OS failure into a DataError with a clear fix."""
    p = Path(path)
    try:  # exists() raises too, on a name longer than the system allows
        if not p.exists():
            raise DataError(f"{p}: no such file; check the path")
        if p.is_dir():
            raise DataError(f"{p}: is a directory; give a text file")
        return p.read_bytes()
    except PermissionError:
        raise DataError(f"{p}: permission denied; make the file readable") from None
    except OSError as e:
        raise DataError(f"{p}: cannot read the file ({e.strerror}); check the path") from None


def read_text(path: str | Path, encoding: str | None = None, fmt: str = "auto") -> str:
    """Read a text file as one ``str`` with ``\\n`` newlines.

    ``fmt`` is ``"plain"`` (as is), ``"aozora"`` (always run :func:`clean_aozora`) or
    ``"auto"`` (clean when :func:`is_aozora` says so).
    """
    return decode_text(read_bytes(path), str(path), encoding, fmt)


STDIN = "standard input"  # how error messages name it
TEXT = "the text"  # and a text given as a string (lstmcli.train(text=...))


def read_stdin(encoding: str | None = None, fmt: str = "auto") -> str:
    """Read all of standard input, once, as :func:`read_text` reads a file."""
    return decode_text(sys.stdin.buffer.read(), STDIN, encoding, fmt)


def wants_stdin(arg: object) -> bool:
    """Whether a command's TEXT or FILE argument means standard input: ``-``, or nothing
    given while standard input is not a terminal (text is being piped in)."""
    if arg is None:
        return not sys.stdin.isatty()
    return str(arg) == "-"


def text_argument(arg: str | None) -> str | None:
    """A command's TEXT: ``-`` reads standard input, and so does no TEXT while text is piped
    in (None when none is); any other value is the text itself. The final newlines of
    piped text (``echo`` writes one) are dropped: the text continues its last line."""
    if not wants_stdin(arg):
        return arg
    data = sys.stdin.buffer.read()
    if arg is None and not data.strip():
        return None
    return decode_text(data, STDIN, fmt="plain").rstrip("\n")


def decode_text(data: bytes, source: str, encoding: str | None = None, fmt: str = "auto") -> str:
    """The clean text of ``data`` read from ``source`` (a path, or :data:`STDIN`): decoded
    (see :func:`decode_bytes`), then :func:`clean_text`."""
    if fmt not in FORMATS:
        raise DataError(f"unknown text format {fmt!r}; use one of {', '.join(FORMATS)}")
    if not data:
        raise DataError(f"{_subject(source)} is empty; {_give(source)}")
    text, _ = decode_bytes(data, encoding, source=source)
    del data  # a large file should not be held twice
    return clean_text(text, source, fmt)


def clean_text(text: str, source: str = TEXT, fmt: str = "auto") -> str:
    """``text`` with ``\\n`` newlines and, as ``fmt`` says, without Aozora Bunko markup;
    DataError when nothing but whitespace is left."""
    if fmt not in FORMATS:
        raise DataError(f"unknown text format {fmt!r}; use one of {', '.join(FORMATS)}")
    text = normalize_newlines(text)
    if not text or text.isspace():
        what = "holds only whitespace" if text else "is empty"
        raise DataError(f"{_subject(source)} {what}; {_give(source)}")
    if fmt == "aozora" or (fmt == "auto" and is_aozora(text)):
        text = clean_aozora(text)
        if not text.strip():
            raise DataError(
                f"{source}: no body text left after removing Aozora Bunko markup;"
                " pass --format plain to keep the text as is"
            )
    return text


def read_plain(path: str | Path, encoding: str | None = None) -> str:
    """A file's text as an editor opens it: decoded as :func:`read_text` decodes it,
    newlines made ``\\n``, nothing removed; an empty file is the empty text."""
    data = read_bytes(path)
    if not data:
        return ""
    text, _ = decode_bytes(data, encoding, source=str(path))
    return normalize_newlines(text)


def _subject(source: str) -> str:
    return source if source in (STDIN, TEXT) else f"{source}: file"


def _give(source: str) -> str:
    what = {STDIN: "pipe in", TEXT: "give"}.get(source, "give a text file with")
    return f"{what} at least one line of text"


def split_lines(text: str) -> Iterator[str]:
    """Yield the lines of ``text`` (without ``\n``) without building a list of them."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        if end < 0:
            end = len(text)
        yield text[start:end]
        start = end + 1
