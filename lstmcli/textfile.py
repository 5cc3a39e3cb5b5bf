"""A text file read as a stream of lines: what :func:`lstmcli.textio.read_text` reads, without
the whole text, or its bytes, in memory.

:func:`open_text` reads the file once, a block of :data:`BLOCK_BYTES` at a time, to settle
what :func:`~lstmcli.textio.read_text` settles on the whole: the encoding (the same strict
decodes in the same order, the same :func:`~lstmcli.textio._japanese_score` between cp932
and EUC-JP), that the text is not empty or blank, whether it is Aozora Bunko and, if so,
which lines the header and the footer take. :meth:`TextFile.lines` then decodes the file
again and yields its clean lines: exactly ``split_lines(read_text(path))``, every error
raised as ``read_text`` raises it, by :func:`open_text` before any line comes.

Everything the cleaning does is line by line: newlines (a ``\\r`` that ends a block waits
for the next), ruby and notes (neither spans a line), stripping; only the header and the
footer need the whole file, and their line numbers come from the first pass. What stays in
memory is a block and, at most, one line longer than it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lstmcli import textio
from lstmcli.errors import DataError

BLOCK_BYTES = 1 << 20  # 1 MiB of the file decoded at a time
_DASH_LINE = re.compile(r"-{20,}[ \t]*")  # a line of textio._DASHES
_FOOTER_LINE = re.compile(r"[ \t\u3000]*底本[：:]")  # a line textio._FOOTER finds


@dataclass(frozen=True)
class TextFile:
    """A text file checked by :func:`open_text`: how to decode it and which lines to keep.

    ``chars`` and ``newlines`` count the decoded text (newlines made ``\\n``) before any
    Aozora cleaning: ``chars + newlines + 1`` bounds the tokens of the clean text. With
    ``aozora``, lines ``first`` up to ``stop`` (None: the end) are the body.
    """

    path: Path
    encoding: str
    aozora: bool
    chars: int
    newlines: int
    first: int = 0
    stop: int | None = None

    def lines(self) -> Iterator[str]:
        """The lines of the clean text, without ``\\n``, as ``textio.split_lines`` cuts it."""
        raw = _lines(_blocks(_decoded(self.path, self.encoding)))
        if not self.aozora:
            yield from raw
            return
        blank = started = False  # runs of blank lines become one; none at either end
        for n, line in enumerate(raw):
            if n < self.first:
                continue
            if self.stop is not None and n >= self.stop:
                break
            line = _clean_aozora_line(line)
            if not line:
                blank = started
                continue
            if blank:
                yield ""
                blank = False
            started = True
            yield line

    def head(self, n: int) -> str:
        """The first ``n`` characters of the clean text (all of it when shorter)."""
        parts, size = [], 0
        for line in self.lines():
            parts.append(line + "\n")
            size += len(line) + 1
            if size >= n:
                break
        return "".join(parts)[:n]


def open_text(path: str | Path, encoding: str | None = None, fmt: str = "auto") -> TextFile:
    """Check a text file as :func:`~lstmcli.textio.read_text` reads it and say how to stream it.

    The same DataError as ``read_text`` for a missing, unreadable, empty, binary,
    undecodable or blank file, or one with no body left after the Aozora cleaning.
    """
    p = Path(path)
    source = str(p)
    with _open(p) as f:
        head = f.read(textio.SNIFF_BYTES)
    if fmt not in textio.FORMATS:
        raise DataError(f"unknown text format {fmt!r}; use one of {', '.join(textio.FORMATS)}")
    if not head:
        raise DataError(f"{textio._subject(source)} is empty; {textio._give(source)}")
    if encoding is None:
        textio.check_not_binary(head, source)
        encoding = _detect(p, source)
    else:
        textio.check_encoding(encoding, head, source)
        _strict(p, encoding, source)
    tf, blank = _scan(p, encoding, fmt)
    if blank:
        what = "holds only whitespace" if tf.chars else "is empty"
        raise DataError(f"{textio._subject(source)} {what}; {textio._give(source)}")
    if tf.aozora and not any(line for line in tf.lines()):
        raise DataError(
            f"{source}: no body text left after removing Aozora Bunko markup;"
            " pass --format plain to keep the text as is"
        )
    return tf


# --- reading -------------------------------------------------------------------------------


def iter_lines(path: str | Path, encoding: str | None = None, fmt: str = "auto") -> Iterator[str]:
    """Yield the lines of a text file (without ``\n``), as :func:`~lstmcli.textio.read_text`
    would read it, the file read a block at a time, never whole."""
    yield from open_text(path, encoding, fmt).lines()


def _open(p: Path):
    """The file opened for reading, every OS failure a DataError (as ``textio.read_bytes``)."""
    try:  # exists() raises too, on a name longer than the system allows
        if not p.exists():
            raise DataError(f"{p}: no such file; check the path")
        if p.is_dir():
            raise DataError(f"{p}: is a directory; give a text file")
        return open(p, "rb")
    except PermissionError:
        raise DataError(f"{p}: permission denied; make the file readable") from None
    except OSError as e:
        raise DataError(f"{p}: cannot read the file ({e.strerror}); check the path") from None


def _decoded(p: Path, encoding: str, source: str | None = None) -> Iterator[str]:
    """The file decoded strictly, a block at a time, newlines made ``\\n``.

    With ``source``, a byte that does not decode is a DataError naming its offset, as
    ``textio.decode_bytes`` names it; without, the UnicodeDecodeError itself.
    """
    sig = codecs.lookup(encoding).name == "utf-8-sig"
    dec = codecs.getincrementaldecoder("utf-8" if sig else encoding)("strict")
    fed = 0  # bytes given to the decoder so far, or skipped
    carry = ""  # a \r that ended the last block: the next may begin with \n
    with _open(p) as f:
        head = f.read(3) if sig else b""
        if head == codecs.BOM_UTF8:  # utf-8-sig drops the mark; offsets count it
            head, fed = b"", 3
        while True:
            try:
                block, head = head + f.read(BLOCK_BYTES), b""
            except OSError as e:
                raise DataError(
                    f"{p}: cannot read the file ({e.strerror}); check the path"
                ) from None
            pending = len(dec.getstate()[0])  # bytes of a character begun in the last block
            try:
                text = dec.decode(block, final=not block)
            except UnicodeDecodeError as e:
                if source is None:
                    raise
                hint = " (try cp932, which extends Shift_JIS)" if "jis" in encoding.lower() else ""
                raise DataError(
                    f"{source}: cannot decode byte {fed - pending + e.start} as {encoding}{hint};"
                    " pass the file's real encoding with --encoding NAME"
                ) from None
            fed += len(block)
            text = carry + text
            carry = ""
            if text.endswith("\r"):
                text, carry = text[:-1], "\r"
            if text:
                yield textio.normalize_newlines(text)
            if not block:
                break
    if carry:
        yield "\n"


def _blocks(texts: Iterator[str]) -> Iterator[str]:
    """The same text cut after a ``\\n``: every piece but the last ends with one."""
    rest: list[str] = []  # the start of a line that goes on into the next text
    for text in texts:
        cut = text.rfind("\n") + 1
        if not cut:
            rest.append(text)
            continue
        yield "".join([*rest, text[:cut]])
        rest = [text[cut:]] if cut < len(text) else []
    if rest:
        yield "".join(rest)


def _lines(blocks: Iterator[str]) -> Iterator[str]:
    """The lines of the text ``blocks`` make up, as ``textio.split_lines`` cuts it."""
    for block in blocks:
        lines = block.split("\n")
        if block.endswith("\n"):
            lines.pop()  # the empty piece after the final \n
        yield from lines


# --- the first pass: encoding, blank text, Aozora Bunko -------------------------------------


def _strict(p: Path, encoding: str, source: str) -> None:
    """DataError (naming the byte) unless the whole file decodes as ``encoding``."""
    for _ in _decoded(p, encoding, source):
        pass


def _detect(p: Path, source: str) -> str:
    """The encoding ``textio.decode_bytes`` would pick for the file's bytes."""
    try:
        for _ in _decoded(p, "utf-8-sig"):
            pass
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    scored = []
    for enc in textio._LEGACY:
        score = 0
        try:
            for text in _decoded(p, enc):
                if enc == "cp932" and textio._CP932_UNDEFINED.search(text):
                    break
                score += textio._japanese_score(text)
            else:
                scored.append((score, enc))
        except UnicodeDecodeError:
            continue
    if not scored:
        raise DataError(
            f"{source}: cannot decode the text as utf-8, cp932 (Shift_JIS) or euc-jp;"
            " pass its encoding with --encoding NAME"
        )
    return max(scored, key=lambda s: s[0])[1]  # the first of equal scores: cp932


