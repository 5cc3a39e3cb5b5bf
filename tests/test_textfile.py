"""Text files streamed line by line: the same lines and the same errors as reading them whole."""

from __future__ import annotations

import random

import pytest

from lstmcli import textfile, textio
from lstmcli.errors import DataError

# pieces that exercise what the reading does: newlines of three kinds, whitespace, kana that
# needs a legacy encoding, Aozora ruby, notes (closed, nested, unclosed), the gaiji mark, the
# ruby start mark, the footer, the header's dashed line and notation title, blank-line runs
PIECES = [
    "\r", "\n", "\r\n", " ", "\u3000", "\t", "猫", "あいう", "ｶﾀ", "a", "é", "《ねこ》",
    "［＃注］", "［＃", "］", "※", "｜", "底本：", "-" * 20, "テキスト中に現れる記号について",
    "\n\n\n",
]  # fmt: skip


def outcome(read, *args):
    """What ``read(*args)`` gives: its lines, or the message of its DataError."""
    try:
        return read(*args)
    except DataError as e:
        return str(e)


def whole(p, encoding, fmt):
    return list(textio.split_lines(textio.read_text(p, encoding, fmt)))


def streamed(p, encoding, fmt):
    return list(textfile.open_text(p, encoding, fmt).lines())


def test_streamed_lines_and_errors_equal_the_whole_reading(tmp_path, monkeypatch):
    rng = random.Random(0)
    p = tmp_path / "t.txt"
    for _ in range(1500):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 30)))
        codec = rng.choice(["utf-8", "utf-8-sig", "cp932", "euc-jp"])
        try:
            data = text.encode(codec)
        except UnicodeEncodeError:
            data = text.encode("utf-8")
        if rng.random() < 0.1 and data:  # a byte that may not decode
            i = rng.randrange(len(data))
            data = data[:i] + bytes([rng.choice([0x80, 0x82, 0xA0, 0xFF])]) + data[i:]
        p.write_bytes(data)
        encoding = rng.choice([None, None, codec])
        fmt = rng.choice(["auto", "plain", "aozora"])
        monkeypatch.setattr(textfile, "BLOCK_BYTES", rng.randint(1, 9))  # blocks cut anywhere
        want = outcome(whole, p, encoding, fmt)
        assert outcome(streamed, p, encoding, fmt) == want, (data, encoding, fmt)


AOZORA = """\
春の小径
山田太郎

-------------------------------------------------------
【テキスト中に現れる記号について】

《》：ルビ
（例）小径《こみち》
-------------------------------------------------------

［＃３字下げ］一［＃「一」は中見出し］

　朝の小径《こみち》を歩くと、｜白い花《はな》が咲いていた。
　祖母は※［＃「木＋吉」、第3水準1-85-69］の実を拾った。［＃「拾った」に傍点］



底本：「春の小径」架空書房
入力：山田花子
"""


@pytest.mark.parametrize("block", [1, 5, 64, 1 << 20])
@pytest.mark.parametrize("codec", ["cp932", "euc-jp", "utf-8-sig"])
def test_an_aozora_file_loses_header_footer_and_markup_as_when_read_whole(
    tmp_path, monkeypatch, block, codec
):
    monkeypatch.setattr(textfile, "BLOCK_BYTES", block)
    p = tmp_path / "a.txt"
    p.write_bytes(AOZORA.replace("\n", "\r\n").encode(codec))
    tf = textfile.open_text(p)
    assert tf.aozora and tf.encoding == codec
    assert list(tf.lines()) == [
        "一",
        "",
        "朝の小径を歩くと、白い花が咲いていた。",
        "祖母はの実を拾った。",
    ]
    assert list(tf.lines()) == whole(p, None, "auto")
    assert list(textfile.iter_lines(p)) == whole(p, None, "auto")
    for fmt in ("plain", "aozora"):
        assert streamed(p, None, fmt) == whole(p, None, fmt)
    text = textio.read_text(p)
    for n in (1, 7, len(text), 10 * len(text)):
        assert tf.head(n) == text[:n]


def test_only_the_body_of_an_aozora_file_without_one_is_an_error(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("《ねこ》\n［＃注］\n底本：「何か」\n", encoding="utf-8")
    with pytest.raises(DataError, match="no body text left") as e:
        textfile.open_text(p)
    assert outcome(whole, p, None, "auto") == str(e.value)


def test_the_file_is_read_a_block_at_a_time(tmp_path, monkeypatch):
    p = tmp_path / "big.txt"
    p.write_text("".join(f"line {i} of the text\n" for i in range(5000)), encoding="utf-8")
    monkeypatch.setattr(textfile, "BLOCK_BYTES", 256)
    monkeypatch.setattr(textio, "read_bytes", lambda path: pytest.fail("read whole"))
    read = []
    opened = textfile._open

    class Counting:
        def __init__(self, f):
            self.f = f

        def read(self, n):
            data = self.f.read(n)
            read.append(len(data))
            return data

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(textfile, "_open", lambda path: Counting(opened(path)))
    tf = textfile.open_text(p)
    lines = tf.lines()
    read.clear()
    assert next(lines) == "line 0 of the text"
    assert sum(read) <= 3 + 256  # the byte-order mark probe and one block, not the file
    assert next(lines) == "line 1 of the text"
    assert sum(read) <= 3 + 256
    assert sum(1 for _ in lines) == 4998
    assert sum(read) == p.stat().st_size


def test_an_offset_in_a_decoding_error_counts_the_byte_order_mark(tmp_path):
    data = "猫".encode("utf-8-sig") + b"ab\xffcd"
    with pytest.raises(DataError, match="cannot decode byte 8 as utf-8-sig"):
        textio.decode_bytes(data, "utf-8-sig")
    p = tmp_path / "bom.txt"
    p.write_bytes(data)
    with pytest.raises(DataError, match="cannot decode byte 8 as utf-8-sig"):
        textfile.open_text(p, "utf-8-sig")


def test_file_errors_read_as_when_read_whole(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "blank").write_text(" \n\t\r\n\u3000\n", encoding="utf-8")
    (tmp_path / "binary").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "bom").write_bytes(b"\xef\xbb\xbf")
    names = ["missing", "dir", "empty", "blank", "binary", "bom", "x" * 300]
    for name in names:
        p = tmp_path / name
        want = outcome(whole, p, None, "auto")
        assert isinstance(want, str) and str(p) in want
        assert outcome(streamed, p, None, "auto") == want
    p = tmp_path / "blank"
    assert outcome(streamed, p, None, "html") == outcome(whole, p, None, "html")
    assert outcome(streamed, p, "no-such-codec", "auto") == outcome(
        whole, p, "no-such-codec", "auto"
    )
