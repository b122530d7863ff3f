"""The optional optax transforms against the same reference fixture (float64), under jit."""

import json
from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
enable_x64 = jax.enable_x64

from memory_adam.optax_cm import adam_cg, adam_cm  # noqa: E402

DATA = json.loads((Path(__file__).parent / "fixtures" / "official_adam_cm_trajectories.json").read_text())


def _transform(run):
    kw = dict(run["kwargs"])
    args = dict(learning_rate=kw["lr"], buffer_size=kw["topC"], decay=kw["decay"], amsgrad=kw.get("amsgrad", False),
                weight_decay=kw.get("weight_decay", 0.0), eps=kw.get("eps", 1e-8))
    if "betas" in kw:
        args.update(b1=kw["betas"][0], b2=kw["betas"][1])
    return (adam_cm if run["optimizer"] == "Adam_CM" else adam_cg)(**args)


@pytest.mark.parametrize("run", DATA["runs"], ids=[f"{r['optimizer']}-{r['kwargs']}" for r in DATA["runs"]])
def test_optax_matches_reference(run):
    with enable_x64():
        import jax.numpy as jnp

        tx = _transform(run)
        params = [jnp.asarray(x, dtype=jnp.float64) for x in DATA["init"]]
        state = tx.init(params)

        @jax.jit
        def step(params, state, grads):
            updates, state = tx.update(grads, state, params)
            return optax.apply_updates(params, updates), state

        for t, grads in enumerate(DATA["grads"]):
            params, state = step(params, state, [jnp.asarray(g, dtype=jnp.float64) for g in grads])
            for p, expected in zip(params, run["params_after_each_step"][t]):
                np.testing.assert_allclose(np.asarray(p), np.asarray(expected), rtol=0, atol=1e-10)
            keys = run["buffer_keys_after_each_step"][t]
            assert int(state.fill) == keys["fill"]
            np.testing.assert_allclose(np.asarray(state.priorities)[: keys["fill"]], keys["keys"], rtol=0, atol=1e-10)
        for i in range(2):
            np.testing.assert_allclose(np.asarray(state.buffer[i]), run["final_state"]["buffer"][i], atol=1e-10)


def test_optax_vmaps_over_runs():
    """Independent runs under vmap equal separate runs (each with its own priority)."""
    import jax.numpy as jnp

    tx = adam_cm(0.1)
    x0 = jnp.array([[1.0, -2.0], [0.5, 0.3], [-1.0, 4.0]])
    grad = jax.grad(lambda x: jnp.sum(jnp.sin(3 * x) + x ** 2))

    def trajectory(x):
        def body(carry, _):
            x, s = carry
            u, s = tx.update(grad(x), s)
            return (x + u, s), None

        (x, _), _ = jax.lax.scan(body, (x, tx.init(x)), None, length=30)
        return x

    batched = jax.jit(jax.vmap(trajectory))(x0)
    for r in range(3):
        np.testing.assert_allclose(batched[r], trajectory(x0[r]), rtol=1e-5, atol=1e-6)
