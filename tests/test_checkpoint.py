"""Model files: exact round trips, atomic writes, and refusal of anything foreign."""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstmcli import checkpoint as C
from lstmcli import model as M
from lstmcli.errors import CheckpointError


def _ckpt(tie=False, dtype="float32", cell="lstm", extra=None):
    cfg = M.ModelConfig(
        vocab_size=7, embed_size=4, hidden_size=4, num_layers=2, cell=cell,
        tie_weights=tie, dtype=dtype,
    )  # fmt: skip
    params = M.init_params(cfg, np.random.default_rng(0))
    vocab = ["<eos>", "<unk>", "a", "b", "c", "モンブラン", "d"]
    return C.Checkpoint(
        cfg, params, vocab, {"name": "space", "options": {}}, train={"lr": 1.0},
        history=[{"epoch": 1, "valid_ppl": 3.5}], extra=extra or {}, example="a b c",
    )  # fmt: skip


@pytest.mark.parametrize("tie", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_round_trip_is_bit_exact(tmp_path, tie, dtype, cell):
    ck = _ckpt(tie, dtype, cell, extra={"optim.m.decoder.bias": np.arange(7.0)})
    path = tmp_path / "m.safetensors"
    C.save(path, ck)
    back = C.load(path)
    assert back.config == ck.config
    assert back.vocab == ck.vocab and back.history == ck.history and back.example == "a b c"
    assert set(back.params) == set(ck.params)
    for k, v in ck.params.items():
        assert back.params[k].dtype == v.dtype
        assert back.params[k].tobytes() == v.tobytes(), k
    assert np.array_equal(back.extra["optim.m.decoder.bias"], np.arange(7.0))


def test_names_and_layout_are_pytorchs(tmp_path):
    path = tmp_path / "m.safetensors"
    C.save(path, _ckpt(tie=True))
    header, meta, _ = C.read_header(path)
    assert meta["format"] == C.FORMAT
    assert header["rnn.weight_ih_l1"]["shape"] == [16, 4]
    assert header["decoder.weight"]["shape"] == [7, 4]  # tied: stored under both names
    assert json.loads(meta["vocab"])[5] == "モンブラン"


def test_non_contiguous_arrays_are_saved_correctly(tmp_path):
    ck = _ckpt()
    w = np.asfortranarray(ck.params["rnn.weight_hh_l0"])
    assert not w.flags.c_contiguous
    ck.params["rnn.weight_hh_l0"] = w
    path = tmp_path / "m.safetensors"
    C.save(path, ck)
    assert np.array_equal(C.load(path).params["rnn.weight_hh_l0"], w)


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    C.save(path, _ckpt())
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(CheckpointError, match=r"No space left.*free some disk space"):
        C.save(path, _ckpt(tie=True))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


def test_temporary_files_of_dead_writers_are_cleared_and_live_ones_kept(tmp_path):
    path = tmp_path / "m.safetensors"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".m.safetensors.{dead.pid}.tmp"
    live = tmp_path / f".m.safetensors.{os.getppid()}.tmp"  # a running process's write
    other = tmp_path / f".other.safetensors.{dead.pid}.tmp"
    for p in (stale, live, other):
        p.write_bytes(b"half a model")
    C.save(path, _ckpt())
    assert not stale.exists()
    assert live.exists() and other.exists()  # still being written; another target's
    C.clear_stale_temps(tmp_path / "other.safetensors")
    assert not other.exists()


def test_each_writer_has_its_own_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(Path(src).name)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    C.save(path, _ckpt())
    assert seen == [f".m.safetensors.{os.getpid()}.tmp"]


def test_ctrl_c_in_the_middle_of_a_write_keeps_the_old_file_and_leaves_no_temp(
    tmp_path, monkeypatch
):
    path = tmp_path / "m.safetensors"
    C.save(path, _ckpt())
    before = path.read_bytes()

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        C.save(path, _ckpt(tie=True))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


def test_a_folder_without_write_permission_says_so(tmp_path, monkeypatch):
    def denied(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", denied)
    with pytest.raises(CheckpointError, match="Permission denied; choose a folder you can"):
        C.save(tmp_path / "m.safetensors", _ckpt())


def test_unwritable_target_is_a_clear_error(tmp_path):
    target = tmp_path / "dir"
    target.mkdir()
    with pytest.raises(CheckpointError, match="cannot write"):
        C.save(target, _ckpt())


def _valid_bytes() -> bytes:
    return C.to_bytes(_ckpt())


def _with_header(header: dict, data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def _meta(**over):
    ck = _ckpt()
    meta = {
        "format": C.FORMAT, "model": json.dumps(ck.config.to_dict()), "vocab": json.dumps(ck.vocab),
        "tokenizer": json.dumps({"name": "space", "options": {}}),
    }  # fmt: skip
    meta.update(over)
    return meta


BAD_FILES = {
    "empty": b"",
    "random bytes": bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8)),
    "pickle": pickle.dumps({"encoder.weight": [1.0, 2.0]}),
    "zip (torch.save)": b"PK\x03\x04" + b"\0" * 100,
    "truncated": _valid_bytes()[:300],
    "header not json": struct.pack("<Q", 5) + b"{abc}",
    "header too large": struct.pack("<Q", 10**15) + b"{}",
    "no metadata": _with_header({}),
    "unknown format": _with_header({"__metadata__": _meta(format="lstmcli/99")}),
    "model not json": _with_header({"__metadata__": _meta(model="{not json")}),
    "absurd vocabulary": _with_header(
        {"__metadata__": _meta(model=json.dumps({"vocab_size": 10**12, "embed_size": 4}))}
    ),
    "missing tensors": _with_header({"__metadata__": _meta()}),
    "header nested too deeply": struct.pack("<Q", 200_000) + b"[" * 100_000 + b"]" * 100_000,
    "model nested too deeply": _with_header({"__metadata__": _meta(model="[" * 200_000)}),
    "number of 5,000 digits": _with_header({"__metadata__": _meta(model="9" * 5000)}),
    "layers by the googol": _with_header(
        {"__metadata__": _meta(model=json.dumps({"vocab_size": 7, "num_layers": 10**100}))}
    ),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_foreign_or_broken_files_are_refused(tmp_path, name):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(BAD_FILES[name])
    with pytest.raises(CheckpointError) as e:
        C.load(path)
    assert "\n" not in str(e.value)


def test_shapes_that_disagree_with_the_config_are_refused(tmp_path):
    ck = _ckpt()
    ck.params["rnn.weight_hh_l1"] = np.zeros((16, 5), np.float32)
    path = tmp_path / "m.safetensors"
    C.save(path, ck)
    with pytest.raises(CheckpointError, match=r"weight_hh_l1.*shape"):
        C.load(path)


def test_vocabulary_size_must_match(tmp_path):
    ck = _ckpt()
    ck.vocab = ck.vocab[:-1]
    path = tmp_path / "m.safetensors"
    C.save(path, ck)
    with pytest.raises(CheckpointError, match="vocabulary"):
        C.load(path)


def test_missing_file_says_how_to_get_one(tmp_path):
    with pytest.raises(CheckpointError, match="lstm train"):
        C.load(tmp_path / "nope.safetensors")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash_the_loader(tmp_path, data):
    path = tmp_path / "x.safetensors"
    path.write_bytes(data)
    with pytest.raises(CheckpointError):
        C.load(path)


VALID = _valid_bytes()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pos=st.integers(0, len(VALID) - 1),
    byte=st.integers(0, 255),
    cut=st.one_of(st.none(), st.integers(0, len(VALID))),
)
def test_mutated_valid_files_load_or_are_refused(tmp_path, pos, byte, cut):
    data = bytearray(VALID)
    data[pos] = byte
    if cut is not None:
        data = data[:cut]
    path = tmp_path / "x.safetensors"
    path.write_bytes(bytes(data))
    try:
        ck = C.load(path)
    except CheckpointError:
        return
    # a mutation inside tensor data can still load: the result must be a usable model
    assert set(ck.params) == set(M.param_shapes(ck.config))


def test_loaded_tensors_are_writable_views_of_one_read(tmp_path):
    path = tmp_path / "m.safetensors"
    C.save(path, _ckpt(tie=True, extra={"optim.m.decoder.bias": np.arange(7.0)}))
    ck = C.load(path)
    for name, p in ck.params.items():
        assert p.flags.writeable and p.dtype.byteorder in "<=", name
    before = ck.params["decoder.bias"].copy()
    ck.params["encoder.weight"] += 1.0  # training updates the weights in place
    np.testing.assert_array_equal(ck.params["decoder.bias"], before)  # no aliasing
    np.testing.assert_array_equal(ck.extra["optim.m.decoder.bias"], np.arange(7.0))


@pytest.mark.parametrize(
    "train, history",
    [
        ([], []),  # settings that are not an object
        ({"lr": "fast"}, []),
        ({"data": {"stages": [{"name": "cue", "steps": "many"}]}}, []),
        ({}, [[1, 2]]),  # a history record that is not an object
        ({}, [{"epoch": "a"}]),
        ({}, [{"epoch": 1, "valid_ppl": "low", "best": True}]),
    ],
)
def test_training_records_of_the_wrong_shape_are_refused(tmp_path, train, history):
    path = tmp_path / "m.safetensors"
    C.save(path, _ckpt())
    header, meta, start = C.read_header(path)
    data = path.read_bytes()[start:]
    meta = {**meta, "train": json.dumps(train), "history": json.dumps(history)}
    path.write_bytes(_with_header({"__metadata__": meta, **header}, data))
    with pytest.raises(CheckpointError, match=r"the wrong type|JSON object|should be a JSON"):
        C.load(path)


def test_a_record_without_its_epoch_still_loads(tmp_path):
    ck = _ckpt()
    ck.history = [{"valid_ppl": 3.5}, {"epoch": None, "stage": "cue", "recall": 0.5}]
    path = tmp_path / "m.safetensors"
    C.save(path, ck)
    assert C.load(path).history == ck.history


def test_a_file_replaced_while_it_is_read_gives_the_old_model_whole(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    old, new = _ckpt(), _ckpt()
    new.params = {k: v + 1 for k, v in new.params.items()}
    new.history = [{"epoch": e, "valid_ppl": 3.0} for e in range(1, 40)]  # a longer header
    C.save(path, old)
    header = C._header

    def then_replaced(p, f):
        out = header(p, f)
        C.save(path, new)  # another writer's rename lands between header and tensors
        return out

    monkeypatch.setattr(C, "_header", then_replaced)
    back = C.load(path)
    assert all(np.array_equal(back.params[k], old.params[k]) for k in old.params)
    assert back.history == old.history
