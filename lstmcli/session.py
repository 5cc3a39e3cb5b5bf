"""A next-word keyboard without a screen: text in, suggestions out, on every keystroke.

``lstm live`` calls :meth:`Session.update` with the text before the cursor after every
change. One update:

1. splits the text into the *context* and the *partial word* being typed
   (:func:`lstmcli.complete.split_partial`: for English the characters after the last
   space, for Japanese the last SudachiPy token);
2. tokenizes the context as ``lstm predict`` does (one ``<eos>`` in front, lines joined by
   ``<eos>``; an empty context is just ``<eos>``), each line and each sentence once while
   it stays in the text (:class:`lstmcli.textcache.Encoder`);
3. brings a :class:`~lstmcli.tape.Tape` to those tokens: only the tokens after the first
   changed one are re-run, at most ``budget`` of them per call;
4. ranks the suggestions:

   - no partial word: the k most likely next tokens p(w | text), as ``lstm predict``;
   - a partial word: the vocabulary words that begin with it, p(v | context)
     renormalised over them (:func:`lstmcli.complete.rank`), as ``lstm predict
     --complete``;
   - a partial word that is itself a vocabulary word, with a tokenizer that writes no
     spaces (``ja``, ``ja-phrase``): は in 「ケーキは」 may be finished, or the start of
     はじめ. The tape then also feeds it, and the list holds both readings, each with its
     probability given the context, over every way the text can go on (Z = Σ p(v |
     context) over the words v that begin with the partial word)::

         q(v)    = p(v | context) / Z                            v longer: completes it
         q(·, w) = p(partial | context) · p(w | context, partial) / Z   w: the next word

     so 「…ケーキは」 suggests モンブラン after は. They sum to 1; the k largest are kept.

:func:`insertion` says what accepting a suggestion types, with the spacing of the
tokenizer. :mod:`lstmcli.liveview` turns the tape into what the gates and memory panels
draw. Nothing here imports Textual or Rich.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from lstmcli import complete, inference
from lstmcli import tokenize as tok
from lstmcli.predict import Predictor
from lstmcli.tape import Tape
from lstmcli.tapestats import TapeStats
from lstmcli.textcache import Encoder, SentenceCache

NEXT, COMPLETE, AFTER = "next", "complete", "after"  # the kinds of suggestion


class Suggestion(NamedTuple):
    """A word to offer: the vocabulary token, its probability, and what it does.

    kind: NEXT (a word after the text), COMPLETE (the partial word completed: ``typed`` is
    what has been typed of it), AFTER (a word after the partial word, taken as finished).
    """

    token: str
    prob: float
    kind: str = NEXT
    typed: str = ""


class Update(NamedTuple):
    """What one :meth:`Session.update` found. ``done`` is False while tokens are left to
    re-run (call again); then ``suggestions`` is empty."""

    text: str  # the text before the cursor
    context: str
    partial: str
    tokens: tuple[str, ...]  # the tokens fed: the context's, then the partial word if fed
    unknown: tuple[str, ...]  # words of the context that the vocabulary lacks
    suggestions: tuple[Suggestion, ...]
    done: bool
    fed: int  # tokens re-run by this call


@dataclass
class _Split:
    text: str
    context: str
    partial: str
    prompt: object  # lstmcli.predict.Prompt of the context
    ids: np.ndarray  # what the tape must hold
    fed_partial: bool
    tokens: tuple[str, ...]  # the tokens of ids


class Session:
    """The state of a keyboard over one text: a tape of per-token states, the last split,
    the tape's sums for the panels (:class:`~lstmcli.tapestats.TapeStats`, which
    :mod:`lstmcli.liveview` takes).

    ``predictor`` is not modified; ``k`` suggestions are ranked on every update.
    """

    def __init__(self, predictor: Predictor, k: int = 5) -> None:
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        self.predictor = copy.copy(predictor)  # the same model, with a caching tokenizer
        self.predictor.tokenizer = SentenceCache(predictor.tokenizer)
        self.encoder = Encoder(self.predictor.tokenizer, predictor.vocab)
        self.k = k
        self.tape = Tape(predictor.params, predictor.config)
        self.stats = TapeStats(self.tape)
        self.index = predictor.prefix_index
        self.spaced = predictor.tokenizer.joiner == " "
        self._split: _Split | None = None

    @property
    def tokens(self) -> list[str]:
        """The tokens on the tape, as fed (unknown words as ``<unk>``)."""
        vocab = self.predictor.vocab.tokens
        return [vocab[i] for i in self.tape.ids.tolist()]

    def _split_text(self, text: str) -> _Split:
        if self._split is not None and self._split.text == text:
            return self._split
        p = self.predictor
        context, partial = complete.split_partial(p.tokenizer, text)
        prompt = self.encoder.prompt(context)  # = complete.context_prompt(p, context)
        feed = bool(partial) and not self.spaced and partial in p.vocab
        ids = np.append(prompt.ids, p.vocab.index[partial]) if feed else prompt.ids
        tokens = tuple(prompt.tokens) + ((partial,) if feed else ())
        self._split = _Split(text, context, partial, prompt, ids, feed, tokens)
        return self._split

    def update(self, text: str, budget: int | None = None) -> Update:
        """Bring the session to ``text`` (the text before the cursor) and rank the
        suggestions; re-run at most ``budget`` tokens (None: all that changed)."""
        s = self._split_text(text)
        fed = self.tape.sync(s.ids, budget)
        done = len(self.tape) == len(s.ids)
        suggestions = self._rank(s) if done else ()
        return Update(text, s.context, s.partial, s.tokens, tuple(s.prompt.unknown),
                      suggestions, done, fed)  # fmt: skip

    def _rank(self, s: _Split) -> tuple[Suggestion, ...]:
        k, tape, vocab = self.k, self.tape, self.predictor.vocab.tokens
        if not s.partial:
            p = inference.softmax(tape.logits())
            order = np.argsort(-p, kind="stable")[:k]  # as Predictor.top_k orders them
            return tuple(Suggestion(vocab[i], float(p[i])) for i in order.tolist())
        n_ctx = len(s.prompt.ids)
        found = complete.rank(tape.logits(n_ctx - 1), self.index, s.partial, k + 1)
        out = [Suggestion(c.token, c.prob, COMPLETE, s.partial) for c in found]
        if s.fed_partial:
            q = next((c.prob for c in found if c.token == s.partial), 0.0)  # p(partial) / Z
            out = [c for c in out if c.token != s.partial]
            if q > 0:
                p = inference.softmax(tape.logits())
                order = np.argsort(-p, kind="stable")[:k]
                out += [Suggestion(vocab[i], q * float(p[i]), AFTER) for i in order.tolist()]
            out.sort(key=lambda c: -c.prob)  # stable: completions first among equals
        return tuple(out[:k])


def insertion(tokenizer: tok.Tokenizer, before: str, s: Suggestion) -> tuple[int, str]:
    """What accepting ``s`` types at a cursor with ``before`` in front of it:
    ``(characters to delete before the cursor, text to insert)``.

    A completion replaces the typed part of its word. Tokenizers that write spaces
    (``word``, ``space``) get the space the tokenizer puts before the word (none before
    ``.``) in place of any already typed, and one after it, so the next word can follow;
    the others (``ja``, ``ja-phrase``, ``char``) none. ``<eos>`` is a line break; the
    char tokenizer's ``▁`` a space.
    """
    delete = len(s.typed) if s.kind == COMPLETE else 0
    head = before[: len(before) - delete]
    if s.token == tok.EOS:
        spaces = len(head) - len(head.rstrip(" "))
        return delete + spaces, "\n"
    if tokenizer.joiner != " ":
        return delete, s.token.replace(tok.SPACE, " ") if tokenizer.name == "char" else s.token
    spaces = len(head) - len(head.rstrip(" "))
    line = head.rstrip(" ").rsplit("\n", 1)[-1]
    prev = tokenizer.tokenize_line(line)
    joined = tokenizer.join_line([*prev, s.token])
    sep = joined[len(tokenizer.join_line(prev)) : len(joined) - len(s.token)] if prev else ""
    return delete + spaces, sep + s.token + " "