def _scan(p: Path, encoding: str, fmt: str) -> tuple[TextFile, bool]:
    """Count the text, and settle the Aozora cleaning as ``textio.clean_text`` does; with
    it, whether the text is only whitespace."""
    chars = newlines = 0
    blank = True
    title = footer = ruby = note = False  # the signs of textio.is_aozora
    for block in _blocks(_decoded(p, encoding)):
        chars += len(block)
        newlines += block.count("\n")
        blank = blank and block.isspace()
        title = title or textio._NOTATION_TITLE in block
        footer = footer or bool(textio._FOOTER.search(block))
        ruby = ruby or bool(textio._RUBY.search(block))
        note = note or "［＃" in block
    aozora = not blank and (
        fmt == "aozora" or (fmt == "auto" and (title or footer + ruby + note >= 2))
    )
    first, stop = _body(p, encoding) if aozora else (0, None)
    return TextFile(p, encoding, aozora, chars, newlines, first, stop), blank


def _body(p: Path, encoding: str) -> tuple[int, int | None]:
    """The lines ``textio.clean_aozora`` keeps: after the header (title, author and the
    notation block between the first two dashed lines, when the notation title is between
    them), before the first ``底本：`` line after it."""
    dashes: list[int] = []
    titled = False  # the notation title is between the first two dashed lines
    footer = after = None  # the first footer line, and the first after the second dashes
    for n, line in enumerate(_lines(_blocks(_decoded(p, encoding)))):
        if len(dashes) < 2 and _DASH_LINE.fullmatch(line):
            dashes.append(n)
        elif len(dashes) == 1 and textio._NOTATION_TITLE in line:
            titled = True
        if _FOOTER_LINE.match(line):
            footer = n if footer is None else footer
            if len(dashes) == 2:
                after = n
                break
    if len(dashes) == 2 and titled:
        return dashes[1] + 1, after
    return 0, footer


def _clean_aozora_line(line: str) -> str:
    """One line as ``textio.clean_aozora`` leaves it: no ruby, notes or ``｜``, stripped."""
    return textio.strip_markup(line).strip()
