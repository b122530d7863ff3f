"""E3 end to end on a tiny configuration; E1's helpers (the full E1/E2 runs are reproduce's job)."""

import dataclasses

import numpy as np
from async_gnn.algebra import LawReport
from async_gnn.configs import CONFIGS
from async_gnn.experiments import e1_invariance, e3_messages


def test_e3_runs_and_evaluates_its_claims(tmp_path):
    cfg = dataclasses.replace(CONFIGS["quick"], e3_test_graphs=3, e3_sizes=(8, 16), e3_probs=(0.2, 0.5),
                              e3_graphs_per_setting=2)
    rec = e3_messages.run(cfg, "quick", tmp_path)
    ids = [c.id for c in rec.claims]
    assert ids == ["E3.1-bellman_ford", "E3.1-bfs", "E3.2-bellman_ford", "E3.2-bfs", "E3.3-bellman_ford"]
    counts = rec.metrics["test_counts"]["bellman_ford"]
    assert all(a >= b for a, b in zip(counts["sync always"], counts["sync on_change"]))
    assert (tmp_path / "e3_messages.png").is_file()
    path = rec.write(tmp_path)
    assert path.is_file() and (tmp_path / "e3_messages.md").read_text().startswith("### ")


def test_mean_ratio_leaves_out_graphs_without_messages():
    c = {"sync always": np.array([0.0, 10.0, 4.0]), "x": np.array([0.0, 5.0, 1.0])}
    assert e3_messages.mean_ratio(c, "x") == 0.375


def test_law_pattern_rule():
    exact = LawReport("l", "action", 0.0)
    rounding = LawReport("l", "message monoid", 1e-15)
    clear = LawReport("l", "cocycle", 0.5)
    assert e1_invariance.law_pattern_ok(exact, True, False)
    assert not e1_invariance.law_pattern_ok(rounding, True, False)
    assert e1_invariance.law_pattern_ok(rounding, True, True)
    assert e1_invariance.law_pattern_ok(clear, False, False)
    assert not e1_invariance.law_pattern_ok(exact, False, False)


def test_clrs_reference_has_final_distances():
    ref = e1_invariance.clrs_reference("bellman_ford", "val", 3)
    assert ref["A"].shape == (3, 16, 16) and ref["pi"].shape == (3, 16)
    assert (ref["d"][ref["reached"]] >= 0).all()
    assert ref["reached"][np.arange(3), ref["source"]].all()
