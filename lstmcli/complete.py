"""Completing the word being typed: vocabulary words that begin with it, ranked by the model.

``complete(predictor, text, k)`` is three pieces, each usable on its own (an app that
completes on every keystroke can keep the model's state and call only (b) and (c)):

(a) :func:`split_partial` cuts the text into the *context*, everything before the word
    being typed, and the *partial word*, what has been typed of it so far:

    - ``space`` tokenizer (pre-tokenized text): the characters after the last whitespace;
    - ``word``, ``ja``, ``ja-phrase``: the tokenizer's last token of the text (for Japanese
      the last SudachiPy token, so 「ケーキはモン」 gives 「モン」), unless the text ends
      with whitespace or that token is punctuation (no letter or digit): then the next word
      has not been started and the partial word is empty;
    - ``char``: always empty. Every token is one character, so completing the "word" being
      typed is plain next-token prediction.

    A text that ends with a newline has an empty partial word and a context ending in
    ``<eos>``.

(b) :class:`PrefixIndex` holds the vocabulary's words (every token but ``<eos>`` and
    ``<unk>``, which cannot be typed) sorted by code point, so the words that begin with a
    prefix are one contiguous span found by bisection. It is built once per vocabulary
    (``Predictor.prefix_index``).

(c) :func:`rank` ranks the words of that span by the model's next-token scores given the
    context: probabilities p(w | context) renormalised over the matching words,
    p(w) / Σ p(v) over every word v that begins with the partial word. Ties go to the lower
    vocabulary id (the more frequent token), as ``lstm predict`` orders them.

``<eos>`` (a line break) is never a completion. ``lstm eval``'s keystroke savings
(:mod:`lstmcli.keyboard`) suggest words by exactly this rule.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from lstmcli import inference
from lstmcli import tokenize as tok
from lstmcli.errors import DataError, LstmError
from lstmcli.textcache import Prompt
from lstmcli.vocab import SPECIALS

if TYPE_CHECKING:
    from lstmcli.predict import Predictor


class Completion(NamedTuple):
    token: str
    prob: float  # p(token | context) / Σ p(word | context) over the matching words


class PrefixIndex:
    """The vocabulary's typable words sorted by code point, for prefix lookups.

    ``words[n]`` is the n-th word in code-point order and ``ids[n]`` its vocabulary id; the
    words that begin with a prefix are ``words[lo:hi]`` for ``(lo, hi) = span(prefix)``.
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        pairs = sorted((t, i) for i, t in enumerate(tokens) if t not in SPECIALS)
        self.words: list[str] = [t for t, _ in pairs]
        self.ids: np.ndarray = np.array([i for _, i in pairs], dtype=np.int64)  # (W,)

    def __len__(self) -> int:
        return len(self.words)

    def span(self, prefix: str, lo: int = 0, hi: int | None = None) -> tuple[int, int]:
        """The range ``a:b`` of the words that begin with ``prefix`` (all for ""); searched
        within ``lo:hi`` when given, e.g. the span of a shorter prefix."""
        hi = len(self.words) if hi is None else hi
        a = bisect_left(self.words, prefix, lo, hi)
        end = _successor(prefix)
        return a, hi if end is None else bisect_left(self.words, end, a, hi)


def _successor(prefix: str) -> str | None:
    """The smallest string above every string that begins with ``prefix``; None if none."""
    while prefix and ord(prefix[-1]) == 0x10FFFF:
        prefix = prefix[:-1]
    if not prefix:
        return None
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def is_punctuation(token: str) -> bool:
    """A token with no letter or digit (。 、 . , ! " …)."""
    return not any(ch.isalnum() for ch in token)


def split_partial(tokenizer: tok.Tokenizer, text: str) -> tuple[str, str]:
    """``(context, partial)`` with ``context + partial == text``: see (a) in the module doc."""
    if tokenizer.name == "char" or not text or text[-1].isspace():
        return text, ""
    if tokenizer.name == "space":
        cut = len(text)
        while cut and not text[cut - 1].isspace():
            cut -= 1
        return text[:cut], text[cut:]
    last_line = text.rsplit("\n", 1)[-1]
    tokens = tokenizer.tokenize_line(last_line)
    if not tokens or is_punctuation(tokens[-1]) or not text.endswith(tokens[-1]):
        return text, ""
    partial = tokens[-1]
    return text[: len(text) - len(partial)], partial


def context_prompt(predictor: Predictor, context: str) -> Prompt:
    """The context as the model reads it; an empty one is the start of a line, ``<eos>``."""
    if context.strip():
        try:
            return predictor.encode(context)
        except DataError:  # only characters the tokenizer drops
            pass
    return Prompt([tok.EOS], np.array([predictor.vocab.eos_id]), [])


def next_logits(predictor: Predictor, prompt: Prompt, window: int = 256) -> np.ndarray:
    """The next-token logits (V,) after ``prompt``, from a zero state.

    The prompt runs through the layers as training windows do, ``window`` tokens at a time
    with the state carried: the same numbers as ``predictor.run(prompt).logits[-1]`` to
    float rounding, without recording every gate.
    """
    from lstmcli.model import window_logits, zero_state
    from lstmcli.workspace import Workspace

    state, ws = zero_state(predictor.config, 1), Workspace()
    for i in range(0, len(prompt.ids), window):
        logits, state = window_logits(
            predictor.params, predictor.config, prompt.ids[i : i + window, None], state, ws
        )
    return logits[-1] + predictor.params["decoder.bias"]


def rank(
    scores: np.ndarray, index: PrefixIndex, partial: str, k: int, temperature: float = 1.0
) -> list[Completion]:
    """The ``k`` most likely words that begin with ``partial``, given next-token scores (V,).

    ``scores`` are logits or log-probabilities (the two give the same ranking and the same
    renormalised probabilities). Ties go to the lower vocabulary id.
    """
    if k <= 0:
        raise LstmError(f"the number of completions must be positive, got {k}")
    lo, hi = index.span(partial)
    ids = index.ids[lo:hi]
    if len(ids) == 0:
        return []
    q = inference.softmax(scores[ids], temperature)  # = p(w) / Σ p over the matching words
    order = np.lexsort((ids, -q))[:k]
    return [Completion(index.words[lo + n], float(q[n])) for n in order]


class Completions(NamedTuple):
    """What :func:`complete_text` found: the pieces and the ranked words."""

    context: Prompt
    partial: str
    completions: list[Completion]


def complete_text(
    predictor: Predictor, text: str, k: int = 10, temperature: float = 1.0
) -> Completions:
    """Split ``text``, run the model on the context, rank the words that begin with the
    partial word; with the context's tokens, for display."""
    context, partial = split_partial(predictor.tokenizer, text)
    prompt = context_prompt(predictor, context)
    logits = next_logits(predictor, prompt)
    return Completions(
        prompt, partial, rank(logits, predictor.prefix_index, partial, k, temperature)
    )


def complete(predictor: Predictor, text: str, k: int = 10) -> list[Completion]:
    """The ``k`` most likely completions of the word being typed at the end of ``text``.

    Each is ``(token, prob)``: the vocabulary word, and its probability given the text
    before the word, renormalised over the words that begin with what has been typed.
    """
    return complete_text(predictor, text, k).completions
