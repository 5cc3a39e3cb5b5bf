"""The process group of a training run, and what rank 0 shares with the others.

Under ``torchrun`` each process reads its rank and the world size from the environment
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``PORT``); run as a plain
``python -m`` it is a group of one, on an in-memory store. The backend follows the device:
``nccl`` with one GPU per process where CUDA is at hand, ``gloo`` on the CPU.

Rank 0 alone reads files; the others get its results by broadcast — a JSON header (never
a pickle) and named arrays — or the one-line error that stopped it, so every rank stops on
the same error and only rank 0 prints it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist

from lstmcli.errors import LstmError

# rank 0 may tokenize a large corpus while the others wait in their first broadcast
TIMEOUT = timedelta(hours=6)
_NP = {"float32": torch.float32, "float64": torch.float64, "int32": torch.int32,
       "int64": torch.int64}  # fmt: skip


class PeerError(LstmError):
    """The error another rank (rank 0) stopped on; that rank has printed it."""


@dataclass(frozen=True)
class Group:
    """This process's place in the run."""

    rank: int
    world: int
    local_rank: int
    backend: str  # "gloo" | "nccl"
    device: torch.device
    launcher: str  # "torchrun" | "python"

    @property
    def main(self) -> bool:
        return self.rank == 0


def planned() -> tuple[int, int, str]:
    """Rank, world size and launcher from the environment, before the group starts."""
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), "torchrun"
    return 0, 1, "python"


def start(cpu: bool = False) -> Group:
    """Join (or, alone, make) the process group."""
    rank, world, launcher = planned()
    local = int(os.environ.get("LOCAL_RANK", 0))
    gpu = torch.cuda.is_available() and not cpu
    if gpu:
        torch.cuda.set_device(local % torch.cuda.device_count())
        device = torch.device("cuda", torch.cuda.current_device())
    else:
        device = torch.device("cpu")
    backend = "nccl" if gpu else "gloo"
    if launcher == "torchrun":
        dist.init_process_group(backend, timeout=TIMEOUT)
    else:
        dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1)
    return Group(rank, world, local, backend, device, launcher)


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def _comm(g: Group, t: torch.Tensor) -> torch.Tensor:
    return t.to(g.device) if g.backend == "nccl" else t


def share(g: Group, header: dict | None, arrays: dict[str, np.ndarray] | None = None,
          error: str | None = None) -> tuple[dict, dict[str, np.ndarray]]:  # fmt: skip
    """Rank 0's ``header`` (JSON-able) and ``arrays`` on every rank; or, when rank 0 passes
    ``error``, PeerError on the others and LstmError(error) on rank 0."""
    arrays = arrays or {}
    if g.main:
        head = {"error": error} if error is not None else {
            "header": header,
            "arrays": {k: [str(v.dtype), list(v.shape)] for k, v in arrays.items()},
        }  # fmt: skip
        raw = torch.frombuffer(bytearray(json.dumps(head).encode()), dtype=torch.uint8)
        size = torch.tensor([raw.numel()], dtype=torch.int64)
    else:
        size = torch.zeros(1, dtype=torch.int64)
    size = _comm(g, size)
    dist.broadcast(size, 0)
    buf = _comm(g, raw if g.main else torch.zeros(int(size.item()), dtype=torch.uint8))
    dist.broadcast(buf, 0)
    head = json.loads(bytes(buf.cpu().numpy()).decode())
    if "error" in head:
        raise LstmError(head["error"]) if g.main else PeerError(head["error"])
    out = {}
    for name, (dtype, shape) in head["arrays"].items():
        if g.main:
            t = torch.from_numpy(np.ascontiguousarray(arrays[name]))
        else:
            t = torch.empty(shape, dtype=_NP[dtype])
        t = _comm(g, t)
        dist.broadcast(t, 0)
        out[name] = arrays[name] if g.main else t.cpu().numpy()
    return head["header"], out


def total(g: Group, values: list[float]) -> list[float]:
    """Each value summed over the ranks (float64), the same list on every rank."""
    t = _comm(g, torch.tensor(values, dtype=torch.float64))
    dist.all_reduce(t)
    return t.cpu().tolist()


def gather_columns(g: Group, t: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Every rank's ``t`` side by side along ``dim``, in rank order, on every rank."""
    t = t.contiguous()
    parts = [torch.empty_like(t) for _ in range(g.world)]
    dist.all_gather(parts, t)
    return torch.cat(parts, dim=dim)
