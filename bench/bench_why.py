"""How long ``lstm predict --why`` and ``lstm trace --memory`` take on a long prompt.

A random 2-layer LSTM the size of the default model (V = 1,200, E = H = 256, float32) and
a prompt of ``--tokens`` tokens. Side by side in one run, alternating, medians over the
repeats:

- occlusion as ``--why`` runs it (:func:`lstmcli.why.occlude`: chunks of 32 streams, each
  starting from the prompt's own state), in one chunk of T − 1 streams from the start
  (``--chunk`` large: no prefix shared), and as T − 1 separate runs of the prompt
  (:func:`lstmcli.inference.run`, one per occluded copy);
- the memory split and its per-token summary for every layer (:func:`lstmcli.memory.summary`,
  what an app redraws on each keystroke), and the same plus the occlusion that the
  "without it" column needs.

Run::

    .venv/bin/python bench/bench_why.py
    .venv/bin/python bench/bench_why.py --tokens 30 --repeats 9
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from lstmcli import inference, memory, model, why


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--vocab", type=int, default=1200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-separate", action="store_true", help="skip the slow separate runs")
    a = ap.parse_args()

    rng = np.random.default_rng(0)
    cfg = model.ModelConfig(vocab_size=a.vocab, embed_size=a.hidden, hidden_size=a.hidden)
    params = model.init_params(cfg, rng)
    ids = rng.integers(2, a.vocab, a.tokens)
    ids[0] = 0
    run = inference.run(params, cfg, ids)

    def separate():
        for k in range(1, len(ids)):
            x = ids.copy()
            x[k] = 1
            inference.run(params, cfg, x)

    def occlude(**kw):
        return why.occlude(params, cfg, ids, 1, run=run, **kw)

    def change():
        why.memory_change(run, occlude(keep_state=True))

    cases = {
        "--why (chunks of 32, shared prefix)": occlude,
        "one chunk of T − 1 streams": lambda: occlude(chunk=len(ids)),
        "one forward run of the prompt": lambda: inference.run(params, cfg, ids),
        "memory split + summary, all layers": lambda: memory.summary(run.layers),
        "  + occlusion for 'without it'": lambda: (memory.summary(run.layers), change()),
    }  # fmt: skip
    if not a.no_separate:
        cases["T − 1 separate runs"] = separate
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(a.repeats):  # alternate, so drift on a shared machine hits all alike
        for name, fn in cases.items():
            times[name].append(timed(fn))
    base = statistics.median(times["--why (chunks of 32, shared prefix)"])
    print(f"{a.tokens} tokens, lstm 2×{a.hidden}, V = {a.vocab}; medians of {a.repeats}")
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"  {name:<38} {m * 1000:9.1f} ms   {m / base:6.2f}× --why")


if __name__ == "__main__":
    main()
