"""Screenshots of `lstm live`, compared with the SVGs stored in tests/snapshots/.

Each is the app's own SVG export (Rich's ``export_svg``) with wide characters put in
their two cells (:func:`lstmcli.traceview.fix_svg`, as ``lstm trace --export`` does), so
the Japanese screen looks right in a browser too. The models are the tiny ones the
fixtures train, so the numbers on screen are theirs.

Regenerate after a deliberate change with ``LSTM_UPDATE_SNAPSHOTS=1 .venv/bin/pytest
tests/test_live_snapshots.py`` and look at the SVGs in a browser before committing them.
The renderers' versions are stored beside them: with other versions of Textual or Rich the
comparison is skipped (the test extra pins the ones stored).
"""

from __future__ import annotations

import asyncio
import difflib
import html
import os
import re
from importlib import metadata
from pathlib import Path

import pytest

pytest.importorskip("textual")

from lstmcli.live.app import make_app
from lstmcli.predict import Predictor
from lstmcli.traceview import fix_svg

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = os.environ.get("LSTM_UPDATE_SNAPSHOTS") == "1"
SIZE = (100, 30)


def versions() -> str:
    return "".join(f"{p} {metadata.version(p)}\n" for p in ("textual", "rich"))


def screenshot(model: Path, keys: list[str]) -> str:
    app = make_app(Predictor.load(model), cursor_blink=False)

    async def main() -> str:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(*keys)
            for _ in range(200):
                await pilot.pause()
                if app.caught_up:
                    break
            await pilot.pause()
            return fix_svg(app.export_screenshot(title="lstm live"))

    return asyncio.run(main())


def screen_text(svg: str) -> list[str]:
    """The characters on screen, row by row (for a readable diff)."""
    rows: dict[str, list[str]] = {}
    for y, body in re.findall(r'<text [^>]*y="([\d.]+)"[^>]*>([^<]*)</text>', svg):
        rows.setdefault(y, []).append(html.unescape(body).replace("\xa0", " "))
    return ["".join(parts) for _, parts in sorted(rows.items(), key=lambda kv: float(kv[0]))]


def check(name: str, svg: str, tmp_path: Path) -> None:
    path = SNAPSHOTS / f"{name}.svg"
    stamp = SNAPSHOTS / "VERSIONS"
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(svg, encoding="utf-8")
        stamp.write_text(versions(), encoding="utf-8")
        return
    if stamp.exists() and stamp.read_text(encoding="utf-8") != versions():
        pytest.skip(f"snapshots made with {stamp.read_text().split()}; installed {versions()}")
    assert path.exists(), f"no snapshot {path.name}; make it with LSTM_UPDATE_SNAPSHOTS=1"
    want = path.read_text(encoding="utf-8")
    if svg != want:
        (tmp_path / path.name).write_text(svg, encoding="utf-8")
        diff = "\n".join(difflib.unified_diff(screen_text(want), screen_text(svg), lineterm=""))
        pytest.fail(f"{name} differs (new screenshot in {tmp_path}):\n{diff or '(styles only)'}")


def test_english_screen(trained_en, tmp_path):
    check("live-en", screenshot(trained_en, list("Mari likes the ca")), tmp_path)


def test_japanese_screen(trained_ja, tmp_path):
    svg = screenshot(trained_ja, list("僕の麻里ちゃんの愛してやまないケーキは"))
    # every wide character sits at its own x, in its two cells: no squeezed run is left
    runs = re.findall(r'<text [^>]*textLength="[^"]*"[^>]*>([^<]*)</text>', svg)
    assert not [r for r in runs if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", r)]
    assert "モ" in svg or "ケ" in svg
    check("live-ja", svg, tmp_path)
