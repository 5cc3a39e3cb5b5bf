"""Shared test setup."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory):
    """No test reads or writes the user's own model folder or ``LSTM_MODEL``."""
    mp = pytest.MonkeyPatch()
    mp.setenv("LSTM_HOME", str(tmp_path_factory.mktemp("lstm-home")))
    mp.delenv("LSTM_MODEL", raising=False)
    yield
    mp.undo()
