"""Hand-built mesa-optimizers used as reference predictors (Sec. 3.1-3.3 and Props. 1-2 of arXiv:2309.05858).

Every predictor takes the model inputs x = (s_1, ..., s_T) of shape (..., T, D) and returns (..., T, D) estimates of
s_{t+1}. At step t the in-context regression data are the pairs (s_{t'-1} -> s_{t'}) for t' <= t with s_0 = 0,
i.e. the current pair (s_{t-1}, s_t) included, as in the trained models (the official repo's least-squares baseline
omits it: ``include_current=False``). With A_t = sum_{t'<=t} s_{t'-1} s_{t'-1}^T and
B_t = sum_{t'<=t} s_{t'} s_{t'-1}^T:

* GD-1 (Prop. 1): Phi_1 = Phi_0 - eta grad L_t(Phi_0) from Phi_0 = 0, prediction eta B_t s_t.
* multi-step GD: Phi_{k+1} = Phi_k - eta (Phi_k A_t - B_t).
* least squares: B_t (A_t + lam I)^{-1} s_t.
* Prop. 2: K Richardson steps preconditioning the query, x_{k+1} = x_k + alpha_k (s_t - A~_t x_k), x_0 = s_t,
  then one GD step eta B~_t x_K, with A~, B~ divided by ||A_t + mu I||_F (the paper's idealisation).
* :func:`prop1_linsa_params`: the weights of one linear self-attention layer that implements GD-1 on tokens
  [Phi_0 s_t, s_t, s_t, s_{t-1}] (Prop. 1).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mesa_optimization import data as data_lib


def previous(x: jax.Array) -> jax.Array:
    """(s_0 = 0, s_1, ..., s_{T-1}) for x = (s_1, ..., s_T) along axis -2."""
    return jnp.concatenate([jnp.zeros_like(x[..., :1, :]), x[..., :-1, :]], axis=-2)


def cumulative_moments(x: jax.Array, include_current: bool = True) -> tuple[jax.Array, jax.Array]:
    """A_t = sum s_{t'-1} s_{t'-1}^T and B_t = sum s_{t'} s_{t'-1}^T over t' <= t (or t' < t); (..., T, D, D)."""
    prev = previous(x)
    a = jnp.cumsum(prev[..., :, None] * prev[..., None, :], axis=-3)
    b = jnp.cumsum(x[..., :, None] * prev[..., None, :], axis=-3)
    if not include_current:
        a, b = previous_matrix(a), previous_matrix(b)
    return a, b


def previous_matrix(m: jax.Array) -> jax.Array:
    return jnp.concatenate([jnp.zeros_like(m[..., :1, :, :]), m[..., :-1, :, :]], axis=-3)


def gd1_predict(x: jax.Array, eta: float | jax.Array) -> jax.Array:
    """One gradient step from Phi_0 = 0: eta sum_{t'<=t} s_{t'} (s_{t'-1}^T s_t) (Prop. 1)."""
    prev = previous(x)
    T = x.shape[-2]
    scores = jnp.einsum("...td,...sd->...ts", x, prev) * jnp.tril(jnp.ones((T, T), x.dtype))
    return eta * jnp.einsum("...ts,...sd->...td", scores, x)


def gd1_optimal_eta(x: jax.Array, y: jax.Array) -> jax.Array:
    """The line-searched GD-1 learning rate: argmin_eta of sum ||y - eta g||^2 with g = GD-1 direction."""
    g = gd1_predict(x, 1.0)
    return jnp.sum(g * y) / jnp.sum(g * g)


def gd_predict(x: jax.Array, eta: float, steps: int, include_current: bool = True) -> jax.Array:
    """``steps`` gradient steps from Phi_0 = 0 on L_t(Phi) = 1/2 sum_{t'} ||s_{t'} - Phi s_{t'-1}||^2."""
    a, b = cumulative_moments(x, include_current)
    phi = jax.lax.fori_loop(0, steps, lambda _, phi: phi - eta * (phi @ a - b), jnp.zeros_like(a))
    return jnp.einsum("...ij,...j->...i", phi, x)


def lsq_predict(x: jax.Array, lam: float = 1e-3, include_current: bool = True) -> jax.Array:
    """Ridge least squares per step: B_t (A_t + lam I)^{-1} s_t (the mesa-layer's target computation)."""
    a, b = cumulative_moments(x, include_current)
    eye = jnp.eye(x.shape[-1], dtype=x.dtype)
    z = jnp.linalg.solve(a + lam * eye, x[..., None])[..., 0]
    return jnp.einsum("...ij,...j->...i", b, z)


def richardson(a: jax.Array, s: jax.Array, alphas, x0: jax.Array | None = None) -> jax.Array:
    """x_{k+1} = x_k + alpha_k (s - A x_k): K = len(alphas) Richardson steps towards A^{-1} s (Prop. 2)."""
    x = s if x0 is None else x0
    step = lambda x, alpha: (x + alpha * (s - jnp.einsum("...ij,...j->...i", a, x)), None)
    return jax.lax.scan(step, x, jnp.asarray(alphas, dtype=s.dtype))[0]


def prop2_predict(x: jax.Array, alphas: jax.Array, eta: jax.Array, mu: float = 1e-3) -> jax.Array:
    """Prop. 2 with Frobenius-normalised moments: K = len(alphas) preconditioning steps, then one GD step."""
    a, b = cumulative_moments(x)
    a = a + mu * jnp.eye(x.shape[-1], dtype=x.dtype)
    norm = jnp.sqrt(jnp.sum(a * a, axis=(-2, -1), keepdims=True))
    z = richardson(a / norm, x, alphas, x0=x)
    return eta * jnp.einsum("...ij,...j->...i", b / norm, z)


def half_squared_error(pred: jax.Array, target: jax.Array) -> jax.Array:
    """The paper's loss per position: 1/2 ||s_{t+1} - prediction||^2, averaged over the batch -> (T,)."""
    return 0.5 * jnp.mean(jnp.sum((pred - target) ** 2, axis=-1), axis=0)


def fit_prop2(num_steps: int, *, key: jax.Array, train_steps: int = 300, batch: int = 256, T: int = 50,
              d: int = 10, lr: float = 0.05) -> dict[str, jax.Array]:
    """Learn alpha_1..alpha_K and eta of :func:`prop2_predict` by Adam on fresh batches (the paper's baseline)."""
    # distinct initial step sizes: with equal ones Adam's sign-like early updates keep them equal (no Chebyshev-like
    # schedule can emerge)
    params = {"alphas": jnp.linspace(0.5, 1.5, num_steps), "eta": jnp.asarray(1.0)}
    opt = optax.adam(lr)

    def loss_fn(p, k):
        x, y = data_lib.inputs_targets(data_lib.sample_batch(k, batch, T, d))
        return jnp.mean(half_squared_error(prop2_predict(x, p["alphas"], p["eta"]), y))

    @jax.jit
    def run(params):
        def body(carry, k):
            p, s = carry
            _, g = jax.value_and_grad(loss_fn)(p, k)
            u, s = opt.update(g, s, p)
            return (optax.apply_updates(p, u), s), None

        (p, _), _ = jax.lax.scan(body, (params, opt.init(params)), jax.random.split(key, train_steps))
        return p

    return run(params)


def prop1_linsa_params(d: int, eta: float, phi0: np.ndarray | None = None) -> dict[str, dict[str, jax.Array]]:
    """Weights of a 1-head linear self-attention layer (key size D, token width 4D) implementing GD-1 (Prop. 1).

    On tokens e_t = [Phi_0 s_t, s_t, s_t, s_{t-1}]: query = s_t, key = s_{t-1}, value = s_t - Phi_0 s_{t-1}, and
    P writes eta * value into the first slot, which becomes (Phi_0 - eta grad L_t(Phi_0)) s_t.
    """
    phi0 = np.zeros((d, d)) if phi0 is None else np.asarray(phi0)
    eye = np.eye(d)
    wq = np.zeros((4 * d, 1, d))
    wq[d:2 * d, 0] = eye
    wk = np.zeros((4 * d, 1, d))
    wk[3 * d:, 0] = eye
    wv = np.zeros((4 * d, 1, d))
    wv[d:2 * d, 0] = eye
    wv[3 * d:, 0] = -phi0.T
    wo = np.zeros((1, d, 4 * d))
    wo[0, :, :d] = eta * eye
    return {name: {"kernel": jnp.asarray(w)} for name, w in
            (("query", wq), ("key", wk), ("value", wv), ("out", wo))}
