"""Reading files: encodings, binary and empty input, newlines, Aozora Bunko cleaning."""

import os
import sys

import pytest

from lstmcli.errors import DataError
from lstmcli.textfile import iter_lines
from lstmcli.textio import clean_aozora, decode_bytes, is_aozora, read_text

SENTENCES = [
    "吾輩は猫である。名前はまだ無い。",
    "どこで生れたかとんと見当がつかぬ。",
    "あいうえお",
    "テスト",
    "東京",
    "ｶﾀｶﾅだけ",  # half-width katakana: EUC-JP bytes of it are also valid cp932
    "雨ニモマケズ　風ニモマケズ",
    "Mixed ASCII と日本語 123。",
]


@pytest.mark.parametrize("codec", ["cp932", "euc-jp", "utf-8", "utf-8-sig"])
@pytest.mark.parametrize("sentence", SENTENCES)
def test_detects_japanese_encodings(codec, sentence):
    text, used = decode_bytes(sentence.encode(codec))
    assert text == sentence, (codec, used)


def test_reports_encoding_used():
    assert decode_bytes("猫".encode("utf-8-sig"))[1] == "utf-8-sig"
    assert decode_bytes("猫です".encode("cp932"))[1] == "cp932"
    assert decode_bytes("猫です".encode("euc-jp"))[1] == "euc-jp"


def test_longer_euc_text_is_not_read_as_cp932():
    text = "\n".join(SENTENCES[:5] * 20)
    assert decode_bytes(text.encode("euc-jp")) == (text, "euc-jp")


def test_undecodable_names_tried_encodings():
    with pytest.raises(DataError) as e:
        decode_bytes(b"ok \xff\xfe\xfd\x80\xa0 bad")
    msg = str(e.value)
    for name in ("utf-8", "cp932", "euc-jp", "--encoding"):
        assert name in msg
    assert "\n" not in msg


def test_explicit_encoding():
    data = "猫です".encode("euc-jp")
    assert decode_bytes(data, "euc-jp") == ("猫です", "euc-jp")
    with pytest.raises(DataError, match="cannot decode"):
        decode_bytes("猫です".encode("cp932"), "utf-8")
    with pytest.raises(DataError, match="unknown encoding"):
        decode_bytes(b"abc", "no-such-codec")


def test_binary_detection(tmp_path):
    with pytest.raises(DataError, match="binary"):
        decode_bytes(b"abc\x00def")
    with pytest.raises(DataError, match="binary"):
        decode_bytes(bytes(range(1, 32)) * 10)
    f = tmp_path / "x.bin"
    f.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(DataError, match="binary"):
        read_text(f)
    assert decode_bytes(b"tab\tseparated\fok\n")[0] == "tab\tseparated\fok\n"
    assert decode_bytes("cat".encode("utf-16"), "utf-16")[0] == "cat"  # NULs fine when named


def test_file_errors(tmp_path):
    messages = set()
    for setup in ("missing", "dir", "empty", "blank"):
        p = tmp_path / setup
        if setup == "dir":
            p.mkdir()
        elif setup == "empty":
            p.write_bytes(b"")
        elif setup == "blank":
            p.write_text(" \n\t\r\n\u3000\n", encoding="utf-8")
        with pytest.raises(DataError) as e:
            read_text(p)
        assert str(p) in str(e.value)
        messages.add(str(e.value).replace(str(p), ""))
    assert len(messages) == 4  # each failure says something different


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file(tmp_path):
    p = tmp_path / "secret.txt"
    p.write_text("hello\n")
    p.chmod(0)
    try:
        with pytest.raises(DataError, match="permission"):
            read_text(p)
    finally:
        p.chmod(0o600)


def test_permission_error_is_a_data_error(tmp_path, monkeypatch):
    p = tmp_path / "secret.txt"
    p.write_text("hello\n")

    def deny(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(p), "read_bytes", deny)
    with pytest.raises(DataError, match="permission denied"):
        read_text(p)


def test_newlines_are_normalised(tmp_path):
    p = tmp_path / "crlf.txt"
    p.write_bytes("一行目\r\n二行目\r三行目\n".encode("cp932"))
    assert read_text(p) == "一行目\n二行目\n三行目\n"
    assert list(iter_lines(p)) == ["一行目", "二行目", "三行目"]


