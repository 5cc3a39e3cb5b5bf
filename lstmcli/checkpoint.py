"""Model files: one ``.safetensors`` file, written atomically, validated before use.

Tensors carry the names and layouts of PyTorch's word_language_model ``RNNModel`` state
dict, so ``torch.nn.LSTM`` loads them unchanged (a tied model stores ``decoder.weight`` as
a copy of ``encoder.weight``, as that state dict does). Extra tensors named ``optim.*``
(optimiser moments) and ``state.*`` (the recurrent state of an interrupted epoch) serve
``--resume``. The header's string metadata holds:

    format     "lstmcli/1"
    model      ModelConfig as JSON
    train      training settings as JSON
    vocab      JSON list of tokens in id order
    tokenizer  JSON {"name", "options", "versions"}
    history    JSON list of per-epoch figures
    resume     JSON counters, schedule and RNG state (absent in a finished model)
    example    a sentence from the training text, for ``lstm trace`` without arguments

Nothing is ever unpickled. The header is read and checked (format, names, shapes, dtypes,
offsets, vocabulary size) before any tensor is loaded, so a hostile file cannot make the
loader allocate more than the file holds.
"""

from __future__ import annotations

import errno
import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lstmcli.errors import CheckpointError, LstmError
from lstmcli.model import ModelConfig, Params, param_shapes

FORMAT = "lstmcli/1"
MAX_HEADER_BYTES = 64 * 1024 * 1024
_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}
_EXTRA_PREFIXES = ("optim.", "state.")


@dataclass
class Checkpoint:
    """Everything a model file holds."""

    config: ModelConfig
    params: Params
    vocab: list[str]
    tokenizer: dict
    train: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    resume: dict | None = None
    example: str = ""


def _tensors(ckpt: Checkpoint) -> dict[str, np.ndarray]:
    tensors = {k: np.ascontiguousarray(v) for k, v in ckpt.params.items()}
    if ckpt.config.tie_weights:  # as in PyTorch's state dict: both names, same values
        tensors["decoder.weight"] = tensors["encoder.weight"]
    for k, v in ckpt.extra.items():
        if not k.startswith(_EXTRA_PREFIXES):
            raise LstmError(f"extra tensor {k!r} must start with one of {_EXTRA_PREFIXES}")
        tensors[k] = np.ascontiguousarray(v)  # safetensors mis-saves strided arrays
    return tensors


def to_bytes(ckpt: Checkpoint) -> bytes:
    """The safetensors encoding of a checkpoint."""
    from safetensors.numpy import save

    meta = {
        "format": FORMAT,
        "model": json.dumps(ckpt.config.to_dict()),
        "train": json.dumps(ckpt.train),
        "vocab": json.dumps(ckpt.vocab, ensure_ascii=False),
        "tokenizer": json.dumps(ckpt.tokenizer, ensure_ascii=False),
        "history": json.dumps(ckpt.history),
        "example": ckpt.example,
    }
    if ckpt.resume is not None:
        meta["resume"] = json.dumps(ckpt.resume)
    return save(_tensors(ckpt), metadata=meta)


