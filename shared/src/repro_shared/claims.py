"""Pre-registered pass criteria and their verdicts.

Every claim a package targets is written in its README with a criterion *before* the
run; the reproduce script evaluates that criterion on the measured numbers with one of
the helpers below and records a :class:`Claim` with its verdict. The helpers never look
at which outcome is "wanted": a criterion that fails gives ``NOT REPRODUCED``.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


class Verdict(enum.StrEnum):
    REPRODUCED = "REPRODUCED"
    NOT_REPRODUCED = "NOT REPRODUCED"
    INCONCLUSIVE = "INCONCLUSIVE"

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass
class Claim:
    """One paper claim, its pre-registered criterion, what we measured and the verdict."""

    id: str
    statement: str
    criterion: str
    measured: Any
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["verdict"] = self.verdict.value
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Claim:
        return cls(d["id"], d["statement"], d["criterion"], d.get("measured"), Verdict(d["verdict"]))

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.REPRODUCED


def _verdict(ok: bool) -> Verdict:
    return Verdict.REPRODUCED if ok else Verdict.NOT_REPRODUCED


def _finite(*xs: float) -> bool:
    return all(math.isfinite(float(x)) for x in xs)


# Two-sided 95% Student-t quantiles for small degrees of freedom (df = 1..30); normal beyond.
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042]


def t_quantile_95(df: int) -> float:
    """Two-sided 95% quantile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("df must be >= 1")
    return _T95[df - 1] if df <= len(_T95) else 1.96


