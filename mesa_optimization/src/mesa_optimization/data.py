"""Procedural data of arXiv:2309.05858 (Sec. 3, App. A): random linear dynamics, its variants, few-shot regression.

Everything is generated from a PRNG key; nothing is downloaded. Shapes: a batch of trajectories is (B, T+1, D)
holding s_1 .. s_{T+1}; a model sees s_1 .. s_T and predicts s_2 .. s_{T+1}.
"""

from __future__ import annotations

import functools
from typing import Literal

import jax
import jax.numpy as jnp

Variant = Literal["orthogonal", "fixed", "contracting", "partial", "nonlinear"]
VARIANTS: tuple[str, ...] = ("orthogonal", "fixed", "contracting", "partial", "nonlinear")
FIXED_TEACHER_SEED = 42  # the paper's fixed-teacher control uses PRNGKey(42)


def haar_orthogonal(key: jax.Array, d: int) -> jax.Array:
    """A Haar-distributed orthogonal matrix: QR of a Gaussian with the sign of diag(R) folded into Q."""
    g = jax.random.normal(key, (d, d))
    q, r = jnp.linalg.qr(g)
    return q * jnp.sign(jnp.diagonal(r))[None, :]


def contracting_matrix(key: jax.Array, d: int, low: float = 0.3, high: float = 0.9) -> jax.Array:
    """W = U diag(lambda) U^{-1} with real eigenvalues lambda ~ U[low, high], the largest set to ``high`` (App. A).

    U is Gaussian, so W is not normal and transients can grow before they contract (the paper notes ~2% of
    trajectories blow up, hence the state clipping).
    """
    ku, kl = jax.random.split(key)
    u = jax.random.normal(ku, (d, d))
    lam = jax.random.uniform(kl, (d,), minval=low, maxval=high)
    lam = lam.at[jnp.argmax(lam)].set(high)
    return u @ jnp.diag(lam) @ jnp.linalg.inv(u)


def _rollout(step, h0: jax.Array, T: int, key: jax.Array, noise: float, clip: float) -> jax.Array:
    """Scan h_{t+1} = clip(step(h_t) + noise) for T steps; returns (T+1, d) including h_0."""
    eps = noise * jax.random.normal(key, (T, h0.shape[0]))

    def body(h, e):
        h = jnp.clip(step(h) + e, -clip, clip)
        return h, h

    _, hs = jax.lax.scan(body, h0, eps)
    return jnp.concatenate([h0[None], hs], axis=0)


def _nonlinear_mlp(d: int) -> tuple[jax.Array, jax.Array]:
    """The fixed teacher MLP of the nonlinear variant: B GELU(A h), A, B ~ N(0, 1.1/d), drawn once from key 1."""
    ka, kb = jax.random.split(jax.random.PRNGKey(1))
    scale = jnp.sqrt(1.1 / d)
    return scale * jax.random.normal(ka, (d, d)), scale * jax.random.normal(kb, (d, d))


def sample_sequence(key: jax.Array, T: int, d: int = 10, *, noise: float = 0.01, variant: Variant = "orthogonal",
                    clip: float = 10.0, hidden_dim: int = 15) -> jax.Array:
    """One trajectory s_1 .. s_{T+1} of shape (T+1, d) from a freshly drawn teacher W* (Sec. 3).

    variant: "orthogonal" (Haar W*), "fixed" (one W* from PRNGKey(42) for every sequence, the negative
    control), "contracting" (eigenvalues in [0.3, 0.9]), "partial" (orthogonal dynamics of dimension
    ``hidden_dim`` observed through C* = 0.5 N(0, 1) of shape (d, hidden_dim)), "nonlinear"
    (h_{t+1} = W* normalise(B GELU(A h_t)) + noise with a fixed MLP).
    s_1 ~ U[-1, 1]^d (the official code's choice; the paper's text says N(0, I)).
    """
    kw, k0, ke, kc = jax.random.split(key, 4)
    if variant == "orthogonal":
        w = haar_orthogonal(kw, d)
        return _rollout(lambda h: w @ h, jax.random.uniform(k0, (d,), minval=-1, maxval=1), T, ke, noise, clip)
    if variant == "fixed":
        w = haar_orthogonal(jax.random.PRNGKey(FIXED_TEACHER_SEED), d)
        return _rollout(lambda h: w @ h, jax.random.uniform(k0, (d,), minval=-1, maxval=1), T, ke, noise, clip)
    if variant == "contracting":
        w = contracting_matrix(kw, d)
        return _rollout(lambda h: w @ h, jax.random.uniform(k0, (d,), minval=-1, maxval=1), T, ke, noise, clip)
    if variant == "partial":
        w = haar_orthogonal(kw, hidden_dim)
        c = 0.5 * jax.random.normal(kc, (d, hidden_dim))
        h = _rollout(lambda x: w @ x, jax.random.uniform(k0, (hidden_dim,), minval=-1, maxval=1), T, ke, noise,
                     clip)
        return h @ c.T
    if variant == "nonlinear":
        w = haar_orthogonal(kw, d)
        a, b = _nonlinear_mlp(d)

        def step(h):
            f = b @ jax.nn.gelu(a @ h)
            return w @ (f / (jnp.linalg.norm(f) + 1e-6))

        return _rollout(step, jax.random.uniform(k0, (d,), minval=-1, maxval=1), T, ke, noise, clip)
    raise ValueError(f"invalid value for 'variant': {variant!r} (allowed: {', '.join(VARIANTS)})")


