"""Layers and models: causality for every kind, shared parameter layout, mesa implementations agree in a model."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesa_optimization import models, zoo

LAYER_KINDS, CausalAttention, SequenceModel = models.LAYER_KINDS, models.CausalAttention, models.SequenceModel
apply_with_intermediates = models.apply_with_intermediates


@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_layer_is_causal(kind):
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 12, 8))
    layer = CausalAttention(kind, num_heads=2, key_size=4, out_dim=8, init_std=0.3)
    params = layer.init(jax.random.PRNGKey(1), x)
    t = 6
    out = layer.apply(params, x)
    out2 = layer.apply(params, x.at[:, t + 1:].add(5.0))
    np.testing.assert_allclose(out2[:, : t + 1], out[:, : t + 1], atol=1e-5)
    assert float(jnp.abs(out2[:, t + 1:] - out[:, t + 1:]).max()) > 1e-3


def test_kinds_share_parameter_layout_and_mesa_adds_lambda():
    x = jnp.ones((1, 5, 8))
    shapes = {}
    for kind in LAYER_KINDS:
        p = CausalAttention(kind, num_heads=2, key_size=4, out_dim=8).init(jax.random.PRNGKey(0), x)["params"]
        shapes[kind] = jax.tree_util.tree_map(jnp.shape, p)
    assert shapes["linear"] == shapes["softmax"]
    assert shapes["mesa"].pop("lam_raw") == (2,)
    assert shapes["mesa"] == shapes["linear"]


def test_mesa_layer_lambda_initialised_to_one_and_methods_agree():
    x = jax.random.normal(jax.random.PRNGKey(2), (2, 20, 40))
    rec = zoo.mesa_constructed(1, mesa_method="recurrent")
    par = zoo.mesa_constructed(1, mesa_method="parallel")
    s = jax.random.normal(jax.random.PRNGKey(3), (2, 20, 10))
    params = rec.init(jax.random.PRNGKey(4), s)["params"]
    np.testing.assert_allclose(jax.nn.softplus(params["attn_0"]["lam_raw"]), 1.0, rtol=1e-5)
    np.testing.assert_allclose(rec.apply({"params": params}, s), par.apply({"params": params}, s), atol=1e-5)
    del x


def test_models_are_causal_and_expose_intermediates():
    s = jax.random.normal(jax.random.PRNGKey(5), (2, 16, 10))
    for model in (zoo.linsa(2), zoo.transformer(("softmax", "mesa"))):
        params = model.init(jax.random.PRNGKey(6), s)["params"]
        out, inter = apply_with_intermediates(model, params, s)
        assert out.shape == (2, 16, 10)
        assert len(inter["residual"]) == 2 and inter["residual"][0].shape == (2, 16, 40)
        out2 = model.apply({"params": params}, s.at[:, 9:].add(3.0))
        np.testing.assert_allclose(out2[:, :9], out[:, :9], atol=1e-5)
    assert inter["attention"]["attn_0"].shape == (2, 4, 16, 16)
    np.testing.assert_allclose(inter["attention"]["attn_0"].sum(-1), 1.0, atol=1e-5)


def test_char_lm_and_config_errors():
    lm = zoo.char_lm("mesa", vocab_size=30, context=16, width=16, heads=2, key_size=8)
    ids = jnp.zeros((2, 16), jnp.int32)
    logits = lm.apply(lm.init(jax.random.PRNGKey(0), ids), ids)
    assert logits.shape == (2, 16, 30)
    with pytest.raises(ValueError, match="kind"):
        zoo.char_lm("rnn", vocab_size=3, context=4)
    with pytest.raises(ValueError, match="width"):
        SequenceModel(layers=("linear",), out_dim=10, width=32).init(jax.random.PRNGKey(0), jnp.ones((1, 4, 10)))
