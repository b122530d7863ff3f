"""A tiny end-to-end training run: learning happens, vmapped models equal single ones, evaluation modes."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from nar_latent import data, evaluation, model, train

VARIANTS = ["baseline", "softmax"]
CONFIG = train.TrainConfig(algorithm="bellman_ford", sizes=(5,), batch_size=8, hidden=16, steps=60, eval_every=20,
                           max_rounds_per_call=20)


@functools.cache
def _val():
    return data.generate("bellman_ford", num_samples=32, length=5, seed=11)


@functools.cache
def _trained():
    trainer = train.Trainer(CONFIG, seeds=[0], variants=VARIANTS, val_feedback=_val())
    initial = trainer.validate()
    return trainer, initial, trainer.run()


@pytest.mark.smoke
def test_tiny_training_run_learns_bellman_ford():
    _, initial, result = _trained()
    assert result.updates == 41  # steps - eval_every + 1: the fork never tests later updates
    chance = 1.0 / 5
    best = result.best_val[0, :, 0]  # max evaluation
    assert np.all(best > chance + 0.15), best
    assert np.all(best >= initial[0, :, 0] + 0.1), (initial, best)
    first, last = result.loss_history[0][1], result.loss_history[-1][1]
    assert np.all(last < 0.8 * first), (first, last)


def test_vmapped_update_equals_single_model_updates():
    trainer = train.Trainer(CONFIG, seeds=[0], variants=VARIANTS, val_feedback=_val())
    params0 = jax.tree_util.tree_map(lambda x: x[0, 0], trainer.params)
    batch = trainer._round_batches(1, first=True)[0]
    update = jax.jit(train.make_update(trainer.task, CONFIG.model, trainer.optimizer))
    one_batch = jax.tree_util.tree_map(lambda x: x[0, 0], batch)
    trainer._train(1, 1, first=True)  # the same first batch, all models vmapped
    for v, name in enumerate(VARIANTS):
        decay, softmax = train.VARIANTS[name][1], train.VARIANTS[name][0]
        p, state, _ = update(params0, optax.adam(CONFIG.learning_rate).init(params0), one_batch,
                             jnp.float32(decay), jnp.asarray(softmax))
        # After one step Adam's first moment is 0.1 x the gradient: compare it against the gradient's scale.
        mu, mu_v = jax.tree_util.tree_leaves(state[0].mu), jax.tree_util.tree_leaves(trainer.opt_state[0].mu)
        scale = max(float(jnp.max(jnp.abs(m))) for m in mu)
        for a, b in zip(mu, mu_v):
            np.testing.assert_allclose(a, b[0, v], rtol=1e-3, atol=1e-4 * scale)
        # The parameter step is lr * g / (|g| + eps): float noise in a gradient of size ~eps moves a weight by up
        # to lr (seen: 1e-4), so parameters are checked to a quarter of lr, far below the +-lr steps by which a
        # wrong variant or batch would differ.
        for a, b in zip(jax.tree_util.tree_leaves(p), jax.tree_util.tree_leaves(trainer.params)):
            np.testing.assert_allclose(a, b[0, v], atol=0.25 * CONFIG.learning_rate)


def test_validation_modes_and_dm_clrs_test_scores():
    trainer, _, result = _trained()
    val = trainer.validate(result.best_params["max"])
    # the 'max' mode evaluates the softmax-trained model with max aggregation (the authors' protocol)
    soft = jax.tree_util.tree_map(lambda x: x[0, 1], result.best_params["max"])
    preds = jax.jit(lambda p, f: model.forward(p, trainer.task, f, config=CONFIG.model,
                                               variant=model.Variant(1.0, False)))(soft, _val().features)
    assert float(evaluation.score(trainer.task, _val().outputs, preds.outputs)) == pytest.approx(val[0, 1, 0], abs=1e-6)
    np.testing.assert_allclose(val[0, 0, 0], val[0, 0, 1])  # a max-trained model: both modes agree
    test = data.generate("bellman_ford", num_samples=6, length=6, seed=12)
    scores = train.test_scores(result, CONFIG, VARIANTS, test)
    assert set(scores) == set(train.EVAL_MODES) and scores["max"].shape == (1, 2)
    assert np.all((scores["max"] >= 0) & (scores["max"] <= 1))
    # batching the test split (with a padded last batch) does not change the predictions
    params_v = jax.tree_util.tree_map(lambda x: x[0], result.best_params["max"])
    variants = train.variant_arrays(VARIANTS)
    whole = train.predict_outputs(trainer.task, CONFIG.model, params_v, test, variants, [False, False], batch_size=6)
    parts = train.predict_outputs(trainer.task, CONFIG.model, params_v, test, variants, [False, False], batch_size=4)
    np.testing.assert_allclose(whole[1]["pi"], parts[1]["pi"], rtol=1e-5, atol=1e-5)


def test_config_errors_name_the_field():
    from repro_shared.cli import ConfigError

    with pytest.raises(ConfigError, match="eval_every"):
        train.TrainConfig(sizes=(4, 7), eval_every=5, steps=10).validate()
    with pytest.raises(ConfigError, match="steps"):
        train.TrainConfig(sizes=(4,), eval_every=10, steps=15).validate()
    with pytest.raises(ConfigError, match="remat"):
        train.TrainConfig(sizes=(4,), eval_every=10, steps=10, remat="yes").validate()
    with pytest.raises(ConfigError, match="variants"):
        train.variant_arrays(["baseline", "bogus"])


def test_remat_auto_picks_edge_pointer_algorithms():
    tasks = {alg: data.make_task(alg, data.generate(alg, num_samples=1, length=4, seed=0))
             for alg in ("bellman_ford", "floyd_warshall")}
    assert not train.uses_remat("auto", tasks["bellman_ford"])
    assert train.uses_remat("auto", tasks["floyd_warshall"])
    assert train.uses_remat("true", tasks["bellman_ford"]) and not train.uses_remat("false", tasks["floyd_warshall"])
