"""``lstm live`` under abuse in a real terminal: tmux runs it, send-keys types, figures out.

Each case starts the app afresh in a private tmux server (``-L``, its own config:
``remain-on-exit`` so a dead pane keeps its exit status, ``window-size manual`` so
``resize-window`` holds). Textual draws on stderr, so stderr stays the terminal (``lstm
live 2>FILE`` says it needs one): tmux's ``pipe-pane`` records all the app writes there,
stdout and stderr, to a file in which a traceback is looked for:

1. ``paste``: about 1 MB of mixed Japanese and English lines from the bundled corpora,
   pasted at once (``load-buffer`` + ``paste-buffer -p -r``: bracketed, newlines kept),
   then Ctrl+S and the saved file compared with the text pasted; then keys typed at the
   end of the pasted text, each timed as ``bench/bench_live.py --tmux`` times them: from
   ``send-keys`` to the changed suggestion strip in ``capture-pane`` (each tmux call a new
   client process, so an upper bound; keys that leave the strip as it was are skipped);
2. ``keys``: random keys in bursts (one tmux call per burst): literal text (ASCII, kana,
   kanji, emoji with ZWJ sequences and skin tones, combining marks), Ctrl+A…Z but the quit
   key Ctrl+Q, Tab, Enter, Escape, arrows, Home/End, PageUp/PageDown, Backspace, Delete,
   F1…F12 and Alt combinations. Escape is a quit key: pressed twice on the same text (or
   once on a saved one) it ends the app with status 0, as documented; such a quit is
   counted and the app started again;
3. ``resize``: literal text typed while the window is resized, to the corners 20×5 and
   300×100 and random sizes between, then the saved file compared with what was typed;
4. ``save``: Ctrl+S into a read-only folder (``chmod 555``; run as root, the app runs as
   ``nobody`` so the mode holds) must show a one-line error and keep the app (and a quit
   key must still warn that the text is not saved); Ctrl+S into a writable one must write
   exactly the text typed, which the editor's lines on the screen must show too.

After each case the app must be alive and answer: a probe word typed at the end of the
text (F7 selects all, End goes to its end) must bring ``completing WORD`` to the strip;
no ``Traceback`` on the pane or in what the app wrote. The table gives per case the count, the
outcome (survived, crashed, hung), lost text, the latency where measured, the app's peak
RSS (``VmHWM``) and the command that runs that case again. Without ``--model`` a tiny
model (``--preset tiny``, Japanese tokenizer) is trained on mixed lines of both corpora in
a temporary folder, with ``LSTM_HOME`` there. Run::

    .venv/bin/python bench/abuse_live.py
    .venv/bin/python bench/abuse_live.py --quick
    .venv/bin/python bench/abuse_live.py --case paste --model ja.safetensors
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shlex
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZE = (100, 30)
PROBE = "ケーキ"  # typed after each case: the strip must then say "completing ケーキ"
READY = ("next word", "completing")  # a suggestion strip title
PROMPT = "Enter: OK · Esc: cancel"  # the file name prompt is open
CASES = ("paste", "keys", "resize", "save")

# what the random keys draw from
ASCII = string.ascii_letters + string.digits + " .,!?'\"-()[]{}/\\;:@#$%^&*"
KANA = "".join(map(chr, [*range(0x3041, 0x3094), *range(0x30A1, 0x30F4)])) + "。、ー"
KANJI = "麻里玲奈僕愛食今日明雨空海山川花猫犬本店駅電車時間東京大阪学校先生友達家族"
EMOJI = [
    "😀", "🎂", "🍰", "👍", "🐈", "🀄", "🉐",
    "👍🏽", "👋🏿", "🧑🏻‍🍳",  # skin tones
    "👨‍👩‍👧‍👦", "🏳️‍🌈", "🧑‍💻", "👩‍❤️‍💋‍👨", "🐈‍⬛",  # ZWJ sequences
    "❤️", "1️⃣", "🇯🇵", "🇬🇧",  # variation selectors, keycaps, flags
]  # fmt: skip
COMBINING = ["e\u0301", "a\u0308\u0323", "n\u0303", "か\u3099", "は\u309a", "Z\u0336\u0335\u0334",
             "\u0301", "o\u0338", "ก\u0e34\u0e48"]  # fmt: skip
NAMED = ["Tab", "Enter", "Escape", "Up", "Down", "Left", "Right", "Home", "End", "PageUp",
         "PageDown", "BSpace", "DC", *(f"F{n}" for n in range(1, 13))]  # fmt: skip
CTRL = [f"C-{c}" for c in "abcdefghijklmnoprstuvwxyz"]  # all but C-q, the quit key
ALT = [f"M-{c}" for c in "abcxyz123456789"] + ["M-Enter", "M-BSpace", "M-Left", "M-Right"]


def corpus_lines(name: str) -> list[str]:
    return [
        line
        for line in (ROOT / "corpora" / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def mixed_text(nbytes: int, rng: random.Random) -> str:
    """Lines of both bundled corpora, drawn at random, to about ``nbytes`` of UTF-8."""
    ja, en = corpus_lines("mari-ja.txt"), corpus_lines("tales-en.txt")
    lines, n = [], 0
    while n < nbytes:
        line = rng.choice(ja if rng.random() < 0.5 else en)
        lines.append(line)
        n += len(line.encode("utf-8")) + 1
    return "\n".join(lines)


def literal(rng: random.Random) -> str:
    """A short piece of text to type: ASCII, kana, kanji, an emoji or a combining mark."""
    r = rng.random()
    if r < 0.35:
        return "".join(rng.choice(ASCII) for _ in range(rng.randint(1, 6)))
    if r < 0.6:
        return "".join(rng.choice(KANA) for _ in range(rng.randint(1, 4)))
    if r < 0.75:
        return "".join(rng.choice(KANJI) for _ in range(rng.randint(1, 3)))
    if r < 0.9:
        return rng.choice(EMOJI)
    return rng.choice(COMBINING)


def graphemes(text: str) -> int:
    """Keys a text counts as: characters, less the combining marks, joiners and selectors
    that go with the one before them (close enough for a count of keys typed)."""
    joins = re.findall(r"[\u0300-\u036f\u0e34-\u0e4e\u3099\u309a\u200d\ufe0f\u20e3"
                       r"\U0001f3fb-\U0001f3ff]", text)  # fmt: skip
    return max(1, len(text) - len(joins))


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs), q))


class Live:
    """``lstm live`` in a private tmux server: one window, its output recorded."""

    def __init__(self, work: Path, model: Path, name: str, *args: str, as_user: bool) -> None:
        self.work, self.name = work, name
        self.socket = f"lstm-abuse-{os.getpid()}-{name}"
        self.err = work / f"{name}.out"  # all the app writes to the terminal
        conf = work / "tmux.conf"
        # window-size manual here would end tmux 3.3a's server: it is set after the session
        conf.write_text("set -g remain-on-exit on\nset -g history-limit 100\n"
                        "set -sg escape-time 0\n")  # fmt: skip
        self.env = {**os.environ, "LSTM_HOME": str(work / "home"), "HOME": str(work / "home"),
                    "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1",
                    "TERM": "xterm-256color"}  # fmt: skip
        self.env.pop("LSTM_MODEL", None)
        drop = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        cmd = [*(drop if as_user else []), sys.executable, "-m", "lstmcli", "live",
               "--model", str(model), *args]  # fmt: skip
        # stderr stays the terminal (Textual draws there); pipe-pane records the output
        self.command = f"cd {shlex.quote(str(work))} && exec {shlex.join(cmd)}"
        self.record = f"cat >> {shlex.quote(str(self.err))}"
        self.tmux("-f", str(conf), "new-session", "-d", "-s", "t", "-x", str(SIZE[0]),
                  "-y", str(SIZE[1]), self.command, ";", "pipe-pane", "-t", "t", self.record,
                  ";", "set", "-g", "window-size", "manual")  # fmt: skip
        self.pid = int(self.tmux("display-message", "-p", "-t", "t", "#{pane_pid}"))
        self.hwm = 0

    def tmux(self, *args: str, stdin: bytes | None = None) -> str:
        r = subprocess.run(["tmux", "-L", self.socket, *args], input=stdin,
                           capture_output=True, env=self.env, check=True)  # fmt: skip
        return r.stdout.decode("utf-8", "replace")

    def restart(self) -> None:
        """Start the app again in the same pane (after a quit)."""
        self.peak()
        self.tmux("respawn-pane", "-k", "-t", "t", self.command, ";", "pipe-pane", "-t", "t",
                  self.record)  # fmt: skip
        self.pid = int(self.tmux("display-message", "-p", "-t", "t", "#{pane_pid}"))

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def dead(self) -> int | None:
        """The exit status once the app has ended, else None."""
        dead, status, signal = self.tmux("display-message", "-p", "-t", "t",
                                         "#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}"
                                         ).strip().split(":")  # fmt: skip
        if dead != "1":
            return None
        return int(status) if status else 128 + int(signal or 0)  # as a shell says it

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.burst([(literal, k) for k in keys])

    def burst(self, keys: list[tuple[bool, str]]) -> None:
        """Send ``(literal, key)`` pairs in one tmux call (``;`` separates its commands, so
        a literal ending in one has it escaped)."""
        args: list[str] = []
        for lit, key in keys:
            key = key[:-1] + "\\;" if key.endswith(";") else key
            args += [*([";"] if args else []), "send-keys", "-t", "t", *(["-l"] if lit else []),
                     "--", key]  # fmt: skip
        self.tmux(*args)

    def paste(self, text: str) -> None:
        self.tmux("load-buffer", "-b", "abuse", "-", stdin=text.encode("utf-8"))
        self.tmux("paste-buffer", "-p", "-r", "-d", "-b", "abuse", "-t", "t")

    def resize(self, columns: int, lines: int) -> None:
        self.tmux("resize-window", "-t", "t", "-x", str(columns), "-y", str(lines))

    def peak(self) -> int:
        """The app's peak resident memory so far, in kB (VmHWM; kept across restarts)."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
            self.hwm = max(self.hwm, int(re.search(r"VmHWM:\s+(\d+)", status).group(1)))
        except (OSError, AttributeError):
            pass
        return self.hwm

    def traceback(self) -> str | None:
        """The end of a Python traceback the app wrote to the terminal, if any."""
        screen = self.tmux("capture-pane", "-p", "-t", "t", "-S", "-")
        if "Traceback" in screen:
            return screen[screen.index("Traceback") :][-3000:]
        try:
            with open(self.err, "rb") as f:
                data = f.read()
        except OSError:
            return None
        at = data.rfind(b"Traceback")
        if at < 0:
            return None
        text = data[at : at + 20000].decode("utf-8", "replace")
        return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]|\x1b[()][0-9A-Z]", "", text)[:3000]

    def wait(self, test, timeout: float) -> str | None:
        """Poll the screen until ``test(screen)``; None on a timeout or a dead app."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if test(screen):
                return screen
            if time.monotonic() > deadline or self.dead() is not None:
                return None
            time.sleep(0.05)

    def settle(self, quiet: float = 2.0, timeout: float = 120.0) -> None:
        """Wait until the screen has not changed for ``quiet`` seconds: the keys sent have
        been handled."""
        deadline, last, since = time.monotonic() + timeout, None, time.monotonic()
        while time.monotonic() < deadline and self.dead() is None:
            screen = self.screen()
            if screen != last:
                last, since = screen, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.1)

    def ready(self, timeout: float = 60.0) -> bool:
        """The app shows suggestions for the text it holds (not still reading it)."""
        return self.wait(lambda s: any(r in s for r in READY) and "reading…" not in s,
                         timeout) is not None  # fmt: skip

    def close(self) -> None:
        self.peak()
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       env=self.env)  # fmt: skip


@dataclass
class Row:
    case: str
    count: str
    outcome: str = "survived"
    lost: str = "no"
    latency: str = ""
    rss_mb: float = 0.0
    command: str = ""
    notes: list[str] = field(default_factory=list)


def probe(live: Live, timeout: float) -> bool:
    """Whether the app answers: the probe word typed at the end brings its completions."""
    live.settle(timeout=timeout)
    if PROMPT in live.screen():
        live.keys("Escape")  # a file name prompt left open: cancel it
        live.wait(lambda s: PROMPT not in s, 10)
    for key in ("F7", "End", "Enter"):  # select all, to the end of the text, a new line
        live.keys(key)
        live.settle(0.5, timeout)
    live.keys(PROBE, literal=True)
    return live.wait(lambda s: f"completing {PROBE}" in s, timeout) is not None


def verdict(live: Live, row: Row, timeout: float) -> None:
    """Alive, answering, no traceback: fill in the row's outcome and memory."""
    status = live.dead()
    if status is None and not probe(live, timeout):
        status = live.dead()
        row.outcome = "hung" if status is None else "crashed"
        if status is None:
            row.notes.append(f"no answer to the probe within {timeout:.0f} s:\n{live.screen()}")
    if status is not None:
        row.outcome = "crashed"
        row.notes.append(f"exit status {status}; the screen:\n{live.screen()}")
    traceback = live.traceback()
    if traceback is not None:
        row.outcome = "crashed"
        row.notes.append("traceback:\n" + traceback)
    row.rss_mb = live.peak() / 1024


