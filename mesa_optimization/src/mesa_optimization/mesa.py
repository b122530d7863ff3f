"""The mesa-layer's core: causal per-step ridge regression (Sec. 4 and App. C of arXiv:2309.05858).

For one head with queries ``q``, keys ``k`` of shape (T, d_k) and values ``v`` of shape (T, d_v), the output at
every step t is the ridge-regression prediction

    o_t = W_t q_t,   W_t = (sum_{i<=t} v_i k_i^T) (sum_{i<=t} k_i k_i^T + lam I)^{-1},

i.e. the least-squares fit of v from k over the prefix (current token included), applied to the query.
``lam`` is the ridge strength; the paper writes the same layer with R_0 = lambda_paper I, i.e. lam = 1 / lambda_paper.
As lam -> 0 the output tends to the minimum-norm least-squares solution; as lam -> inf, lam * o_t tends to causal
linear attention sum_{i<=t} v_i k_i^T q_t.

Two implementations that agree to float64 round-off:

* :func:`mesa_attention_parallel`: cumulative Gram matrices and a batched Cholesky solve, O(T d_k^3) flops and
  O(T d_k^2) memory, no sequential dependency.
* :func:`mesa_attention_recurrent`: the recursive-least-squares scan of App. C.1 (Sherman-Morrison updates of
  R_t = (sum k k^T + lam I)^{-1}), O(T d_k^2) flops. Its custom backward pass (App. C.1) stores only k, the
  preconditioned queries q~_t = R_t q_t and the final R_T, and recovers R_{t-1} from R_t by the reverse
  Sherman-Morrison update, so no per-step d_k x d_k state is kept (autodiff through the scan would keep T of them).

Batch over sequences and heads with ``jax.vmap``.
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
from jax import lax

Method = Literal["parallel", "recurrent"]
METHODS: tuple[str, ...] = ("parallel", "recurrent")


def causal_linear_attention(q: jax.Array, k: jax.Array, v: jax.Array) -> jax.Array:
    """o_t = sum_{i<=t} v_i (k_i^T q_t); current token included (the paper's causal mask)."""
    scores = jnp.tril(q @ k.T)
    return scores @ v


def _check_shapes(q: jax.Array, k: jax.Array, v: jax.Array) -> None:
    if q.ndim != 2 or k.ndim != 2 or v.ndim != 2:
        raise ValueError(f"mesa_attention takes unbatched (T, d) arrays; got q{q.shape} k{k.shape} v{v.shape} "
                         "(batch with jax.vmap)")
    if q.shape != k.shape or v.shape[0] != k.shape[0]:
        raise ValueError(f"need q, k of shape (T, d_k) and v of shape (T, d_v); got q{q.shape} k{k.shape} v{v.shape}")


def preconditioned_queries(q: jax.Array, k: jax.Array, lam: jax.Array) -> jax.Array:
    """q~_t = (sum_{i<=t} k_i k_i^T + lam I)^{-1} q_t for all t via cumulative Grams and a Cholesky solve."""
    d = k.shape[1]
    gram = jnp.cumsum(k[:, :, None] * k[:, None, :], axis=0) + lam * jnp.eye(d, dtype=k.dtype)
    chol = jnp.linalg.cholesky(gram)
    y = lax.linalg.triangular_solve(chol, q[:, :, None], left_side=True, lower=True)
    return lax.linalg.triangular_solve(chol, y, left_side=True, lower=True, transpose_a=True)[:, :, 0]


def mesa_attention_parallel(q: jax.Array, k: jax.Array, v: jax.Array, lam: jax.Array) -> jax.Array:
    """Mesa attention by a parallel solve: q~ = G_t^{-1} q_t for all t, then causal linear attention on q~."""
    _check_shapes(q, k, v)
    lam = jnp.asarray(lam, dtype=q.dtype)
    return causal_linear_attention(preconditioned_queries(q, k, lam), k, v)


def _rls_scan(q: jax.Array, k: jax.Array, lam: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Forward recursive least squares: q~_t = R_t q_t for all t, and the final R_T."""
    r0 = jnp.eye(k.shape[1], dtype=q.dtype) / lam

    def step(r, x):
        q_t, k_t = x
        rk = r @ k_t
        r = r - jnp.outer(rk, rk) / (1.0 + k_t @ rk)  # Sherman-Morrison; R stays symmetric
        return r, r @ q_t

    r_T, q_tilde = lax.scan(step, r0, (q, k))
    return q_tilde, r_T


@jax.custom_vjp
def _precondition_recurrent(q: jax.Array, k: jax.Array, lam: jax.Array) -> jax.Array:
    return _rls_scan(q, k, lam)[0]


def _precondition_fwd(q, k, lam):
    q_tilde, r_T = _rls_scan(q, k, lam)
    return q_tilde, (k, lam, q_tilde, r_T)


def _precondition_bwd(res, g):
    """Reverse scan of App. C.1, storing only k, q~ and R_T (no per-step R_t).

    With X_t = lam I + sum_{i<=t} k_i k_i^T, R_t = X_t^{-1} and q~_t = R_t q_t, for a cotangent g_t of q~_t:
      dL/dq_t = R_t g_t =: u_t;  dL/dX_t = -u_t q~_t^T;  C_t = sum_{t'>=t} dL/dX_t';
      dL/dk_t = (C_t + C_t^T) k_t;  dL/dlam = tr(C_1).
    R_{t-1} = R_t + R_t k_t k_t^T R_t / (1 - k_t^T R_t k_t) (reverse Sherman-Morrison). We carry the symmetric
    part C + C^T directly.
    """
    k, lam, q_tilde, r_T = res

    def step(carry, x):
        r, c_sym = carry
        k_t, qt_t, g_t = x
        u = r @ g_t
        c_sym = c_sym - jnp.outer(u, qt_t) - jnp.outer(qt_t, u)
        dk = c_sym @ k_t
        rk = r @ k_t
        r = r + jnp.outer(rk, rk) / (1.0 - k_t @ rk)
        return (r, c_sym), (u, dk)

    init = (r_T, jnp.zeros_like(r_T))
    (_, c_sym), (dq, dk) = lax.scan(step, init, (k, q_tilde, g), reverse=True)
    dlam = (0.5 * jnp.trace(c_sym)).astype(lam.dtype).reshape(lam.shape)
    return dq, dk, dlam


_precondition_recurrent.defvjp(_precondition_fwd, _precondition_bwd)


def mesa_attention_recurrent(q: jax.Array, k: jax.Array, v: jax.Array, lam: jax.Array) -> jax.Array:
    """Mesa attention by the recursive-least-squares scan with the memory-saving backward of App. C.1.

    The scan yields the preconditioned queries q~_t = R_t q_t; the output sum_{i<=t} v_i k_i^T q~_t is then causal
    linear attention on q~, computed (and differentiated) in parallel.
    """
    _check_shapes(q, k, v)
    q_tilde = _precondition_recurrent(q, k, jnp.asarray(lam, dtype=q.dtype))
    return causal_linear_attention(q_tilde, k, v)


def mesa_attention(q: jax.Array, k: jax.Array, v: jax.Array, lam: jax.Array | float,
                   *, method: Method = "recurrent") -> jax.Array:
    """Mesa-layer attention for one head: o_t = (sum_{i<=t} v_i k_i^T)(sum_{i<=t} k_i k_i^T + lam I)^{-1} q_t.

    Args:
      q, k: (T, d_k) queries and keys; v: (T, d_v) values; lam: positive scalar ridge strength.
      method: "recurrent" (Sherman-Morrison scan, custom backward) or "parallel" (Cholesky solve).
    Returns:
      (T, d_v) outputs. Use ``jax.vmap`` for batches and heads.
    """
    if method == "recurrent":
        return mesa_attention_recurrent(q, k, v, lam)
    if method == "parallel":
        return mesa_attention_parallel(q, k, v, lam)
    raise ValueError(f"invalid value for 'method': {method!r} (allowed: {', '.join(METHODS)})")


def ridge_reference(q: jax.Array, k: jax.Array, v: jax.Array, lam: float) -> jax.Array:
    """Direct reference: at each t, solve the ridge normal equations on the prefix with ``jnp.linalg.solve``."""
    T, d = k.shape
    mask = (jnp.arange(T)[None, :] <= jnp.arange(T)[:, None]).astype(k.dtype)  # (t, i): i <= t

    def at(m, q_t):
        km, vm = k * m[:, None], v * m[:, None]
        w = jnp.linalg.solve(km.T @ km + lam * jnp.eye(d, dtype=k.dtype), km.T @ vm).T  # (d_v, d_k)
        return w @ q_t

    return jax.vmap(at)(mask, q)
