"""Reverse-engineering tools: probes, effective weights of LinSA-1, compression."""

import jax
import jax.numpy as jnp
import numpy as np

from mesa_optimization import analysis, data, zoo
from mesa_optimization import constructions as cons


def test_probe_recovers_linear_targets_and_not_noise():
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    x_fit, x_te = jax.random.normal(k1, (512, 6)), jax.random.normal(k2, (512, 6))
    w = jax.random.normal(k3, (6, 3))
    held, insample = analysis.probe_nmse(x_fit, x_fit @ w + 1.0, x_te, x_te @ w + 1.0)
    assert float(held) < 1e-6 and float(insample) < 1e-6
    noise_fit, noise_te = jax.random.normal(k1, (512, 3)), jax.random.normal(k3, (512, 3))
    held, insample = analysis.probe_nmse(x_fit, noise_fit, x_te, noise_te)
    assert float(held) > 0.95 and float(insample) < float(held)


def test_effective_tensor_of_the_prop1_layer_is_the_construction():
    eta = 0.03
    params = {"attn_0": cons.prop1_linsa_params(10, eta)}
    a, b = analysis.effective_matrices(params["attn_0"], 10)
    tensor = analysis.bilinear_tensor(a, b)
    np.testing.assert_allclose(tensor, analysis.prop1_tensor(10, eta), atol=1e-9)
    assert abs(analysis.cosine(tensor, analysis.prop1_tensor(10)) - 1) < 1e-9
    x, _ = data.inputs_targets(data.sample_batch(jax.random.PRNGKey(1), 4, 30))
    np.testing.assert_allclose(analysis.reduced_linsa_predict(a, b, x, clip=None), cons.gd1_predict(x, eta),
                               atol=1e-5)


def test_reduced_form_reproduces_a_random_linsa1_and_compression_is_idempotent():
    model = zoo.linsa(1, init_std=0.2)
    x, _ = data.inputs_targets(data.sample_batch(jax.random.PRNGKey(2), 4, 20))
    params = model.init(jax.random.PRNGKey(3), x)["params"]
    a, b = analysis.effective_matrices(params["attn_0"], 10)
    np.testing.assert_allclose(analysis.reduced_linsa_predict(a, b, x), model.apply({"params": params}, x),
                               atol=1e-4)
    a_c, blocks = analysis.compress_blocks(a, 10)
    assert blocks.shape == (2, 2, 2)
    np.testing.assert_allclose(analysis.compress_blocks(a_c, 10)[0], a_c, atol=1e-7)


def test_preconditioned_input(x64):
    x, _ = data.inputs_targets(data.sample_batch(jax.random.PRNGKey(4), 2, 20, 3).astype(jnp.float64))
    p = analysis.preconditioned_input(x, mu=0.1)
    a, _ = cons.cumulative_moments(x)
    np.testing.assert_allclose(jnp.einsum("btij,btj->bti", a + 0.1 * jnp.eye(3), p), x, atol=1e-10)
