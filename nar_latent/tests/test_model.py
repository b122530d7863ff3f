"""The whole network against dm-clrs's ``nets.Net`` / ``BaselineModel`` with the same parameters."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from nar_latent.reference import clrs

from nar_latent import data, losses, model, reference

H = 16


@functools.cache
def _setup(algorithm, n=6, batch=3):
    fb = data.generate(algorithm, num_samples=batch, length=n, seed=0)
    task = data.make_task(algorithm, fb)
    params = jax.jit(lambda k: reference.init_params(task.spec, task.nb_dims, fb.features, H, k))(jax.random.PRNGKey(0))
    return fb, task, params


def _ours(task, **kwargs):
    config = model.ModelConfig(hidden=H)
    return jax.jit(lambda p, f: model.forward(p, task, f, config=config, **kwargs))


def _fork_factory(decay=1.0, softmax=False):
    """dm-clrs's Triplet-GMPNN factory changed the way the authors' fork changes it."""
    procs = clrs().processors

    def fork_softmax(msgs, axis):  # MPNN: the adjacency is all ones, so the fork's mask is a no-op
        return jnp.sum(msgs * jax.nn.softmax(msgs, axis=axis), axis=axis)

    def factory(out_size):
        inner = procs.MPNN(out_size=out_size, msgs_mlp_sizes=[out_size, out_size], use_ln=True, use_triplets=True,
                           nb_triplet_fts=8, gated=True, reduction=fork_softmax if softmax else jnp.max)

        def call(node_fts, edge_fts, graph_fts, adj_mat, hidden, **kw):  # the fork: hidden * decay
            return inner(node_fts, edge_fts, graph_fts, adj_mat, hidden * decay, **kw)

        call.inf_bias = call.inf_bias_edge = False
        return call

    return factory


def _reference_apply(task, factory=None):
    import haiku as hk

    factory = factory or reference.processor_factory()

    def net(features_list, repred):
        return clrs().nets.Net([task.spec], H, True, True, factory, False, "default", 0.0, 0.0, "soft",
                               [task.nb_dims], 1, False)(features_list, repred, 0, True, False)

    return jax.jit(hk.transform(net).apply, static_argnums=(3,))


@pytest.mark.parametrize("algorithm", ["bellman_ford", "floyd_warshall"])
def test_forward_matches_dm_clrs_net(algorithm):
    fb, task, params = _setup(algorithm)
    ref_out, ref_hints = _reference_apply(task)(params, jax.random.PRNGKey(1), [fb.features], True)
    ours = _ours(task)(params, fb.features)
    for k in ref_out:
        np.testing.assert_allclose(ours.outputs[k], ref_out[k], atol=2e-5, rtol=1e-4)
    for k in ours.hints:
        np.testing.assert_allclose(ours.hints[k], jnp.stack([h[k] for h in ref_hints]), atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("decay,softmax", [(0.9, False), (1.0, True), (0.9, True)])
def test_paper_variants_match_the_authors_changes_to_dm_clrs(decay, softmax):
    """Decay scales the processor's hidden input only (decoders see h); softmax replaces the max."""
    fb, task, params = _setup("bellman_ford")
    ref_out, ref_hints = _reference_apply(task, _fork_factory(decay, softmax))(
        params, jax.random.PRNGKey(1), [fb.features], True)
    ours = _ours(task, variant=model.Variant(decay=decay, softmax=softmax))(params, fb.features)
    np.testing.assert_allclose(ours.outputs["pi"], ref_out["pi"], atol=2e-5, rtol=1e-4)
    np.testing.assert_allclose(ours.hints["d"], jnp.stack([h["d"] for h in ref_hints]), atol=2e-5, rtol=1e-4)


def test_decay_one_is_the_baseline_bit_for_bit():
    fb, task, params = _setup("bellman_ford")
    config = model.ModelConfig(hidden=H)
    fn = jax.jit(lambda p, f, lam: model.forward(p, task, f, config=config, variant=model.Variant(decay=lam)))
    a = fn(params, fb.features, jnp.float32(1.0))
    b = _ours(task)(params, fb.features)
    for x, y in zip(jax.tree_util.tree_leaves((a.outputs, a.hints)), jax.tree_util.tree_leaves((b.outputs, b.hints))):
        np.testing.assert_array_equal(x, y)


