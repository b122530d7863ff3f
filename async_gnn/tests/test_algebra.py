"""Monoids, gaps and the law checkers on hand-made and random elements."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from async_gnn.algebra import LAST, LEX_MIN, MAX, MIN, SUM

from async_gnn import algebra


def _samples(rng, dtype, shape=(64, 5)):
    return [jnp.asarray(rng.normal(size=shape) * 10, dtype) for _ in range(3)]


@pytest.mark.parametrize("monoid", [MAX, MIN])
def test_max_min_laws_hold_exactly_in_float32(monoid):
    reports = algebra.check_monoid(monoid, _samples(np.random.default_rng(0), jnp.float32))
    assert [r.law for r in reports] == ["associativity", "commutativity", "identity"]
    assert all(r.holds and r.max_violation == 0.0 for r in reports)


def test_sum_is_associative_only_up_to_rounding():
    rng = np.random.default_rng(1)
    f32 = algebra.check_monoid(SUM, _samples(rng, jnp.float32, (4096,)))[0]
    assert f32.law == "associativity" and 0 < f32.max_violation < 1e-3
    with jax.enable_x64(True):
        f64 = algebra.check_monoid(SUM, _samples(rng, jnp.float64, (4096,)))[0]
    assert f64.max_violation < 1e-12
    assert f64.max_violation < f32.max_violation


def test_last_is_not_commutative():
    reports = {r.law: r for r in algebra.check_monoid(LAST, _samples(np.random.default_rng(2), jnp.float32))}
    assert reports["associativity"].holds
    assert not reports["commutativity"].holds and reports["commutativity"].max_violation > 1.0


def test_lex_min_matches_python_tuple_order():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, (200, 3)).astype(float)
    y = rng.integers(0, 3, (200, 3)).astype(float)
    got = np.asarray(LEX_MIN.op(jnp.asarray(x), jnp.asarray(y)))
    want = np.array([min(tuple(a), tuple(b)) for a, b in zip(x, y)])
    np.testing.assert_array_equal(got, want)
    ident = np.asarray(LEX_MIN.identity_like(jnp.asarray(x)))
    np.testing.assert_array_equal(np.asarray(LEX_MIN.op(jnp.asarray(x), jnp.asarray(ident))), x)


def test_masked_reduce_uses_the_identity():
    x = jnp.array([[1.0, 5.0, 3.0], [2.0, 0.0, 7.0]])
    mask = jnp.array([[True, False, True], [False, False, False]])
    np.testing.assert_array_equal(MAX.reduce(x, mask, axis=1), [3.0, -np.inf])
    np.testing.assert_array_equal(MIN.reduce(x, mask, axis=1), [1.0, np.inf])
    np.testing.assert_array_equal(SUM.reduce(x, mask, axis=1), [4.0, 0.0])
    tuples = jnp.array([[[1.0, 2.0, 0.0], [1.0, 1.0, 5.0], [0.0, 9.0, 9.0]]])
    np.testing.assert_array_equal(LEX_MIN.reduce(tuples, jnp.array([[[True], [True], [False]]]), axis=1),
                                  [[1.0, 1.0, 5.0]])


def test_gap_treats_equal_infinities_as_equal_and_nan_as_infinite():
    x = jnp.array([np.inf, -np.inf, 1.0, np.nan])
    y = jnp.array([np.inf, -np.inf, 1.5, 0.0])
    np.testing.assert_array_equal(algebra.gap(x, y), [0.0, 0.0, 0.5, np.inf])
    assert float(algebra.gap(jnp.array([[0.0, np.inf]]), jnp.array([[0.0, 1.0]]), structured=True)[0]) == np.inf


def test_homomorphism_checker_separates_monotone_from_mixed_sign_maps():
    rng = np.random.default_rng(4)
    a, b = (jnp.asarray(rng.normal(size=(128, 6)), jnp.float32) for _ in range(2))
    w = jnp.asarray(rng.normal(size=(6, 6)), jnp.float32)
    tropical = lambda x: algebra.max_plus_matvec(w, x) + 0.3  # noqa: E731
    positive_diag = lambda x: 2.0 * x - 1.0  # noqa: E731
    dense = lambda x: x @ w  # noqa: E731
    assert algebra.max_violation(algebra.homomorphism_violation(tropical, MAX, MAX, a, b)) == 0.0
    assert algebra.max_violation(algebra.homomorphism_violation(positive_diag, MAX, MAX, a, b)) == 0.0
    assert algebra.max_violation(algebra.homomorphism_violation(dense, MAX, MAX, a, b)) > 0.1


def test_action_and_cocycle_checkers_on_hand_examples():
    s, m, n = jnp.array([1.0]), jnp.array([3.0]), jnp.array([2.0])
    # max is an action: (s·m)·n = s·(m ⊕ n)
    assert float(algebra.action_violation(jnp.maximum, MAX, s, m, n)[0]) == 0.0
    # s·m = s + m under max aggregation is not: (1+3)+2 = 6 vs 1 + max(3, 2) = 4
    assert float(algebra.action_violation(jnp.add, MAX, s, m, n)[0]) == 2.0
    # emit-the-new-state is a cocycle for max, and not normalised
    assert float(algebra.cocycle_violation(jnp.maximum, jnp.maximum, MAX, MAX, s, m, n)[0]) == 0.0
    assert float(algebra.cocycle_normalisation_violation(jnp.maximum, MAX, MAX, s, m)[0]) == np.inf


def test_min_plus_matvec_is_a_bellman_ford_relaxation():
    inf = np.inf
    # W[v, u]: weight of u -> v; one relaxation from d = (0, inf, inf)
    W = jnp.array([[0.0, inf, inf], [4.0, 0.0, 2.0], [1.0, inf, 0.0]])
    d = jnp.array([0.0, inf, inf])
    d1 = algebra.min_plus_matvec(W, d)
    d2 = algebra.min_plus_matvec(W, d1)
    np.testing.assert_array_equal(d1, [0.0, 4.0, 1.0])
    np.testing.assert_array_equal(d2, [0.0, 3.0, 1.0])
