"""linear_recurrence: associative scan == lax.scan == Python loop, in values and gradients (issue: 1e-10 in
complex128), plus the binary operator's algebra and the closed form x_L = V u_rev."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from lru_universality.scan import (
    DEFAULT_METHOD,
    binary_operator,
    linear_recurrence,
    linear_recurrence_associative,
    linear_recurrence_loop,
    linear_recurrence_sequential,
)

from lru_universality import compressor as C

IMPLS = [linear_recurrence_associative, linear_recurrence_sequential, linear_recurrence_loop]


def _random_problem(seed=0, T=37, N=8, batch=()):
    rng = np.random.default_rng(seed)
    r = np.sqrt(rng.uniform(0.5**2, 0.999**2, N))
    lam = r * np.exp(1j * rng.uniform(0, 2 * np.pi, N))
    bu = rng.standard_normal((T, *batch, N)) + 1j * rng.standard_normal((T, *batch, N))
    return lam, bu


def _numpy_loop(lam, bu):
    x, out = np.zeros(bu.shape[1:], complex), []
    for t in range(bu.shape[0]):
        x = lam * x + bu[t]
        out.append(x)
    return np.stack(out)


def test_x64_is_not_enabled_globally():
    assert jnp.zeros(1).dtype == jnp.float32


@pytest.mark.parametrize("batch", [(), (3,)])
def test_values_agree_complex128(x64, batch):
    lam, bu = _random_problem(batch=batch)
    ref = _numpy_loop(lam, bu)
    for impl in IMPLS:
        out = impl(jnp.asarray(lam), jnp.asarray(bu))
        assert out.dtype == jnp.complex128 and out.shape == bu.shape
        np.testing.assert_allclose(np.asarray(out), ref, rtol=0, atol=1e-10)


def test_values_agree_float32_and_jit():
    lam, bu = _random_problem(seed=1)
    ref = _numpy_loop(lam, bu)
    lam32, bu32 = jnp.asarray(lam, jnp.complex64), jnp.asarray(bu, jnp.complex64)
    for method in ("associative", "sequential"):
        out = jax.jit(linear_recurrence, static_argnums=2)(lam32, bu32, method)
        assert out.dtype == jnp.complex64
        np.testing.assert_allclose(np.asarray(out), ref, atol=1e-4, rtol=1e-5)


def test_gradients_agree_complex128(x64):
    lam, bu = _random_problem(seed=2, T=23, N=5)
    w = jnp.asarray(np.random.default_rng(3).standard_normal(bu.shape))

    def loss(params, impl):
        lam_re, lam_im, bu_re, bu_im = params
        x = impl(lam_re + 1j * lam_im, bu_re + 1j * bu_im)
        return jnp.sum(w * (x.real**2 + jnp.sin(x.imag)))

    params = (jnp.asarray(lam.real), jnp.asarray(lam.imag), jnp.asarray(bu.real), jnp.asarray(bu.imag))
    grads = [jax.grad(loss)(params, impl) for impl in IMPLS]
    for g in grads[:-1]:
        for a, b in zip(g, grads[-1]):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=1e-10 * max(1, np.abs(b).max()))


def test_closed_form_vandermonde(x64):
    """x_L = V u_rev for scalar inputs fed to every unit (B = 1)."""
    lam, _ = _random_problem(seed=4, N=8)
    u = np.random.default_rng(5).standard_normal(37)
    x = linear_recurrence(jnp.asarray(lam), jnp.asarray(np.repeat(u[:, None], 8, axis=1) + 0j))
    np.testing.assert_allclose(np.asarray(x[-1]), C.vandermonde(lam, 37) @ u[::-1], atol=1e-10)


def test_binary_operator_associative_not_commutative(x64):
    rng = np.random.default_rng(6)
    e = [tuple(jnp.asarray(rng.standard_normal(4) + 1j * rng.standard_normal(4)) for _ in range(2)) for _ in range(3)]
    left = binary_operator(binary_operator(e[0], e[1]), e[2])
    right = binary_operator(e[0], binary_operator(e[1], e[2]))
    for a, b in zip(left, right):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-12)
    swapped = binary_operator(e[1], e[0])[1]
    assert not np.allclose(np.asarray(binary_operator(e[0], e[1])[1]), np.asarray(swapped))
    # two steps from x_0 = 0 compose to x_2 = a_2 b_1 + b_2
    np.testing.assert_allclose(np.asarray(binary_operator(e[0], e[1])[1]), np.asarray(e[1][0] * e[0][1] + e[1][1]))


def test_real_inputs_and_errors():
    out = linear_recurrence(jnp.array([0.5]), jnp.ones((3, 1)))
    np.testing.assert_allclose(np.asarray(out[:, 0]), [1.0, 1.5, 1.75])
    assert DEFAULT_METHOD in ("associative", "sequential")
    with pytest.raises(ValueError, match="method"):
        linear_recurrence(jnp.ones(2), jnp.ones((3, 2)), method="fft")
    with pytest.raises(ValueError, match="lam shape"):
        linear_recurrence(jnp.ones(2), jnp.ones((3, 4)))
