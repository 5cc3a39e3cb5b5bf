"""The long-range dependency task: name a cake, talk about nothing, then ask for the cake.

Each episode is a list of Japanese phrase tokens::

    麻里ちゃんが 玲奈ちゃんと モンブランを 食べている 。  <D filler tokens>
    僕の 麻里ちゃんの 愛してやまない ケーキは モンブラン 。

The cue names one of ``k`` cakes; the ``D`` filler tokens are drawn independently of it
from :data:`FILLER`, which holds no cake and no question token, so the only way to get
the answer right is to carry the cue across the filler. A simple RNN forgets it; an
LSTM need not.

The demo trains on the token lists directly (:func:`make_episodes`); :func:`to_text`
writes them one episode per line with the tokens separated by single spaces, which the
``space`` tokenizer splits back exactly. Run as a script to write such a file::

    python -m lstmcli.longrange --distance 40 --episodes 2000 --seed 0 --out FILE
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from lstmcli.errors import LstmError

CAKES = [
    "モンブラン",
    "ショートケーキ",
    "チーズケーキ",
    "ティラミス",
    "タルト",
    "ロールケーキ",
    "プリン",
    "ミルクレープ",
    "ザッハトルテ",
    "バウムクーヘン",
    "エクレア",
    "アップルパイ",
]  # each one sudachi word (split mode C)
QUESTION = ["僕の", "麻里ちゃんの", "愛してやまない", "ケーキは"]
END = "。"  # the last token of every episode, right after the answer
CUE = ["麻里ちゃんが", "玲奈ちゃんと", "{cake}を", "食べている", END]
CUE_AT = 2  # where the cake sits in CUE
FILLER = [
    "今日は", "朝から", "雨が", "降っていた", "風が", "強かった", "空は", "晴れていた",
    "駅まで", "歩いた", "帰り道に", "猫が", "塀の上で", "眠っていた", "電車は", "少し",
    "遅れていた", "僕たちは", "川沿いを", "のんびり", "公園の", "ベンチで", "休んだ",
    "夕焼けが", "きれいだった", "信号が", "青に", "変わった", "図書館で", "本を", "読んだ",
    "傘を", "忘れた", "明日は", "晴れるらしい", "雲が", "流れていく", "鳥が", "鳴いている",
    "坂道を", "上った", "バスを", "待った", "窓の", "外は", "静かだった", "遠くで", "鐘が",
    "鳴った",
]  # fmt: skip

Distance = int | tuple[int, int]


class Episode(NamedTuple):
    """One episode: ``tokens[cue_index]`` names ``cake``, ``tokens[answer_index] == cake``."""

    tokens: list[str]
    cake: str
    answer_index: int
    cue_index: int


def _check(n: int, distance: Distance, k: int) -> tuple[int, int]:
    """Validate the arguments; return the distance as an inclusive ``(lo, hi)`` range."""
    if n < 0:
        raise LstmError(f"the number of episodes must be 0 or more, not {n}")
    if not 1 <= k <= len(CAKES):
        raise LstmError(f"k must be between 1 and {len(CAKES)}, not {k}")
    lo, hi = (distance, distance) if isinstance(distance, int) else distance
    if not 0 <= lo <= hi:
        raise LstmError(f"distance must be 0 or more (lo <= hi), not {distance}")
    return lo, hi


def make_episodes(n: int, distance: Distance, k: int = 4, seed: int = 0) -> list[Episode]:
    """``n`` episodes over the first ``k`` cakes, each with ``distance`` filler tokens.

    ``distance`` is an int or an inclusive ``(lo, hi)`` range drawn from uniformly per
    episode. The cakes are dealt evenly (each used ``n // k`` or ``n // k + 1`` times)
    and shuffled, so no cake is more likely than another.
    """
    lo, hi = _check(n, distance, k)
    rng = np.random.default_rng(seed)
    cakes = [CAKES[i % k] for i in range(n)]
    order = rng.permutation(n)
    episodes = []
    for j in order:
        cake = cakes[j]
        d = int(rng.integers(lo, hi + 1))
        filler = [FILLER[i] for i in rng.integers(0, len(FILLER), size=d)]
        cue = [tok.format(cake=cake) for tok in CUE]
        tokens = [*cue, *filler, *QUESTION, cake, END]
        episodes.append(Episode(tokens, cake, len(tokens) - 2, CUE_AT))
    return episodes


def to_text(episodes: Sequence[Episode], sep: str = " ") -> str:
    """One episode per line, tokens joined by ``sep`` (the default suits ``space``)."""
    return "".join(sep.join(ep.tokens) + "\n" for ep in episodes)


def _distance(arg: str) -> Distance:
    """Parse ``40`` or ``20-60`` from the command line."""
    lo, _, hi = arg.partition("-")
    try:
        return (int(lo), int(hi)) if hi else int(lo)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or LO-HI, got {arg!r}") from None


def main(argv: list[str] | None = None) -> None:
    """Write episodes to ``--out`` (or stdout)."""
    ap = argparse.ArgumentParser(prog="python -m lstmcli.longrange", description=__doc__)
    ap.add_argument("--distance", type=_distance, default=40, help="N or LO-HI filler tokens")
    ap.add_argument("--episodes", type=int, default=2000)
    ap.add_argument("--k", type=int, default=4, help=f"number of cakes, 1..{len(CAKES)}")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    try:
        text = to_text(make_episodes(args.episodes, args.distance, k=args.k, seed=args.seed))
    except LstmError as e:
        ap.error(str(e))
    if args.out is None:
        print(text, end="")
    else:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
