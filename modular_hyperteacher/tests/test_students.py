"""Students: parameter counts against the reference's configs, shapes, the embedding normalization."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from modular_hyperteacher.students import count_params, make_student, normalize_embedding


@pytest.mark.parametrize("name,hidden,modules,n_meta,n_fast", [
    # reference configs/hyperteacher.py comments (M = 64) and the shipped E = 8 config (M = 32)
    ("hnet_linear", 128, 64, 1_262_336, 264),
    ("hnet_linear", 128, 32, 631_168, 136),
    ("hnet_deepmlp", 128, 64, 648_192, 256),
    ("anil", 512, None, 538_120, 4_104),
    ("learned_init", 384, None, 305_288, 305_288),
])
def test_parameter_counts_match_the_reference(name, hidden, modules, n_meta, n_fast):
    student = make_student(name, input_dim=16, output_dim=8, hidden_dim=hidden, num_hidden=3, num_modules=modules)
    shapes = jax.eval_shape(student.init, jax.random.PRNGKey(0))
    fast = jax.eval_shape(student.reset, shapes)
    assert count_params(shapes) == n_meta
    assert count_params(fast) == n_fast


@pytest.mark.parametrize("name", ["hnet_linear", "hnet_deepmlp", "anil", "learned_init"])
def test_forward_shapes(name):
    student = make_student(name, input_dim=16, output_dim=8, hidden_dim=16, num_hidden=3, num_modules=8)
    meta = jax.jit(student.init)(jax.random.PRNGKey(0))
    out = jax.jit(student.apply)(meta, student.reset(meta), jnp.ones((5, 16)))
    assert out.shape == (5, 8) and bool(jnp.all(jnp.isfinite(out)))


def test_embedding_normalization_golden_and_stop_gradient():
    np.testing.assert_allclose(np.asarray(normalize_embedding(jnp.asarray([[3.0, 4.0, 0.0, 0.0]]))),
                               [[1.2, 1.6, 0.0, 0.0]], rtol=1e-6)
    g = jax.grad(lambda e: normalize_embedding(e)[0, 0])(jnp.asarray([[3.0, 4.0, 0.0, 0.0]]))
    np.testing.assert_allclose(np.asarray(g), [[0.4, 0, 0, 0]], rtol=1e-6)  # scale sqrt(4) / 5 is a constant


def test_linear_hypernetwork_generates_every_layer_with_biases():
    student = make_student("hnet_linear", input_dim=16, output_dim=8, hidden_dim=32, num_hidden=3, num_modules=12)
    meta = jax.jit(student.init)(jax.random.PRNGKey(0))
    layers = jax.jit(student.generate)(meta, student.reset(meta))
    assert [w.shape for w, _ in layers] == [(16, 32), (32, 32), (32, 32), (32, 8)]
    assert [b.shape for _, b in layers] == [(32,), (32,), (32,), (8,)]
    # the two hidden layers share one bank (different embeddings)
    assert set(meta["banks"]) == {"input", "hidden", "output"} and meta["emb_init"]["hidden"].shape == (2, 12)


def test_unknown_student_raises():
    with pytest.raises(ValueError, match="student must be one of"):
        make_student("protonet", input_dim=16, output_dim=8, hidden_dim=16)


def test_linear_bank_kernel_blocks_equal_slicing_the_generated_chunk():
    """generate() multiplies the embedding by the kernel's weight and bias column blocks: the same layers as
    slicing the bank's output chunk (weights first, then biases), with 1 / sqrt(fan_in) folded in."""
    student = make_student("hnet_linear", input_dim=16, output_dim=8, hidden_dim=32, num_hidden=3, num_modules=12)
    meta = jax.jit(student.init)(jax.random.PRNGKey(0))
    fast = student.reset(meta)
    layers = jax.jit(student.generate)(meta, fast)
    expected = []
    for name, (fan_in, fan_out) in (("input", (16, 32)), ("hidden", (32, 32)), ("output", (32, 8))):
        chunks = student.banks[name].apply(meta["banks"][name], normalize_embedding(fast["emb"][name]))
        expected += [(c[: fan_in * fan_out].reshape(fan_in, fan_out) / np.sqrt(fan_in), c[fan_in * fan_out:])
                     for c in chunks]
    for (w, b), (we, be) in zip(layers, expected, strict=True):
        np.testing.assert_allclose(np.asarray(w), np.asarray(we), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(b), np.asarray(be), rtol=1e-5, atol=1e-6)
