"""Does the model carry the cue? Recall of the cued cake on fresh episodes.

An episode of the bundled corpora names a cake (the cue), goes on with sentences that name
none, and asks the question that the cake answers (「僕の麻里ちゃんの愛してやまないケーキは」, "My
friend Mari's favourite cake is the"). A :class:`RecallProbe` holds episodes that no
corpus contains (the generator's, drawn with a seed of their own), cut right after the
question, and measures how often the model's most likely next token over the whole
vocabulary is the cake the cue named. Chance is 1 in 12. Training runs it to show the
memory forming and to choose the model it keeps; ``bench/bench_remember.py`` reports the
same measure on other episodes (another seed) and on hand-written prompts.

All prompts are fed at once, as one batch of streams from the zero state, each as ``lstm
predict`` feeds it: an ``<eos>`` first, then its tokens.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from lstmcli import model, stories
from lstmcli.model import ModelConfig, Params
from lstmcli.tokenize import EOS
from lstmcli.workspace import Workspace

PROBE_SEED = 12345  # fresh episodes: the corpora use seed 0, the lesson's stages 1, 2, …
PROBES = 240
_BATCH = 64  # prompts per run, sorted by length so little of a batch is padding


class RecallProbe:
    """Fresh episodes as id arrays, with the cake each one's cue named.

    Calling it with a model's weights gives ``{"recall": share, "recall_by_filler": {n:
    [hits, episodes]}}``, n the sentences of filler between the cue and the question.
    """

    def __init__(
        self, cfg: ModelConfig, prompts: list[np.ndarray], cakes: np.ndarray, filler: np.ndarray
    ) -> None:
        self.cfg = cfg
        order = np.argsort([len(p) for p in prompts], kind="stable")
        self.prompts = [prompts[i] for i in order]
        self.cakes = np.asarray(cakes)[order]
        self.filler = np.asarray(filler)[order]
        self.ws = Workspace()  # its own: the trainer's buffers keep their shapes

    @classmethod
    def for_language(
        cls, lang: str, cfg: ModelConfig, tokenizer, vocab, n: int = PROBES,
        seed: int = PROBE_SEED,
    ) -> RecallProbe:  # fmt: skip
        """``n`` fresh episodes of corpus ``lang``, tokenized and encoded as the model reads
        them; episodes whose cake is not one token of the vocabulary are left out."""
        prompts, cakes, filler = [], [], []
        for probe in stories.probes(lang, n, seed):
            cake = vocab.index.get(probe.cake)
            if cake is None:
                continue
            ids = vocab.encode([EOS, *tokenizer.tokenize_line(probe.prompt)])
            prompts.append(ids)
            cakes.append(cake)
            filler.append(probe.filler)
        return cls(cfg, prompts, np.array(cakes, dtype=np.int64), np.array(filler))

    def __len__(self) -> int:
        return len(self.prompts)

    def answers(self, params: Params) -> np.ndarray:
        """The most likely next token after each prompt (in the probe's order)."""
        out = np.empty(len(self.prompts), dtype=np.int64)
        for i in range(0, len(self.prompts), _BATCH):
            batch = self.prompts[i : i + _BATCH]
            lengths = np.array([len(p) for p in batch])
            x = np.zeros((lengths.max(), len(batch)), dtype=np.int32)
            for b, p in enumerate(batch):
                x[: len(p), b] = p
            logits = model.last_logits(params, self.cfg, x, lengths - 1, self.ws)
            out[i : i + len(batch)] = logits.argmax(axis=1)
        return out

    def __call__(self, params: Params) -> dict:
        if not self.prompts:
            return {}
        hit = self.answers(params) == self.cakes
        hits, total = Counter(), Counter()
        for h, f in zip(hit.tolist(), self.filler.tolist(), strict=True):
            hits[f] += h
            total[f] += 1
        by = {str(f): [hits[f], total[f]] for f in sorted(total)}
        return {"recall": float(hit.mean()), "recall_by_filler": by}