def save_and_read(live: Live, out: Path, timeout: float = 120.0) -> str | None:
    """Ctrl+S, then the saved file's text once the app says it saved it."""
    before = out.stat().st_mtime_ns if out.exists() else None
    live.keys("C-s")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and live.dead() is None:
        if out.exists() and out.stat().st_mtime_ns != before:
            time.sleep(0.2)  # the rename is atomic; the notice follows
            return out.read_text(encoding="utf-8")
        time.sleep(0.05)
    return None


def first_difference(a: str, b: str) -> str:
    n = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return (f"{len(a):,} vs {len(b):,} characters, first difference at {n:,}: "
            f"{a[max(0, n - 20) : n + 20]!r} vs {b[max(0, n - 20) : n + 20]!r}")  # fmt: skip


def strip_of(screen: str) -> str:
    return "\n".join(line for line in screen.splitlines() if "Tab " in line or "Alt+" in line)


# ---- the cases


def case_paste(live: Live, a, rng: random.Random, row: Row) -> None:
    text = mixed_text(a.paste_bytes, rng)
    out = live.work / "rw" / "paste.txt"
    row.count = f"{len(text.encode('utf-8')):,} bytes, {len(text):,} chars"
    t0 = time.perf_counter()
    live.paste(text)
    # the status line counts the tokens read once the model has caught up
    caught = live.wait(
        lambda s: "reading…" not in s and re.search(r"· (\d[\d,]{3,}) tokens", s), a.timeout
    )
    if caught is None:
        return
    row.notes.append(f"paste to suggestions: {time.perf_counter() - t0:.1f} s")
    saved = save_and_read(live, out)
    if saved != text:
        row.lost = "yes"
        found = "nothing" if saved is None else first_difference(saved, text)
        row.notes.append(f"saved after the paste: {found}")
    keys = "".join(rng.choice("あいうえおかきくけこabcdefghij ") for _ in range(a.latency_keys))
    times, skipped = [], 0
    for ch in keys:
        before = strip_of(live.screen())
        t0 = time.perf_counter()
        live.keys(ch, literal=True)
        while time.perf_counter() - t0 < a.timeout:
            if strip_of(live.screen()) != before:
                times.append(time.perf_counter() - t0)
                break
        else:
            skipped += 1
        live.ready(a.timeout)
        time.sleep(0.05)
    if times:
        row.latency = f"{statistics.median(times) * 1000:.0f} / {pct(times, 95) * 1000:.0f}"
        row.notes.append(
            f"latency: send-keys to the changed strip in capture-pane, over {len(times)} keys "
            "typed after the paste" + (f" ({skipped} left the strip as it was)" if skipped else "")
        )


