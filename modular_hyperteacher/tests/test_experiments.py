"""The experiments' pre-registered criteria on hand-made numbers (no training)."""

from modular_hyperteacher.experiments.hyperteacher_compositional import compositional_claims
from modular_hyperteacher.experiments.theory_supports import kind_claims

from repro_shared.claims import Verdict


def _row(gen, loss, r2, kind="discrete"):
    return {"kind": kind, "generalizing": gen, "ood3_rel_loss": loss, "ood3_r2": r2}


def test_theory_claims_need_every_generalizing_support_to_beat_every_other():
    rows = [_row(True, 0.02, 0.99), _row(True, 0.04, 0.97), _row(False, 0.05, 0.96), _row(False, 0.2, 0.1)]
    loss, r2 = kind_claims(rows, "discrete")
    assert loss.verdict is Verdict.REPRODUCED and r2.verdict is Verdict.REPRODUCED
    rows.append(_row(False, 0.03, 0.98))  # one non-generalizing support beats the worst generalizing one
    loss, r2 = kind_claims(rows, "discrete")
    assert loss.verdict is Verdict.NOT_REPRODUCED and r2.verdict is Verdict.NOT_REPRODUCED
    assert kind_claims(rows, "continuous") == []


def test_compositional_claim_needs_margin_and_smaller_gap():
    good = {"hnet_linear": {"ood_acc": 0.8, "gap": 0.02}, "anil": {"ood_acc": 0.7, "gap": 0.1},
            "learned_init": {"ood_acc": 0.6, "gap": 0.2}}
    (claim,) = compositional_claims(good)
    assert claim.verdict is Verdict.REPRODUCED
    close = {**good, "anil": {"ood_acc": 0.77, "gap": 0.1}}
    assert compositional_claims(close)[0].verdict is Verdict.NOT_REPRODUCED
    wide_gap = {**good, "hnet_linear": {"ood_acc": 0.8, "gap": 0.15}}
    assert compositional_claims(wide_gap)[0].verdict is Verdict.NOT_REPRODUCED


def test_goals_claims_need_learning_and_a_strict_lead():
    from modular_hyperteacher.experiments.grid_goals import goals_claims

    def s(success, acc):
        return {"ood_success": success, "ood_acc": acc}

    good = {"hnet_linear": s(0.6, 0.9), "anil": s(0.3, 0.8), "learned_init": s(0.2, 0.7)}
    success, acc = goals_claims(good, random_success=0.0)
    assert success.id == "G2-hnet_linear" and success.verdict is Verdict.REPRODUCED
    assert acc.verdict is Verdict.REPRODUCED
    behind = {**good, "learned_init": s(0.7, 0.95)}
    assert [c.verdict for c in goals_claims(behind, 0.0)] == [Verdict.NOT_REPRODUCED] * 2
    nothing_learned = {k: s(0.02, v["ood_acc"]) for k, v in good.items()}
    success, acc = goals_claims(nothing_learned, random_success=0.0)
    assert success.verdict is Verdict.INCONCLUSIVE and acc.verdict is Verdict.REPRODUCED
