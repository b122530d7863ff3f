"""Linear decodability of the task code and module identification (paper Sec. 3 and 5).

* :func:`ridge_r2`: ridge regression from the student's adapted task parameters to the teacher's code, fit on
  in-distribution tasks and scored (R^2, per code entry) on held-out tasks. The reference fits with 10
  conjugate-gradient iterations; we solve the ridge problem exactly (the primal or dual normal equations,
  whichever is smaller).
* :func:`module_alignment`: for a linear-hypernetwork student, how well its modules equal the teacher's up to a
  linear map of the code space (Theorem 1's identification): the student's weights for each pure teacher module,
  compared unit by unit with the teacher's (cosine, max over student units, mean over teacher units).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _with_intercept(x: jax.Array) -> jax.Array:
    # The reference's intercept column is 1 for rows that are not all zero (masked rows stay all-zero).
    mask = jnp.any(x != 0, axis=1, keepdims=True).astype(x.dtype)
    return jnp.concatenate([x, mask], axis=1)


def ridge_fit(x: jax.Array, y: jax.Array, l2: float, intercept: bool = False) -> jax.Array:
    """Weights ``w`` minimizing ||x w - y||^2 + l2 ||w||^2 (y may have several columns)."""
    if intercept:
        x = _with_intercept(x)
    n, d = x.shape
    if d <= n:
        return jnp.linalg.solve(x.T @ x + l2 * jnp.eye(d, dtype=x.dtype), x.T @ y)
    return x.T @ jnp.linalg.solve(x @ x.T + l2 * jnp.eye(n, dtype=x.dtype), y)


def ridge_predict(w: jax.Array, x: jax.Array, intercept: bool = False) -> jax.Array:
    return (_with_intercept(x) if intercept else x) @ w


def r2_score(y: jax.Array, y_pred: jax.Array) -> jax.Array:
    """Coefficient of determination per column of ``y`` (shape (n, k) -> (k,)); nan for a constant column."""
    ss_res = jnp.sum((y - y_pred) ** 2, axis=0)
    ss_tot = jnp.sum((y - jnp.mean(y, axis=0)) ** 2, axis=0)
    return jnp.where(ss_tot > 0, 1.0 - ss_res / jnp.where(ss_tot > 0, ss_tot, 1.0), jnp.nan)


def ridge_r2(x_fit: jax.Array, y_fit: jax.Array, x_eval: jax.Array, y_eval: jax.Array, *, l2: float,
             intercept: bool = False) -> jax.Array:
    """R^2 per column of ``y_eval`` of a ridge decoder fit on (x_fit, y_fit)."""
    w = ridge_fit(x_fit, y_fit, l2, intercept)
    return r2_score(y_eval, ridge_predict(w, x_eval, intercept))


@jax.jit
def code_map(z: jax.Array, z_student: jax.Array) -> jax.Array:
    """Least-squares linear map G (M_student, M) with z_student ≈ G z + c, fit over tasks (intercept dropped)."""
    ones = jnp.ones((z.shape[0], 1), z.dtype)
    sol, *_ = jnp.linalg.lstsq(jnp.concatenate([z, ones], axis=1), z_student)
    return sol[:-1].T


@jax.jit
def module_alignment(teacher_modules: jax.Array, student_modules: jax.Array, g: jax.Array) -> jax.Array:
    """Identification of the teacher's modules by a linear-hypernetwork student.

    Args:
      teacher_modules: (M, d_in, H) teacher weights per module, W(z) = sum_m z_m Theta_m.
      student_modules: (M_s, d_in, H_s) student weights per module.
      g: (M_s, M) map from teacher codes to student codes (:func:`code_map`).

    Returns the mean over teacher hidden units of the best cosine similarity with a student hidden unit, both
    taken as vectors over (teacher module, input): 1 when the student's modules are the teacher's up to the
    linear map ``g`` (and a permutation and positive rescaling of hidden units); about 0.3 for random modules.
    """
    effective = jnp.einsum("st,sih->tih", g, student_modules)  # student weights of each pure teacher module
    m, d_in, _ = teacher_modules.shape
    t = teacher_modules.reshape(m * d_in, -1)
    s = effective.reshape(m * d_in, -1)
    t = t / jnp.linalg.norm(t, axis=0, keepdims=True)
    s = s / (jnp.linalg.norm(s, axis=0, keepdims=True) + 1e-12)
    return jnp.mean(jnp.max(t.T @ s, axis=1))
