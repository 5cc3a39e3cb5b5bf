"""``lstm predict --why`` on screen: p(top candidate) with each earlier token taken away.

One row per fed token after the leading ``<eos>``: the probability of the top candidate
when that token is read as ``<unk>``, the change, and a bar proportional to the change
(red where the probability falls, blue where it rises; the sign is printed too, so the
table reads without colour). The numbers come from :mod:`lstmcli.why`.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from lstmcli import why
from lstmcli.render import bar

SMALL = 0.01  # changes below this in p are "nothing much"


def why_table(console: Console, tokens: list[str], vocab: list[str], occ: why.Occlusion) -> None:
    """The occlusion table and one sentence on the token that matters most."""
    word = vocab[occ.target]
    console.print(
        Text.assemble(
            ("why ", "bold"), f"p({word}) = {occ.prob:.4f}; with each token read as <unk> instead:"
        ),
        soft_wrap=True,
    )
    t = Table(box=None, header_style="bold", pad_edge=False)
    t.add_column("pos", justify="right")
    t.add_column("without", no_wrap=True)
    t.add_column(f"p({escape(word)})", justify="right")
    t.add_column("change", justify="right")
    t.add_column("", no_wrap=True)
    deltas = occ.prob_without - occ.prob
    top = max(float(abs(deltas).max()), 1e-12)
    for k, q, d in zip(occ.positions, occ.prob_without, deltas, strict=True):
        style = "red" if d < 0 else "blue"
        t.add_row(
            str(k), Text(tokens[k]), f"{q:.4f}", f"{d:+.4f}", Text(bar(abs(d) / top), style=style)
        )
    console.print(t)
    console.print(Text(sentence(tokens, word, occ)), soft_wrap=True)


def sentence(tokens: list[str], word: str, occ: why.Occlusion) -> str:
    """``Without モンブラン, p(モンブラン) falls from 0.93 to 0.07.``, or that nothing matters."""
    j = why.strongest(occ)
    k, q = int(occ.positions[j]), float(occ.prob_without[j])
    if occ.prob - q < SMALL:
        most = float(abs(occ.prob_without - occ.prob).max())
        return f"No single token matters much: p({word}) moves by at most {most:.3f}."
    out = f"Without {tokens[k]} ({k}), p({word}) falls from {occ.prob:.2f} to {q:.2f}."
    if k == occ.positions[-1] and len(occ.positions) > 1:  # the last token: name one before it
        j = int(occ.prob_without[:-1].argmin())
        k, q = int(occ.positions[j]), float(occ.prob_without[j])
        if occ.prob - q >= SMALL:
            out += f" Of the tokens before it, {tokens[k]} ({k}) matters most: {q:.2f} without it."
    return out
