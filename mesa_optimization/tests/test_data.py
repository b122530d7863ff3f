"""Generator invariants (Sec. 3, App. A)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesa_optimization import data


def test_haar_orthogonal_is_orthogonal_with_haar_trace_statistics():
    ws = jax.jit(jax.vmap(lambda k: data.haar_orthogonal(k, 10)))(jax.random.split(jax.random.PRNGKey(0), 10_000))
    np.testing.assert_allclose(ws[0] @ ws[0].T, np.eye(10), atol=1e-5)
    err = jnp.max(jnp.abs(jnp.einsum("nij,nkj->nik", ws[:200], ws[:200]) - jnp.eye(10)))
    assert float(err) < 1e-4
    tr = jnp.trace(ws, axis1=1, axis2=2)
    # Haar measure on O(n): E tr W = 0, Var tr W = 1 (the sign fix matters: without it the trace is biased)
    assert abs(float(tr.mean())) < 0.05 and abs(float(tr.var()) - 1.0) < 0.08


def test_sequences_shapes_noise_and_norm_preservation():
    key = jax.random.PRNGKey(1)
    s = data.sample_batch(key, 64, 50)
    assert s.shape == (64, 51, 10)
    assert float(jnp.abs(s[:, 0]).max()) <= 1.0  # s_1 ~ U[-1, 1]^D
    clean = data.sample_batch(key, 64, 50, noise=0.0)
    norms = jnp.linalg.norm(clean, axis=-1)
    np.testing.assert_allclose(norms, jnp.broadcast_to(norms[:, :1], norms.shape), rtol=1e-4)
    # same key: identical teachers and initial states, so the difference is the accumulated noise
    resid = (s - clean)[:, 1]
    assert abs(float(resid.std()) - 0.01) < 0.002
    x, y = data.inputs_targets(s)
    assert x.shape == y.shape == (64, 50, 10)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])


def test_fixed_variant_uses_one_teacher_and_orthogonal_uses_many():
    def teacher(seqs):  # least-squares estimate of W from a noiseless trajectory
        a, b = seqs[:-1], seqs[1:]
        return jnp.linalg.lstsq(a, b)[0].T

    f = data.sample_batch(jax.random.PRNGKey(2), 2, 30, noise=0.0, variant="fixed")
    o = data.sample_batch(jax.random.PRNGKey(2), 2, 30, noise=0.0)
    np.testing.assert_allclose(teacher(f[0]), teacher(f[1]), atol=1e-3)
    assert float(jnp.abs(teacher(o[0]) - teacher(o[1])).max()) > 0.1


def test_contracting_eigenvalues_and_other_variants():
    w = data.contracting_matrix(jax.random.PRNGKey(3), 10)
    ev = np.abs(np.linalg.eigvals(np.asarray(w, dtype=np.float64)))
    assert ev.min() >= 0.3 - 1e-4 and abs(ev.max() - 0.9) < 1e-4
    for variant in ("contracting", "partial", "nonlinear"):
        s = data.sample_batch(jax.random.PRNGKey(4), 8, 20, d=5 if variant == "partial" else 10, variant=variant)
        assert s.shape[:2] == (8, 21) and bool(jnp.all(jnp.isfinite(s)))
        assert float(jnp.abs(s).max()) <= 10.0
    with pytest.raises(ValueError, match="variant"):
        data.sample_sequence(jax.random.PRNGKey(0), 5, variant="chaotic")


def test_constructed_tokens_layout():
    s = jnp.arange(2 * 3 * 2, dtype=jnp.float32).reshape(2, 3, 2)
    e = data.constructed_tokens(s)
    assert e.shape == (2, 3, 8)
    np.testing.assert_array_equal(e[..., :2], 0)
    np.testing.assert_array_equal(e[..., 2:4], s)
    np.testing.assert_array_equal(e[..., 4:6], s)
    np.testing.assert_array_equal(e[:, 0, 6:], 0)  # s_0 = 0
    np.testing.assert_array_equal(e[:, 1:, 6:], s[:, :-1])


def test_fewshot_format():
    xs, ys, ws = data.sample_fewshot(jax.random.PRNGKey(5), 4, 6, 3)
    np.testing.assert_allclose(ys, jnp.einsum("bij,bnj->bni", ws, xs), atol=1e-5)
    seq, pos = data.fewshot_sequence(xs, ys)
    assert seq.shape == (4, 12, 3)
    np.testing.assert_array_equal(seq[:, pos], xs)
    np.testing.assert_array_equal(seq[:, pos + 1], ys)
    eos = jnp.ones(3) * 7
    seq, pos = data.fewshot_sequence(xs, ys, eos)
    assert seq.shape == (4, 18, 3)
    np.testing.assert_array_equal(seq[:, pos], xs)
    np.testing.assert_array_equal(seq[:, pos + 2], 7)
