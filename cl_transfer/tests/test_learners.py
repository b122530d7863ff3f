"""The learners against a table-driven FINETUNE (notes Sec. 7.3), and the metrics' hand-computed values."""

import itertools
import math
import random

import numpy as np
import pytest
from cl_transfer.learners import LEARNERS, LearnerSpec, choose_by_score, choose_oracle, run_sequences
from cl_transfer.training import BASE_ID, RunResult

from cl_transfer import metrics
from cl_transfer import transfer_matrix as tm

S = 100
BASE_ACC = {"A": 0.6, "B": 0.6, "C": 0.6, "D": 0.6, "T": 0.6}
# transfer[(source, target)]: accuracy change when the init was last trained on `source`
TRANSFER = {("A", "B"): 0.2, ("B", "C"): -0.2, ("A", "T"): 0.3, ("B", "T"): 0.1, ("C", "T"): -0.3,
            ("D", "T"): 0.0, ("A", "C"): 0.05}


class MockBackend:
    """acc(task | init) = base + TRANSFER[(init's task, task)]; probe dev loss = -(that accuracy) + noise."""

    def __init__(self, probe_noise=0.0):
        self.task_of = {BASE_ID: None}
        self.calls = []
        self.probe_noise = probe_noise

    def key(self, run):
        return f"{run.init}>{run.task}/{run.seed}/{run.steps}/{int(run.keep)}"

    def full_steps(self, task):
        return S

    def similarity(self, a, b):
        return 0.95 if TRANSFER.get((a, b), 0.0) >= 0.2 else 0.5

    def acc(self, init, task):
        return BASE_ACC[task] + TRANSFER.get((self.task_of[init], task), 0.0)

    def run(self, runs):
        self.calls.append(list(runs))
        out = []
        for r in runs:
            k = self.key(r)
            self.task_of[k] = r.task
            a = self.acc(r.init, r.task)
            noise = random.Random(k).uniform(-1, 1) * self.probe_noise
            loss = -a + noise
            out.append(RunResult(k, loss, a, a if r.keep else math.nan, 0.0))
        return out


def _run(learners, orders, **kw):
    backend = MockBackend(**{k: v for k, v in kw.items() if k == "probe_noise"})
    recs = run_sequences(backend, orders, learners, targets=("T",),
                         candidate_cap=kw.get("candidate_cap"))
    return backend, recs


def _by(recs, learner):
    return [r for r in recs if r.learner == learner]


def test_parents_of_fixed_learners_and_library_growth():
    orders = {("s", 0): ("A", "B", "C", "T")}
    _, recs = _run([LEARNERS["FT-base"], LEARNERS["FT-last"]], orders)
    assert [r.parent_position for r in _by(recs, "FT-base")] == [-1, -1, -1, -1]
    assert [r.parent_position for r in _by(recs, "FT-last")] == [-1, 0, 1, 2]
    assert _by(recs, "FT-last")[-1].lineage == ["A", "B", "C"]
    assert [r.n_candidates for r in _by(recs, "Oracle")] == []
    assert [r.test_acc for r in _by(recs, "FT-last")] == pytest.approx([0.6, 0.8, 0.4, 0.3])


def test_oracle_is_rowwise_argmax_and_perfect_selection_equals_it():
    orders = {("s", 0): ("A", "B", "C", "T"), ("s", 1): ("C", "B", "A", "T")}
    sel = LearnerSpec("perfect", "select", "probe", probe_steps=10)
    _, recs = _run([LEARNERS["Oracle"], sel], orders)
    for seed in (0, 1):
        orc = [r for r in _by(recs, "Oracle") if r.seed == seed]
        per = [r for r in _by(recs, "perfect") if r.seed == seed]
        assert [r.parent_position for r in orc] == [r.parent_position for r in per]
        assert [r.test_acc for r in orc] == [r.test_acc for r in per]
    orc = [r for r in _by(recs, "Oracle") if r.seed == 0]
    assert orc[1].parent_task == "A" and orc[3].parent_task == "A"  # the best source for B and for T
    assert orc[3].test_acc == pytest.approx(0.9)
    assert orc[2].parent_task == "A"  # A→C (+0.05) beats θ₀ and B→C (-0.2)


def test_compute_counters():
    orders = {("s", 0): ("A", "B", "C", "T")}
    _, recs = _run([LEARNERS["FT-base"], LEARNERS["Oracle"], LEARNERS["Select-probe10"],
                    LEARNERS["Select-zeroshot"]], orders)
    n_c = [1, 2, 3, 4]
    assert [r.n_candidates for r in _by(recs, "Oracle")] == n_c
    assert sum(r.steps for r in _by(recs, "FT-base")) == 4 * S
    assert sum(r.steps for r in _by(recs, "Oracle")) == sum(n_c) * S
    assert sum(r.steps for r in _by(recs, "Select-probe10")) == 4 * S + 10 * sum(n_c)
    assert sum(r.steps for r in _by(recs, "Select-zeroshot")) == 4 * S


