"""Our jit-able scorer equals dm-clrs's evaluator (``clrs._src.evaluation.evaluate``)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nar_latent import data, evaluation

# one algorithm per output type: node pointer, edge pointer, node mask_one, edge mask, node mask, categorical
ALGORITHMS = ["bellman_ford", "floyd_warshall", "minimum", "bridges", "articulation_points", "lcs_length"]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_score_equals_dm_clrs_evaluate_on_random_predictions(algorithm):
    fb = data.generate(algorithm, num_samples=8, length=7, seed=1)
    task = data.make_task(algorithm, fb)
    rng = np.random.default_rng(0)
    for trial in range(3):
        logits = {}
        for dp in fb.outputs:
            typ = task.spec[dp.name][2]
            shape = dp.data.shape + ((dp.data.shape[-1],) if typ == "pointer" else ())
            # trial 2: predictions equal to the truth for pointers (score 1)
            logits[dp.name] = rng.normal(size=shape).astype(np.float32)
            if trial == 2 and typ == "pointer":
                logits[dp.name] = 5.0 * np.asarray(jax.nn.one_hot(dp.data.astype(int), shape[-1]))
        ours = float(jax.jit(lambda o, l: evaluation.score(task, o, l))(fb.outputs, logits))
        ref = evaluation.reference_score(task, fb.outputs, logits)["score"]
        assert ours == pytest.approx(ref, abs=1e-6)
        if trial == 2 and all(task.spec[dp.name][2] == "pointer" for dp in fb.outputs):
            assert ours == 1.0


def test_masked_f1_edge_cases():
    truth = jnp.asarray([[1.0, 0.0, -1.0]])
    assert float(evaluation._masked_f1(jnp.asarray([[1.0, 0.0, 1.0]]), truth)) == 1.0  # masked entry ignored
    assert float(evaluation._masked_f1(jnp.asarray([[0.0, 1.0, 0.0]]), truth)) == 0.0
    assert float(evaluation._masked_f1(jnp.zeros((1, 3)), jnp.zeros((1, 3)))) == 1.0  # nothing to find
