"""A trained model ready for questions: encode a prompt, predict, sample, generate.

:class:`Predictor` bundles what a model file holds (weights, vocabulary, tokenizer) and
runs prompts through the stateful inference API (:func:`lstmcli.inference.run`), so
``predict`` and ``trace`` see exactly the same numbers; generation continues from the
prompt's state with a :class:`~lstmcli.inference.Stepper`, which skips the gate records. A
prompt is fed from a zero state after one ``<eos>``, the token that precedes every line in
training.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from lstmcli import checkpoint, inference
from lstmcli import tokenize as tok
from lstmcli.errors import DataError, LstmError
from lstmcli.textcache import Prompt, encode_line
from lstmcli.vocab import Vocab


@dataclass
class Candidate:
    token: str
    prob: float


def sample_next(
    logits: np.ndarray,
    rng: np.random.Generator,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    greedy: bool = False,
) -> int:
    """Draw a token id from logits (V,): temperature, then top-k and nucleus (top-p) cuts."""
    if greedy:
        return int(np.argmax(logits))
    p = inference.softmax(logits, temperature)
    order = np.argsort(-p, kind="stable")
    keep = len(p) if top_k is None else max(1, min(top_k, len(p)))
    if top_p is not None and top_p < 1.0:
        cum = np.cumsum(p[order])
        keep = min(keep, int(np.searchsorted(cum, top_p)) + 1)  # smallest set with mass ≥ p
    chosen = order[:keep]
    q = p[chosen] / p[chosen].sum()
    return int(chosen[rng.choice(len(chosen), p=q)])


class Predictor:
    """A loaded model: config, weights, vocabulary and tokenizer."""

    def __init__(self, ckpt: checkpoint.Checkpoint, path: Path | None = None) -> None:
        self.ckpt = ckpt
        self.path = path
        self.config = ckpt.config
        self.params = ckpt.params
        self.vocab = Vocab.from_list(ckpt.vocab)
        self.tokenizer = tok.from_spec(ckpt.tokenizer)

    @classmethod
    def load(cls, path: str | Path) -> Predictor:
        return cls(checkpoint.load(path), Path(path))

    @cached_property
    def prefix_index(self):
        """The vocabulary's words sorted for completion (:mod:`lstmcli.complete`), built once."""
        from lstmcli.complete import PrefixIndex

        return PrefixIndex(self.vocab.tokens)

    def encode(self, text: str) -> Prompt:
        """Tokenize a prompt: lines joined by <eos>, one <eos> in front, none at the end.

        The tokens kept are the vocabulary's own strings (``<unk>`` for a word it lacks), so
        a long prompt costs a reference per token; only unknown words are kept as typed.
        """
        if not text or not text.strip():
            raise DataError("the prompt is empty; give some text to continue")
        v = self.vocab
        tokens, unknown, parts = [v.tokens[v.eos_id]], [], [np.array([v.eos_id], np.int32)]
        for line, more in _lines(text.replace("\r\n", "\n")):
            part = encode_line(self.tokenizer, v, line, more)
            tokens += part.tokens
            unknown += part.unknown
            parts.append(part.ids)
        if len(tokens) == 1:
            raise DataError(
                f"the prompt gives no tokens with the model's {self.tokenizer.name} tokenizer"
            )
        return Prompt(tokens, np.concatenate(parts), unknown)

    def run(self, prompt: Prompt) -> inference.RunOutput:
        """Feed the prompt; logits after each token and the gates of every layer."""
        return inference.run(self.params, self.config, prompt.ids)

    def last(self, prompt: Prompt) -> inference.StepOutput:
        """Feed the prompt and keep its last step: the same numbers as :meth:`run` at its
        last row (logits (1, V), the final state), without recording every token."""
        return inference.last(self.params, self.config, prompt.ids)

    def top_k(self, logits: np.ndarray, k: int = 10, temperature: float = 1.0) -> list[Candidate]:
        """The k most likely next tokens with their probabilities."""
        if k <= 0:
            raise LstmError(f"top-k must be positive, got {k}")
        if not temperature > 0:
            raise LstmError(f"temperature must be positive, got {temperature}")
        p = inference.softmax(logits, temperature)
        order = np.argsort(-p, kind="stable")[:k]
        return [Candidate(self.vocab.tokens[i], float(p[i])) for i in order]

    def generate(
        self,
        start: inference.RunOutput | inference.StepOutput,
        n: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        greedy: bool = False,
        seed: int | None = None,
    ) -> list[str]:
        """Continue by ``n`` tokens from where :meth:`run` or :meth:`last` left a prompt,
        sampling step by step."""
        if n <= 0:
            raise LstmError(f"the number of tokens to generate must be positive, got {n}")
        if not temperature > 0:
            raise LstmError(f"temperature must be positive, got {temperature}")
        if top_p is not None and not 0 < top_p <= 1:
            raise LstmError(f"top-p must be in (0, 1], got {top_p}")
        rng = np.random.default_rng(seed)
        logits = start.logits[-1]
        stepper = inference.Stepper(self.params, self.config, start.state)
        generated: list[str] = []
        for _ in range(n):
            nxt = sample_next(logits, rng, temperature, top_k, top_p, greedy)
            generated.append(self.vocab.tokens[nxt])
            logits = stepper.feed(np.array([nxt]))[0]
        return generated

    def continuation(self, prompt: Prompt, generated: list[str]) -> str:
        """The text ``generated`` adds after ``prompt``, joined as the tokenizer joins a line:
        a word tokenizer puts a space before the first new word, ``<eos>`` is a newline."""
        last = len(prompt.tokens) - prompt.tokens[::-1].index(tok.EOS)  # after the last <eos>
        line = prompt.tokens[last:]
        head = self.tokenizer.detokenize(line)
        return self.tokenizer.detokenize(line + generated)[len(head) :]


def _lines(text: str) -> Iterator[tuple[str, bool]]:
    """``(line, more)`` for each line of ``text`` split at ``\\n``, ``more`` unless it is the
    last (a text ending in ``\\n`` ends with an empty line), without a list of them."""
    start = 0
    while (end := text.find("\n", start)) >= 0:
        yield text[start:end], True
        start = end + 1
    yield text[start:], False