def _temp_path(path: Path, pid: int) -> Path:
    return path.with_name(f".{path.name}.{pid}.tmp")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def clear_stale_temps(path: str | os.PathLike) -> None:
    """Remove the temporary files that writes of ``path`` by processes no longer running
    left behind (a SIGKILL or a power cut mid-write); a live writer's is left alone."""
    path = Path(path)
    prefix, suffix = f".{path.name}.", ".tmp"
    try:
        names = [p.name for p in path.parent.iterdir()]
    except OSError:
        return
    for name in names:
        pid = name[len(prefix) : -len(suffix)]
        ours = name.startswith(prefix) and name.endswith(suffix) and pid.isdigit()
        if ours and int(pid) != os.getpid() and not _alive(int(pid)):
            try:
                (path.parent / name).unlink()
            except OSError:
                pass


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one.

    The bytes go to a temporary file in the same folder, named for this process (so two
    processes writing one target never share it, and a reader never sees a torn file),
    are flushed and fsynced, then renamed over the target with ``os.replace``: of writers
    racing for one target, the last rename wins whole. Temporary files of writers that
    died mid-write are removed after each successful write.
    """
    path = Path(path)
    tmp = _temp_path(path, os.getpid())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        try:  # make the rename itself durable
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            pass
    except BaseException as e:  # a failed write, or Ctrl-C in the middle: no temp left
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        if not isinstance(e, OSError):
            raise
        reason = e.strerror or str(e)
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            fix = "free some disk space or write it elsewhere"
        elif e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            fix = "choose a folder you can write to"
        else:
            fix = "check the path or write it elsewhere"
        raise CheckpointError(f"cannot write {path}: {reason}; {fix}") from None
    clear_stale_temps(path)


def save(path: str | os.PathLike, ckpt: Checkpoint) -> None:
    """Write a checkpoint atomically."""
    atomic_write(path, to_bytes(ckpt))


def _refuse(path: Path, why: str) -> CheckpointError:
    return CheckpointError(f"{path}: {why}")


def _check_file(path: Path) -> None:
    if not path.exists():
        raise _refuse(path, "no such model file; train one with `lstm train` or pass --model")
    if not path.is_file():
        raise _refuse(path, "is not a file; pass the path of a .safetensors model file")


def _open(path: Path):
    _check_file(path)
    try:
        return open(path, "rb")
    except OSError as e:
        raise _refuse(path, f"cannot read the model file: {e.strerror}") from None


def read_header(path: str | os.PathLike) -> tuple[dict, dict[str, str], int]:
    """Read and sanity-check the safetensors header without loading tensors.

    Returns (tensor entries, metadata, byte offset of the data section).
    """
    path = Path(path)
    with _open(path) as f:
        return _header(path, f)


def _header(path: Path, f) -> tuple[dict, dict[str, str], int]:
    """:func:`read_header` of the file open as ``f`` (its size that of the open file: a
    file renamed over ``path`` meanwhile does not change what is read)."""
    try:
        size = os.fstat(f.fileno()).st_size
        head = f.read(8)
        if len(head) < 8:
            raise _refuse(path, "too short to be a model file (empty or truncated)")
        (n,) = struct.unpack("<Q", head)  # safetensors: u64 header length, then JSON
        raw = f.read(n) if n <= min(size - 8, MAX_HEADER_BYTES) else b""
        if not raw.startswith(b"{"):
            pickled = (head[0] == 0x80 and 2 <= head[1] <= 5) or head[:2] == b"PK"
            raise _refuse(
                path,
                "looks like a pickle or PyTorch file; lstmcli only loads .safetensors "
                "models and never unpickles"
                if pickled
                else "not a safetensors model file (corrupt or truncated header)",
            )
    except OSError as e:
        raise _refuse(path, f"cannot read the model file: {e.strerror}") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # not UTF-8, not JSON, nested or numbers too deep
        raise _refuse(path, "not a safetensors model file (header is not JSON)") from None
    if not isinstance(header, dict):
        raise _refuse(path, "not a safetensors model file (header is not a JSON object)")
    meta = header.pop("__metadata__", None)
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise _refuse(path, "not an lstmcli model (no lstmcli metadata in the header)")
    if meta.get("format") != FORMAT:
        raise _refuse(
            path,
            f"unsupported model format {meta.get('format')!r} (this lstmcli reads {FORMAT}); "
            "retrain the model with this version",
        )
    data_start = 8 + n
    data_len = size - data_start
    for name, entry in header.items():
        try:
            dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            count = int(np.prod(shape, dtype=object))
            ok = (
                dtype in _DTYPES
                and all(isinstance(s, int) and s >= 0 for s in shape)
                and isinstance(begin, int)
                and isinstance(end, int)
                and 0 <= begin <= end <= data_len
                and end - begin == count * np.dtype(_DTYPES[dtype]).itemsize
            )
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise _refuse(path, f"tensor {name!r} has a corrupt entry in the header")
    return header, meta, data_start


def _json(path: Path, meta: dict[str, str], key: str, kind: type, default=None):
    if key not in meta:
        if default is not None:
            return default
        raise _refuse(path, f"metadata {key!r} is missing; the file is not a complete model")
    try:
        value = json.loads(meta[key])
    except ValueError:  # not JSON, or an integer of more digits than Python converts
        raise _refuse(path, f"metadata {key!r} is not valid JSON") from None
    except RecursionError:
        raise _refuse(path, f"metadata {key!r} is nested too deeply to be a model's") from None
    if not isinstance(value, kind):
        raise _refuse(path, f"metadata {key!r} should be a JSON {kind.__name__}")
    return value


_NUM = (int, float)
# The types of the training settings and history fields lstmcli writes and reads back
# (``lstm info``, ``--resume``); a field may also be null. Other fields pass unchecked.
_TRAIN_FIELDS: dict[str, type | tuple[type, ...]] = {
    **dict.fromkeys(("batch_size", "seq_len", "epochs", "max_steps", "decay_after",
                     "patience", "seed", "eval_batch_size", "nonmono", "probe_every"), int),
    **dict.fromkeys(("lr", "lr_decay", "clip", "unk_noise", "max_minutes", "dropouti",
                     "dropouth", "dropouto", "dropoute", "wdrop", "alpha", "beta", "wdecay"),
                    _NUM),
    **dict.fromkeys(("optimizer", "anneal", "windows"), str),
    **dict.fromkeys(("decay_on_plateau", "vary_seq_len"), bool),
    "data": dict,
}  # fmt: skip
_DATA_FIELDS: dict[str, type | tuple[type, ...]] = {
    **dict.fromkeys(("corpus", "valid", "tokenizer", "lang", "preset", "encoding", "format"),
                    str),
    "stages": list,
}  # fmt: skip
_STAGE_FIELDS: dict[str, type | tuple[type, ...]] = {"name": str, "steps": int, "recipe": dict}
_RECORD_FIELDS: dict[str, type | tuple[type, ...]] = {
    **dict.fromkeys(("epoch", "steps"), int),
    **dict.fromkeys(("train_loss", "train_ppl", "valid_loss", "valid_ppl", "lr", "seconds",
                     "tokens_per_s", "recall", "valid_top1", "valid_top3", "valid_top1_words",
                     "valid_top3_words"), _NUM),
    "stage": str,
    "best": bool,
    "recall_by_filler": dict,
}  # fmt: skip


def _fields(path: Path, what: str, obj: object, fields: dict) -> None:
    """Refuse ``obj`` unless it is a JSON object whose known ``fields`` have their types."""
    if not isinstance(obj, dict):
        raise _refuse(path, f"{what} should be a JSON object; the file is corrupt, retrain it")
    for name, kind in fields.items():
        value = obj.get(name)
        wrong = value is not None and (
            not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))
        )
        if wrong:
            raise _refuse(path, f"{what} field {name!r} has the wrong type; the file is corrupt")


def _check_training(path: Path, train: dict, history: list) -> None:
    """The training settings and history as ``lstm info`` and ``--resume`` read them."""
    _fields(path, "metadata 'train'", train, _TRAIN_FIELDS)
    data = train.get("data") or {}
    _fields(path, "metadata 'train' data", data, _DATA_FIELDS)
    for stage in data.get("stages") or []:
        _fields(path, "metadata 'train' stage", stage, _STAGE_FIELDS)
    for record in history:
        _fields(path, "metadata 'history' record", record, _RECORD_FIELDS)


def _read_tensors(path: Path, f, header: dict, data_start: int) -> dict[str, np.ndarray]:
    """The tensors of the file open as ``f``, whose header :func:`_header` has checked: the
    data section read once into one writable buffer, each tensor a little-endian view of
    its bytes."""
    try:
        f.seek(data_start)
        data = bytearray(os.fstat(f.fileno()).st_size - data_start)
        n = f.readinto(data)  # one copy, into memory that stays writable
    except OSError as e:
        raise _refuse(path, f"cannot read the tensors ({e.strerror})") from None
    arrays = {}
    for name, entry in header.items():
        dtype = np.dtype(_DTYPES[entry["dtype"]]).newbyteorder("<")
        begin, end = entry["data_offsets"]
        if end > n:  # the file shrank since its header was read
            raise _refuse(path, "the file is truncated; copy or train it again")
        flat = np.frombuffer(data, dtype, (end - begin) // dtype.itemsize, begin)
        arrays[name] = flat.reshape(entry["shape"])
    return arrays


def load(path: str | os.PathLike) -> Checkpoint:
    """Load and validate a model file; raise CheckpointError with one line otherwise."""
    path = Path(path)
    with _open(path) as f:  # header and tensors from one open file, however it is replaced
        return _load(path, f)


def _load(path: Path, f) -> Checkpoint:
    header, meta, data_start = _header(path, f)
    try:
        config = ModelConfig.from_dict(_json(path, meta, "model", dict))
    except (LstmError, TypeError) as e:
        raise _refuse(path, f"invalid model settings ({e})") from None
    if 4 * config.num_layers + 2 > len(header):  # before listing a tensor per layer
        raise _refuse(
            path, f"the settings name more layers than its {len(header)} tensors hold; the file "
            "is corrupt, retrain it",
        )  # fmt: skip
    vocab = _json(path, meta, "vocab", list)
    if len(vocab) != config.vocab_size or not all(isinstance(t, str) for t in vocab):
        raise _refuse(
            path, f"vocabulary has {len(vocab)} entries but the model expects {config.vocab_size}"
        )
    if len(set(vocab)) != len(vocab):
        raise _refuse(path, "vocabulary has duplicate tokens")
    tokenizer = _json(path, meta, "tokenizer", dict)
    expected = param_shapes(config)
    if config.tie_weights:
        expected = {**expected, "decoder.weight": (config.vocab_size, config.hidden_size)}
    want_dtype = {"float32": "F32", "float64": "F64"}[config.dtype]
    for name, shape in expected.items():
        entry = header.get(name)
        if entry is None:
            raise _refuse(path, f"tensor {name!r} is missing")
        if tuple(entry["shape"]) != shape:
            raise _refuse(
                path, f"tensor {name!r} has shape {tuple(entry['shape'])}, the model needs {shape}"
            )
        if entry["dtype"] != want_dtype:
            raise _refuse(
                path, f"tensor {name!r} is {entry['dtype']}, the model needs {want_dtype}"
            )
    unknown = [k for k in header if k not in expected and not k.startswith(_EXTRA_PREFIXES)]
    if unknown:
        raise _refuse(path, f"unexpected tensor {unknown[0]!r}; not an lstmcli model")

    arrays = _read_tensors(path, f, header, data_start)
    params = {k: arrays.pop(k) for k in param_shapes(config)}
    if config.tie_weights:
        dec = arrays.pop("decoder.weight")
        if not np.array_equal(dec, params["encoder.weight"]):
            raise _refuse(path, "tied model whose decoder.weight differs from encoder.weight")
    for name, p in params.items():
        if not np.isfinite(p).all():
            raise _refuse(path, f"tensor {name!r} holds NaN or infinite values")
    resume = _json(path, meta, "resume", dict) if "resume" in meta else None
    train = _json(path, meta, "train", dict, {})
    history = _json(path, meta, "history", list, [])
    _check_training(path, train, history)
    return Checkpoint(
        config=config,
        params=params,
        vocab=vocab,
        tokenizer=tokenizer,
        train=train,
        history=history,
        extra=arrays,
        resume=resume,
        example=meta.get("example", ""),
    )
