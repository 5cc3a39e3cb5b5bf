"""Where models live, and how commands find the one ``lstm train`` wrote last.

- ``LSTM_HOME`` (default ``$XDG_DATA_HOME/lstmcli``, i.e. ``~/.local/share/lstmcli``)
  holds ``model.safetensors``, the default output of ``lstm train``, and ``last-model``,
  a one-line file with the path of the model that ``lstm train`` wrote last.
- ``predict``, ``trace``, ``eval`` and ``info`` use, in this order: ``--model PATH``, the
  ``LSTM_MODEL`` environment variable, the path in ``last-model``, the default path.
"""

from __future__ import annotations

import os
from pathlib import Path

from lstmcli.errors import CheckpointError

DEFAULT_NAME = "model.safetensors"


def home() -> Path:
    """The folder for models and the ``last-model`` pointer."""
    if os.environ.get("LSTM_HOME"):
        return Path(os.environ["LSTM_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "lstmcli"


def default_model_path() -> Path:
    return home() / DEFAULT_NAME


def resume_path(model_path: str | Path) -> Path:
    """The checkpoint with the full training state kept next to a model file."""
    p = Path(model_path)
    stem = p.name[: -len(".safetensors")] if p.name.endswith(".safetensors") else p.name
    return p.with_name(f"{stem}.last.safetensors")


def remember(model_path: str | Path) -> None:
    """Record ``model_path`` as the model ``lstm train`` wrote last."""
    from lstmcli.checkpoint import atomic_write  # NumPy: not needed to find a model

    try:
        atomic_write(home() / "last-model", (str(Path(model_path).resolve()) + "\n").encode())
    except CheckpointError:
        pass  # a read-only home only costs the convenience


def find_model(explicit: str | os.PathLike | None = None) -> Path:
    """The model a command should use; see the module docstring for the order."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("LSTM_MODEL"):
        return Path(os.environ["LSTM_MODEL"]).expanduser()
    pointer = home() / "last-model"
    try:
        last = pointer.read_text(encoding="utf-8").strip()
    except OSError:
        last = ""
    if last and Path(last).is_file():
        return Path(last)
    path = default_model_path()
    if not path.exists():
        raise CheckpointError(
            f"no trained model found (looked in {path}); run `lstm train` first or pass --model"
        )
    return path
