"""Reverse-engineering tools (Sec. 3.1-3.3, Figs. 3B, 4, 5 of arXiv:2309.05858).

* Linear probes (Fig. 4E/F): per layer and position, a least-squares map (with bias) from the residual stream to a
  target, fitted on one batch and scored on a held-out batch as normalised MSE (MSE / target variance). Samples whose
  target norm is an outlier (z-score > 4 on the fit batch) are dropped, as in the paper.
* Effective weights of a 1-layer linear self-attention model on constructed tokens (Fig. 3B): per head the
  key-query product A_h = W_K W_Q^T and the value-projection product B_h = (W_V P)^T, restricted to the
  (s_t, s_{t-1}) coordinates of the tokens; their bilinear tensor sum_h B_h (x) A_h is compared with the GD-1
  construction of Prop. 1, and compressed to one scalar per D x D block (times the identity).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# ----------------------------------------------------------------------------- probes


def _outlier_mask(y_fit: jax.Array, y_test: jax.Array, z: float = 4.0) -> tuple[jax.Array, jax.Array]:
    n_fit, n_test = jnp.linalg.norm(y_fit, axis=-1), jnp.linalg.norm(y_test, axis=-1)
    mu, sd = n_fit.mean(), n_fit.std() + 1e-12
    return (jnp.abs(n_fit - mu) / sd <= z).astype(y_fit.dtype), (jnp.abs(n_test - mu) / sd <= z).astype(y_fit.dtype)


def probe_nmse(x_fit: jax.Array, y_fit: jax.Array, x_test: jax.Array, y_test: jax.Array, ridge: float = 1e-6
               ) -> tuple[jax.Array, jax.Array]:
    """Fit y ~ W x + b on (x_fit, y_fit) of shapes (N, F), (N, O); return (held-out NMSE, in-sample NMSE)."""
    w_fit, w_test = _outlier_mask(y_fit, y_test)
    x1 = jnp.concatenate([x_fit, jnp.ones_like(x_fit[:, :1])], axis=1)
    xw = x1 * w_fit[:, None]
    gram = xw.T @ x1
    gram = gram + ridge * jnp.trace(gram) / gram.shape[0] * jnp.eye(gram.shape[0])
    coef = jnp.linalg.solve(gram, xw.T @ y_fit)

    def nmse(x, y, w):
        pred = jnp.concatenate([x, jnp.ones_like(x[:, :1])], axis=1) @ coef
        mean = jnp.sum(y * w[:, None], 0) / w.sum()
        err = jnp.sum(w * jnp.sum((pred - y) ** 2, -1))
        var = jnp.sum(w * jnp.sum((y - mean) ** 2, -1))
        return err / var

    return nmse(x_test, y_test, w_test), nmse(x_fit, y_fit, w_fit)


def probe_curves(acts_fit: jax.Array, y_fit: jax.Array, acts_test: jax.Array, y_test: jax.Array
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Probes for every (layer, position): acts (L, N, T, F), targets (N, T, O) -> (held-out, in-sample) (L, T)."""
    over_t = jax.vmap(probe_nmse, in_axes=(1, 1, 1, 1))
    over_layers = jax.vmap(over_t, in_axes=(0, None, 0, None))
    held, insample = jax.jit(over_layers)(acts_fit, y_fit, acts_test, y_test)
    return np.asarray(held), np.asarray(insample)


def preconditioned_input(x: jax.Array, mu: float = 1e-3) -> jax.Array:
    """(S_{t-1} S_{t-1}^T + mu I)^{-1} s_t with S_{t-1} = [s_0, ..., s_{t-1}] (Prop. 2's preconditioned query)."""
    prev = jnp.concatenate([jnp.zeros_like(x[..., :1, :]), x[..., :-1, :]], axis=-2)
    a = jnp.cumsum(prev[..., :, None] * prev[..., None, :], axis=-3) + mu * jnp.eye(x.shape[-1])
    return jnp.linalg.solve(a, x[..., None])[..., 0]


# ----------------------------------------------------------------------------- effective weights of LinSA-1


def token_basis(d: int) -> np.ndarray:
    """M with e_t = M [s_t; s_{t-1}] for constructed tokens [0, s_t, s_t, s_{t-1}]: shape (4D, 2D)."""
    eye, zero = np.eye(d), np.zeros((d, d))
    return np.block([[zero, zero], [eye, zero], [eye, zero], [zero, eye]])


def effective_matrices(attn_params, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Per head A_h (key x query, 2D x 2D) and B_h (output slot x value input, D x 2D) in (s_t, s_{t-1}) coordinates.

    The layer adds sum_h B_h sum_{t'<=t} f_{t'} (f_{t'}^T A_h f_t) to the prediction slot, f_t = [s_t; s_{t-1}].
    """
    wq = np.asarray(attn_params["query"]["kernel"])  # (4D, H, dk)
    wk = np.asarray(attn_params["key"]["kernel"])
    wv = np.asarray(attn_params["value"]["kernel"])
    wo = np.asarray(attn_params["out"]["kernel"])  # (H, dk, 4D)
    m = token_basis(d)
    a = np.einsum("ihk,jhk->hij", wk, wq)  # key index i, query index j
    b = np.einsum("ihk,hko->hoi", wv, wo)  # output o, value input i
    return np.einsum("ia,hij,jb->hab", m, a, m), np.einsum("hoi,ia->hoa", b[:, :d], m)


def bilinear_tensor(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum_h B_h[o, v] A_h[k, q]: the gauge-invariant map (value, key, query features) -> output, (D, 2D, 2D, 2D)."""
    return np.einsum("hov,hkq->ovkq", b, a)


def prop1_tensor(d: int, eta: float = 1.0) -> np.ndarray:
    """The GD-1 construction (Prop. 1) in the same coordinates: value s_{t'}, key s_{t'-1}, query s_t."""
    a = np.zeros((1, 2 * d, 2 * d))
    a[0, d:, :d] = np.eye(d)
    b = np.zeros((1, d, 2 * d))
    b[0, :, :d] = eta * np.eye(d)
    return bilinear_tensor(a, b)


def cosine(x: np.ndarray, y: np.ndarray) -> float:
    x, y = np.ravel(x), np.ravel(y)
    return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-30))


def compress_blocks(m: np.ndarray, d: int) -> np.ndarray:
    """Replace every D x D block of each head's matrix by (mean of its diagonal) * I (the paper's CompressedAlg)."""
    h, r, c = m.shape
    blocks = m.reshape(h, r // d, d, c // d, d)
    diag = np.einsum("hiaja->hij", blocks) / d
    return np.einsum("hij,ab->hiajb", diag, np.eye(d)).reshape(h, r, c), diag


def reduced_linsa_predict(a: np.ndarray, b: np.ndarray, x: jax.Array, clip: float | None = 4.0) -> jax.Array:
    """Prediction slot of a 1-layer LinSA written in (s_t, s_{t-1}) coordinates: clip(sum_h B_h F^T-attention)."""
    prev = jnp.concatenate([jnp.zeros_like(x[..., :1, :]), x[..., :-1, :]], axis=-2)
    f = jnp.concatenate([x, prev], axis=-1)  # (..., T, 2D)
    T = x.shape[-2]
    scores = jnp.einsum("...sk,hkq,...tq->...hts", f, jnp.asarray(a), f) * jnp.tril(jnp.ones((T, T)))
    out = jnp.einsum("...hts,...sv,hov->...to", scores, f, jnp.asarray(b))
    return out if clip is None else jnp.clip(out, -clip, clip)
