"""What ``lstm trace`` shows, as numbers: gate records, the view, saturation.

One LSTM step (per layer, per unit; σ the logistic sigmoid, ⊙ elementwise)::

    i = σ(a_i)    input gate: how much of the candidate g enters the cell     (0 … 1)
    f = σ(a_f)    forget gate: how much of the old cell state c_{t−1} stays   (0 … 1)
    g = tanh(a_g) candidate: what could be written                           (−1 … 1)
    o = σ(a_o)    output gate: how much of tanh(c) is exposed as h            (0 … 1)
    c = f ⊙ c_{t−1} + i ⊙ g    cell state, the long-term memory (may leave [−1, 1])
    h = o ⊙ tanh(c)            hidden state: what the layer above and the decoder see

The simple RNN has no gates, only h = tanh(W x + U h_{t−1} + b).

The records are exactly the arrays of :func:`lstmcli.inference.run` (the loop over
:func:`lstmcli.inference.step` that ``lstm predict`` uses). Nothing here imports Rich; the
view is planned from a width and height in terminal cells, rendered by
:mod:`lstmcli.traceview`.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstmcli import corpora, inference
from lstmcli.errors import LstmError

LSTM_GATES = ("i", "f", "g", "o", "c", "h")
DEFAULT_GATES = ("f", "i", "o")
UNIT_RANGE = ("i", "f", "o")  # sigmoid gates in [0, 1]; g, c, h are signed
LOW, HIGH = 0.1, 0.9  # saturation thresholds of Karpathy, Johnson & Fei-Fei (2015)
CELL = 5  # terminal cells per unit column: " .93", "-.41" right-aligned in 5
MAX_TOKEN = 14  # widest token column, in cells


@dataclass
class Trace:
    """A text fed to the model from a zero state, and every gate of every layer."""

    tokens: list[str]  # (T,) as fed; unknown words as <unk>
    ids: np.ndarray  # (T,)
    logits: np.ndarray  # (T, V) after each token
    layers: list[dict[str, np.ndarray]]  # per layer: gate name → (T, H)
    vocab: list[str]
    cell: str  # "lstm" | "rnn"
    unknown: list[str]

    @property
    def gates(self) -> tuple[str, ...]:
        return LSTM_GATES if self.cell == "lstm" else ("h",)


def default_text(p) -> str:
    """The running example (a cake named, words, the question) when the model knows all its
    words, else the model's stored example sentence."""
    if (text := corpora.running_example(p.tokenizer, p.vocab.index)) is not None:
        return text
    if p.ckpt.example.strip():
        return p.ckpt.example
    raise LstmError("no TEXT given and the model stores no example sentence; pass TEXT to trace")


def record(p, text: str) -> Trace:
    """Feed ``text`` to predictor ``p`` and keep the gates of every layer at every token."""
    prompt = p.encode(text)
    out = p.run(prompt)
    return Trace(
        prompt.tokens, prompt.ids, out.logits, out.layers, p.vocab.tokens, p.config.cell,
        prompt.unknown,
    )  # fmt: skip


def parse_gates(spec: str | None, cell: str, default=DEFAULT_GATES) -> tuple[str, ...]:
    """``"f,i,o"`` → ``("f", "i", "o")``; the rnn cell has only h."""
    if spec is None:
        return default if cell == "lstm" else ("h",)
    names = tuple(dict.fromkeys(s.strip() for s in spec.split(",") if s.strip()))
    if not names:
        raise LstmError("--gates is empty; give some of f,i,o,g,c,h separated by commas")
    for n in names:
        if n not in LSTM_GATES:
            raise LstmError(f"unknown gate {n!r} in --gates; use some of f,i,o,g,c,h")
    if cell == "rnn" and names != ("h",):
        raise LstmError("the rnn cell has no gates, only the hidden state h; use --gates h")
    return names


def parse_units(spec: str, H: int) -> tuple[int, ...]:
    """``"3,17,40-42"`` → ``(3, 17, 40, 41, 42)``, each checked against the H units."""
    units: list[int] = []
    for part in (s.strip() for s in spec.split(",")):
        if not part:
            continue
        try:
            lo, _, hi = part.partition("-")
            units += range(int(lo), int(hi) + 1) if hi else [int(lo)]
        except ValueError:
            raise LstmError(f"--units {spec!r}: write unit numbers like 3,17,40-42") from None
    if not units:
        raise LstmError("--units is empty; give unit numbers like 3,17,42")
    for u in units:
        if not 0 <= u < H:
            raise LstmError(f"unit {u} is out of range: the layers have {H} units, 0 to {H - 1}")
    return tuple(dict.fromkeys(units))


