"""The trace on screen: golden renders, colours, alignment of wide tokens, SVG/HTML export.

The golden files in ``tests/golden/`` are what the views render through a fixed 100-column
console. After an intended change to the view, regenerate them and read the diff::

    .venv/bin/python tests/test_traceview.py
"""

from __future__ import annotations

import io
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from rich.cells import cell_len
from rich.console import Console

from lstmcli import checkpoint, memview, model, why
from lstmcli import trace as T
from lstmcli import traceview as V
from lstmcli.predict import Predictor

GOLDEN = Path(__file__).parent / "golden"
JA = ["<eos>", "<unk>", "僕", "の", "麻里", "ちゃん", "ケーキ", "は", "愛し", "て"]
JA_TEXT = "僕 の 麻里 ちゃん の 愛し て やま ない ケーキ は"  # やま, ない: <unk>


def predictor(cell="lstm", layers=2, H=24, seed=1) -> Predictor:
    cfg = model.ModelConfig(
        vocab_size=len(JA), embed_size=5, hidden_size=H, num_layers=layers, cell=cell,
        init_scale=0.8,
    )  # fmt: skip
    params = model.init_params(cfg, np.random.default_rng(seed))
    spec = {"name": "space", "options": {}}
    return Predictor(checkpoint.Checkpoint(cfg, params, list(JA), spec))


def console(color_system=None, record=False) -> Console:
    return Console(
        width=100, file=io.StringIO(), color_system=color_system, legacy_windows=False,
        record=record,
    )  # fmt: skip


def render(
    color_system=None, cell="lstm", summary=False, explain=False, memory=None, **picks
) -> str:
    tr = T.record(predictor(cell), JA_TEXT)
    c = console(color_system)
    fit = None if summary or explain or memory else c.width
    view = T.plan(tr, **picks, width=fit, height=40)
    numbers = "units" in picks or "top" in picks
    V.show(c, tr, view, summary=summary, explain=explain, numbers=numbers, memory=memory)
    return c.file.getvalue()


def _memory(lo=0, hi=12, cue=None):
    p = predictor()
    tr = T.record(p, JA_TEXT)
    change = why.memory_change_at(p.params, p.config, tr.ids, 1, tr.logits, tr.layers, hi)
    return memview.Pick(lo, hi, cue, change)


