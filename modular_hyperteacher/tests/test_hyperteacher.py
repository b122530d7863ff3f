"""Hyperteacher task distribution: split sizes (hand-computed), held-out combinations, targets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from modular_hyperteacher.hyperteacher import HyperTeacher, HyperTeacherConfig, split_tasks
from modular_hyperteacher.supports import is_connected


@pytest.mark.parametrize("experts,support,n_id,n_ood", [
    (4, "random", 75, 25),  # (4 + 6)^2 = 100 tasks
    (8, "random", 972, 324),  # (8 + 28)^2 = 1296
    (8, "non_compositional", 1008, 288),  # 8 of the 36 layer codes use expert 7 -> 36 * 8 OOD
    (8, "connected", 576, 698),  # 24^2 ID; OOD = 1296 - |connected U disconnected| = 1296 - 598
    (8, "disconnected", 104, 698),  # 2 x (4^2 + 6^2)
])
def test_split_sizes(experts, support, n_id, n_ood):
    tasks_id, tasks_ood = split_tasks(HyperTeacherConfig(num_experts=experts, task_support=support))
    assert (len(tasks_id), len(tasks_ood)) == (n_id, n_ood)
    ids = {t.tobytes() for t in tasks_id}
    assert not any(t.tobytes() in ids for t in tasks_ood)


def test_codes_are_sparse_and_held_out_combinations_never_sampled_for_training():
    teacher = HyperTeacher(HyperTeacherConfig(num_experts=4))
    sample_codes = jax.jit(teacher.sample_codes, static_argnums=(1, 2))
    codes = np.asarray(sample_codes(jax.random.PRNGKey(0), 2000, "train"))
    assert set(np.unique(codes)) <= {0.0, 1.0}
    hot = codes.sum(-1)
    assert hot.min() >= 1 and hot.max() <= 2
    ood = {t.tobytes() for t in teacher.tasks_ood_np}
    assert not any(c.tobytes() in ood for c in codes)
    ood_codes = np.asarray(sample_codes(jax.random.PRNGKey(1), 500, "ood"))
    assert all(c.tobytes() in ood for c in ood_codes)
    k4 = np.asarray(sample_codes(jax.random.PRNGKey(2), 50, "ood_4"))
    np.testing.assert_array_equal(k4.sum(-1), 4)


def test_connected_support_is_connected_and_disconnected_is_not_by_construction():
    # modules of the teacher = (layer, expert) pairs; co-occurrence over all ID tasks
    for support, expect in (("connected", True), ("disconnected", False)):
        tasks_id, _ = split_tasks(HyperTeacherConfig(num_experts=8, task_support=support))
        per_layer = [tasks_id[:, layer] for layer in range(tasks_id.shape[1])]
        assert all(is_connected(codes) is expect for codes in per_layer)
        assert is_connected(tasks_id.reshape(len(tasks_id), -1)) is expect


def test_non_compositional_holds_out_the_last_expert_of_the_last_layer():
    tasks_id, tasks_ood = split_tasks(HyperTeacherConfig(num_experts=8, task_support="non_compositional"))
    assert np.all(tasks_id[:, -1, -1] == 0) and np.all(tasks_ood[:, -1, -1] == 1)


def test_soft_targets_and_standardized_logits():
    teacher = HyperTeacher(HyperTeacherConfig(num_experts=4))
    sample = jax.jit(teacher.sample, static_argnums=(1, 2, 3, 4))
    batch = sample(jax.random.PRNGKey(0), 16, 32, 32, "train")
    assert batch.x_support.shape == (16, 32, 16) and batch.y_query.shape == (16, 32, 8)
    np.testing.assert_allclose(np.asarray(batch.y_support.sum(-1)), 1.0, rtol=1e-5)
    code = batch.codes[0]
    ref = jax.jit(teacher.logits)(code, teacher.reference_inputs)
    std = (ref - ref.mean(0)) / ref.std(0)
    np.testing.assert_allclose(np.asarray(std.mean(0)), 0.0, atol=1e-4)
    np.testing.assert_allclose(np.asarray(std.std(0)), 1.0, atol=1e-4)
    # generated hidden weights are linear in the code
    c1, c2 = batch.codes[0], batch.codes[1]
    hidden = jax.jit(teacher.hidden_weights)
    np.testing.assert_allclose(np.asarray(hidden(c1 + c2)), np.asarray(hidden(c1) + hidden(c2)), atol=1e-4)
    # soft targets are confident (temperature 0.1): mean max-probability about 0.9
    big = sample(jax.random.PRNGKey(1), 64, 32, 32, "train")
    assert 0.8 < float(jnp.mean(jnp.max(big.y_support, -1))) < 0.95


@pytest.mark.parametrize("split", ["train", "ood", "ood_2", "ood_3", "ood_4"])
def test_cached_standardization_gives_the_same_tasks(split):
    """Per-code statistics looked up from the pools' cache = computed on the reference inputs per task."""
    cached = HyperTeacher(HyperTeacherConfig(num_experts=4, num_hot=3, frac_ood=0.5))
    fresh = HyperTeacher(HyperTeacherConfig(num_experts=4, num_hot=3, frac_ood=0.5, stats_cache_limit=0))
    assert cached.stats_id is not None and fresh.stats_id is None
    a, b = (t.sample(jax.random.PRNGKey(5), 16, 8, 8, split) for t in (cached, fresh))
    np.testing.assert_array_equal(np.asarray(a.codes), np.asarray(b.codes))
    for x, y in ((a.y_support, b.y_support), (a.y_query, b.y_query)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-4, atol=1e-5)
    mean, std = cached.code_stats(cached.tasks_id[3])
    np.testing.assert_allclose(np.asarray(cached.stats_id[0][3]), np.asarray(mean), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(cached.stats_id[1][3]), np.asarray(std), rtol=1e-4, atol=1e-5)


def test_bad_support_raises():
    with pytest.raises(ValueError, match="task_support"):
        split_tasks(HyperTeacherConfig(task_support="diagonal"))
    with pytest.raises(ValueError, match="num_hot = 2"):
        split_tasks(HyperTeacherConfig(num_experts=4, task_support="connected"))
