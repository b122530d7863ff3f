"""Layer laws (by construction) and the asynchronous engine: exactly-once delivery, sync = reference, gaps."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from async_gnn.layers import LAYER_LAWS, check_layer

from async_gnn import engine, layers

H = 8


def _graphs(rng, b=3, n=7, p=0.4):
    a = rng.random((b, n, n)) < p
    return (a | a.transpose(0, 2, 1)) | np.eye(n, dtype=bool)[None]


@pytest.mark.parametrize("name", layers.LAYER_NAMES)
def test_guaranteed_laws_hold_exactly_and_others_fail(name):
    layer = layers.make_layer(name, H, H)
    with jax.enable_x64(True):
        params = jax.tree_util.tree_map(lambda x: x.astype(jnp.float64), layer.init(jax.random.PRNGKey(0)))
        reports = check_layer(layer, params, jax.random.PRNGKey(1), n=64)
    assert [r.law for r in reports] == list(LAYER_LAWS)
    for r in reports:
        if r.law in layer.guaranteed:
            bound = 1e-12 if (name == "mpnn_sum" and "monoid" in r.law) else 0.0
            assert r.max_violation <= bound, str(r)
        else:
            assert r.max_violation > 1e-3, str(r)


def test_maxmax_laws_hold_exactly_at_perturbed_weights_in_float32():
    layer = layers.MaxMax(H, H)
    params = layer.init(jax.random.PRNGKey(0))
    noise = jax.tree_util.tree_map(lambda x: 0.7 * jax.random.normal(jax.random.PRNGKey(2), x.shape), params)
    params = jax.tree_util.tree_map(jnp.add, params, noise)  # weights away from the initialisation
    reports = {r.law: r for r in check_layer(layer, params, jax.random.PRNGKey(3), n=128, scale=5.0)}
    for law in layer.guaranteed:
        assert reports[law].max_violation == 0.0, str(reports[law])


def test_random_batches_deliver_every_message_exactly_once():
    rng = np.random.default_rng(0)
    mask = _graphs(rng, b=4, n=9)
    ids = engine.random_batches(rng, mask, num_steps=3, num_batches=4)
    assert ids.shape == (3, *mask.shape)
    assert (ids[:, ~mask] == -1).all()
    on_edges = ids[:, mask]
    assert on_edges.min() >= 0 and on_edges.max() <= 3
    # per step and edge, exactly one batch k selects the message
    hits = sum(((ids == k) & mask[None]).astype(int) for k in range(4))
    np.testing.assert_array_equal(hits, np.broadcast_to(mask, hits.shape).astype(int))
    assert len(np.unique(on_edges)) == 4  # batches are actually used


def test_sync_step_equals_a_hand_written_mpnn_step():
    rng = np.random.default_rng(1)
    mask = _graphs(rng, b=2, n=5)
    layer = layers.MPNN(H, H)
    p = layer.init(jax.random.PRNGKey(0))
    h0 = jnp.asarray(rng.normal(size=(2, 5, H)), jnp.float32)
    e = jnp.asarray(rng.normal(size=(2, 5, 5, H)), jnp.float32)
    out = engine.propagate(layer, p, h0, e, jnp.asarray(mask), jnp.array([1, 1]), 1)
    h, en, pn = np.asarray(h0), np.asarray(e), {k: np.asarray(v) for k, v in p.items()}
    want = np.zeros_like(h)
    for b in range(2):
        for i in range(5):
            msgs = [np.maximum(h[b, j] @ pn["w_send"] + h[b, i] @ pn["w_recv"] + en[b, i, j], 0) @ pn["w_out"]
                    for j in range(5) if mask[b, i, j]]
            pre = np.maximum(h[b, i] @ pn["o_self"] + np.max(msgs, axis=0) @ pn["o_msg"] + pn["b_upd"], 0)
            want[b, i] = (pre - pre.mean()) / np.sqrt(pre.var() + 1e-5)
    np.testing.assert_allclose(np.asarray(out), want, rtol=2e-4, atol=2e-4)


def test_samples_stop_after_their_own_steps():
    rng = np.random.default_rng(2)
    mask = jnp.asarray(_graphs(rng, b=2, n=6))
    layer = layers.L2(H, H)
    p = layer.init(jax.random.PRNGKey(0))
    h0 = jnp.asarray(rng.normal(size=(2, 6, H)), jnp.float32)
    e = layer.edge_map(p, jnp.asarray(rng.normal(size=(2, 6, 6, H)), jnp.float32))
    mixed = engine.propagate(layer, p, h0, e, mask, jnp.array([1, 3]), 3)
    one = engine.propagate(layer, p, h0, e, mask, jnp.array([1, 1]), 1)
    three = engine.propagate(layer, p, h0, e, mask, jnp.array([3, 3]), 3)
    np.testing.assert_array_equal(mixed[0], one[0])
    np.testing.assert_array_equal(mixed[1], three[1])


@pytest.fixture(scope="module")
def gaps():
    """Max |Δ state| of each layer, Level 2 and Level 3, over 3 random schedules (float32, 3 steps)."""
    rng = np.random.default_rng(3)
    mask = _graphs(rng, b=3, n=8)
    prop = jax.jit(engine.propagate, static_argnums=(0, 6, 7, 9))
    out = {}
    for name in ("mpnn", "l2", "maxmax"):
        layer = layers.make_layer(name, H, H)
        p = layer.init(jax.random.PRNGKey(0))
        h0 = jnp.asarray(rng.normal(size=(3, 8, H)), jnp.float32)
        e = layer.edge_map(p, jnp.asarray(rng.normal(size=(3, 8, 8, H)), jnp.float32))
        steps = jnp.full((3,), 3)
        sync = prop(layer, p, h0, e, jnp.asarray(mask), steps, 3)
        for mode in ("level2", "level3"):
            out[name, mode] = max(
                float(jnp.abs(prop(layer, p, h0, e, jnp.asarray(mask), steps, 3, mode,
                                   jnp.asarray(engine.random_batches(rng, mask, 3, 4)), 4) - sync).max())
                for _ in range(3))
    return out


def test_invariant_layer_is_exactly_schedule_independent(gaps):
    assert gaps["maxmax", "level2"] == 0.0
    assert gaps["maxmax", "level3"] == 0.0


def test_l2_is_level2_but_not_level3_invariant(gaps):
    assert gaps["l2", "level2"] == 0.0
    assert gaps["l2", "level3"] > 1e-3


def test_mpnn_is_not_invariant(gaps):
    assert gaps["mpnn", "level2"] > 1e-2
    assert gaps["mpnn", "level3"] > 1e-2


def test_bad_mode_is_rejected():
    layer = layers.L2(H, H)
    with pytest.raises(ValueError, match="'mode'"):
        engine.propagate(layer, {}, jnp.zeros((1, 2, H)), jnp.zeros((1, 2, 2, H)), jnp.ones((1, 2, 2), bool),
                         jnp.ones(1, int), 1, mode="chaotic")
    with pytest.raises(ValueError, match="'layer'"):
        layers.make_layer("gat", H, H)
