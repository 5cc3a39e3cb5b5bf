"""Shared test setup."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory):
    """No test reads or writes the user's own model folder or ``LSTM_MODEL``."""
    mp = pytest.MonkeyPatch()
    mp.setenv("LSTM_HOME", str(tmp_path_factory.mktemp("lstm-home")))
    mp.delenv("LSTM_MODEL", raising=False)
    yield
    mp.undo()


def _numerical_grad(loss, p: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Centred differences of the scalar ``loss()`` with respect to every entry of ``p``,
    which is nudged in place and restored."""
    num = np.zeros_like(p)
    for idx in np.ndindex(p.shape):
        old = p[idx]
        p[idx] = old + eps
        lp = loss()
        p[idx] = old - eps
        lm = loss()
        p[idx] = old
        num[idx] = (lp - lm) / (2 * eps)
    return num


@pytest.fixture
def numerical_grad():
    """:func:`_numerical_grad`, for the finite-difference gradient checks."""
    return _numerical_grad
