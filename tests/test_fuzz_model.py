"""Hostile model files on every reader (``bench/fuzz_model.py`` at the size CI affords):
each ends in a one-line error or an answer; no traceback, hang, leak or write."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "fuzz_model.py"


@pytest.mark.skipif(sys.platform != "linux", reason="forks children and reads their rusage")
def test_three_hundred_mutants_on_four_readers(tmp_path):
    out = tmp_path / "records.json"
    r = subprocess.run(
        [sys.executable, str(SCRIPT), "--count", "300", "--seed", "7", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    records = json.loads(out.read_text())
    outcomes = Counter(rec["outcome"] for rec in records)
    bad = [rec for rec in records if rec["outcome"] not in ("error", "answer")]
    assert not bad, (bad[:5], r.stdout[-2000:])
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(records) == 300 * 4
    assert outcomes["error"] > 0 and outcomes["answer"] > 0  # both ways were exercised
    assert {rec["kind"] for rec in records} >= {"foreign", "meta-shape", "nan-inf", "truncate"}
