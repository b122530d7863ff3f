"""A diagonal linear recurrence as a compressor of its input history (universality paper, Sec. 3-4).

With scalar input and B = 1, x_L = sum_{j=0}^{L-1} lam^j u_{L-j} = V u_rev with the Vandermonde matrix
V[i, j] = lam_i^j (row i: eigenvalue, column j: lag j) and u_rev = (u_L, ..., u_1). The past is recoverable by a
linear readout iff the *real* map u_rev -> (Re x_L, Im x_L) is injective on the inputs' span; how well it can be
read out under noise depends on the conditioning of V.

Everything here is numpy float64 / complex128: float32 exaggerates the ill-conditioning of real eigenvalues.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

# --------------------------------------------------------------------------- eigenvalue families


def ring(rng: np.random.Generator, n: int, r_min: float, r_max: float, max_phase: float) -> np.ndarray:
    """n eigenvalues uniform in area on a ring sector (the LRU init, numpy float64 version)."""
    r = np.sqrt(rng.uniform(r_min**2, r_max**2, n))
    return r * np.exp(1j * rng.uniform(0.0, max_phase, n))


def roots_of_unity(n: int, radius: float = 1.0) -> np.ndarray:
    """radius * exp(2 pi i k / n), k = 0..n-1: the DFT nodes (V = sqrt(n) x unitary when radius = 1, n = L)."""
    return radius * np.exp(2j * np.pi * np.arange(n) / n)


def equispaced_phases(n: int, radius: float, max_phase: float) -> np.ndarray:
    """radius * exp(i max_phase (k + 1/2) / n): phases spread evenly over (0, max_phase), none on the real axis and
    (for max_phase <= pi) no conjugate pairs, which carry the same information for real inputs."""
    return radius * np.exp(1j * max_phase * (np.arange(n) + 0.5) / n)


@dataclasses.dataclass(frozen=True)
class EigenvalueFamily:
    """A named way to draw state eigenvalues. ``complex`` families get N units (2N real numbers of state);
    real ones get 2N units so that both compare at equal state memory."""

    name: str
    is_complex: bool
    draw: Callable[[np.random.Generator, int], np.ndarray]

    def sample(self, rng: np.random.Generator, n_complex: int) -> np.ndarray:
        return self.draw(rng, n_complex if self.is_complex else 2 * n_complex)


FAMILIES: dict[str, EigenvalueFamily] = {f.name: f for f in [
    EigenvalueFamily("real U[0,1]", False, lambda g, n: g.uniform(0.0, 1.0, n)),
    EigenvalueFamily("real U[-1,1]", False, lambda g, n: g.uniform(-1.0, 1.0, n)),
    EigenvalueFamily("real ring[.9,.999]", False, lambda g, n: np.sqrt(g.uniform(0.9**2, 0.999**2, n))),
    EigenvalueFamily("real ring[.99,1]", False, lambda g, n: np.sqrt(g.uniform(0.99**2, 1.0, n))),
    EigenvalueFamily("ring[0,1]x2pi", True, lambda g, n: ring(g, n, 0.0, 1.0, 2 * np.pi)),
    EigenvalueFamily("ring[.9,.999]x2pi", True, lambda g, n: ring(g, n, 0.9, 0.999, 2 * np.pi)),
    EigenvalueFamily("ring[.9,.999]xpi/10", True, lambda g, n: ring(g, n, 0.9, 0.999, np.pi / 10)),
    EigenvalueFamily("ring[.99,1]xpi/10", True, lambda g, n: ring(g, n, 0.99, 1.0, np.pi / 10)),
    EigenvalueFamily("roots of unity", True, lambda g, n: roots_of_unity(n)),
    EigenvalueFamily("0.99 x roots of unity", True, lambda g, n: roots_of_unity(n, 0.99)),
    EigenvalueFamily("equispaced (0,pi)", True, lambda g, n: equispaced_phases(n, 1.0, np.pi)),
    EigenvalueFamily("equispaced (0,pi/8)", True, lambda g, n: equispaced_phases(n, 1.0, np.pi / 8)),
]}


def family(name: str) -> EigenvalueFamily:
    if name not in FAMILIES:
        raise ValueError(f"invalid value for 'family': {name!r} (allowed: {', '.join(FAMILIES)})")
    return FAMILIES[name]


# --------------------------------------------------------------------------- the state map


def vandermonde(lam: np.ndarray, length: int) -> np.ndarray:
    """V[i, j] = lam_i^j, shape (N, L): column j multiplies the input j steps in the past (lag j)."""
    lam = np.asarray(lam)
    return lam[:, None] ** np.arange(length)[None, :]


def condition_number(matrix: np.ndarray) -> float:
    """sigma_max / sigma_min over the min(N, L) singular values (inf if one is exactly zero)."""
    s = np.linalg.svd(matrix, compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > 0 else math.inf


def real_state_map(lam: np.ndarray, length: int) -> np.ndarray:
    """The real linear map u_rev -> real features of x_L: rows (Re V; Im V), the Im rows dropped for real lam."""
    v = vandermonde(lam, length)
    return v.real if np.isrealobj(lam) else np.concatenate([v.real, v.imag], axis=0)


def final_states(lam: np.ndarray, u: np.ndarray) -> np.ndarray:
    """x_L for each sequence: u (S, L) -> (S, N), computed as u_rev @ V^T (frozen encoder, B = 1)."""
    return u[:, ::-1] @ vandermonde(lam, u.shape[1]).T


def all_states(lam: np.ndarray, u: np.ndarray) -> np.ndarray:
    """x_1..x_L for each sequence: u (S, L) -> (S, L, N) by a loop over time (vectorised over S and N)."""
    lam = np.asarray(lam)
    x = np.zeros((u.shape[0], lam.size), dtype=np.result_type(lam, u))
    out = np.empty((u.shape[0], u.shape[1], lam.size), dtype=x.dtype)
    for t in range(u.shape[1]):
        x = lam * x + u[:, t, None]
        out[:, t] = x
    return out


def real_features(x: np.ndarray) -> np.ndarray:
    """Complex states (..., N) -> (..., 2N) = (Re, Im); real states unchanged."""
    return np.concatenate([x.real, x.imag], axis=-1) if np.iscomplexobj(x) else x


def add_relative_noise(features: np.ndarray, rel: float, rng: np.random.Generator,
                       scale: np.ndarray | None = None) -> np.ndarray:
    """features + N(0, (rel * std_i)^2) per feature i (``scale`` overrides the std, e.g. the training std)."""
    if rel == 0:
        return features
    std = features.std(axis=0) if scale is None else scale
    return features + rel * std * rng.standard_normal(features.shape)


# --------------------------------------------------------------------------- optimal linear readout


def fit_linear_readout(features: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Least-squares readout W minimising ||features @ W - targets||^2 (``lstsq``, never an explicit inverse)."""
    w, *_ = np.linalg.lstsq(features, targets, rcond=None)
    return w


