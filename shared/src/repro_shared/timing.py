"""A tiny benchmark helper: warm-up, repeats, medians, and ratios measured alternately.

Callables must synchronise themselves (``block_until_ready`` in jax, ``torch.cuda.synchronize``
on GPU) so that the wall time covers the work.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Sequence


@dataclasses.dataclass
class Timing:
    name: str
    times_s: list[float]

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)

    @property
    def min_s(self) -> float:
        return min(self.times_s)

    def __str__(self) -> str:
        n = len(self.times_s)
        return f"{self.name}: median {self.median_s * 1e3:.3f} ms (min {self.min_s * 1e3:.3f} ms, n={n})"


def _once(fn: Callable[[], object], number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def measure(fn: Callable[[], object], *, name: str = "fn", warmup: int = 3, repeats: int = 20,
            number: int = 1) -> Timing:
    """Median over ``repeats`` of the mean time of ``number`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    return Timing(name, [_once(fn, number) for _ in range(repeats)])


def compare(fns: dict[str, Callable[[], object]], *, warmup: int = 3, repeats: int = 20,
            number: int = 1) -> dict[str, Timing]:
    """Time several callables in one process, alternating between them each repeat.

    Alternation spreads slow drifts of the machine (thermal, other load) over all
    candidates instead of penalising whichever runs last.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            times[k].append(_once(fn, number))
    return {k: Timing(k, v) for k, v in times.items()}


def ratio(timings: dict[str, Timing], numerator: str, denominator: str) -> float:
    """Median-time ratio numerator / denominator."""
    return timings[numerator].median_s / timings[denominator].median_s


def format_ratios(timings: dict[str, Timing], baseline: str, names: Sequence[str] | None = None) -> str:
    names = list(names or timings)
    lines = [f"{'name':<32} {'median ms':>10} {'ratio':>8}"]
    for k in names:
        lines.append(f"{k:<32} {timings[k].median_s * 1e3:>10.3f} {ratio(timings, k, baseline):>8.3f}")
    return "\n".join(lines)