CASES = {
    "fio_plain": lambda: render(),
    "fio_truecolor": lambda: render("truecolor"),
    "gch_layer1_plain": lambda: render(gates="g,c,h", units="0-3,20", layer=1),
    "gch_truecolor": lambda: render("truecolor", gates="g,c,h", top=4, stop=5),
    "summary_plain": lambda: render(summary=True),
    "explain_plain": lambda: render(explain=True, start=3, stop=7),
    "explain_units_plain": lambda: render(explain=True, units="4,16", layer=0, stop=4),
    "memory_plain": lambda: render(memory=_memory(), layer=1),
    "memory_window_cue_plain": lambda: render(memory=_memory(3, 9, cue=4), start=3, stop=9),
    "rnn_plain": lambda: render(cell="rnn", summary=True, explain=True, stop=4),
    "rnn_tables_plain": lambda: render(cell="rnn", top=5),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_render(name):
    expected = (GOLDEN / f"trace_{name}.txt").read_text(encoding="utf-8")
    assert CASES[name]() == expected


def test_wide_tokens_stay_aligned():
    lines = [line for line in render().splitlines() if re.match(r" *\d+ ", line)]
    assert any("ケーキ" in line for line in lines) and any("<unk>" in line for line in lines)
    assert len({cell_len(line) for line in lines}) == 1, lines


def test_every_cell_prints_its_value_without_colour():
    tr = T.record(predictor(), JA_TEXT)
    text = render(gates="f", units="7", layer=0)
    rows = [line.split()[-1] for line in text.splitlines() if re.match(r" *\d+ ", line)]
    assert rows == [V.fmt(float(v)) for v in tr.layers[0]["f"][:, 7]]


def test_memview_names_repeated_tokens_by_position():
    assert memview.names(["<eos>", "の", "麻里", "の"]) == ["<eos>", "の₁", "麻里", "の₃"]


def test_fmt():
    cases = {0.934: ".93", -0.414: "-.41", 0.0: ".00", -0.001: ".00", 0.999: "1.0", 2.37: "2.4"}
    assert {v: V.fmt(v) for v in cases} == cases
    assert V.fmt(-12.3) == "-12"


def test_colour_scales():
    assert V.colour(0, "f") == V.VIRIDIS[0] and V.colour(1, "i") == V.VIRIDIS[-1]
    assert V.colour(0.5, "o") == V.VIRIDIS[4]
    assert V.colour(-1, "g") == V.RDBU[0] and V.colour(0, "h") == V.RDBU[5]
    assert V.colour(3.7, "c") == V.RDBU[-1] and V.colour(-9, "c") == V.RDBU[0]  # clamped
    assert V.cell_style(0, "f").startswith("white") and V.cell_style(1, "f").startswith("black")


def _svg() -> tuple[str, str]:
    tr = T.record(predictor(), JA_TEXT)
    c = console("truecolor", record=True)
    V.show(c, tr, T.plan(tr, width=100, height=40))
    raw = c.export_svg(title="lstm trace")
    return raw, V.fix_svg(raw)


def test_svg_is_xml_with_the_tokens_and_wide_characters_at_their_cells():
    raw, svg = _svg()
    root = ET.fromstring(svg)
    texts = [el for el in root.iter("{http://www.w3.org/2000/svg}text")]
    content = "".join("".join(el.itertext()) for el in texts)
    for token in ["<eos>", "僕", "麻里", "ちゃん", "ケーキ", "<unk>"]:
        assert token in content
    wide = [el for el in texts if any(cell_len(ch) == 2 for ch in el.text or "")]
    assert wide and svg != raw
    w = 0.61 * 20  # Rich's cell width; a 1 em (20 px) wide glyph is centred in two cells
    centre = (2 * w - 20) / 2
    for el in wide:
        xs = [float(x) for x in el.get("x").split()]
        assert el.get("textLength") is None and len(xs) == len(el.text)
        cells = [x - centre * (cell_len(ch) == 2) for ch, x in zip(el.text, xs, strict=True)]
        for ch, a, b in zip(el.text, cells, cells[1:], strict=False):
            assert b - a == pytest.approx(w * cell_len(ch), abs=0.01)
    narrow = [el for el in texts if el not in wide and el.get("textLength")]
    assert narrow and all(len(el.get("x").split()) == 1 for el in narrow)


def test_html_pins_wide_characters():
    tr = T.record(predictor(), JA_TEXT)
    c = console(record=True)
    V.show(c, tr, T.plan(tr, width=100, height=40))
    page = V.fix_html(c.export_html(inline_styles=True))
    assert '<span class="w">ケ</span>' in page and ".w{" in page


def test_export_writes_files(tmp_path):
    tr = T.record(predictor(), JA_TEXT)
    c = console(record=True)
    V.show(c, tr, T.plan(tr, width=100, height=40))
    V.export(c, tmp_path / "t.svg")
    V.export(c, tmp_path / "t.HTML")
    ET.parse(tmp_path / "t.svg")
    assert '<span class="w">キ</span>' in (tmp_path / "t.HTML").read_text(encoding="utf-8")
    with pytest.raises(Exception, match=r"\.svg or \.html"):
        V.export(c, tmp_path / "t.pdf")


if __name__ == "__main__":  # regenerate the golden files
    GOLDEN.mkdir(exist_ok=True)
    for name, make in CASES.items():
        (GOLDEN / f"trace_{name}.txt").write_text(make(), encoding="utf-8")
        print(f"wrote tests/golden/trace_{name}.txt", file=sys.stderr)