def test_loss_and_gradients_match_baseline_model():
    fb, task, params = _setup("bellman_ford")
    bm = reference.baseline_model(task.spec, fb, H)
    ref_loss, ref_grad = jax.jit(jax.value_and_grad(lambda p: bm._loss(p, jax.random.PRNGKey(1), fb, 0)))(params)
    config = model.ModelConfig(hidden=H)
    loss, grad = jax.jit(jax.value_and_grad(
        lambda p: losses.total_loss(task, fb, model.forward(p, task, fb.features, config=config))))(params)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)
    scale = max(float(jnp.max(jnp.abs(g))) for g in jax.tree_util.tree_leaves(ref_grad))
    for g, r in zip(jax.tree_util.tree_leaves(grad), jax.tree_util.tree_leaves(ref_grad)):
        np.testing.assert_allclose(g, r, atol=1e-5 * scale)


def test_padding_the_time_axis_changes_nothing():
    fb, task, params = _setup("bellman_ford")
    longer = data.pad_time(fb, data.num_steps(fb) + 3)
    fn = jax.jit(lambda p, f: losses.total_loss(task, f, model.forward(p, task, f.features,
                                                                        config=model.ModelConfig(hidden=H))))
    np.testing.assert_allclose(fn(params, longer), fn(params, fb), rtol=1e-6)
    a, b = _ours(task)(params, fb.features), _ours(task)(params, longer.features)
    np.testing.assert_allclose(a.outputs["pi"], b.outputs["pi"], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("algorithm,remat", [("bellman_ford", False), ("floyd_warshall", True)])
def test_skipping_the_padded_hint_steps_keeps_loss_and_gradients(algorithm, remat):
    """``active_steps = needed_steps(lengths)`` skips the padded tail of the hint axis: same loss and gradient;
    stopping one step earlier than needed does change them (the skip really cuts the unroll)."""
    fb, task, params = _setup(algorithm)
    longer = data.pad_time(fb, data.num_steps(fb) + 3)
    config = model.ModelConfig(hidden=H)
    variant = model.Variant(decay=0.9, softmax=True)
    needed = model.needed_steps(longer.features.lengths)
    assert int(needed) == int(np.max(fb.features.lengths)) - 1

    @jax.jit
    def value_and_grad(p, active):
        return jax.value_and_grad(lambda p: losses.total_loss(task, longer, model.forward(
            p, task, longer.features, config=config, variant=variant, remat=remat, active_steps=active)))(p)

    loss, grad = jax.jit(jax.value_and_grad(lambda p: losses.total_loss(task, longer, model.forward(
        p, task, longer.features, config=config, variant=variant, remat=remat))))(params)
    loss_s, grad_s = value_and_grad(params, needed)
    np.testing.assert_allclose(loss_s, loss, rtol=1e-6)
    scale = max(float(jnp.max(jnp.abs(g))) for g in jax.tree_util.tree_leaves(grad))
    for g, s in zip(jax.tree_util.tree_leaves(grad), jax.tree_util.tree_leaves(grad_s)):
        np.testing.assert_allclose(s, g, atol=1e-6 * scale)
    loss_short, _ = value_and_grad(params, needed - 1)
    assert abs(float(loss_short) - float(loss)) > 1e-4


def test_remat_gives_the_same_loss_and_gradients():
    """``jax.checkpoint`` of the hint step only trades memory for compute: values and gradients are unchanged."""
    fb, task, params = _setup("floyd_warshall")
    config = model.ModelConfig(hidden=H)
    variant = model.Variant(decay=0.9, softmax=True)

    def value_and_grad(remat):
        return jax.jit(jax.value_and_grad(lambda p: losses.total_loss(
            task, fb, model.forward(p, task, fb.features, config=config, variant=variant, remat=remat))))(params)

    (loss, grad), (loss_r, grad_r) = value_and_grad(False), value_and_grad(True)
    np.testing.assert_allclose(loss_r, loss, rtol=1e-6)
    scale = max(float(jnp.max(jnp.abs(g))) for g in jax.tree_util.tree_leaves(grad))
    for g, r in zip(jax.tree_util.tree_leaves(grad), jax.tree_util.tree_leaves(grad_r)):
        np.testing.assert_allclose(r, g, atol=1e-6 * scale)
