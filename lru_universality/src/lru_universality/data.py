"""Procedural data: every sequence is generated from a seed (nothing is downloaded).

* input families for the compressor analysis: i.i.d. Gaussian, a Legendre subspace, a damped-oscillator bank (a
  linear ODE), smooth random forcing;
* targets: a nonlinear function of a few past inputs; a forced damped pendulum integrated by RK4;
* sequence tasks for the LRU: the copy task (minimal-LRU's "copy-classification") and a ListOps-style task
  (Nangia & Bowman 2018; Long Range Arena) generated on the fly.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np

# --------------------------------------------------------------------------- input families


def iid_gaussian(rng: np.random.Generator, n_seq: int, length: int) -> np.ndarray:
    """(n_seq, L) standard normal inputs."""
    return rng.standard_normal((n_seq, length))


def legendre_basis(length: int, d: int) -> np.ndarray:
    """(L, d) orthonormal basis of the span of the Legendre polynomials P_0..P_{d-1} sampled on [-1, 1]."""
    s = np.linspace(-1.0, 1.0, length)
    raw = np.stack([np.polynomial.legendre.Legendre.basis(k)(s) for k in range(d)], axis=1)
    q, _ = np.linalg.qr(raw)
    return q


def legendre_sequences(rng: np.random.Generator, n_seq: int, length: int, d: int) -> np.ndarray:
    """Sequences in a d-dimensional Legendre subspace, scaled to unit mean power per step."""
    return rng.standard_normal((n_seq, d)) @ legendre_basis(length, d).T * np.sqrt(length / d)


def oscillator_basis(length: int, d: int, max_freq: float = 0.3, damping: float = 0.005) -> np.ndarray:
    """(L, d) orthonormal basis of the solutions of a bank of d/2 damped oscillators (a d-dim linear ODE):
    exp(-damping t) (cos w_k t, sin w_k t) with w_k evenly spaced in [max_freq / (d/2), max_freq] rad/step."""
    if d % 2:
        raise ValueError(f"invalid value for 'd': {d} (allowed: an even number)")
    t = np.arange(length)[:, None]
    w = max_freq * np.arange(1, d // 2 + 1)[None, :] / (d // 2)
    env = np.exp(-damping * t)
    q, _ = np.linalg.qr(np.concatenate([env * np.cos(w * t), env * np.sin(w * t)], axis=1))
    return q


def oscillator_sequences(rng: np.random.Generator, n_seq: int, length: int, d: int, max_freq: float = 0.3,
                         damping: float = 0.005) -> np.ndarray:
    """Sequences from the damped-oscillator bank with random initial conditions, unit mean power per step."""
    return rng.standard_normal((n_seq, d)) @ oscillator_basis(length, d, max_freq, damping).T * np.sqrt(length / d)


def smooth_forcing(rng: np.random.Generator, n_seq: int, length: int, dt: float, n_modes: int = 4,
                   max_freq: float = 1.0, amplitude: float = 1.0) -> np.ndarray:
    """Sums of n_modes sinusoids with random frequencies in [0, max_freq] rad/time, phases and amplitudes."""
    t = np.arange(length)[None, None, :] * dt
    w = rng.uniform(0.0, max_freq, (n_seq, n_modes, 1))
    phi = rng.uniform(0.0, 2 * np.pi, (n_seq, n_modes, 1))
    a = rng.standard_normal((n_seq, n_modes, 1))
    return amplitude * (a * np.sin(w * t + phi)).sum(axis=1) / np.sqrt(n_modes / 2)


# --------------------------------------------------------------------------- targets


def product_sine_target(u: np.ndarray) -> np.ndarray:
    """y = u_L * u_{L-4} + sin(2 u_{L-9}): a nonlinear function of three past inputs (lags 0, 4, 9)."""
    return u[:, -1] * u[:, -5] + np.sin(2.0 * u[:, -10])


def forced_pendulum(u: np.ndarray, dt: float = 0.05, damping: float = 0.3, gain: float = 1.0,
                    substeps: int = 2) -> np.ndarray:
    """Angle theta_t of theta'' = -sin(theta) - damping theta' + gain u(t), at rest at t = 0, u held constant over
    each step (zero-order hold); RK4 with ``substeps`` per step. u (S, L) -> theta (S, L), theta_t after step t."""
    h = dt / substeps

    def f(state: tuple[np.ndarray, np.ndarray], force: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        th, om = state
        return om, -np.sin(th) - damping * om + gain * force

    th, om = np.zeros(u.shape[0]), np.zeros(u.shape[0])
    out = np.empty_like(u, dtype=float)
    for t in range(u.shape[1]):
        for _ in range(substeps):
            k1 = f((th, om), u[:, t])
            k2 = f((th + h / 2 * k1[0], om + h / 2 * k1[1]), u[:, t])
            k3 = f((th + h / 2 * k2[0], om + h / 2 * k2[1]), u[:, t])
            k4 = f((th + h * k3[0], om + h * k3[1]), u[:, t])
            th = th + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
            om = om + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        out[:, t] = th
    return out


# --------------------------------------------------------------------------- sequence classification tasks


@dataclasses.dataclass
class SequenceTask:
    """Inputs (n, T, d_in) float32, integer labels (n,) or (n, T), and a mask: (n, T) of the valid steps
    (pooled tasks) or of the scored steps (per-step tasks)."""

    inputs: np.ndarray
    labels: np.ndarray
    mask: np.ndarray
    n_classes: int

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def subset(self, idx: np.ndarray) -> SequenceTask:
        return SequenceTask(self.inputs[idx], self.labels[idx], self.mask[idx], self.n_classes)


def copy_task(rng: np.random.Generator, n: int, pattern_len: int = 20, delay: int = 8,
              n_symbols: int = 8) -> SequenceTask:
    """Copy task: a pattern of ``pattern_len`` symbols, ``delay`` blanks, then a "go" marker and ``pattern_len``
    steps during which the pattern must be reproduced. Length T = 2 pattern_len + delay + 1; inputs one-hot over
    n_symbols + 2 tokens (symbols, blank, go); labels scored (mask) only on the recall steps."""
    length = 2 * pattern_len + delay + 1
    blank, go = n_symbols, n_symbols + 1
    pattern = rng.integers(0, n_symbols, (n, pattern_len))
    tokens = np.full((n, length), blank)
    tokens[:, :pattern_len] = pattern
    tokens[:, pattern_len + delay] = go
    labels = np.zeros((n, length), dtype=np.int32)
    labels[:, -pattern_len:] = pattern
    mask = np.zeros((n, length), dtype=bool)
    mask[:, -pattern_len:] = True
    inputs = np.eye(n_symbols + 2, dtype=np.float32)[tokens]
    return SequenceTask(inputs, labels, mask, n_symbols)


# ListOps-style: tokens 0 pad, 1..10 digits 0..9, 11..14 "[MAX", "[MIN", "[MED", "[SM", 15 "]".
LISTOPS_OPS = ("MAX", "MIN", "MED", "SM")
LISTOPS_VOCAB = 16


def _apply_op(op: str, args: list[int]) -> int:
    if op == "MAX":
        return max(args)
    if op == "MIN":
        return min(args)
    if op == "MED":
        return int(np.median(args))  # LRA ListOps takes the integer part of the median
    return sum(args) % 10


def _listops_tree(rng: random.Random, n_leaves: int, max_args: int) -> tuple[list[int], int]:
    """A random expression over exactly ``n_leaves`` digits as (tokens, value): the root takes k in
    [2, max_args] arguments and the leaves are split among them by a uniformly random composition."""
    if n_leaves == 1:
        v = rng.randrange(10)
        return [1 + v], v
    k = rng.randint(2, min(max_args, n_leaves))
    cuts = sorted(rng.sample(range(1, n_leaves), k - 1))
    op = rng.randrange(len(LISTOPS_OPS))
    tokens, values = [11 + op], []
    for lo, hi in zip([0, *cuts], [*cuts, n_leaves]):
        sub_tokens, value = _listops_tree(rng, hi - lo, max_args)
        tokens += sub_tokens
        values.append(value)
    return tokens + [15], _apply_op(LISTOPS_OPS[op], values)


def listops(rng: np.random.Generator, n: int, min_len: int = 32, max_len: int = 128,
            max_args: int = 5) -> SequenceTask:
    """ListOps-style sequences of nested MAX / MIN / MED / SM (sum mod 10) over digits with a length in
    [min_len, max_len] (padded to max_len); the label is the expression's value (10 classes).

    Unlike LRA's generator (random depth-limited trees, rejection on length) the number of digits is drawn first
    and split recursively, so every accepted sequence costs O(length).
    """
    if not 3 <= min_len <= max_len:
        raise ValueError(f"invalid ListOps lengths: need 3 <= min_len <= max_len, got {min_len}, {max_len}")
    tokens = np.zeros((n, max_len), dtype=np.int64)
    labels = np.zeros(n, dtype=np.int32)
    lengths = np.zeros(n, dtype=np.int64)
    py_rng = random.Random(int(rng.integers(2**63)))  # ~10x cheaper per scalar draw than numpy's Generator
    i = 0
    while i < n:
        toks, value = _listops_tree(py_rng, py_rng.randint(max(2, min_len // 3), max_len // 2), max_args)
        if not min_len <= len(toks) <= max_len:
            continue
        tokens[i, : len(toks)], labels[i], lengths[i] = toks, value, len(toks)
        i += 1
    mask = np.arange(max_len)[None, :] < lengths[:, None]
    inputs = np.eye(LISTOPS_VOCAB, dtype=np.float32)[tokens]
    return SequenceTask(inputs, labels, mask, 10)


def listops_to_string(tokens: np.ndarray) -> str:
    """Human-readable form of one token row (padding dropped)."""
    words = {1 + v: str(v) for v in range(10)} | {11 + k: f"[{op}" for k, op in enumerate(LISTOPS_OPS)} | {15: "]"}
    return " ".join(words[int(t)] for t in tokens if t != 0)