def mean_ci95(samples: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of its 95% t confidence interval (half-width nan for one sample)."""
    x = np.asarray(samples, dtype=float)
    if x.size == 0:
        raise ValueError("no samples")
    if x.size == 1:
        return float(x[0]), float("nan")
    return float(x.mean()), float(t_quantile_95(x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))


def ordering(values: Mapping[str, float], order: Sequence[str], *, id: str, statement: str,
             higher_is_better: bool = True, min_gap: float = 0.0) -> Claim:
    """``order[0]`` beats ``order[1]`` beats ... each by more than ``min_gap`` (strict)."""
    if len(order) < 2:
        raise ValueError("an ordering needs at least two names")
    missing = [k for k in order if k not in values]
    if missing:
        raise KeyError(f"ordering names not in values: {missing}")
    sign = 1.0 if higher_is_better else -1.0
    vals = [float(values[k]) for k in order]
    rel = ">" if higher_is_better else "<"
    criterion = f" {rel} ".join(order) + (f" (each gap > {min_gap:g})" if min_gap else "")
    measured = {k: float(values[k]) for k in order}
    if not _finite(*vals):
        return Claim(id, statement, criterion, measured, Verdict.INCONCLUSIVE)
    ok = all(sign * (a - b) > min_gap for a, b in zip(vals, vals[1:]))
    return Claim(id, statement, criterion, measured, _verdict(ok))


def margin(a: float, b: float, min_margin: float, *, id: str, statement: str, names: tuple[str, str] = ("a", "b"),
           higher_is_better: bool = True, relative: bool = False) -> Claim:
    """``a`` beats ``b`` by at least ``min_margin`` (absolute, or a fraction of |b| if ``relative``)."""
    a, b = float(a), float(b)
    sign = 1.0 if higher_is_better else -1.0
    need = min_margin * abs(b) if relative else min_margin
    rel = "≥" if higher_is_better else "≤"
    op = "+" if higher_is_better else "-"
    unit = f"{min_margin:g}·|{names[1]}|" if relative else f"{min_margin:g}"
    criterion = f"{names[0]} {rel} {names[1]} {op} {unit}"
    measured = {names[0]: a, names[1]: b, "difference": a - b}
    if not _finite(a, b):
        return Claim(id, statement, criterion, measured, Verdict.INCONCLUSIVE)
    return Claim(id, statement, criterion, measured, _verdict(sign * (a - b) >= need))


def threshold(value: float, bound: float, *, id: str, statement: str, name: str = "value",
              at_most: bool = True) -> Claim:
    """A single measured value is at most (or at least) a pre-registered bound."""
    value = float(value)
    criterion = f"{name} {'≤' if at_most else '≥'} {bound:g}"
    if not _finite(value):
        return Claim(id, statement, criterion, {name: value}, Verdict.INCONCLUSIVE)
    ok = value <= bound if at_most else value >= bound
    return Claim(id, statement, criterion, {name: value}, _verdict(ok))


def margin_in_std(a: Sequence[float], b: Sequence[float], k: float = 1.0, *, id: str, statement: str,
                  names: tuple[str, str] = ("a", "b"), higher_is_better: bool = True) -> Claim:
    """mean(a) beats mean(b) by at least ``k`` pooled seed standard deviations.

    INCONCLUSIVE when either side has fewer than two seeds (no spread to compare against).
    """
    a_ = np.asarray(a, dtype=float)
    b_ = np.asarray(b, dtype=float)
    rel = ">" if higher_is_better else "<"
    criterion = f"mean({names[0]}) {rel} mean({names[1]}) by ≥ {k:g} pooled seed std"
    measured: dict[str, Any] = {f"mean_{names[0]}": float(a_.mean()), f"mean_{names[1]}": float(b_.mean()),
                                "n": [int(a_.size), int(b_.size)]}
    if a_.size < 2 or b_.size < 2:
        return Claim(id, statement, criterion, measured, Verdict.INCONCLUSIVE)
    pooled = math.sqrt(((a_.size - 1) * a_.var(ddof=1) + (b_.size - 1) * b_.var(ddof=1)) / (a_.size + b_.size - 2))
    diff = (a_.mean() - b_.mean()) * (1.0 if higher_is_better else -1.0)
    measured.update(pooled_std=pooled, difference=float(a_.mean() - b_.mean()))
    if not _finite(diff, pooled):
        return Claim(id, statement, criterion, measured, Verdict.INCONCLUSIVE)
    # With zero spread any strictly positive difference clears k * 0.
    ok = diff > 0 and diff >= k * pooled
    return Claim(id, statement, criterion, measured, _verdict(ok))


def paired_difference(a: Sequence[float], b: Sequence[float], *, id: str, statement: str,
                      names: tuple[str, str] = ("a", "b"), higher_is_better: bool = True,
                      min_diff: float = 0.0) -> Claim:
    """Paired over seeds: the mean of (a_i - b_i) exceeds ``min_diff`` with 95% confidence.

    REPRODUCED when the whole 95% t interval of the mean paired difference lies above
    ``min_diff``; NOT REPRODUCED when its mean is at or below ``min_diff``; INCONCLUSIVE
    otherwise (right direction, interval still covers ``min_diff``) or with < 2 pairs.
    With ``higher_is_better=False`` the differences are taken as b_i - a_i.
    """
    a_ = np.asarray(a, dtype=float)
    b_ = np.asarray(b, dtype=float)
    if a_.shape != b_.shape:
        raise ValueError(f"paired samples need equal shapes, got {a_.shape} and {b_.shape}")
    d = (a_ - b_) if higher_is_better else (b_ - a_)
    better = "better than"
    criterion = (f"paired over seeds: {names[0]} {better} {names[1]} by > {min_diff:g}, "
                 "95% CI of the mean difference above it")
    if d.size < 2:
        measured = {"mean_difference": float(d.mean()) if d.size else float("nan"), "n": int(d.size)}
        return Claim(id, statement, criterion, measured, Verdict.INCONCLUSIVE)
    mean, half = mean_ci95(d)
    measured = {"mean_difference": mean, "ci95": [mean - half, mean + half], "n": int(d.size)}
    if not _finite(mean, half):
        return Claim(id, statement, criterion, measured, Verdict.INCONCLUSIVE)
    if mean - half > min_diff:
        verdict = Verdict.REPRODUCED
    elif mean <= min_diff:
        verdict = Verdict.NOT_REPRODUCED
    else:
        verdict = Verdict.INCONCLUSIVE
    return Claim(id, statement, criterion, measured, verdict)


def all_of(claims: Sequence[Claim], *, id: str, statement: str) -> Claim:
    """A claim made of several sub-criteria: REPRODUCED only if every part is."""
    if not claims:
        raise ValueError("all_of needs at least one claim")
    criterion = " AND ".join(f"({c.criterion})" for c in claims)
    measured = {c.id: c.measured for c in claims}
    verdicts = {c.verdict for c in claims}
    if Verdict.NOT_REPRODUCED in verdicts:
        v = Verdict.NOT_REPRODUCED
    elif Verdict.INCONCLUSIVE in verdicts:
        v = Verdict.INCONCLUSIVE
    else:
        v = Verdict.REPRODUCED
    return Claim(id, statement, criterion, measured, v)
