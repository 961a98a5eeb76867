"""Allocation by permuted blocks (dialogs/allocation.py): balanced within every block and stratum,
reproducible from the seed, and (in storage) never reallocated."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.allocation import COURSE, WAITLIST, Design, allocate, block, sequence_of, stratum_of

seeds = st.text(min_size=1, max_size=40)
strata = st.sampled_from(["all", "site=north", "site=south|phq9=moderate", "phq9=severe"])


@st.composite
def designs(draw: st.DrawFn) -> Design:
    ratio = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    total = sum(ratio)
    sizes = draw(st.lists(st.integers(1, 4).map(lambda k: k * total), min_size=1, max_size=3, unique=True))
    return Design(ratio, tuple(sizes))


@settings(max_examples=150, deadline=None)
@given(seeds, strata, designs(), st.integers(0, 12))
def test_every_block_holds_the_arms_in_the_ratio(seed: str, stratum: str, design: Design, number: int) -> None:
    arms = block(seed, stratum, number, design)
    assert len(arms) in design.block_sizes
    counts = Counter(arms)
    repeats = len(arms) // sum(design.ratio)
    assert counts[COURSE] == design.ratio[0] * repeats
    assert counts[WAITLIST] == design.ratio[1] * repeats


@settings(max_examples=100, deadline=None)
@given(seeds, strata, designs(), st.integers(1, 80))
def test_a_stratum_is_never_further_from_the_ratio_than_one_block(
    seed: str, stratum: str, design: Design, length: int
) -> None:
    arms = sequence_of(seed, stratum, length, design)
    course = arms.count(COURSE)
    expected = length * design.ratio[0] / sum(design.ratio)
    assert abs(course - expected) <= max(design.block_sizes)


@settings(max_examples=100, deadline=None)
@given(seeds, strata, designs(), st.integers(0, 40))
def test_allocation_is_reproducible_from_the_seed(seed: str, stratum: str, design: Design, sequence: int) -> None:
    first = allocate(seed, stratum, sequence, design)
    assert first == allocate(seed, stratum, sequence, design)
    assert first == sequence_of(seed, stratum, sequence + 1, design)[sequence]
    assert sequence_of(seed, stratum, sequence + 1, design)[:sequence] == sequence_of(seed, stratum, sequence, design)


@settings(max_examples=50, deadline=None)
@given(strata, st.integers(0, 5))
def test_different_seeds_give_different_lists(stratum: str, offset: int) -> None:
    design = Design((1, 1), (4, 6))
    lists = {tuple(sequence_of(f"seed-{offset}-{n}", stratum, 24, design)) for n in range(8)}
    assert len(lists) > 1, "the seed decides the list"


def test_strata_each_have_their_own_list() -> None:
    design = Design((1, 1), (4, 6))
    assert sequence_of("s", "site=north", 30, design) != sequence_of("s", "site=south", 30, design)
    assert stratum_of([]) == "all"
    assert stratum_of([("site", "north"), ("phq9", None)]) == "site=north|phq9=none"


def test_designs_that_cannot_keep_the_ratio_are_refused() -> None:
    with pytest.raises(ValueError, match="multiple of 2"):
        Design((1, 1), (4, 5))
    with pytest.raises(ValueError, match="ratio"):
        Design.parse("one to one", "4")
    assert Design.parse("2:1", "3, 6") == Design((2, 1), (3, 6))
    with pytest.raises(ValueError, match="start at 0"):
        allocate("s", "all", -1, Design())
