"""A text's run kept per token position, so an edit re-runs only the tokens after it.

:func:`lstmcli.inference.run` feeds a prompt from a zero state and keeps, per token, every
gate and state. A text that is being typed changes a little at a time, nearly always at
its end; the run of its first tokens stays valid. A :class:`Tape` holds that run for one
stream, position by position::

    ids[t]                          the token fed at position t               (T,)
    layers[k][name][t]              i, f, g, o, c, h of layer k after it      (T, H) each
                                    (the rnn cell: h only)
    state(t) = (h_t, c_t) per layer the state after position t; state(−1) = 0

and :meth:`Tape.sync` brings it to a new token sequence: it keeps the common prefix, drops
the rest, and feeds the new tokens from the state after the last kept one. The numbers
equal those of a fresh run of the whole sequence up to float rounding. :meth:`Tape.unchanged`
says which positions still hold what they held at an earlier :attr:`Tape.version`, for
what is computed from the records and kept (:mod:`lstmcli.tapestats`).

Every gate is kept, for the gates and memory panels of ``lstm live`` (a
:class:`~lstmcli.inference.Stepper` records none). A few new tokens — a key typed at the
end — go through :func:`lstmcli.cells.lstm_step` one by one, the step of
:func:`lstmcli.inference.run`; more go through :func:`lstmcli.cells.lstm_forward` (or
``rnn_forward``), the training kernel, layer by layer: their input projections in one
product, then one recurrent product per token. A long re-run (a file opened, an edit near
the start) can be fed in pieces (``budget``), so an app stays responsive between them.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np

from lstmcli import cells
from lstmcli.model import LayerState, ModelConfig, Params, State, decoder_weight, zero_state
from lstmcli.workspace import Workspace

LSTM_RECORDS = ("i", "f", "g", "o", "c", "h")
STEPWISE = 8  # runs of at most this many tokens go step by step
CUTS = 64  # truncations remembered exactly by Tape.unchanged (older ones merged)


class Tape:
    """Per-position states and gates of one stream of a model; see the module docstring."""

    def __init__(self, params: Params, cfg: ModelConfig, capacity: int = 256) -> None:
        self.params, self.cfg = params, cfg
        self._names = LSTM_RECORDS if cfg.cell == "lstm" else ("h",)
        self._bias = [
            params[f"rnn.bias_ih_l{k}"] + params[f"rnn.bias_hh_l{k}"] for k in range(cfg.num_layers)
        ]
        self._decoder = decoder_weight(params)  # (V, H)
        self._ws = Workspace()
        self._n = 0
        self.version = 0  # changes whenever the tape does
        # (version, length kept) of the truncations, both increasing: see unchanged()
        self._cuts: list[tuple[int, int]] = []
        self._alloc(capacity)

    def _alloc(self, capacity: int) -> None:
        """(Re)allocate room for ``capacity`` positions, keeping the first ``len(self)``."""
        H, dt, n = self.cfg.hidden_size, np.dtype(self.cfg.dtype), self._n
        ids = np.zeros(capacity, np.int64)
        rec = [{name: np.zeros((capacity, H), dt) for name in self._names}
               for _ in range(self.cfg.num_layers)]  # fmt: skip
        if n:
            ids[:n] = self._ids[:n]
            for new, old in zip(rec, self._rec, strict=True):
                for name in self._names:
                    new[name][:n] = old[name][:n]
        self._ids, self._rec = ids, rec

    def __len__(self) -> int:
        return self._n

    @property
    def ids(self) -> np.ndarray:
        """The tokens fed, (T,) (a view: valid until the tape changes)."""
        return self._ids[: self._n]

    @property
    def layers(self) -> list[dict[str, np.ndarray]]:
        """Per layer, gate name → (T, H), as :attr:`lstmcli.inference.RunOutput.layers`
        (views: valid until the tape changes)."""
        return [{name: r[name][: self._n] for name in self._names} for r in self._rec]

    def state(self, t: int) -> State:
        """The state after position t, (1, H) copies per layer; t = −1 is the zero state."""
        if t < 0:
            return zero_state(self.cfg, 1)
        if t >= self._n:
            raise IndexError(f"position {t} is not on the tape (length {self._n})")
        lstm = self.cfg.cell == "lstm"
        return [LayerState(r["h"][t : t + 1].copy(), r["c"][t : t + 1].copy() if lstm else None)
                for r in self._rec]  # fmt: skip

    def logits(self, t: int | None = None) -> np.ndarray:
        """Next-token logits (V,) after position t (default: the last)."""
        t = self._n - 1 if t is None else t
        if not 0 <= t < self._n:
            raise IndexError(f"position {t} is not on the tape (length {self._n})")
        return self._decoder @ self._rec[-1]["h"][t] + self.params["decoder.bias"]

    def truncate(self, n: int) -> None:
        """Keep the first n positions."""
        if n < self._n:
            self._n = max(0, n)
            self.version += 1
            while self._cuts and self._cuts[-1][1] >= self._n:
                self._cuts.pop()  # a cut to a shorter length since says more
            self._cuts.append((self.version, self._n))
            if len(self._cuts) > CUTS:  # merged: the older version, the shorter length
                (_, n0), (v1, _) = self._cuts[:2]
                self._cuts[:2] = [(v1, n0)]

    def unchanged(self, version: int) -> int:
        """Below what position the tape holds what it held when :attr:`version` was
        ``version``, of the positions it held then: the length the truncations since have
        kept, the tape's length if none (after many, possibly fewer: never too many)."""
        at = bisect_right(self._cuts, version, key=lambda cut: cut[0])
        return self._cuts[at][1] if at < len(self._cuts) else self._n

    def extend(self, ids: np.ndarray) -> None:
        """Feed tokens (T,) after the last position."""
        ids = np.asarray(ids, np.int64)
        T, n = len(ids), self._n
        if T == 0:
            return
        if n + T > len(self._ids):
            self._alloc(max(2 * len(self._ids), n + T))
        state = self.state(n - 1)
        x = self.params["encoder.weight"][ids]  # (T, E)
        for k, (rec, st) in enumerate(zip(self._rec, state, strict=True)):
            rows = slice(n, n + T)
            if T <= STEPWISE:
                self._steps(k, x, st, rec, n)
            elif self.cfg.cell == "lstm":
                self._window(k, x, st, rec, rows)
            else:
                h_seq, _, _ = cells.rnn_forward(
                    x[:, None, :], st.h, *self._weights(k), self._ws, key=f"l{k}"
                )
                rec["h"][rows] = h_seq[:, 0]
            x = rec["h"][rows]  # (T, H): the input of the layer above
        self._ids[n : n + T] = ids
        self._n = n + T
        self.version += 1

    def _weights(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.params[f"rnn.weight_ih_l{k}"], self.params[f"rnn.weight_hh_l{k}"], self._bias[k]

    def _steps(self, k: int, x: np.ndarray, st: LayerState, rec: dict, n: int) -> None:
        """Layer k over a few tokens, one :func:`lstmcli.cells.lstm_step` each (the weights
        used as they are: a window would first copy them in its own layout)."""
        H = self.cfg.hidden_size
        h, c = st
        for t in range(len(x)):
            if self.cfg.cell == "lstm":
                h, c, a = cells.lstm_step(x[t : t + 1], h, c, *self._weights(k))
                for name, j in (("i", 0), ("f", 1), ("g", 2), ("o", 3)):
                    rec[name][n + t] = a[0, j * H : (j + 1) * H]
                rec["c"][n + t] = c[0]
            else:
                h = cells.rnn_step(x[t : t + 1], h, *self._weights(k))
            rec["h"][n + t] = h[0]

    def _window(self, k: int, x: np.ndarray, st: LayerState, rec: dict, rows: slice) -> None:
        """Layer k over many tokens as a training window (:func:`lstmcli.cells.lstm_forward`)."""
        H = self.cfg.hidden_size
        _, _, _, cache = cells.lstm_forward(
            x[:, None, :], st.h, st.c, *self._weights(k), self._ws, key=f"l{k}"
        )
        gates = cache.gates[:, :, 0]  # (T, 4H), rows i, f, o, g
        for name, j in (("i", 0), ("f", 1), ("o", 2), ("g", 3)):
            rec[name][rows] = gates[:, j * H : (j + 1) * H]
        rec["c"][rows] = cache.c[1:, :, 0]
        rec["h"][rows] = cache.h[1:, 0]

    def sync(self, ids: np.ndarray, budget: int | None = None) -> int:
        """Make the tape hold ``ids`` (T,): keep the common prefix, re-run the rest, at most
        ``budget`` tokens of it in this call. Returns the number of tokens fed; the tape
        holds all of ``ids`` when ``len(tape) == len(ids)`` afterwards."""
        ids = np.asarray(ids, np.int64)
        same = self.ids[: len(ids)] == ids[: self._n]
        p = int(np.argmin(same)) if not same.all() else len(same)  # first changed position
        self.truncate(p)
        todo = ids[p:] if budget is None else ids[p : p + budget]
        self.extend(todo)
        return len(todo)
