"""What the cell state still holds: c_T split exactly into what each step wrote.

The LSTM's memory update c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t (:mod:`lstmcli.cells`) is linear
in c, so unrolled from the state c_0 before the first token it is a sum over the steps::

    c_T = (∏_{t≤T} f_t) ⊙ c_0 + Σ_s (∏_{s<t≤T} f_t) ⊙ i_s ⊙ g_s

    written_s = i_s ⊙ g_s                    what step s added to the cell      (H,)
    kept_s    = (∏_{s<t≤T} f_t) ⊙ written_s  what of it is still there at T     (H,)

Σ_s kept_s = c_T exactly when c_0 = 0 (as for every prompt, fed from a zero state). The
hidden state splits the same way, since h = o ⊙ tanh(c) = (o ⊙ tanh(c) / c) ⊙ c: step s
accounts for kept_s ⊙ o ⊙ tanh(c)/c of h (``exposure``).

Positions are those of the tokens fed (0 is the leading ``<eos>``); a step is named by the
token fed at it, though what it wrote can depend on every earlier token (through h).

Per token and layer, for a display to draw (:func:`summarise`, O(T·H), cheap enough for
every keystroke):

- ``share``: ‖kept_s‖₁ / Σ_s′ ‖kept_s′‖₁ — the share of the memory's contents that step s
  still holds (summed magnitudes: terms of opposite sign can cancel in c_T; the shares add
  up to 1);
- ``retained``: ‖kept_s‖₁ / ‖written_s‖₁ — how much of what step s wrote has survived the
  forget gates since (1 for the last token, near 0 for a forgotten one).

Nothing here imports Rich; :mod:`lstmcli.memview` draws it. The rnn cell has no c.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from lstmcli.errors import LstmError
from lstmcli.trace import window as trace_window

KEPT, FORGOTTEN = 0.5, 0.2  # retained fractions that read as "kept" and "forgotten"
NOTABLE = 0.05  # a share, or a fraction erased, below this is not worth naming


def check(record: dict[str, np.ndarray]) -> None:
    """LstmError unless the record has a cell state (the rnn cell has none)."""
    if "f" not in record:
        raise LstmError(
            "the rnn cell has no cell state c to split into what each token wrote; "
            "`lstm predict TEXT --why` shows which tokens its prediction depends on"
        )


class Memory(NamedTuple):
    """One layer's c at step ``t`` split by the step that wrote it (float64).

    written[s] = i_s ⊙ g_s, kept[s] = (∏_{s<r≤t} f_r) ⊙ written[s], (t+1, H);
    initial = (∏_{r≤t} f_r) ⊙ c_0, (H,); c = the recorded c_t, (H,).
    """

    written: np.ndarray
    kept: np.ndarray
    initial: np.ndarray
    c: np.ndarray


def decompose(
    record: dict[str, np.ndarray],
    t: int | None = None,
    c0: np.ndarray | None = None,
    dtype: type = np.float64,
) -> Memory:
    """Split c_t (default: the last step) of one layer's gate record (T, H) arrays.

    ``c0`` (H,) is the cell state before the first step; None means zero. The products run
    in ``dtype`` (float32 is enough for a display's shares, and twice as fast).
    """
    check(record)
    T = len(record["f"])
    t = T - 1 if t is None else t
    if not 0 <= t < T:
        raise LstmError(f"step {t} is outside the text: positions run 0 to {T - 1}")
    f = record["f"][: t + 1]  # (t+1, H)
    written = np.multiply(record["i"][: t + 1], record["g"][: t + 1], dtype=dtype)
    # after[s] = ∏_{s<r≤t} f_r: a cumulative product from the end, 1 at s = t
    after = np.empty(written.shape, dtype)
    after[-1] = 1
    if t > 0:
        np.cumprod(f[:0:-1], axis=0, dtype=dtype, out=after[-2::-1])
    c_0 = np.zeros(f.shape[1], dtype) if c0 is None else np.asarray(c0, dtype)
    initial = after[0] * f[0] * c_0
    kept = np.multiply(after, written, out=after)
    return Memory(written, kept, initial, record["c"][t].astype(dtype))


def _l1(x: np.ndarray) -> np.ndarray:
    return np.abs(x).sum(axis=-1)


@dataclass(frozen=True)
class Summary:
    """Per token of one layer at the last step: arrays (T,) and the chosen words.

    kept / forgotten: earlier positions (not the last) whose memory survived
    (retained ≥ KEPT, share ≥ NOTABLE; largest share first) or was erased (retained <
    FORGOTTEN, having written something; most written first).
    """

    share: np.ndarray
    retained: np.ndarray
    written: np.ndarray  # ‖written_s‖₁
    kept: tuple[int, ...]
    forgotten: tuple[int, ...]


def summarise(mem: Memory, n: int = 3) -> Summary:
    """The compact per-token view of a :class:`Memory`, with up to ``n`` names per list."""
    w, k = _l1(mem.written), _l1(mem.kept)
    total = k.sum() + _l1(mem.initial)
    share = k / total if total > 0 else np.zeros_like(k)
    retained = np.divide(k, w, out=np.ones_like(k), where=w > 0)
    earlier = np.arange(len(k) - 1)
    kept = [s for s in earlier[np.argsort(-share[:-1], kind="stable")]
            if retained[s] >= KEPT and share[s] >= NOTABLE]  # fmt: skip
    mean_w = w.mean()
    forgot = [s for s in earlier[np.argsort(-w[:-1], kind="stable")]
              if retained[s] < FORGOTTEN and w[s] >= NOTABLE * mean_w]  # fmt: skip
    return Summary(share, retained, w, tuple(int(s) for s in kept[:n]),
                   tuple(int(s) for s in forgot[:n]))  # fmt: skip


def summary(layers: list[dict[str, np.ndarray]]) -> list[Summary]:
    """:func:`summarise` every layer of a run's records at the last step."""
    return [summarise(decompose(r)) for r in layers]


def cue(mem: Memory) -> int:
    """The earlier position (before the last) whose kept memory is largest; 0 for one token."""
    k = _l1(mem.kept)[:-1]
    return int(np.argmax(k)) if len(k) else 0


def carriers(mem: Memory, s: int, n: int) -> tuple[int, ...]:
    """The ``n`` units that hold most of what step ``s`` wrote and kept (|kept_s| largest)."""
    return tuple(int(u) for u in np.argsort(-np.abs(mem.kept[s]), kind="stable")[:n])


def exposure(kept: np.ndarray, o: np.ndarray) -> np.ndarray:
    """Each step's part of h_t = o ⊙ tanh(c_t), from the kept terms (t+1, H) of c_t = Σ kept
    (a zero c_0): kept_s ⊙ o ⊙ tanh(c)/c, (t+1, H), whose rows add up to h_t.

    tanh(c)/c is 1 where c = 0.
    """
    c = kept.sum(axis=0)
    ratio = np.divide(np.tanh(c), c, out=np.ones_like(c), where=c != 0)
    return kept * (o.astype(np.float64) * ratio)


@dataclass(frozen=True)
class Step:
    """What one step did to one layer's memory, in terms of the earlier steps.

    wrote: the share of the memory (summed |kept|, after the step) that this step's write
    is. erased (t,): for each earlier step s, the fraction of what was left of it that the
    forget gate f_t removed, ‖(1 − f_t) ⊙ kept_s‖₁ / ‖kept_s‖₁; erased_amount (t,) the same
    unnormalised; erased_total the fraction of all the memory removed. exposed (t+1,):
    each step's share of |h_t| (see :func:`exposure`); h_mean = mean |h_t|.
    """

    position: int
    wrote: float
    erased: np.ndarray
    erased_amount: np.ndarray
    erased_total: float
    exposed: np.ndarray
    h_mean: float


def steps(record: dict[str, np.ndarray], lo: int, hi: int) -> list[Step]:
    """A :class:`Step` for each position in [lo, hi) of one layer, from a zero c_0.

    The kept matrix is split in closed form at lo − 1 and then carried forward one step
    at a time (kept *= f_t, then the new row), O(hi · H) per step.
    """
    check(record)
    H = record["f"].shape[1]
    kept = decompose(record, lo - 1).kept if lo > 0 else np.zeros((0, H))
    out = []
    for t in range(lo, hi):
        f = record["f"][t].astype(np.float64)
        before = _l1(kept)  # (t,) what was left of each earlier step
        removed = _l1(kept * (1.0 - f))
        kept = np.vstack([kept * f, record["i"][t].astype(np.float64) * record["g"][t]])
        now = _l1(kept)
        part = _l1(exposure(kept, record["o"][t]))
        out.append(
            Step(
                position=t,
                wrote=float(now[-1] / now.sum()) if now.sum() > 0 else 0.0,
                erased=np.divide(removed, before, out=np.zeros_like(removed), where=before > 0),
                erased_amount=removed,
                erased_total=float(removed.sum() / before.sum()) if before.sum() > 0 else 0.0,
                exposed=part / part.sum() if part.sum() > 0 else np.zeros_like(part),
                h_mean=float(np.abs(record["h"][t]).mean()),
            )
        )
    return out


def to_json(
    tokens: list[str],
    layers: list[dict[str, np.ndarray]],
    ids: tuple[int, ...],
    hi: int,
    change: list[np.ndarray] | None = None,
) -> dict:
    """The memory at position hi − 1 of the layers ``ids``.

    ``{"tokens", "layers": [{"written", "kept", "c", "share", "retained", "change_without"}],
    "layer_ids"}``: per layer [[H values] per token 0 … hi − 1] of written_s and kept_s,
    c (H values), per token share and retained, and (if given) the
    :func:`lstmcli.why.memory_change` per token (null for position 0).
    """
    out = []
    for k in ids:
        mem = decompose(layers[k], hi - 1)
        s = summarise(mem)
        layer = {
            "written": mem.written.tolist(),
            "kept": mem.kept.tolist(),
            "c": mem.c.tolist(),
            "share": s.share.tolist(),
            "retained": s.retained.tolist(),
        }
        if change is not None:
            layer["change_without"] = [None, *change[k].tolist()]
        out.append(layer)
    return {"tokens": list(tokens[:hi]), "layers": out, "layer_ids": list(ids)}


def window(T: int, start: int | None, stop: int | None, rows: int | None) -> tuple[int, int]:
    """Token rows [lo, hi) of the memory table: --from/--to as given (see
    :func:`lstmcli.trace.window`), else the last ``rows`` tokens, whose memory is read at
    hi − 1."""
    if start is None and stop is None and rows is not None and rows < T:
        return T - rows, T
    return trace_window(T, start, stop, rows)
