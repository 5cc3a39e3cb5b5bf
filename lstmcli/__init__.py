"""lstmcli: a next-word predictor on an LSTM written in plain NumPy.

The Python API (see :mod:`lstmcli.api`)::

    import lstmcli

    m = lstmcli.load("model.safetensors")
    m.predict("僕の麻里ちゃんの愛してやまないケーキは", k=5)

``load``, ``train``, ``Model`` and ``LstmError`` are imported on first use, so
``import lstmcli`` (and the ``lstm`` command) start at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["LstmError", "Model", "__version__", "load", "train"]

if TYPE_CHECKING:
    from lstmcli.api import Model, load, train
    from lstmcli.errors import LstmError


def __getattr__(name: str) -> Any:
    if name in ("load", "Model", "train"):
        from lstmcli import api

        return getattr(api, name)
    if name == "LstmError":
        from lstmcli.errors import LstmError

        return LstmError
    raise AttributeError(f"module 'lstmcli' has no attribute {name!r}")
