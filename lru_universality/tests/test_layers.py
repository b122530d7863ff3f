"""The flax layers against independent numpy loops of their equations (LRU appendix A; ZOH for S4D), conjugate
symmetry, the real 2x2-block equivalent, and the optimizer's parameter split."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from lru_universality.layers import LRU, RealDiagonalRecurrence, RecurrenceConfig, S4DRecurrence, make_recurrence
from lru_universality.models import DeepRecurrentModel
from lru_universality.scan import linear_recurrence
from lru_universality.train import param_labels

from lru_universality import parametrization as P


def _numpy_lru(p, u):
    """Appendix A of the LRU paper, written out with a loop: u (T, H) -> y (T, H)."""
    lam = np.exp(-np.exp(p["nu_log"]) + 1j * np.exp(p["theta_log"]))
    b = (p["B_re"] + 1j * p["B_im"]) * np.exp(p["gamma_log"])[:, None]
    c = p["C_re"] + 1j * p["C_im"]
    x, ys = np.zeros(lam.shape, complex), []
    for t in range(u.shape[0]):
        x = lam * x + b @ u[t]
        ys.append((c @ x).real + p["D"] * u[t])
    return np.stack(ys)


def test_lru_matches_numpy_loop(x64):
    layer = LRU(d_state=6, r_min=0.5, r_max=0.99, max_phase=np.pi)
    u = jax.random.normal(jax.random.PRNGKey(0), (2, 37, 3), jnp.float64)
    params = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), layer.init(jax.random.PRNGKey(1), u))
    y = np.asarray(jax.jit(layer.apply)(params, u))
    p = {k: np.asarray(v, float) for k, v in params["params"].items()}
    assert y.shape == (2, 37, 3) and np.isrealobj(y)
    for i in range(2):
        np.testing.assert_allclose(y[i], _numpy_lru(p, np.asarray(u[i])), atol=1e-10)
    # unbatched input (T, H) gives the same as batch row 0
    np.testing.assert_allclose(np.asarray(layer.apply(params, u[0])), y[0], atol=1e-12)
    # init follows appendix A: radii in the ring, gamma_log = log sqrt(1 - |lam|^2), B ~ N(0, 1/(2H))
    mod = np.exp(-np.exp(p["nu_log"]))
    assert mod.min() >= 0.5 - 1e-9 and mod.max() <= 0.99 + 1e-9
    np.testing.assert_allclose(p["gamma_log"], np.log(np.sqrt(1 - mod**2)), rtol=1e-5)  # init ran in float32


def test_lru_init_statistics():
    h, n = 64, 256
    params = jax.jit(LRU(d_state=n).init)(jax.random.PRNGKey(2), jnp.zeros((1, 4, h)))["params"]
    assert abs(float(jnp.std(params["B_re"])) - 1 / np.sqrt(2 * h)) < 0.01
    assert abs(float(jnp.std(params["C_re"])) - 1 / np.sqrt(n)) < 0.01
    assert "gamma_log" not in LRU(d_state=4, gamma_norm=False).init(jax.random.PRNGKey(0), jnp.zeros((1, 2, 3)))[
        "params"]


def test_conjugate_symmetry_and_real_block_form(x64):
    """For real inputs the state of conj(lam) is conj(state of lam), and Re(c x) with x_t = lam x_{t-1} + b u_t
    equals a real 2x2-block recurrence [[a, -w], [w, a]] on (Re x, Im x)."""
    rng = np.random.default_rng(0)
    lam = np.array([0.9 * np.exp(0.3j), 0.7 * np.exp(2.0j)])
    b = rng.standard_normal(2) + 1j * rng.standard_normal(2)
    c = rng.standard_normal(2) + 1j * rng.standard_normal(2)
    u = rng.standard_normal(50)
    bu = np.outer(u, b)
    x = np.asarray(linear_recurrence(jnp.asarray(lam), jnp.asarray(bu)))
    x_conj = np.asarray(linear_recurrence(jnp.asarray(lam.conj()), jnp.asarray(bu.conj())))
    np.testing.assert_allclose(x_conj, x.conj(), atol=1e-12)
    # real block form
    z = np.zeros((2, 2))
    ys = []
    for t in range(50):
        for k in range(2):
            a, w = lam[k].real, lam[k].imag
            z[k] = np.array([[a, -w], [w, a]]) @ z[k] + np.array([b[k].real, b[k].imag]) * u[t]
        ys.append(sum(c[k].real * z[k, 0] - c[k].imag * z[k, 1] for k in range(2)))
    np.testing.assert_allclose((x @ c).real, ys, atol=1e-10)


def test_real_diagonal_layer(x64):
    layer = RealDiagonalRecurrence(d_state=5, r_min=0.2, r_max=0.9)
    u = jax.random.normal(jax.random.PRNGKey(3), (1, 20, 2), jnp.float64)
    params = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), layer.init(jax.random.PRNGKey(4), u))
    p = {k: np.asarray(v) for k, v in params["params"].items()}
    lam = np.exp(-np.exp(p["nu_log"]))
    assert lam.min() >= 0.2 - 1e-9 and lam.max() <= 0.9 + 1e-9
    b = p["B"] * np.exp(p["gamma_log"])[:, None]
    x, ys = np.zeros(5), []
    for t in range(20):
        x = lam * x + b @ np.asarray(u[0, t])
        ys.append(p["C"] @ x + p["D"] * np.asarray(u[0, t]))
    np.testing.assert_allclose(np.asarray(layer.apply(params, u))[0], np.stack(ys), atol=1e-10)


def test_s4d_layer_zoh(x64):
    layer = S4DRecurrence(d_state=4)
    u = jax.random.normal(jax.random.PRNGKey(5), (1, 30, 2), jnp.float64)
    params = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), layer.init(jax.random.PRNGKey(6), u))
    p = {k: np.asarray(v) for k, v in params["params"].items()}
    np.testing.assert_allclose(p["a_im"], np.pi * np.arange(4))  # S4D-Lin: -1/2 + i pi n
    a = -np.exp(p["log_a_re"]) + 1j * p["a_im"]
    dt = np.exp(p["log_step"])
    assert np.all((dt >= 1e-3 - 1e-12) & (dt <= 1e-1 + 1e-12))
    lam = np.exp(dt * a)
    assert np.all(np.abs(lam) < 1)
    b = ((lam - 1) / a)[:, None] * (p["B_re"] + 1j * p["B_im"])
    c = p["C_re"] + 1j * p["C_im"]
    x, ys = np.zeros(4, complex), []
    for t in range(30):
        x = lam * x + b @ np.asarray(u[0, t])
        ys.append((c @ x).real + p["D"] * np.asarray(u[0, t]))
    np.testing.assert_allclose(np.asarray(layer.apply(params, u))[0], np.stack(ys), atol=1e-10)


def test_config_validation_and_factory():
    with pytest.raises(ValueError, match="kind"):
        RecurrenceConfig(kind="gru")
    with pytest.raises(ValueError, match="scan_method"):
        RecurrenceConfig(scan_method="fft")
    with pytest.raises(ValueError, match="radii"):
        RecurrenceConfig(r_min=0.9, r_max=0.5)
    assert isinstance(make_recurrence(RecurrenceConfig("real", 4)), RealDiagonalRecurrence)


def test_deep_model_shapes_and_param_split():
    x = jnp.ones((2, 9, 5))
    mask = jnp.arange(9)[None, :] < jnp.array([[4], [9]])
    for kind in ("lru", "real", "s4d"):
        model = DeepRecurrentModel(16, 3, RecurrenceConfig(kind, 8), n_layers=2, pooling="mean")
        params = jax.jit(model.init)(jax.random.PRNGKey(0), x, mask)["params"]
        assert jax.jit(model.apply)({"params": params}, x, mask).shape == (2, 3)
    model = DeepRecurrentModel(16, 3, RecurrenceConfig("lru", 8), n_layers=1, pooling="none")
    params = model.init(jax.random.PRNGKey(0), x)["params"]
    assert model.apply({"params": params}, x).shape == (2, 9, 3)
    labels = param_labels(params)
    rec = labels["block_0"]["recurrence"]
    assert {k for k, v in rec.items() if v == "recurrent"} == {"nu_log", "theta_log", "gamma_log", "B_re", "B_im"}
    assert rec["C_re"] == "other" and labels["encoder"]["kernel"] == "other"
    # masked mean pooling ignores padded steps: changing them does not change the output
    m2 = DeepRecurrentModel(16, 3, RecurrenceConfig("lru", 8), n_layers=1)
    p2 = m2.init(jax.random.PRNGKey(1), x, mask)
    x2 = x.at[0, 6:].set(7.0)
    np.testing.assert_allclose(np.asarray(m2.apply(p2, x, mask))[0], np.asarray(m2.apply(p2, x2, mask))[0],
                               atol=1e-6)
    with pytest.raises(ValueError, match="pooling"):
        DeepRecurrentModel(4, 2, RecurrenceConfig(), pooling="max").init(jax.random.PRNGKey(0), x)


def test_lambda_stays_inside_unit_disk_after_large_updates():
    """Any real nu_log, theta_log (e.g. after wild optimizer steps) gives a stable layer."""
    layer = LRU(d_state=8)
    u = jnp.ones((1, 200, 2))
    params = layer.init(jax.random.PRNGKey(0), u)
    params["params"]["nu_log"] = jnp.linspace(-30, 5, 8)
    lam = P.lambda_from_params(params["params"]["nu_log"], params["params"]["theta_log"])
    assert bool(jnp.all(jnp.abs(lam) < 1))
    assert bool(jnp.all(jnp.isfinite(layer.apply(params, u))))
