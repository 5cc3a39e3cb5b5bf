"""The README's picture of ``lstm live``: the app, headless, after typing a text.

Types ``--text`` into the app character by character (the model and the panels follow
every one), and writes the screen as SVG, wide characters placed in their two
cells (:func:`lstmcli.traceview.fix_svg`, as ``lstm trace --export`` does). Run::

    .venv/bin/python bench/live_picture.py --model /work/models/default-ja.safetensors \\
        --out docs/live-ja.svg
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from lstmcli import corpora, paths
from lstmcli.live.app import make_app
from lstmcli.predict import Predictor
from lstmcli.traceview import fix_svg

RUNNING_EXAMPLE = corpora.RUNNING_EXAMPLES["ja"]


async def picture(p: Predictor, text: str, size: tuple[int, int], layer: int | None) -> str:
    app = make_app(p, layer=layer, cursor_blink=False)
    async with app.run_test(size=size) as pilot:
        for ch in text:  # as a terminal delivers what an input method commits: one by one
            app.editor.insert(ch)  # (the pilot's press() drops keys such as 。)
            await pilot.pause()
        for _ in range(1000):
            await pilot.pause()
            if app.caught_up:
                break
        await pilot.pause()
        return fix_svg(app.export_screenshot(title="lstm live"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="default: the last trained model")
    ap.add_argument("--text", default=RUNNING_EXAMPLE)
    ap.add_argument("--out", type=Path, default=Path("docs/live-ja.svg"))
    ap.add_argument("--size", type=int, nargs=2, default=(100, 32), metavar=("COLUMNS", "ROWS"))
    ap.add_argument("--layer", type=int, default=None)
    a = ap.parse_args()
    p = Predictor.load(paths.find_model(a.model))
    svg = asyncio.run(picture(p, a.text, tuple(a.size), a.layer))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(svg, encoding="utf-8")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