@functools.partial(jax.jit, static_argnames=("batch", "T", "d", "variant", "hidden_dim"))
def sample_batch(key: jax.Array, batch: int, T: int, d: int = 10, *, noise: float = 0.01,
                 variant: Variant = "orthogonal", clip: float = 10.0, hidden_dim: int = 15) -> jax.Array:
    """(batch, T+1, d) trajectories, one teacher per sequence (see :func:`sample_sequence`)."""
    return jax.vmap(lambda k: sample_sequence(k, T, d, noise=noise, variant=variant, clip=clip,
                                              hidden_dim=hidden_dim))(jax.random.split(key, batch))


def inputs_targets(seqs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Split (B, T+1, D) trajectories into model inputs s_1..s_T and next-step targets s_2..s_{T+1}."""
    return seqs[:, :-1], seqs[:, 1:]


def constructed_tokens(s: jax.Array) -> jax.Array:
    """Tokens e_t = [0, s_t, s_t, s_{t-1}] with s_0 = 0 (Prop. 1; the official code's 4D layout).

    The first D channels are the prediction slot read out as the model's estimate of s_{t+1}. ``s`` is
    (..., T, D); returns (..., T, 4D).
    """
    prev = jnp.concatenate([jnp.zeros_like(s[..., :1, :]), s[..., :-1, :]], axis=-2)
    return jnp.concatenate([jnp.zeros_like(s), s, s, prev], axis=-1)


# ----------------------------------------------------------------------------- few-shot regression (Sec. 5)

def sample_fewshot(key: jax.Array, batch: int, n_pairs: int, d: int = 10, *, noise: float = 0.0
                   ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """In-context regression tasks y_i = W* x_i (+ noise), W* Haar-orthogonal per task, x_i ~ U[-1, 1]^d.

    Returns (xs, ys, ws) with xs, ys of shape (batch, n_pairs, d).
    """
    kw, kx, kn = jax.random.split(key, 3)
    ws = jax.vmap(lambda k: haar_orthogonal(k, d))(jax.random.split(kw, batch))
    xs = jax.random.uniform(kx, (batch, n_pairs, d), minval=-1, maxval=1)
    ys = jnp.einsum("bij,bnj->bni", ws, xs) + noise * jax.random.normal(kn, xs.shape)
    return xs, ys, ws


def fewshot_sequence(xs: jax.Array, ys: jax.Array, eos: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """Interleave pairs as [x1, y1, x2, y2, ...] or, with an EOS vector, [x1, y1, eos, x2, y2, eos, ...].

    Returns the (B, L, d) token sequence and the (n_pairs,) positions of the x_i tokens, where the model's
    next-token prediction is read as its estimate of y_i.
    """
    b, n, d = xs.shape
    parts = [xs, ys] if eos is None else [xs, ys, jnp.broadcast_to(eos, xs.shape)]
    seq = jnp.stack(parts, axis=2).reshape(b, n * len(parts), d)
    return seq, jnp.arange(n) * len(parts)
