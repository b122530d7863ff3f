"""The compressor-analysis tools on cases computed by hand: the DFT, ranks, the rank bound, conditioning."""

import numpy as np
import pytest

from lru_universality import compressor as C


def test_dft_case_by_hand_n_equals_l_equals_2():
    lam = C.roots_of_unity(2)  # (1, -1)
    v = C.vandermonde(lam, 2)
    np.testing.assert_allclose(v, [[1, 1], [1, -1]], atol=1e-15)
    u = np.array([[3.0, 5.0]])  # u_1 = 3, u_2 = 5
    np.testing.assert_allclose(C.final_states(lam, u)[0], [5 + 3, 5 - 3], atol=1e-12)
    assert C.condition_number(v) == pytest.approx(1.0)


@pytest.mark.parametrize("n", [4, 16, 64])
def test_dft_unitary_and_exact_inverse(n):
    lam = C.roots_of_unity(n)
    v = C.vandermonde(lam, n)
    np.testing.assert_allclose(v.conj().T @ v, n * np.eye(n), atol=1e-9)
    assert C.condition_number(v) == pytest.approx(1.0, abs=1e-9)
    u = np.random.default_rng(n).standard_normal((3, n))
    x = C.final_states(lam, u)
    np.testing.assert_allclose((x @ v.conj()) / n, u[:, ::-1], atol=1e-10)


def test_shrunk_roots_closed_form():
    for n in (8, 32):
        assert C.condition_number(C.vandermonde(C.roots_of_unity(n, 0.99), n)) == pytest.approx(0.99 ** (1 - n))


def test_ranks():
    rng = np.random.default_rng(0)
    for length in (5, 12, 24):
        lam = C.ring(rng, length + 3, 0.5, 1.0, 2 * np.pi)  # N >= L distinct
        assert np.linalg.matrix_rank(C.vandermonde(lam, length)) == length
        lam = C.ring(rng, length - 2, 0.5, 1.0, 2 * np.pi)  # N < L
        assert np.linalg.matrix_rank(C.vandermonde(lam, length)) == length - 2
    assert C.real_state_map(np.array([0.5, 0.7]), 6).shape == (2, 6)
    assert C.real_state_map(np.array([0.5j, 0.7]), 6).shape == (4, 6)


def test_population_error_equals_rank_bound_when_noiseless():
    rng = np.random.default_rng(1)
    length = 20
    for n in (3, 6, 10, 15):
        f = C.real_state_map(C.equispaced_phases(n, 0.95, np.pi), length)
        err = C.population_error_per_lag(f)
        assert err.mean() == pytest.approx(C.rank_bound(2 * n, length), abs=1e-9)
        assert np.all(err >= -1e-12) and np.all(err <= 1 + 1e-12)
    # noise only adds error; the closed form agrees with a large-sample least-squares readout
    lam = C.ring(rng, 8, 0.8, 0.99, 2 * np.pi)
    f = C.real_state_map(lam, length)
    noisy = C.population_error_per_lag(f, rel_noise=1e-2)
    assert np.all(noisy >= C.population_error_per_lag(f) - 1e-9)
    u_tr, u_te = rng.standard_normal((40000, length)), rng.standard_normal((20000, length))
    std = np.linalg.norm(f, axis=1)
    feats = [C.add_relative_noise(C.real_features(C.final_states(lam, u)), 1e-2, rng, std) for u in (u_tr, u_te)]
    emp = C.readout_error_per_lag(feats[0], u_tr, feats[1], u_te)
    np.testing.assert_allclose(emp, noisy, atol=0.03)


def test_complex_n_equals_l_recovers_every_lag_real_does_not():
    rng = np.random.default_rng(2)
    length = 32
    u_tr, u_te = rng.standard_normal((2048, length)), rng.standard_normal((512, length))
    lam = C.ring(rng, length, 0.9, 0.999, 2 * np.pi)
    feats = [C.add_relative_noise(C.real_features(C.final_states(lam, u)), 1e-6, rng) for u in (u_tr, u_te)]
    assert C.readout_error_per_lag(feats[0], u_tr, feats[1], u_te).max() < 1e-3
    lam = rng.uniform(0, 1, 2 * length)
    feats = [C.add_relative_noise(C.final_states(lam, u), 1e-4, rng) for u in (u_tr, u_te)]
    assert (C.readout_error_per_lag(feats[0], u_tr, feats[1], u_te) < 0.1).sum() <= 16


def test_real_eigenvalues_ill_conditioned_regression():
    """N = L = 16: median kappa(real U[0,1]) > 1e3 x median kappa(ring[.9,.999] x 2pi) (paper notes, check 10)."""
    rng = np.random.default_rng(3)
    real = np.median([C.condition_number(C.vandermonde(rng.uniform(0, 1, 16), 16)) for _ in range(5)])
    ring = np.median([C.condition_number(C.vandermonde(C.ring(rng, 16, 0.9, 0.999, 2 * np.pi), 16))
                      for _ in range(5)])
    assert real > 1e3 * ring


def test_all_states_and_families():
    rng = np.random.default_rng(4)
    lam = C.family("ring[.9,.999]x2pi").sample(rng, 5)
    assert lam.shape == (5,) and np.iscomplexobj(lam)
    assert C.family("real U[0,1]").sample(rng, 5).shape == (10,)  # real families get 2N units
    u = rng.standard_normal((3, 12))
    np.testing.assert_allclose(C.all_states(lam, u)[:, -1], C.final_states(lam, u), atol=1e-12)
    with pytest.raises(ValueError, match="family"):
        C.family("imaginary")
