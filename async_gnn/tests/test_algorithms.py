"""Hand-built Bellman-Ford / BFS: the notes' example, dm-clrs equality under every schedule, exactly-once delivery."""

import numpy as np
import pytest

from async_gnn import algorithms as alg
from repro_shared import clrs

ASYNC = list(alg.ASYNC_SCHEDULES.values())


def _example():
    """Notes §7: nodes {0,1,2,3}, source 0, edges 0→1 (4), 0→2 (1), 2→1 (2), 1→3 (1), 2→3 (5)."""
    A = np.zeros((4, 4))
    A[0, 1], A[0, 2], A[2, 1], A[1, 3], A[2, 3] = 4, 1, 2, 1, 5
    return alg.bellman_ford_problem(A, 0)


def test_hand_example_synchronous():
    for policy in alg.POLICIES:
        r = alg.run_sync(_example(), policy)
        np.testing.assert_array_equal(r.distances, [0, 3, 1, 4])
        np.testing.assert_array_equal(r.parents, [0, 2, 0, 1])
    # always: rounds 1-4 send on the out-edges of the reached nodes {0}, {0,1,2}, all, all (out-degrees 2,1,2,0);
    # on change: 0 sends 2, then 1 and 2 send 3, then 1 (improved via 2) sends 1 -> 6
    assert alg.run_sync(_example(), "always").messages == 2 + 5 + 5 + 5
    assert alg.run_sync(_example(), "on_change").messages == 6


def test_hand_example_under_20_random_asynchronous_schedules():
    rng = np.random.default_rng(0)
    always = alg.run_sync(_example(), "always").messages
    for k in range(20):
        r = alg.run_async(_example(), ASYNC[k % len(ASYNC)], rng)
        np.testing.assert_array_equal(r.distances, [0, 3, 1, 4])
        np.testing.assert_array_equal(r.parents, [0, 2, 0, 1])
        assert r.delivered_exactly_once
        assert r.messages < always


def _random_graph(rng, n, integer):
    a = rng.random((n, n)) < 0.35
    a = a & a.T
    w = rng.integers(1, 4, (n, n)).astype(float) if integer else rng.random((n, n)) + 0.05
    w = np.triu(w) + np.triu(w, 1).T
    return np.where(a, w, 0.0)


@pytest.mark.parametrize("integer", [True, False])
def test_bellman_ford_equals_dm_clrs_with_ties_under_every_schedule(integer):
    ref = clrs.load().algorithms
    rng = np.random.default_rng(1 + integer)
    for _ in range(8):
        A = _random_graph(rng, 9, integer)
        s = int(rng.integers(9))
        pi, _ = ref.bellman_ford(A, s)
        problem = alg.bellman_ford_problem(A, s)
        results = [alg.run_sync(problem, p) for p in alg.POLICIES] + [alg.run_async(problem, sch, rng) for sch in ASYNC]
        for r in results:
            np.testing.assert_array_equal(r.parents, pi)
            np.testing.assert_array_equal(r.states, results[0].states)
            assert r.delivered_exactly_once


def test_bfs_equals_dm_clrs_under_every_schedule():
    ref = clrs.load().algorithms
    rng = np.random.default_rng(3)
    for _ in range(8):
        A = (_random_graph(rng, 10, True) > 0).astype(float)
        s = int(rng.integers(10))
        pi, _ = ref.bfs(A, s)
        problem = alg.bfs_problem(A, s)
        for r in [alg.run_sync(problem, p) for p in alg.POLICIES] + [alg.run_async(problem, sch, rng) for sch in ASYNC]:
            np.testing.assert_array_equal(r.parents, pi)
            assert r.delivered_exactly_once


def test_equals_clrs30_val_split_outputs_and_distances():
    fb = clrs.load_split("bellman_ford", "val")
    inputs = {dp.name: np.asarray(dp.data) for dp in fb.features.inputs}
    hints = {dp.name: np.asarray(dp.data) for dp in fb.features.hints}
    pi = np.asarray(fb.outputs[0].data)
    last = np.asarray(fb.features.lengths, int) - 1
    rng = np.random.default_rng(4)
    for b in range(6):
        problem = alg.bellman_ford_problem(inputs["A"][b], inputs["s"][b].argmax())
        r = alg.run_async(problem, alg.ASYNC_SCHEDULES["random"], rng)
        np.testing.assert_array_equal(r.parents, pi[b])
        reached = hints["msk"][last[b], b] > 0
        np.testing.assert_array_equal(r.distances[reached], hints["d"][last[b], b][reached])
        assert np.isinf(r.distances[~reached]).all()


def test_unreachable_nodes_keep_themselves_as_parent():
    A = np.zeros((4, 4))
    A[0, 1] = A[1, 0] = 2.0
    rng = np.random.default_rng(5)
    for r in (alg.run_sync(alg.bellman_ford_problem(A, 0)), alg.run_async(alg.bfs_problem(A, 0), ASYNC[0], rng)):
        np.testing.assert_array_equal(r.parents, [0, 0, 2, 3])
        assert np.isinf(r.distances[2:]).all()


def test_on_change_sends_fewer_messages_than_always_on_a_long_path():
    n = 12
    A = np.zeros((n, n))
    for i in range(n - 1):
        A[i, i + 1] = A[i + 1, i] = 1.0
    problem = alg.bfs_problem(A, 0)
    always, on_change = alg.run_sync(problem, "always"), alg.run_sync(problem, "on_change")
    assert on_change.messages == problem.num_edges  # every node improves exactly once
    assert always.messages > 5 * on_change.messages
    np.testing.assert_array_equal(always.states, on_change.states)


def test_shortest_path_algebra_laws():
    for integer in (False, True):
        reports = {r.law: r for r in alg.check_algebra(np.random.default_rng(6), n=256, integer=integer)}
        for law, r in reports.items():
            if law == "cocycle normalisation (emit always)":
                assert not r.holds
            else:
                assert r.holds and r.max_violation == 0.0, str(r)


def test_bad_policy_is_rejected():
    with pytest.raises(ValueError, match="'policy'"):
        alg.run_sync(_example(), "sometimes")
