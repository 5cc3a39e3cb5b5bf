"""How fast ``lstm live`` answers a key: from the keystroke to the updated suggestions.

For each text length (``--tokens``, default 200 and 1,000) the script takes that many
tokens of the bundled corpus in the model's language, as one paragraph (no line breaks:
the text area's longest line and the tokenizer's whole line, the worst case) or with
``--lines`` in the corpus's own lines, and types the next ``--keys`` characters of the
corpus at its end, one at a time. Per key, side by side in one run:

- ``session (library)``: :meth:`lstmcli.session.Session.update` on the text before the
  cursor and the numbers of the gates and memory panels (:mod:`lstmcli.liveview`): the
  tokenizer, the re-run of the changed tokens, the ranking, the panels' maths;
- ``app: key to suggestions``: the app, headless, from sending the key to the new
  suggestions set on their widget (Textual's key handling, the text area's edit, the
  update, which runs inside the edit);
- ``app: key to frame``: to the first frame the screen hands to its driver after that:
  the drawing of the text area, the strip and the status line (all panels shown; they
  follow in the next frame);
- ``to the end after a mid-text key``: a key typed in the middle of the text, then the
  cursor moved back to the end, timed from the move: the suggestions there need the half
  after the edit re-run, in pieces of :data:`lstmcli.live.app.BUDGET` tokens between which
  keys are handled; no target;
- ``tmux: key to screen`` (``--tmux``): a real terminal: ``lstm live`` in tmux,
  ``send-keys``, then ``capture-pane`` polled until the suggestion strip changes. Each tmux
  call is a new client process (a few ms), so this is an upper bound.

It prints p50 and p95 per case against the targets (p95 ≤ 20 ms at 200 tokens, ≤ 50 ms
at 1,000; 2 cores).

``--paste`` measures instead the keys typed after a 1 MB paste: the text of
``bench/abuse_live.py --case paste`` (about a megabyte of mixed Japanese and English lines
of the bundled corpora, drawn with the same ``--seed``) and its 40 keys, typed at the end,
per key ``session (library)`` (the update and both panels, with the session's sums, as the
app draws them) and ``app: key to suggestions``. ``--compare DIR`` runs the same in a child
process on the lstmcli of another source tree and prints the two side by side (the tmux
measure of this case is ``bench/abuse_live.py --case paste``, which prints p50 / p95).
Run::

    .venv/bin/python bench/bench_live.py --model ja.safetensors --tmux
    .venv/bin/python bench/bench_live.py --model en.safetensors --tokens 200 --keys 60 --lines
    .venv/bin/python bench/bench_live.py --model mixed.safetensors --paste --compare /tmp/old
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lstmcli import liveview, paths
from lstmcli.live.app import make_app
from lstmcli.live.suggestions import Suggestions
from lstmcli.predict import Predictor
from lstmcli.session import Session

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {200: 0.020, 1000: 0.050}  # p95, seconds
SIZE = (120, 40)


def corpus_text(p: Predictor, tokens: int, keys: int, lines: bool = False) -> tuple[str, str]:
    """About ``tokens`` tokens (with the leading ``<eos>``) of the bundled corpus, as one
    paragraph or (``lines``) in the corpus's lines, and the ``keys`` characters that follow
    them there."""
    ja = p.tokenizer.name in ("ja", "ja-phrase")
    name = "mari-ja.txt" if ja else "tales-en.txt"
    rows: list[list[str]] = []
    n = 0
    for line in (ROOT / "corpora" / name).read_text(encoding="utf-8").splitlines():
        rows.append(p.tokenizer.tokenize_line(line))
        n += len(rows[-1]) + lines  # each line ends with <eos>
        if n >= tokens + keys:
            break
    else:
        raise SystemExit(f"the corpus has fewer than {tokens + keys} tokens")
    if not lines:
        rows = [[t for row in rows for t in row]]
    text, left = [], tokens - 1
    for k, row in enumerate(rows):
        if left <= len(row):
            head = p.tokenizer.join_line(row[:left])
            rest = (
                p.tokenizer.join_line(row)[len(head) :]
                + "\n"
                + "\n".join(p.tokenizer.join_line(r) for r in rows[k + 1 :])
            )
            return "\n".join([*text, head]), rest[:keys].replace("\n", " ")
        text.append(p.tokenizer.join_line(row))
        left -= len(row) + 1
    raise SystemExit("the corpus ran out")


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs), q))


def session_latencies(p: Predictor, text: str, keys: str) -> list[float]:
    s = Session(p, 5)
    L = p.config.num_layers - 1
    s.update(text)
    # the panels read the whole text through the session's sums (an older lstmcli, run by
    # --compare, has none: its panels sum the whole text at every key)
    kw = {"stats": s.stats} if hasattr(s, "stats") else {}
    draw = liveview.memory if p.config.cell == "lstm" else liveview.gates
    draw(s.tape, list(s.tokens), L, **kw)  # as the app draws the panels once it has read
    out = []
    for n in range(1, len(keys) + 1):
        t0 = time.perf_counter()
        u = s.update(text + keys[:n])
        toks = list(u.tokens)
        liveview.gates(s.tape, toks, L, **kw)
        if p.config.cell == "lstm":
            liveview.memory(s.tape, toks, L, **kw)
        out.append(time.perf_counter() - t0)
    return out


def paste_text(seed: int) -> tuple[str, str]:
    """The text ``bench/abuse_live.py --case paste --seed SEED`` pastes, and its keys."""
    sys.path.insert(0, str(ROOT / "bench"))
    from abuse_live import mixed_text

    rng = random.Random(f"{seed}-paste")
    text = mixed_text(1_000_000, rng)
    return text, "".join(rng.choice("あいうえおかきくけこabcdefghij ") for _ in range(40))


def paste_rows(p: Predictor, seed: int) -> dict[str, list[float]]:
    """Per key after the paste: the library, and the app from the key to the suggestions."""
    text, keys = paste_text(seed)
    return {
        "session (library)": session_latencies(p, text, keys),
        "app: key to suggestions": [a for a, _ in app_latencies(p, text, keys)],
    }


def paste_main(a, model: Path, p: Predictor) -> None:
    rows = paste_rows(p, a.seed)
    if a.json:
        print(json.dumps(rows))
        return
    sides = {"this tree": rows}
    if a.compare is not None:
        env = {**os.environ, "PYTHONPATH": str(a.compare.resolve())}
        cmd = [sys.executable, __file__, "--paste", "--json", "--model", str(model),
               "--seed", str(a.seed)]  # fmt: skip
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        sides = {str(a.compare): json.loads(out.splitlines()[-1]), **sides}
    text, _ = paste_text(a.seed)
    n_tok = len(p.encode(text).ids)
    print(f"after a paste of {len(text.encode('utf-8')):,} bytes ({n_tok:,} tokens): ms per key")
    head = "".join(f"{side[-24:]:>26}" for side in sides)
    print(f"{'':<28}{head}")
    print(f"{'case':<28}" + f"{'p50 / p95':>26}" * len(sides))
    for name in rows:
        cells = "".join(
            f"{statistics.median(xs[name]) * 1000:>16.1f} / {pct(xs[name], 95) * 1000:>6.1f}"
            for xs in sides.values()
        )
        print(f"{name:<28}{cells}")


async def _settle(pilot, app, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout  # a long text is read in many pieces
    while time.monotonic() < deadline:
        await pilot.pause()
        if app.caught_up:
            return
    raise RuntimeError("the app never caught up with the text")


async def _app_latencies(
    p: Predictor, text: str, keys: str, mid: bool
) -> list[tuple[float, float]]:
    app = make_app(p, text=text, cursor_blink=False)
    shows: list[float] = []
    frames: list[float] = []
    show = Suggestions.show

    def timed_show(self, items, partial):
        shows.append(time.perf_counter())
        show(self, items, partial)

    display = app._display

    def timed_display(screen, update):
        frames.append(time.perf_counter())
        display(screen, update)

    Suggestions.show = timed_show
    app._display = timed_display
    out = []
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _settle(pilot, app)
            for ch in keys:
                key = ch if ch != " " else "space"
                if mid:  # type in the middle, then time the move back to the end
                    doc = app.editor.document
                    row = doc.line_count // 2
                    app.editor.move_cursor((row, len(doc[row]) // 2))
                    await _settle(pilot, app)
                    await pilot.press(key)
                    await _settle(pilot, app)
                t0 = time.perf_counter()
                if mid:
                    app.editor.move_cursor(app.editor.document.end)
                else:
                    await pilot.press(key)
                await _settle(pilot, app)
                for _ in range(200):  # the frame that shows the new suggestions
                    if frames and shows and frames[-1] >= shows[-1]:
                        break
                    await pilot.pause(0.001)
                if shows[-1] < t0:
                    continue  # nothing new to show
                shown = shows[-1]
                out.append((shown - t0, min(f for f in frames if f >= shown) - t0))
    finally:
        Suggestions.show = show
    return out


def app_latencies(
    p: Predictor, text: str, keys: str, mid: bool = False
) -> list[tuple[float, float]]:
    """Per key: (seconds to the suggestions set on their widget, to the next frame)."""
    return asyncio.run(_app_latencies(p, text, keys, mid))


def _pane(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip


def _strip(screen: str) -> str:
    return "\n".join(line for line in screen.splitlines() if "Tab " in line or "Alt+" in line)


def tmux_latencies(model: Path, text: str, keys: str) -> list[float]:
    """Key to changed suggestion strip in a real terminal; keys that leave it as it was
    are skipped."""
    session = f"lstm-bench-{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "text.txt"
        src.write_text(text, encoding="utf-8")
        cmd = f"{sys.executable} -m lstmcli live {src} --model {model}"
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", str(SIZE[0]),
                        "-y", str(SIZE[1]), cmd], check=True)  # fmt: skip
        out = []
        try:
            deadline = time.monotonic() + 60
            while "next word" not in _pane(session) and "completing" not in _pane(session):
                if time.monotonic() > deadline:
                    raise RuntimeError("lstm live did not start:\n" + _pane(session))
                time.sleep(0.05)
            time.sleep(0.5)
            for ch in keys:
                before = _strip(_pane(session))
                t0 = time.perf_counter()
                subprocess.run(["tmux", "send-keys", "-t", session, "-l", ch], check=True)
                while time.perf_counter() - t0 < 1.0:
                    if _strip(_pane(session)) != before:
                        out.append(time.perf_counter() - t0)
                        break
                time.sleep(0.05)
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], check=False)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="default: the last trained model")
    ap.add_argument("--tokens", type=int, nargs="+", default=[200, 1000])
    ap.add_argument("--keys", type=int, default=40, help="characters typed per text")
    ap.add_argument("--tmux", action="store_true", help="also measure in a real terminal")
    ap.add_argument("--lines", action="store_true", help="keep the corpus's line breaks")
    ap.add_argument("--paste", action="store_true", help="the keys after a 1 MB paste")
    ap.add_argument("--seed", type=int, default=0, help="of the paste (as abuse_live.py's)")
    ap.add_argument("--compare", type=Path, help="with --paste: another source tree too")
    ap.add_argument("--json", action="store_true", help="with --paste: the times as JSON")
    a = ap.parse_args()
    model = paths.find_model(a.model)
    p = Predictor.load(model)
    if a.paste:
        paste_main(a, model, p)
        return
    cfg = p.config
    print(f"{model.name}: {cfg.cell} {cfg.num_layers}×{cfg.hidden_size}, V = {cfg.vocab_size:,}, "
          f"{p.tokenizer.name} tokenizer; OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, {os.cpu_count()} cpus")  # fmt: skip
    print(f"{'case':<44} {'tokens':>6} {'keys':>5} {'p50 ms':>8} {'p95 ms':>8} {'target':>8}")
    for n in a.tokens:
        text, keys = corpus_text(p, n, a.keys, a.lines)
        n_tok = len(p.encode(text).ids)
        rows = {"session (library)": session_latencies(p, text, keys)}
        for name, mid in (("app", False), ("to the end after a mid-text key", True)):
            pairs = app_latencies(p, text, keys, mid)
            rows[f"{name}: key to suggestions"] = [a for a, _ in pairs]
            rows[f"{name}: key to frame"] = [b for _, b in pairs]
        if a.tmux and shutil.which("tmux"):
            rows["tmux: key to screen"] = tmux_latencies(model, text, keys)
        for name, xs in rows.items():
            target = TARGETS.get(n)
            goal = "" if target is None or "mid" in name else f"≤ {target * 1000:.0f}"
            p95 = pct(xs, 95) * 1000
            ok = "" if not goal else ("  ok" if p95 <= target * 1000 else "  over")
            print(f"{name:<44} {n_tok:>6} {len(xs):>5} {statistics.median(xs) * 1000:>8.1f} "
                  f"{p95:>8.1f} {goal:>8}{ok}")  # fmt: skip


if __name__ == "__main__":
    main()