def case_keys(live: Live, a, rng: random.Random, row: Row) -> None:
    sent = bursts = quits = 0
    while sent < a.keys:
        burst = []
        for _ in range(rng.randint(1, 40)):
            r = rng.random()
            if r < 0.55:
                burst.append((True, literal(rng)))
            elif r < 0.72:
                burst.append((False, rng.choice(NAMED)))
            elif r < 0.88:
                burst.append((False, rng.choice(CTRL)))
            else:
                burst.append((False, rng.choice(ALT)))
        live.burst(burst)
        sent += sum(graphemes(k) if lit else 1 for lit, k in burst)
        bursts += 1
        time.sleep(0.02)
        live.peak()
        if sent >= a.keys:
            live.settle(timeout=a.timeout)  # the keys still queued are handled
        status = live.dead()
        # Escape twice on the same text quits, as documented; a Ctrl+C sent while the app
        # is ending, the terminal given back, is SIGINT (130) to what is left of it
        if status in (0, 130) and live.traceback() is None:
            quits += 1
            live.restart()
            live.ready()
        elif status is not None:
            row.notes.append(f"ended after {sent:,} keys")
            break
    row.count = f"{sent:,} keys in {bursts:,} bursts"
    if quits:
        row.notes.append(f"{quits} quits by Escape (as documented), the app started again")
    row.lost = "n/a"


