"""Token streams and line batches: splits, lines, bucketing, windows and masks."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli import data
from lstmcli.errors import DataError

EOS = 0


def _stream(lengths, seed=0):
    """A stream of lines with the given numbers of words (ids ≥ 2), each ended by <eos>."""
    rng = np.random.default_rng(seed)
    out = []
    for n in lengths:
        out += [*rng.integers(2, 50, n).tolist(), EOS]
    return np.array(out, dtype=np.int32)


def test_split_lines_finds_each_line_and_its_eos():
    ids = np.array([5, 6, 0, 7, 0, 0, 8, 9, 10, 0, 11, 12], dtype=np.int32)
    lines = data.split_lines(ids, EOS)
    # a lone <eos> (two in a row) is no line; the last runs to the end without one
    assert lines.start.tolist() == [0, 3, 6, 10]
    assert lines.size.tolist() == [3, 2, 4, 2]
    assert lines.tokens == 11 and lines.eos == EOS


def test_concat_lines_keeps_every_line_and_offsets_into_the_joined_stream():
    a, b = data.split_lines(_stream([3, 1]), EOS), data.split_lines(_stream([2], 1), EOS)
    both = data.concat_lines([a, b])
    assert len(both) == 3 and both.size.tolist() == [4, 2, 3]
    for j, (part, k) in enumerate([(a, 0), (a, 1), (b, 0)]):
        s, n = both.start[j], both.size[j]
        np.testing.assert_array_equal(
            both.ids[s : s + n], part.ids[part.start[k] : part.start[k] + n]
        )


def test_line_batches_cover_the_pool_once_in_batches_of_similar_length():
    lines = data.split_lines(_stream(np.random.default_rng(0).integers(1, 60, 700)), EOS)
    pool = np.arange(len(lines))
    batches = data.line_batches(lines, pool, 8, np.random.default_rng(1))
    assert sorted(np.concatenate(batches).tolist()) == pool.tolist()
    assert sum(len(b) < 8 for b in batches) <= 1  # only the very last group's last batch

    # bucketing: the padding is a small share of what a random batching would pad
    def padding(bs):
        return sum(int(lines.size[b].max()) * len(b) - int(lines.size[b].sum()) for b in bs)

    rng = np.random.default_rng(2)
    shuffled = rng.permutation(pool)
    random = [shuffled[i : i + 8] for i in range(0, len(pool), 8)]
    assert padding(batches) < 0.1 * padding(random)
    # the same generator state gives the same batches; another gives others
    again = data.line_batches(lines, pool, 8, np.random.default_rng(1))
    assert all((a == b).all() for a, b in zip(batches, again, strict=True))
    other = data.line_batches(lines, pool, 8, np.random.default_rng(9))
    assert any(len(a) != len(b) or (a != b).any() for a, b in zip(batches, other, strict=False))


def test_windows_feed_eos_then_the_line_and_mask_the_padding():
    ids = _stream([4, 1, 6])
    lines = data.split_lines(ids, EOS)
    plan = data.LinePlan(lines, [np.array([0, 1, 2])], seq_len=100)
    assert len(plan) == 1
    w = plan.window(0)
    assert w.fresh and w.x.shape == (7, 3)
    for b in range(3):
        s, n = lines.start[b], lines.size[b]
        line = ids[s : s + n]  # the words and the <eos> that ends them
        assert w.x[0, b] == EOS  # fed first, as `lstm predict` feeds a prompt
        np.testing.assert_array_equal(w.x[1:n, b], line[:-1])
        np.testing.assert_array_equal(w.y[:n, b], line)
        assert w.mask[:n, b].all() and not w.mask[n:, b].any()


def test_a_long_line_goes_on_in_windows_of_at_most_t_steps():
    lines = data.split_lines(_stream([9, 2]), EOS)  # 10 and 3 steps
    plan = data.LinePlan(lines, [np.array([0, 1])], seq_len=4)
    ws = [plan.window(k) for k in range(len(plan))]
    assert len(ws) == 3 and [w.x.shape[0] for w in ws] == [4, 4, 2]
    assert [w.fresh for w in ws] == [True, False, False]
    x = np.concatenate([w.x for w in ws])
    y = np.concatenate([w.y for w in ws])
    mask = np.concatenate([w.mask for w in ws])
    np.testing.assert_array_equal(x[1:, 0], y[:-1, 0])  # x is y one step late, across windows
    assert mask[:, 0].sum() == 10 and mask[:, 1].sum() == 3


def test_a_plan_with_a_limit_stops_after_that_many_windows():
    lines = data.split_lines(_stream([3] * 10), EOS)
    batches = [np.arange(i, i + 2) for i in range(0, 10, 2)]
    assert len(data.LinePlan(lines, batches, 2)) == 10
    assert len(data.LinePlan(lines, batches, 2, limit=7)) == 7


def test_batchify_refuses_a_corpus_too_small_for_the_batch():
    with pytest.raises(DataError, match="batch size of at most 2"):
        data.batchify(np.arange(5, dtype=np.int32), 4)