def test_memoisation_shares_runs_between_learners():
    orders = {("s", 0): ("A", "T")}
    backend, _ = _run([LEARNERS["FT-base"], LEARNERS["Oracle"]], orders)
    keys = [backend.key(r) for call in backend.calls for r in call]
    assert len(set(keys)) < len(keys)  # FT-base's runs are the Oracle's θ₀ candidates


def test_margin_never_picks_a_candidate_worse_than_base():
    rng = random.Random(0)
    for _ in range(500):
        scores = [rng.uniform(0, 2) for _ in range(rng.randint(1, 6))]
        m = rng.choice([0.0, 0.1, 0.5])
        i = choose_by_score(scores, m)
        assert i == 0 or scores[i] < scores[0] - m
        if i == 0 and len(scores) > 1:
            assert min(scores[1:]) >= scores[0] - m


def test_choose_oracle_ties_go_to_lower_loss_then_most_recent():
    r = lambda a, l: RunResult("k", l, a, a, 0.0)
    assert choose_oracle([r(0.9, 0.5), r(0.9, 0.3), r(0.8, 0.1)]) == 1
    assert choose_oracle([r(0.9, 0.3), r(0.9, 0.3)]) == 0
    assert choose_oracle([r(0.8, 0.3), r(0.9, 0.3), r(0.9, 0.3)]) == 2
    assert choose_oracle([r(0.9, 0.5), r(0.8, 0.2), r(0.7, 0.4)], by="loss") == 1


def test_similarity_score_and_cap():
    orders = {("s", 0): ("C", "D", "A", "B", "T")}
    _, recs = _run([LEARNERS["Select-similarity"], LEARNERS["Oracle"]], orders, candidate_cap=3)
    sim = _by(recs, "Select-similarity")
    assert sim[-1].parent_task == "A"  # the only source whose similarity clears the threshold
    assert max(r.n_candidates for r in _by(recs, "Oracle")) == 3


def test_transfer_matrix_on_a_tiny_case():
    backend = MockBackend()
    m = tm.measure(backend, ["A", "B", "C"], ["T"], seeds=[0, 1])
    mean, se = tm.summarize(m)
    assert mean[:, 0] == pytest.approx([0.3, 0.1, -0.3])
    assert np.allclose(se, 0)
    assert [tm.measured_role(x, 0.02) for x in mean[:, 0]] == ["positive", "positive", "negative"]


def test_hand_computed_metrics():
    """Notes Sec. 7.4."""
    base, learner, oracle = (0.60, 0.70, 0.80), (0.70, 0.65, 0.80), (0.72, 0.70, 0.82)
    d = metrics.transfer(learner, base)
    assert d == pytest.approx([0.10, -0.05, 0.0])
    assert d.mean() == pytest.approx(0.016667, abs=1e-5)
    assert metrics.relative_transfer(learner, base) == pytest.approx([0.166667, -0.071429, 0.0], abs=1e-5)
    assert metrics.negative_transfer_rate(d, 0.01) == pytest.approx(1 / 3)
    assert metrics.oracle_gap(oracle, learner) == pytest.approx([0.02, 0.05, 0.02])
    assert metrics.compute_ratio([120, 130], [100, 100]) == pytest.approx(1.25)


def test_sequence_summary_pairs_by_seed():
    orders = {(s, seed): ("A", "T") for s in ("x",) for seed in (0, 1)}
    _, recs = _run([LEARNERS["FT-base"], LEARNERS["FT-last"], LEARNERS["Oracle"]], orders)
    summ = metrics.sequence_summary(recs, "x", ["FT-base", "FT-last", "Oracle"], eps=0.02)
    assert summ["FT-last"]["delta"] == pytest.approx([0.3, 0.3])
    assert summ["FT-base"]["delta"] == pytest.approx([0.0, 0.0])
    assert summ["Oracle"]["compute"] == pytest.approx(3 / 2)
    assert summ["FT-last"]["oracle_gap"] == pytest.approx(0.0)


def test_survey_labels_on_learners():
    assert LEARNERS["FT-base"].memory_constrained and LEARNERS["FT-last"].memory_constrained
    assert not LEARNERS["Oracle"].compute_constrained and not LEARNERS["Oracle"].memory_constrained
    for name in ("Select-probe10", "Select-zeroshot", "Select-similarity"):
        assert LEARNERS[name].compute_constrained and not LEARNERS[name].memory_constrained


def test_bad_learner_spec():
    with pytest.raises(ValueError):
        LearnerSpec("x", "replay")
    with pytest.raises(ValueError):
        LearnerSpec("x", "select", "gradnorm")
    with pytest.raises(ValueError):
        LearnerSpec("x", "oracle", "probe")


def test_all_pairs_of_candidates_recorded():
    orders = {("s", 0): ("A", "B", "T")}
    _, recs = _run([LEARNERS["Select-probe10"]], orders)
    assert [len(r.scores) for r in recs] == [1, 2, 3]
    assert list(itertools.accumulate(r.steps for r in recs))[-1] == 3 * S + 10 * 6
