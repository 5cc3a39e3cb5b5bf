"""Small ``lstm train`` runs in child processes, for the reliability benchmarks
(``kill_train.py``, ``concurrent_out.py``): a short corpus, the command and its environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_corpus(path: Path, lines: int) -> Path:
    """The first ``lines`` lines of the bundled English corpus, written to ``path``."""
    text = (ROOT / "corpora" / "tales-en.txt").read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(text[:lines]) + "\n", encoding="utf-8")
    return path


def train_command(corpus: Path, out: Path, epochs: int, seed: int = 0, *extra: str) -> list[str]:
    """``lstm train`` of the tiny preset (``extra`` options added) on ``corpus`` into ``out``."""
    return [sys.executable, "-m", "lstmcli", "train", str(corpus), "--preset", "tiny", *extra,
            "--epochs", str(epochs), "--seed", str(seed), "--out", str(out), "--quiet"]  # fmt: skip


def environment(home: Path) -> dict[str, str]:
    """This environment with ``LSTM_HOME`` at ``home``, one BLAS thread and this lstmcli."""
    return {**os.environ, "LSTM_HOME": str(home), "OPENBLAS_NUM_THREADS": "1",
            "PYTHONPATH": str(ROOT)}  # fmt: skip