CORNERS = [(20, 5), (300, 100), (20, 100), (300, 5)]


def case_resize(live: Live, a, rng: random.Random, row: Row) -> None:
    out = live.work / "rw" / "resize.txt"
    typed = ""
    for n in range(a.resizes):
        piece = "".join(literal(rng) for _ in range(rng.randint(1, 4)))
        live.keys(piece, literal=True)
        typed += piece
        if rng.random() < 0.1:
            live.keys("Enter")
            typed += "\n"
        if rng.random() < 0.1:
            live.keys(rng.choice(["C-s", "F2", "F3", "F4"]))  # a notice, the panels, small
        w, h = CORNERS[n % 4] if n % 3 == 0 else (rng.randint(20, 300), rng.randint(5, 100))
        live.resize(w, h)
        time.sleep(0.02)
        if live.dead() is not None:
            row.notes.append(f"ended after {n + 1} resizes")
            break
    row.count = f"{a.resizes:,} resizes, {graphemes(typed):,} keys"
    live.resize(*SIZE)
    if not live.ready(a.timeout):
        return
    saved = save_and_read(live, out)
    if saved != typed:
        row.lost = "yes"
        row.notes.append("saved: " + ("nothing" if saved is None
                                      else first_difference(saved, typed)))  # fmt: skip


