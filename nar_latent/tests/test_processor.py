"""The processor against dm-clrs's own PGN / MPNN with copied weights, and the aggregator's limits."""

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from nar_latent.processor import EdgeFeatures, ProcessorConfig, aggregate, max_plus, process, processor_params
from nar_latent.reference import clrs

B, N, H = 2, 5, 16


def _inputs(seed=0):
    k = jax.random.split(jax.random.PRNGKey(seed), 5)
    node = jax.random.normal(k[0], (B, N, H))
    edge = jax.random.normal(k[1], (B, N, N, H))
    graph = jax.random.normal(k[2], (B, H))
    hidden = jax.random.normal(k[3], (B, N, H))
    adj = (jax.random.uniform(k[4], (B, N, N)) < 0.5).astype(jnp.float32) + jnp.eye(N)[None]
    return node, edge, graph, (adj > 0).astype(jnp.float32), hidden


def _dm_clrs(cls, **kwargs):
    def fn(node, edge, graph, adj, hidden):
        return cls(out_size=H, msgs_mlp_sizes=[H, H], **kwargs)(node, edge, graph, adj, hidden)

    return hk.transform(fn)


CASES = {
    "triplet_gmpnn": (lambda p: p.MPNN, dict(use_ln=True, use_triplets=True, nb_triplet_fts=8, gated=True),
                      ProcessorConfig()),
    "gmpnn": (lambda p: p.MPNN, dict(use_ln=True, use_triplets=False, gated=True),
              ProcessorConfig(use_triplets=False)),
    "triplet_mpnn": (lambda p: p.MPNN, dict(use_ln=True, use_triplets=True, nb_triplet_fts=8, gated=False),
                     ProcessorConfig(gated=False)),
    "triplet_gpgn_mask": (lambda p: p.PGNMask, dict(use_ln=True, use_triplets=True, nb_triplet_fts=8, gated=True),
                          ProcessorConfig(fully_connected=False)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_processor_matches_dm_clrs_with_copied_weights(case):
    cls, kwargs, config = CASES[case]
    net = _dm_clrs(cls(clrs().processors), **kwargs)
    args = _inputs()
    params = jax.jit(net.init)(jax.random.PRNGKey(1), *args)
    params = jax.tree_util.tree_map(lambda x: x + 0.1 * jax.random.normal(jax.random.PRNGKey(2), x.shape), params)
    ref_h, ref_tri = jax.jit(net.apply)(params, None, *args)
    node, edge, graph, adj, hidden = args
    ours = jax.jit(lambda p, *a: process(p, *a, config=config))
    h, tri = ours(processor_params(params), node, EdgeFeatures.dense(edge), graph, adj, hidden)
    np.testing.assert_allclose(h, ref_h, atol=1e-5, rtol=1e-5)
    if ref_tri is None:
        assert tri is None
    else:
        np.testing.assert_allclose(tri, ref_tri, atol=1e-5, rtol=1e-5)


def test_softmax_aggregation_matches_the_authors_reduction():
    """The fork's softmax branch (MPNN: adjacency of ones) = dm-clrs's PGN with that reduction."""
    def fork_softmax(msgs, axis):  # what PGN's generic branch computes with an all-ones adjacency
        return jnp.sum(msgs * jax.nn.softmax(msgs, axis=axis), axis=axis)

    net = _dm_clrs(clrs().processors.MPNN, use_ln=True, use_triplets=True, nb_triplet_fts=8, gated=True,
                   reduction=fork_softmax)
    args = _inputs(3)
    params = jax.jit(net.init)(jax.random.PRNGKey(1), *args)
    ref_h, _ = jax.jit(net.apply)(params, None, *args)
    node, edge, graph, adj, hidden = args
    pp, ef = processor_params(params), EdgeFeatures.dense(edge)

    @jax.jit
    def ours(flag):
        static = [process(pp, node, ef, graph, adj, hidden, softmax=s)[0] for s in (True, False)]
        return static + [process(pp, node, ef, graph, adj, hidden, softmax=flag)[0]]

    h, h_max, h_traced = ours(jnp.asarray(True))
    np.testing.assert_allclose(h, ref_h, atol=1e-5, rtol=1e-5)
    assert not np.allclose(h, h_max)
    np.testing.assert_allclose(h_traced, h, atol=1e-6)  # a traced flag (vmapped variants) selects the same


def _msgs(seed=0):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    msgs = 3.0 * jax.random.normal(k1, (B, N, N, 4))
    adj = (jax.random.uniform(k2, (B, N, N)) < 0.6).astype(jnp.float32)
    return msgs, jnp.maximum(adj, jnp.eye(N)[None])


def test_aggregate_limits():
    msgs, adj = _msgs()
    mask = adj[..., None] > 0
    agg = jax.jit(aggregate, static_argnums=(2, 3))
    hard = agg(msgs, adj, False, 1.0)
    np.testing.assert_allclose(hard, jnp.max(jnp.where(mask, msgs, -jnp.inf), axis=1))
    # inverse temperature -> infinity: max; -> 0: the masked mean
    np.testing.assert_allclose(agg(msgs, adj, True, 1e4), hard, atol=1e-3)
    mean = jnp.sum(msgs * mask, axis=1) / jnp.sum(mask, axis=1)
    np.testing.assert_allclose(agg(msgs, adj, True, 1e-6), mean, atol=1e-4)
    # beta = 1 sits strictly between the mean and the max
    soft = agg(msgs, adj, True, 1.0)
    assert np.all(soft <= hard + 1e-6) and np.all(soft >= mean - 1e-6)


def test_softmax_weights_sum_to_one_and_ignore_masked_senders():
    msgs, adj = _msgs(1)
    ones = jnp.ones_like(msgs)
    # with all-one messages the output is the sum of the weights
    np.testing.assert_allclose(aggregate(ones, adj, True), 1.0, rtol=1e-6)
    # a huge message from a masked sender has no influence
    spiked = msgs.at[:, 0].set(jnp.where(adj[:, 0, :, None] > 0, msgs[:, 0], 1e5))
    np.testing.assert_allclose(aggregate(spiked, adj, True), aggregate(msgs, adj, True), rtol=1e-6)


def test_aggregate_is_permutation_invariant_over_senders_and_equivariant_over_receivers():
    msgs, adj = _msgs(2)
    perm = np.array([3, 0, 4, 1, 2])
    for soft in (False, True):
        base = aggregate(msgs, adj, soft)
        np.testing.assert_allclose(aggregate(msgs[:, perm], adj[:, perm], soft), base, rtol=1e-6)
        np.testing.assert_allclose(aggregate(msgs[:, :, perm], adj[:, :, perm], soft), base[:, perm], rtol=1e-6)


@pytest.mark.parametrize("soft,beta", [(False, 1.0), (True, 1.0), (True, 0.3)])
def test_aggregate_gradients_match_autodiff_of_the_plain_formula(soft, beta):
    """The hand-written VJPs of ``max_pool`` / ``softmax_pool`` equal autodiff of jnp.max / softmax-weighted sum,
    masked senders and tied maxima included, also under two vmaps (the trainer's seed x variant axes)."""
    msgs, adj = _msgs(3)
    msgs = msgs.at[:, 1].set(msgs[:, 2])  # ties between senders 1 and 2 (where unmasked)
    mask = adj[..., None] > 0

    def plain(m):
        if soft:
            w = jax.nn.softmax(jnp.where(mask, beta * m, -1e6), axis=1)
            return jnp.sum(m * w, axis=1)
        return jnp.max(jnp.where(mask, m, -1e6), axis=1)

    cot = jax.random.normal(jax.random.PRNGKey(9), plain(msgs).shape)
    ours = lambda m: aggregate(m, adj, soft, beta)  # noqa: E731
    np.testing.assert_allclose(ours(msgs), plain(msgs), rtol=1e-6, atol=1e-6)
    g_plain = jax.vjp(plain, msgs)[1](cot)[0]
    np.testing.assert_allclose(jax.vjp(ours, msgs)[1](cot)[0], g_plain, rtol=1e-5, atol=1e-6)
    stacked = jnp.stack([jnp.stack([msgs, msgs + 1.0])] * 2)  # (2, 2, B, N, N, H)
    g_vmapped = jax.vmap(jax.vmap(lambda m: jax.vjp(ours, m)[1](cot)[0]))(stacked)
    np.testing.assert_allclose(g_vmapped[1, 0], g_plain, rtol=1e-5, atol=1e-6)


def test_factored_edge_linear_gradients_match_a_dense_matmul():
    """``EdgeFeatures.linear`` on few raw channels (multiply-adds, dot-based VJP) = ``x @ w`` with autodiff."""
    k = jax.random.split(jax.random.PRNGKey(5), 4)
    raw, w_e = jax.random.normal(k[0], (B, N, N, 3)), jax.random.normal(k[1], (3, H))
    b_e, w = jax.random.normal(k[2], (H,)), jax.random.normal(k[3], (H, 7))

    def ours(raw, w_e, w):
        return jnp.sum(jnp.sin(EdgeFeatures(raw, w_e, b_e).linear(w)))

    def dense(raw, w_e, w):
        return jnp.sum(jnp.sin((raw @ w_e + b_e) @ w))

    np.testing.assert_allclose(ours(raw, w_e, w), dense(raw, w_e, w), rtol=1e-5)
    for g, r in zip(jax.grad(ours, argnums=(0, 1, 2))(raw, w_e, w), jax.grad(dense, argnums=(0, 1, 2))(raw, w_e, w)):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4)


def test_max_plus_values_and_gradients_match_jnp_max():
    k = jax.random.split(jax.random.PRNGKey(4), 3)
    a = jax.random.normal(k[0], (2, 4, 3))
    b, c = jax.random.normal(k[1], (2, 4, 4, 3)), jax.random.normal(k[2], (2, 4, 4, 3))
    a = a.at[0, 1].set(a[0, 2])  # ties, where jax splits the gradient evenly
    b = b.at[0, 1].set(b[0, 2])
    c = c.at[0, 1].set(c[0, 2])

    def ref(a, b, c):
        return jnp.max(a[:, :, None, None] + b[:, :, :, None] + c[:, :, None, :], axis=1)

    w = jax.random.normal(jax.random.PRNGKey(5), (2, 4, 4, 3))
    np.testing.assert_array_equal(jax.jit(max_plus)(a, b, c), jax.jit(ref)(a, b, c))
    g_ours = jax.jit(jax.grad(lambda *x: jnp.sum(w * max_plus(*x)), argnums=(0, 1, 2)))(a, b, c)
    g_ref = jax.jit(jax.grad(lambda *x: jnp.sum(w * ref(*x)), argnums=(0, 1, 2)))(a, b, c)
    for x, y in zip(g_ours, g_ref):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)


def test_factored_edge_linear_equals_dense():
    k = jax.random.split(jax.random.PRNGKey(6), 4)
    edge = EdgeFeatures(jax.random.normal(k[0], (2, 4, 4, 3)), jax.random.normal(k[1], (3, 8)),
                        jax.random.normal(k[2], (8,)))
    w = jax.random.normal(k[3], (8, 5))
    np.testing.assert_allclose(edge.linear(w, jnp.ones(5)), edge.materialise() @ w + 1.0, rtol=1e-5, atol=1e-5)
