"""The long-range task: seeded, exact distances, no leak of the cake into the filler."""

from collections import Counter

import pytest

from lstmcli import longrange as lr
from lstmcli.errors import LstmError


def test_same_seed_same_episodes_other_seed_other_episodes():
    assert lr.make_episodes(50, 10, seed=0) == lr.make_episodes(50, 10, seed=0)
    assert lr.make_episodes(50, 10, seed=0) != lr.make_episodes(50, 10, seed=1)


def test_episode_layout():
    for ep in lr.make_episodes(100, (0, 30), k=6, seed=2):
        t = ep.tokens
        assert t[ep.cue_index] == f"{ep.cake}を"
        assert t[ep.answer_index] == ep.cake
        assert t[ep.answer_index - 4 : ep.answer_index] == lr.QUESTION
        assert t[-1] == lr.END and ep.answer_index == len(t) - 2
        assert t[: len(lr.CUE)] == [tok.format(cake=ep.cake) for tok in lr.CUE]


@pytest.mark.parametrize("distance", [0, 1, 40, 200])
def test_fixed_distance_is_exact(distance):
    for ep in lr.make_episodes(30, distance, seed=0):
        assert ep.answer_index - 4 - len(lr.CUE) == distance


def test_distance_range_is_honoured_and_used():
    ds = {ep.answer_index - 4 - len(lr.CUE) for ep in lr.make_episodes(500, (5, 9), seed=0)}
    assert ds == {5, 6, 7, 8, 9}


def test_filler_carries_no_cake_and_no_question():
    for ep in lr.make_episodes(200, (10, 50), k=len(lr.CAKES), seed=4):
        filler = ep.tokens[len(lr.CUE) : ep.answer_index - 4]
        assert all(tok in lr.FILLER for tok in filler)
    for tok in lr.FILLER:
        assert not any(cake in tok for cake in lr.CAKES), tok
        assert tok not in lr.QUESTION and tok != lr.END


@pytest.mark.parametrize("k", [1, 3, 12])
def test_k_limits_the_cakes_and_they_come_evenly(k):
    counts = Counter(ep.cake for ep in lr.make_episodes(120 * k + 5, 3, k=k, seed=0))
    assert set(counts) == set(lr.CAKES[:k])
    assert max(counts.values()) - min(counts.values()) <= 1


def test_to_text_round_trips_through_space_split():
    eps = lr.make_episodes(20, (3, 8), seed=0)
    lines = lr.to_text(eps).splitlines()
    assert [line.split(" ") for line in lines] == [ep.tokens for ep in eps]


@pytest.mark.parametrize(
    ("n", "distance", "k"), [(-1, 5, 4), (5, -1, 4), (5, (9, 3), 4), (5, 5, 0), (5, 5, 13)]
)
def test_bad_arguments_are_refused(n, distance, k):
    with pytest.raises(LstmError):
        lr.make_episodes(n, distance, k=k)


def test_main_writes_a_file(tmp_path):
    out = tmp_path / "lr.txt"
    lr.main(["--distance", "4-6", "--episodes", "7", "--k", "2", "--seed", "1", "--out", str(out)])
    assert out.read_text(encoding="utf-8") == lr.to_text(lr.make_episodes(7, (4, 6), 2, 1))