def most_varying(tr: Trace, layer: int, gates: tuple[str, ...], n: int) -> tuple[int, ...]:
    """The n units whose values vary most over the text (summed std over time of ``gates``),
    in unit order."""
    return tuple(sorted(varying_units(tr.layers[layer], gates, n)))


def varying_units(record: dict[str, np.ndarray], gates: tuple[str, ...], n: int) -> tuple[int, ...]:
    """The n units of one layer's records (gate name → (T, H)) whose ``gates`` vary most
    over time, the most varying first."""
    score = sum(record[g].std(axis=0) for g in gates)
    return tuple(int(u) for u in np.argsort(-score, kind="stable")[:n])


def display_width(s: str) -> int:
    """Terminal cells of ``s``: 2 for wide (CJK) characters, 0 for combining marks."""
    w = 0
    for ch in s:
        if unicodedata.combining(ch):
            continue
        w += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return w


@dataclass(frozen=True)
class View:
    """Which part of a trace to show: tokens [lo, hi), gates, layers, units per layer."""

    lo: int
    hi: int
    gates: tuple[str, ...]
    layers: tuple[int, ...]
    units: tuple[tuple[int, ...], ...]  # one tuple per entry of ``layers``
    notes: tuple[str, ...] = ()  # what was cut to fit, and how to see the rest


def window(T: int, start: int | None, stop: int | None, rows: int | None) -> tuple[int, int]:
    """Token positions [lo, hi): --from/--to as given, the other end filled to fit ``rows``."""
    if start is not None and not 0 <= start < T:
        raise LstmError(f"--from {start} is outside the text: positions run 0 to {T - 1}")
    if stop is not None and stop < 0:
        raise LstmError(f"--to {stop} is negative; positions run 0 to {T - 1}")
    if start is not None and stop is not None:
        lo, hi = start, min(stop, T)
    elif start is not None:
        lo, hi = start, T if rows is None else min(T, start + rows)
    elif stop is not None:
        hi = min(stop, T)
        lo = 0 if rows is None else max(0, hi - rows)
    else:
        lo, hi = 0, T if rows is None else min(T, rows)
    if hi <= lo:
        given = " ".join(f"--{n} {v}" for n, v in (("from", start), ("to", stop)) if v is not None)
        raise LstmError(
            f"{given} selects no tokens; give --from < --to within 0 to {T} "
            f"(the text has {T} tokens)"
        )
    return lo, hi