def test_iter_lines_without_final_newline(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("a b\n\nc", encoding="utf-8")
    assert list(iter_lines(p)) == ["a b", "", "c"]


def test_unknown_format(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("a\n")
    with pytest.raises(DataError, match="format"):
        read_text(p, fmt="html")


# A small file in the Aozora Bunko layout, written for these tests.
AOZORA = """\
春の小径
山田太郎

-------------------------------------------------------
【テキスト中に現れる記号について】

《》：ルビ
（例）小径《こみち》

｜：ルビの付く文字列の始まりを特定する記号
（例）春の｜小さな径《こみち》

［＃］：入力者注　主に外字の説明や、傍点の位置の指定
　　　（数字は、JIS X 0213の面区点番号、または底本のページと行数）
（例）※［＃「木＋吉」、第3水準1-85-69］
-------------------------------------------------------

［＃３字下げ］一［＃「一」は中見出し］

　朝の小径《こみち》を歩くと、｜白い花《はな》が咲いていた。
　祖母は※［＃「木＋吉」、第3水準1-85-69］の実を拾った。［＃「拾った」に傍点］
　［＃ここから２字下げ］
　「お早う」と彼は言った。
　［＃ここで字下げ終わり］



底本：「春の小径」架空書房
　　　2001（平成13）年4月1日第1刷発行
入力：山田花子
校正：鈴木一郎
このファイルは、インターネットの図書館、青空文庫で作られました。
"""

AOZORA_BODY = """\
一

朝の小径を歩くと、白い花が咲いていた。
祖母はの実を拾った。

「お早う」と彼は言った。
"""


def test_clean_aozora():
    assert clean_aozora(AOZORA) == AOZORA_BODY


def test_clean_aozora_nested_note():
    text = "彼は［＃「［＃注］」は底本のまま］走った。\n未閉じ［＃のまま\n"
    assert clean_aozora(text) == "彼は走った。\n未閉じ［＃のまま\n"


def test_is_aozora():
    assert is_aozora(AOZORA)
    assert is_aozora("猫《ねこ》が鳴いた。\n\n底本：「何か」\n")
    assert not is_aozora("ふつうの文章です。\n二行目。\n")
    assert not is_aozora("plain english text <unk> with brackets [x]\n")


def test_read_text_cleans_aozora_in_auto(tmp_path):
    p = tmp_path / "aozora.txt"
    p.write_bytes(AOZORA.replace("\n", "\r\n").encode("cp932"))
    assert read_text(p) == AOZORA_BODY
    assert read_text(p, fmt="plain") == AOZORA
    assert read_text(p, encoding="cp932", fmt="aozora") == AOZORA_BODY


class _Stdin:
    """Standard input as a pipe (or a terminal) holding ``data``."""

    def __init__(self, data: bytes, tty: bool = False) -> None:
        import io

        self.buffer = io.BytesIO(data)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_standard_input_reads_as_a_file(monkeypatch):
    from lstmcli import textio

    monkeypatch.setattr(sys, "stdin", _Stdin("吾輩は猫である。\r\n".encode("euc-jp")))
    assert textio.read_stdin() == "吾輩は猫である。\n"
    monkeypatch.setattr(sys, "stdin", _Stdin(b""))
    with pytest.raises(DataError, match=r"^standard input is empty; pipe in"):
        textio.read_stdin()
    with pytest.raises(DataError, match=r"^the text holds only whitespace; give at least"):
        textio.clean_text(" \n ")
    with pytest.raises(DataError, match="format"):
        textio.clean_text("text", fmt="latex")


@pytest.mark.parametrize(
    ("arg", "data", "tty", "want"),
    [
        ("the cat", b"ignored", False, "the cat"),  # TEXT given: standard input untouched
        ("-", b"the cat\n\n", False, "the cat"),  # echo's newlines dropped
        (None, b"line one\nline two\n", False, "line one\nline two"),  # piped in
        (None, b"", False, None),  # nothing piped: no TEXT
        (None, b"typed", True, None),  # a terminal is never read without -
    ],
)
def test_text_argument(monkeypatch, arg, data, tty, want):
    from lstmcli import textio

    monkeypatch.setattr(sys, "stdin", _Stdin(data, tty))
    assert textio.text_argument(arg) == want
