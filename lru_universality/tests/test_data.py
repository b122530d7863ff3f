"""Procedural data: shapes, masks, hand-checked values."""

import numpy as np
import pytest

from lru_universality import data


def test_copy_task_layout():
    rng = np.random.default_rng(0)
    task = data.copy_task(rng, 5, pattern_len=4, delay=3, n_symbols=6)
    assert task.inputs.shape == (5, 2 * 4 + 3 + 1, 8) and task.n_classes == 6
    tokens = task.inputs.argmax(-1)
    np.testing.assert_array_equal(tokens[:, 4:7], 6)  # blanks during the delay
    np.testing.assert_array_equal(tokens[:, 7], 7)  # go marker
    np.testing.assert_array_equal(task.labels[:, -4:], tokens[:, :4])  # recall = pattern
    assert task.mask.sum() == 5 * 4 and task.mask[:, -4:].all()


def test_listops_values_by_hand():
    assert data._apply_op("MAX", [2, 9, 4]) == 9
    assert data._apply_op("MIN", [2, 9, 4]) == 2
    assert data._apply_op("MED", [2, 9, 4, 7]) == 5  # median 5.5, integer part
    assert data._apply_op("SM", [2, 9, 4]) == 5


def _evaluate(tokens):
    """An independent stack evaluator of a token row."""
    words = {11: "MAX", 12: "MIN", 13: "MED", 14: "SM"}
    stack = []
    for t in tokens:
        if t == 0:
            break
        if t in words:
            stack.append([words[t]])
        elif t == 15:
            op, *args = stack.pop()
            value = data._apply_op(op, args)
            if not stack:
                return value
            stack[-1].append(value)
        else:
            stack[-1].append(t - 1)
    raise AssertionError("unbalanced expression")


def test_listops_labels_lengths_masks():
    rng = np.random.default_rng(1)
    task = data.listops(rng, 200, min_len=20, max_len=60)
    tokens = task.inputs.argmax(-1)
    lengths = task.mask.sum(1)
    assert lengths.min() >= 20 and lengths.max() <= 60 and task.inputs.shape == (200, 60, data.LISTOPS_VOCAB)
    assert all(_evaluate(row) == label for row, label in zip(tokens, task.labels))
    assert np.all(tokens[~task.mask] == 0)
    assert len(np.unique(task.labels)) == 10
    assert data.listops_to_string(tokens[0]).startswith("[")
    with pytest.raises(ValueError, match="ListOps"):
        data.listops(rng, 1, min_len=50, max_len=10)


def test_subspace_bases_orthonormal_and_scaled():
    for basis in (data.legendre_basis(100, 12), data.oscillator_basis(100, 12)):
        np.testing.assert_allclose(basis.T @ basis, np.eye(12), atol=1e-10)
    u = data.legendre_sequences(np.random.default_rng(2), 4000, 100, 12)
    assert abs((u**2).mean() - 1) < 0.05
    with pytest.raises(ValueError, match="even"):
        data.oscillator_basis(10, 3)


def test_pendulum_small_angle_matches_linear_oscillator():
    """For tiny forcing sin(theta) ~ theta: compare with the exact discrete solution of the linear ODE under a
    zero-order-hold input (matrix exponential)."""
    from scipy.linalg import expm

    rng = np.random.default_rng(3)
    dt, damping = 0.05, 0.3
    u = 1e-4 * data.smooth_forcing(rng, 2, 300, dt)
    theta = data.forced_pendulum(u, dt, damping=damping)
    a = np.array([[0.0, 1.0], [-1.0, -damping]])
    big = expm(np.block([[a, np.array([[0.0], [1.0]])], [np.zeros((1, 3))]]) * dt)
    ad, bd = big[:2, :2], big[:2, 2]
    z, ref = np.zeros((2, 2)), []
    for t in range(300):
        z = z @ ad.T + np.outer(u[:, t], bd)
        ref.append(z[:, 0])
    np.testing.assert_allclose(theta, np.stack(ref, axis=1), atol=1e-9, rtol=1e-3)
    # and RK4 has converged: more substeps change nothing at this tolerance
    big_u = 0.5 * data.smooth_forcing(rng, 2, 200, dt)
    np.testing.assert_allclose(data.forced_pendulum(big_u, dt), data.forced_pendulum(big_u, dt, substeps=8),
                               atol=1e-6)


def test_product_sine_target():
    u = np.zeros((1, 12))
    u[0, -1], u[0, -5], u[0, -10] = 2.0, 3.0, 0.25
    assert data.product_sine_target(u)[0] == pytest.approx(6.0 + np.sin(0.5))