def editor_lines(screen: str) -> list[str]:
    """The text area's lines on the screen: inside its round border, trailing blanks cut."""
    rows = []
    for line in screen.splitlines()[2:]:
        if line.startswith("╰"):
            break
        rows.append(line[2:].split("│")[0].rstrip())  # the border, a cell of padding
    while rows and not rows[-1]:
        rows.pop()
    return rows


def as_shown(text: str) -> str:
    """``text`` without the format characters (ZWJ, ZWNJ), which tmux keeps in a cluster
    it draws as one and drops elsewhere."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def shows(screen: str, typed: str) -> bool:
    """Whether the text area on ``screen`` shows ``typed`` (the last line may go on with
    the dim rest of the first suggestion)."""
    rows = [as_shown(x) for x in editor_lines(screen)]
    want = [as_shown(x).rstrip() for x in typed.split("\n")]
    return (len(rows) == len(want) and rows[:-1] == want[:-1]
            and rows[-1].startswith(want[-1]))  # fmt: skip


def notice(screen: str, start: str) -> str:
    """The text of the notice (Textual's toast, its lines after a ``▌``) that has ``start``."""
    lines = screen.splitlines()
    top = next(i for i, x in enumerate(lines) if start in x)
    col = lines[top].rindex("▌", 0, lines[top].index(start))
    parts = []
    for x in lines[top:]:
        if len(x) <= col or x[col] != "▌" or not x[col + 1 :].strip(" │╯─"):
            break
        parts.append(x[col + 1 :].strip(" │╯─"))
    return " ".join(parts)


def case_save(live: Live, a, rng: random.Random, row: Row) -> None:
    ro, rw = live.work / "ro", live.work / "rw"
    out = rw / "saved.txt"
    typed, errors, saves = "", 0, 0
    for n in range(a.saves):
        line = " ".join(literal(rng) for _ in range(rng.randint(2, 4)))
        if n:
            live.keys("Enter")
        live.keys(line, literal=True)
        typed += ("\n" if typed else "") + line
        if not live.ready(a.timeout):
            break
        # into the read-only folder: the first Ctrl+S asks where, later ones save to out,
        # whose folder is made read-only for the while
        if n == 0:
            live.keys("C-s")
            live.wait(lambda s: PROMPT in s, 10)
            live.keys(str(ro / "saved.txt"), literal=True)
            live.keys("Enter")
        else:
            rw.chmod(0o555)
            live.keys("C-s")
        shown = live.wait(lambda s: "cannot write" in s, 10)
        rw.chmod(0o755)
        if shown is None:
            row.notes.append(f"save {n}: no error shown for the read-only folder:\n"
                             + live.screen())  # fmt: skip
            break
        errors += 1
        if n == 0:
            row.notes.append("the error shown: " + notice(shown, "cannot write"))
        if any(ro.iterdir()):
            row.lost = "yes"
            row.notes.append(f"save {n}: files appeared in the read-only folder")
        live.wait(lambda s: "cannot write" not in s, 15)  # the notice goes
        live.keys("C-q")  # the text is not saved: the first quit key only warns
        if live.wait(lambda s: "not saved" in s, 10) is None:
            row.lost = "yes"
            row.notes.append(f"save {n}: Ctrl+Q after a failed save did not warn")
            break
        # into the writable folder
        before = out.stat().st_mtime_ns if out.exists() else None
        if n == 0:
            live.keys("C-s")
            live.wait(lambda s: PROMPT in s, 10)
            live.keys(str(out), literal=True)
            live.keys("Enter")
        else:
            live.keys("C-s")
        screen = live.wait(lambda s: "saved " in s and "characters to" in s, 30)
        saves += 1
        if out.exists() and out.stat().st_mtime_ns != before:
            saved = out.read_text(encoding="utf-8")
        else:
            saved = None
        if saved != typed:
            row.lost = "yes"
            row.notes.append(f"save {n}: " + ("nothing saved" if saved is None
                                              else first_difference(saved, typed)))  # fmt: skip
        if screen is None or not shows(screen, typed):
            row.lost = "yes"
            row.notes.append(f"save {n}: the screen shows {editor_lines(screen or '')!r}, "
                             f"typed {typed!r}")  # fmt: skip
        live.wait(lambda s: "characters to" not in s, 15)
    row.count = f"{errors} saves refused, {saves} saves"
    if errors < a.saves and row.outcome == "survived" and live.dead() is None:
        row.outcome = "no error shown"


RUN = {"paste": case_paste, "keys": case_keys, "resize": case_resize, "save": case_save}


def train(work: Path) -> Path:
    """A tiny Japanese-tokenizer model on mixed lines of both corpora, in ``work``."""
    rng = random.Random(0)
    lines = corpus_lines("mari-ja.txt")[:1200] + corpus_lines("tales-en.txt")[:1500]
    rng.shuffle(lines)
    corpus = work / "mixed.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = work / "mixed.safetensors"
    env = {**os.environ, "LSTM_HOME": str(work / "home"), "PYTHONPATH": str(ROOT),
           "OPENBLAS_NUM_THREADS": "1"}  # fmt: skip
    subprocess.run([sys.executable, "-m", "lstmcli", "train", str(corpus), "--preset", "tiny",
                    "--tokenizer", "ja", "--out", str(model), "--quiet"], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return model


def rerun(a, case: str) -> str:
    parts = [".venv/bin/python", "bench/abuse_live.py", "--case", case, "--seed", str(a.seed)]
    if a.model is not None:
        parts += ["--model", str(a.model)]
    if a.quick:
        parts.append("--quick")
    return shlex.join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None,
                    help="default: a tiny model trained here on both corpora")  # fmt: skip
    ap.add_argument("--case", choices=CASES, action="append", help="run only these cases")
    ap.add_argument("--quick", action="store_true", help="a small version of every case")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds the app may take to answer (default 120, quick 60)")  # fmt: skip
    a = ap.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("tmux is not installed")
    a.paste_bytes = 100_000 if a.quick else 1_000_000
    a.latency_keys = 10 if a.quick else 40
    a.keys = 500 if a.quick else 10_000
    a.resizes = 20 if a.quick else 200
    a.saves = 2 if a.quick else 5
    a.timeout = a.timeout or (60.0 if a.quick else 120.0)
    as_user = os.geteuid() == 0  # root writes into a chmod 555 folder: run as nobody
    work = Path(tempfile.mkdtemp(prefix="lstm-abuse-"))
    try:
        (work / "home").mkdir()
        (work / "rw").mkdir()
        (work / "ro").mkdir()
        model = a.model.resolve() if a.model is not None else train(work)
        if as_user:
            if a.model is not None:
                shutil.copy(model, work / model.name)
                model = work / model.name
            for p in [work, *work.rglob("*")]:
                os.chown(p, 65534, 65534)
        work.chmod(0o755)
        (work / "ro").chmod(0o555)
        print(f"model {model.name}; app run as {'nobody' if as_user else 'this user'}; "
              f"{os.cpu_count()} cpus; tmux {SIZE[0]}×{SIZE[1]}")  # fmt: skip
        rows = []
        for case in a.case or CASES:
            rng = random.Random(f"{a.seed}-{case}")
            args = [] if case == "save" else ["--out", str(work / "rw" / f"{case}.txt")]
            live = Live(work, model, case, *args, as_user=as_user)
            row = Row(case, "", command=rerun(a, case))
            try:
                if not live.ready():
                    row.outcome = "did not start"
                    row.notes.append(live.screen() + (live.traceback() or ""))
                else:
                    RUN[case](live, a, rng, row)
                    if row.outcome == "survived":
                        verdict(live, row, a.timeout)
            finally:
                live.close()
            rows.append(row)
            print(f"  {case}: {row.outcome}", flush=True)
        print_table(rows)
    finally:
        for p in [work, *work.rglob("*")]:
            if p.is_dir():
                p.chmod(0o755)
        shutil.rmtree(work, ignore_errors=True)


def print_table(rows: list[Row]) -> None:
    head = ("case", "count", "outcome", "lost text", "p50 / p95 ms", "peak RSS MB", "rerun")
    cells = [head] + [(r.case, r.count, r.outcome, r.lost, r.latency or "—",
                       f"{r.rss_mb:.0f}", r.command) for r in rows]  # fmt: skip
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    for c in cells:
        print("  ".join(f"{x:<{w}}" for x, w in zip(c, widths, strict=True)).rstrip())
    for r in rows:
        for note in r.notes:
            print(f"{r.case}: {note}")


if __name__ == "__main__":
    main()
