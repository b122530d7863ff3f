import math

import pytest

from repro_shared import claims
from repro_shared.claims import Verdict


def test_ordering_pass_and_fail():
    vals = {"cm": 0.9, "cg": 0.5, "adam": 0.1}
    assert claims.ordering(vals, ["cm", "cg", "adam"], id="c", statement="s").verdict is Verdict.REPRODUCED
    assert claims.ordering(vals, ["cg", "cm", "adam"], id="c", statement="s").verdict is Verdict.NOT_REPRODUCED
    # lower is better
    assert claims.ordering(vals, ["adam", "cg"], id="c", statement="s",
                           higher_is_better=False).verdict is Verdict.REPRODUCED
    # ties are not a strict ordering
    assert claims.ordering({"a": 1.0, "b": 1.0}, ["a", "b"], id="c", statement="s").verdict is Verdict.NOT_REPRODUCED
    # a gap requirement
    assert claims.ordering(vals, ["cm", "cg"], id="c", statement="s", min_gap=0.5).verdict is Verdict.NOT_REPRODUCED


def test_ordering_nan_is_inconclusive_and_missing_raises():
    assert claims.ordering({"a": float("nan"), "b": 1}, ["a", "b"], id="c", statement="s").verdict \
        is Verdict.INCONCLUSIVE
    with pytest.raises(KeyError):
        claims.ordering({"a": 1}, ["a", "b"], id="c", statement="s")


def test_margin_absolute_and_relative():
    c = claims.margin(0.80, 0.70, 0.05, id="m", statement="s", names=("sparc", "clip"))
    assert c.verdict is Verdict.REPRODUCED and c.measured["difference"] == pytest.approx(0.10)
    assert claims.margin(0.72, 0.70, 0.05, id="m", statement="s").verdict is Verdict.NOT_REPRODUCED
    # lower is better: loss 1.04 within 5% of 1.0 is "not better by 5%" ...
    assert claims.margin(0.90, 1.0, 0.05, id="m", statement="s", higher_is_better=False,
                         relative=True).verdict is Verdict.REPRODUCED
    assert claims.margin(0.97, 1.0, 0.05, id="m", statement="s", higher_is_better=False,
                         relative=True).verdict is Verdict.NOT_REPRODUCED


def test_threshold():
    assert claims.threshold(1.04, 1.05, id="t", statement="s").verdict is Verdict.REPRODUCED
    assert claims.threshold(1.06, 1.05, id="t", statement="s").verdict is Verdict.NOT_REPRODUCED
    assert claims.threshold(0.3, 0.5, id="t", statement="s", at_most=False).verdict is Verdict.NOT_REPRODUCED
    assert claims.threshold(float("inf"), 1, id="t", statement="s").verdict is Verdict.INCONCLUSIVE


def test_margin_in_std_hand_computed():
    a, b = [3.0, 5.0], [1.0, 3.0]  # both std sqrt(2); pooled sqrt(2); diff 2
    c = claims.margin_in_std(a, b, k=1.0, id="x", statement="s")
    assert c.measured["pooled_std"] == pytest.approx(math.sqrt(2))
    assert c.verdict is Verdict.REPRODUCED  # 2 >= 1.414
    assert claims.margin_in_std(a, b, k=1.5, id="x", statement="s").verdict is Verdict.NOT_REPRODUCED  # 2 < 2.12
    assert claims.margin_in_std(b, a, k=0.0, id="x", statement="s").verdict is Verdict.NOT_REPRODUCED
    assert claims.margin_in_std([1.0], [0.0], id="x", statement="s").verdict is Verdict.INCONCLUSIVE


def test_paired_difference_three_outcomes():
    # differences 1, 1.1, 0.9: mean 1, std 0.1, CI half-width 4.303*0.1/sqrt(3) = 0.248
    a, b = [2.0, 2.1, 1.9], [1.0, 1.0, 1.0]
    c = claims.paired_difference(a, b, id="p", statement="s")
    assert c.verdict is Verdict.REPRODUCED
    lo, hi = c.measured["ci95"]
    assert lo == pytest.approx(1 - 4.303 * 0.1 / math.sqrt(3), abs=1e-9) and hi > lo
    # noisy but right direction: inconclusive
    assert claims.paired_difference([1.0, 3.0, -0.5], [0.0, 0.0, 0.0], id="p",
                                    statement="s").verdict is Verdict.INCONCLUSIVE
    # wrong direction: failure
    assert claims.paired_difference([0.0, 0.1], [1.0, 1.0], id="p", statement="s").verdict is Verdict.NOT_REPRODUCED
    # lower is better flips the sign
    assert claims.paired_difference(b, a, id="p", statement="s", higher_is_better=False).verdict \
        is Verdict.REPRODUCED
    assert claims.paired_difference([1.0], [0.0], id="p", statement="s").verdict is Verdict.INCONCLUSIVE
    with pytest.raises(ValueError):
        claims.paired_difference([1.0, 2.0], [1.0], id="p", statement="s")


def test_all_of_takes_the_worst():
    ok = claims.threshold(0, 1, id="a", statement="s")
    bad = claims.threshold(2, 1, id="b", statement="s")
    unsure = claims.paired_difference([1.0], [0.0], id="c", statement="s")
    assert claims.all_of([ok, ok], id="x", statement="s").verdict is Verdict.REPRODUCED
    assert claims.all_of([ok, unsure], id="x", statement="s").verdict is Verdict.INCONCLUSIVE
    assert claims.all_of([ok, unsure, bad], id="x", statement="s").verdict is Verdict.NOT_REPRODUCED


def test_claim_dict_round_trip():
    c = claims.threshold(0.5, 1, id="a", statement="s")
    assert claims.Claim.from_dict(c.to_dict()) == c
    assert c.to_dict()["verdict"] == "REPRODUCED"
    assert str(Verdict.NOT_REPRODUCED) == "NOT REPRODUCED"


def test_t_quantiles():
    assert claims.t_quantile_95(1) == pytest.approx(12.706)
    assert claims.t_quantile_95(100) == pytest.approx(1.96)
    m, h = claims.mean_ci95([1.0, 1.0, 1.0])
    assert (m, h) == (1.0, 0.0)
