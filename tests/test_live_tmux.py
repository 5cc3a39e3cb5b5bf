"""`lstm live` in a real terminal: tmux runs it, send-keys types, capture-pane reads."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("textual")
if shutil.which("tmux") is None:
    pytest.skip("tmux is not installed", allow_module_level=True)

from lstmcli.session import Suggestion, insertion
from lstmcli.tokenize import get_tokenizer

ROOT = Path(__file__).resolve().parents[1]


_SERVERS = itertools.count()


class Tmux:
    """A private tmux server with one 100×30 window running a command."""

    def __init__(self, command: str, env: dict[str, str]) -> None:
        self.socket = f"lstm-test-{os.getpid()}-{next(_SERVERS)}"  # one server per window
        self.env = env
        self("new-session", "-d", "-s", "t", "-x", "100", "-y", "30", command)

    def __call__(self, *args: str) -> str:
        r = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                           env=self.env)  # fmt: skip
        if r.returncode != 0:
            raise AssertionError(f"tmux {args[0]} failed: {r.stderr.strip()}")
        return r.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "t")

    def keys(self, *keys: str, literal: bool = False) -> None:
        self("send-keys", "-t", "t", *(["-l"] if literal else []), *keys)

    def wait_for(self, text: str, present: bool = True, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if (text in screen) == present:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} {'never' if present else 'still'} on screen:\n"
                                     f"{screen}")  # fmt: skip
            time.sleep(0.05)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       env=self.env)  # fmt: skip


@pytest.fixture
def live(trained_en, tmp_path):
    env = {**os.environ, "LSTM_HOME": str(tmp_path / "home"), "TERM": "xterm-256color",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    out = tmp_path / "typed.txt"
    cmd = (f"{sys.executable} -m lstmcli live --model {trained_en} --out {out}; "
           "echo EXIT=$?; sleep 60")  # fmt: skip
    t = Tmux(cmd, env)
    yield t, out
    t.close()


def pick_word(screen: str, key: str) -> str:
    """The word the suggestion strip shows after ``key``."""
    line = next(line for line in screen.splitlines() if f"{key} " in line)
    return line.split(key, 1)[1].split()[0]


def test_typing_accepting_panels_saving_and_quitting_in_tmux(live):
    t, out = live
    t.wait_for("next word")
    t.keys("Mari likes the ", literal=True)
    screen = t.wait_for("4 tokens")  # <eos> Mari <unk> the
    first, words = pick_word(screen, "Tab"), get_tokenizer("word")
    t.keys("Tab")
    screen = t.wait_for("5 tokens")
    text = typed(words, "Mari likes the ", first)
    assert text.rstrip() in screen
    second = pick_word(screen, "Alt+2")
    t.keys("M-2")  # Alt+2, sent as Esc 2: the second suggestion
    t.wait_for("6 tokens")
    text = typed(words, text, second)
    assert "gates · layer" in t.screen()
    t.keys("F2")
    t.wait_for("gates · layer", present=False)
    t.keys("F3")
    t.wait_for("memory · layer", present=False)
    t.keys("C-s")
    deadline = time.monotonic() + 30
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out.read_text(encoding="utf-8") == text
    t.keys("C-q")
    t.wait_for("EXIT=0")


def typed(tokenizer, before: str, word: str) -> str:
    delete, insert = insertion(tokenizer, before, Suggestion(word, 0.5))
    return before[: len(before) - delete] + insert


def test_escape_quits_in_tmux(live):
    t, _ = live
    t.wait_for("next word")
    t.keys("Escape")
    t.wait_for("EXIT=0")


def test_stderr_redirected_says_it_needs_a_terminal(trained_en, tmp_path):
    """Textual draws on stderr: sent to a file, the screen would go there, not to tmux."""
    env = {**os.environ, "LSTM_HOME": str(tmp_path / "home"), "TERM": "xterm-256color",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    err = tmp_path / "err.txt"
    t = Tmux(f"{sys.executable} -m lstmcli live --model {trained_en} 2>{err}; echo EXIT=$?; "
             "sleep 60", env)  # fmt: skip
    try:
        t.wait_for("EXIT=2")
    finally:
        t.close()
    assert "lstm live needs a terminal" in err.read_text(encoding="utf-8")