def plan(
    tr: Trace,
    *,
    gates: str | None = None,
    layer: int | None = None,
    units: str | None = None,
    top: int | None = None,
    start: int | None = None,
    stop: int | None = None,
    width: int | None = None,
    height: int | None = None,
    default_gates: tuple[str, ...] = DEFAULT_GATES,
) -> View:
    """Choose what to show. ``width``/``height`` (terminal cells) fit the unit count and
    the token window to the screen; None shows everything (for --json and --csv)."""
    T, L, H = len(tr.tokens), len(tr.layers), tr.layers[0]["h"].shape[1]
    names = parse_gates(gates, tr.cell, default_gates)
    if layer is not None and not 0 <= layer < L:
        raise LstmError(f"--layer {layer} is out of range: the model has {L} layers, 0 to {L - 1}")
    if units is not None and top is not None:
        raise LstmError("give either --units or --top, not both")
    notes: list[str] = []
    rows = None if height is None else max(5, height - 8)
    lo, hi = window(T, start, stop, rows)
    if (lo, hi) != (0, T) and start is None and stop is None:
        step = hi - lo
        notes.append(
            f"tokens {lo}–{hi - 1} of {T} shown to fit the screen; see the rest with "
            f"--from {hi} --to {min(T, hi + step)} (any --from/--to range works)"
        )
    if layer is not None:
        shown = (layer,)
    elif L > 1 and (lo, hi) != (0, T) and start is None and stop is None:
        shown = (L - 1,)
        notes.append(f"layer {L - 1} of layers 0–{L - 1} shown; pick one with --layer N")
    else:
        shown = tuple(range(L))
    if units is not None:
        chosen = (parse_units(units, H),) * len(shown)
    elif top is not None:
        n = min(top, H)
        chosen = tuple(most_varying(tr, k, names, n) for k in shown)
        notes.append(f"the {n} units (of {H}) that vary most over this text, per layer")
    else:
        fit = H
        if width is not None:
            pos_w = len(str(hi - 1)) + 1
            tok_w = min(MAX_TOKEN, max(display_width(t) for t in tr.tokens[lo:hi])) + 1
            fit = max(1, (width - pos_w - tok_w) // CELL)
        if fit >= H:
            chosen = (tuple(range(H)),) * len(shown)
        else:
            chosen = tuple(most_varying(tr, k, names, fit) for k in shown)
            notes.append(
                f"the {fit} of {H} units that vary most over this text (as many as fit); "
                "choose with --units 3,17,42 or --top N"
            )
    return View(lo, hi, names, shown, chosen, tuple(notes))


# ---- saturation (Karpathy, Johnson & Fei-Fei 2015, "Visualizing and Understanding RNNs")


def thresholds(gate: str) -> tuple[float, float]:
    """Left/right saturation bounds: 0.1/0.9 for the sigmoid gates, ∓0.9 for tanh values."""
    return (LOW, HIGH) if gate in UNIT_RANGE else (-HIGH, HIGH)


def saturation(x: np.ndarray, gate: str, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Fractions of ``x`` left-saturated (< low) and right-saturated (> high) along ``axis``."""
    lo, hi = thresholds(gate)
    return (x < lo).mean(axis=axis), (x > hi).mean(axis=axis)


def summary_gates(tr: Trace) -> tuple[str, ...]:
    return ("f", "i", "o") if tr.cell == "lstm" else ("h",)


@dataclass
class TokenRow:
    """One row of --summary: means and per-token saturation per gate, the guess, the loss."""

    position: int
    token: str
    mean: dict[str, float]
    left: dict[str, float]  # fraction of units left-saturated at this token
    right: dict[str, float]
    guess: str  # the most likely next token
    prob: float
    loss: float | None  # −log p(actual next token); None at the last token


def token_rows(tr: Trace, layer: int, lo: int, hi: int) -> list[TokenRow]:
    """Per-token statistics of one layer over positions [lo, hi)."""
    rows = []
    gates = summary_gates(tr)
    for t in range(lo, hi):
        p = inference.softmax(tr.logits[t])
        best = int(np.argmax(p))
        loss = float(-np.log(p[tr.ids[t + 1]])) if t + 1 < len(tr.ids) else None
        mean, left, right = {}, {}, {}
        for g in gates:
            x = tr.layers[layer][g][t]
            mean[g] = float(x.mean())
            left[g], right[g] = (float(v) for v in saturation(x, g, axis=0))
        rows.append(
            TokenRow(t, tr.tokens[t], mean, left, right, tr.vocab[best], float(p[best]), loss)
        )
    return rows


@dataclass
class GateSaturation:
    """Saturation of one gate of one layer over the whole text."""

    gate: str
    mean: float
    left: float  # fraction of (token, unit) values left-saturated
    right: float
    units_left: int  # units left-saturated more than half of the time
    units_right: int  # units right-saturated more than half of the time
    units: int


def layer_saturation(tr: Trace, layer: int) -> list[GateSaturation]:
    """Per gate: overall saturation, and Karpathy's per-unit count of mostly-saturated units."""
    out = []
    for g in summary_gates(tr):
        x = tr.layers[layer][g]
        left, right = saturation(x, g, axis=0)  # (H,): fraction of the time, per unit
        out.append(
            GateSaturation(
                g, float(x.mean()), float(left.mean()), float(right.mean()),
                int((left > 0.5).sum()), int((right > 0.5).sum()), x.shape[1],
            )
        )  # fmt: skip
    return out


# ---- --json and --csv


def to_json(tr: Trace, view: View) -> dict:
    """``{"tokens", "layers": [{gate: [[value per unit] per token]}], ...}``; the values are
    the model's float32 numbers as Python floats, unrounded."""
    sl = slice(view.lo, view.hi)
    layers = [
        {g: tr.layers[k][g][sl][:, list(us)].tolist() for g in view.gates}
        for k, us in zip(view.layers, view.units, strict=True)
    ]
    return {
        "cell": tr.cell,
        "tokens": tr.tokens[sl],
        "positions": list(range(view.lo, view.hi)),
        "layer_ids": list(view.layers),
        "units": [list(us) for us in view.units],
        "layers": layers,
    }


CSV_HEADER = ("token", "position", "layer", "gate", "unit", "value")


def write_csv(path: str | Path, tr: Trace, view: View) -> int:
    """Long format, one row per (token, layer, gate, unit); returns the number of rows."""
    n = 0
    try:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(CSV_HEADER)
            for t in range(view.lo, view.hi):
                for k, us in zip(view.layers, view.units, strict=True):
                    for g in view.gates:
                        values = tr.layers[k][g][t, list(us)].tolist()
                        w.writerows(
                            (tr.tokens[t], t, k, g, u, v) for u, v in zip(us, values, strict=True)
                        )
                        n += len(us)
    except OSError as e:
        raise LstmError(f"cannot write {path}: {e.strerror}; choose another --csv path") from None
    return n
