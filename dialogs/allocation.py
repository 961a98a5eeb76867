"""Trial allocation by permuted blocks: a pure function of (seed, stratum, sequence number).

Within each stratum the arms follow a list of blocks. Each block's size is drawn from the
configured sizes, holds the arms in the configured ratio, and is shuffled. Every draw comes from
HMAC-SHA256 keyed by the seed, so the same seed gives the same list on any machine and any Python
version (the `random` module promises that for `random()` only), and nobody without the seed can
tell the next allocation from the ones before.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

COURSE, WAITLIST = "course", "waitlist"
ARMS = (COURSE, WAITLIST)


@dataclass(frozen=True)
class Design:
    """The ratio of the arms (course:waitlist) and the block sizes drawn from."""

    ratio: tuple[int, int] = (1, 1)
    block_sizes: tuple[int, ...] = (4, 6)

    def __post_init__(self) -> None:
        if len(self.ratio) != 2 or min(self.ratio) < 1:
            raise ValueError("the ratio needs two whole numbers of 1 or more, course:waitlist")
        if not self.block_sizes or any(size % sum(self.ratio) or size < 1 for size in self.block_sizes):
            raise ValueError(f"every block size must be a multiple of {sum(self.ratio)} (the ratio's sum)")

    @classmethod
    def parse(cls, ratio: str, block_sizes: str) -> Design:
        """ "1:1" and "4,6"; ValueError with a plain message otherwise."""
        try:
            course, waitlist = (int(part) for part in ratio.split(":"))
            sizes = tuple(int(part) for part in block_sizes.replace(" ", "").split(",") if part)
        except ValueError:
            raise ValueError("expected a ratio such as 1:1 and block sizes such as 4,6") from None
        return cls((course, waitlist), sizes)

    @property
    def text(self) -> tuple[str, str]:
        return f"{self.ratio[0]}:{self.ratio[1]}", ",".join(str(s) for s in self.block_sizes)


def _draw(seed: str, stratum: str, label: str, below: int) -> int:
    """A uniform whole number in [0, below), from the seed; rejection sampling keeps it unbiased."""
    counter = 0
    limit = (1 << 256) - ((1 << 256) % below)
    while True:
        message = f"{stratum}\x1f{label}\x1f{counter}".encode()
        value = int.from_bytes(hmac.new(seed.encode(), message, hashlib.sha256).digest(), "big")
        if value < limit:
            return value % below
        counter += 1


def block(seed: str, stratum: str, number: int, design: Design) -> list[str]:
    """The `number`-th block (from 0) of a stratum: its size drawn, its arms in ratio, shuffled."""
    size = design.block_sizes[_draw(seed, stratum, f"size/{number}", len(design.block_sizes))]
    repeats = size // sum(design.ratio)
    arms = [COURSE] * (design.ratio[0] * repeats) + [WAITLIST] * (design.ratio[1] * repeats)
    for i in range(len(arms) - 1, 0, -1):  # Fisher-Yates
        j = _draw(seed, stratum, f"shuffle/{number}/{i}", i + 1)
        arms[i], arms[j] = arms[j], arms[i]
    return arms


def blocks(seed: str, stratum: str, count: int, design: Design) -> list[list[str]]:
    return [block(seed, stratum, n, design) for n in range(count)]


def sequence_of(seed: str, stratum: str, length: int, design: Design) -> list[str]:
    """The first `length` allocations of a stratum, in order."""
    arms: list[str] = []
    number = 0
    while len(arms) < length:
        arms.extend(block(seed, stratum, number, design))
        number += 1
    return arms[:length]


def allocate(seed: str, stratum: str, sequence: int, design: Design) -> str:
    """The arm of the `sequence`-th person (from 0) allocated in `stratum`."""
    if sequence < 0:
        raise ValueError("sequence numbers start at 0")
    return sequence_of(seed, stratum, sequence + 1, design)[sequence]


def stratum_of(factors: Sequence[tuple[str, str | None]]) -> str:
    """The stratum's name from its factors, e.g. [("site", "north"), ("phq9", "moderate")]."""
    if not factors:
        return "all"
    return "|".join(f"{name}={value or 'none'}" for name, value in factors)