def readout_error_per_lag(train_features: np.ndarray, train_u: np.ndarray, test_features: np.ndarray,
                          test_u: np.ndarray) -> np.ndarray:
    """Test MSE of the least-squares readout of every lag j = 0..L-1 (target u_{L-j}) from the final-state
    features, one multi-output lstsq for all lags. Returns (L,); divide by Var(u) for a relative error."""
    w = fit_linear_readout(train_features, train_u[:, ::-1])
    return ((test_features @ w - test_u[:, ::-1]) ** 2).mean(axis=0)


def population_error_per_lag(state_map: np.ndarray, rel_noise: float = 0.0, tol: float = 1e-10) -> np.ndarray:
    """Closed-form per-lag MSE of the best linear readout of u_rev from f = F u_rev + noise, u_rev ~ N(0, I).

    F: (M, L) real state map (:func:`real_state_map`); noise N(0, (rel_noise * ||F_i||)^2) per feature i (relative
    to that feature's std). With G = Sigma^{-1/2} F the error covariance is (I + G^T G)^{-1}, whose diagonal is
    1 - sum_k V_jk^2 s_k^2 / (1 + s_k^2) for G = U S V^T. Noiseless: 1 - diag of the projector onto row(F), so the
    mean over lags is 1 - rank(F) / L >= 1 - min(M, L) / L.
    """
    f = np.asarray(state_map, dtype=float)
    if rel_noise == 0:
        _, s, vt = np.linalg.svd(f, full_matrices=False)
        keep = s > tol * s[0]
        return 1.0 - (vt[keep] ** 2).sum(axis=0)
    g = f / (rel_noise * np.linalg.norm(f, axis=1, keepdims=True))
    _, s, vt = np.linalg.svd(g, full_matrices=False)
    return 1.0 - ((vt**2) * (s**2 / (1.0 + s**2))[:, None]).sum(axis=0)


def rank_bound(n_real_features: int, length: int) -> float:
    """Lower bound on the mean per-lag relative MSE of any linear readout: 1 - min(M, L) / L."""
    return 1.0 - min(n_real_features, length) / length
