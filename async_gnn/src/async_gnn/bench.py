"""Entry point: ``python -m async_gnn.bench``: cost of asynchronous execution as ratios to the synchronous one.

The issue names no performance target, so the baseline is the same computation run synchronously:

* learned layers (``engine.propagate``, jitted, CLRS BF test graphs n = 64): Level-2 and Level-3 schedules with K
  delivery batches vs the synchronous schedule, per layer (K batches cost about K masked reductions per step; Level
  3 also evaluates ψ once per partial argument);
* hand-built Bellman-Ford (numpy): event-driven asynchronous execution vs synchronous CLRS rounds (host Python, an
  exactness tool rather than a fast path).

Candidates run alternately in one process (``repro_shared.timing.compare``).
"""

from __future__ import annotations

import argparse
import sys

import jax
import jax.numpy as jnp
import numpy as np

from async_gnn import algorithms, data, engine
from async_gnn.layers import LAYER_NAMES
from async_gnn.model import Model, batch_arrays
from repro_shared import timing


def layer_candidates(layer_name: str, batch: data.GraphBatch, hidden: int, num_batches: int):
    model = Model.build(layer_name, hidden)
    params = model.init(jax.random.PRNGKey(0))
    arrays = batch_arrays(batch)
    h0, edge_term = model.encode(params, arrays)
    steps = int(batch.steps.max())
    ids = jnp.asarray(engine.random_batches(np.random.default_rng(0), batch.mask, steps, num_batches))
    prop = jax.jit(engine.propagate, static_argnums=(0, 6, 7, 9))
    layer, proc = model.layer, params["proc"]
    return {
        f"{layer_name} sync": lambda: prop(layer, proc, h0, edge_term, arrays["mask"], arrays["steps"], steps)
        .block_until_ready(),
        f"{layer_name} level2 K={num_batches}": lambda: prop(layer, proc, h0, edge_term, arrays["mask"],
                                                             arrays["steps"], steps, "level2", ids, num_batches)
        .block_until_ready(),
        f"{layer_name} level3 K={num_batches}": lambda: prop(layer, proc, h0, edge_term, arrays["mask"],
                                                             arrays["steps"], steps, "level3", ids, num_batches)
        .block_until_ready(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m async_gnn.bench", description=__doc__,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--layers", nargs="+", default=["mpnn", "maxmax"], choices=LAYER_NAMES)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--graphs", type=int, default=32, help="CLRS BF test graphs (n = 64) per call")
    parser.add_argument("--num-batches", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--algorithm-graphs", type=int, default=4)
    args = parser.parse_args(argv)

    batch = data.load("bellman_ford", "test").take(np.arange(min(args.graphs, 32)))
    print(f"async_gnn bench: {len(batch)} graphs n = {batch.num_nodes}, H = {args.hidden}, "
          f"devices {jax.devices()}")
    for name in args.layers:
        t = timing.compare(layer_candidates(name, batch, args.hidden, args.num_batches), warmup=2,
                           repeats=args.repeats)
        print()
        print(timing.format_ratios(t, baseline=f"{name} sync"))

    rng = np.random.default_rng(0)
    problems = [algorithms.bellman_ford_problem(batch.A[b], batch.source[b]) for b in range(args.algorithm_graphs)]
    t = timing.compare({
        "BF sync always (CLRS rounds)": lambda: [algorithms.run_sync(p, "always") for p in problems],
        "BF sync on_change": lambda: [algorithms.run_sync(p, "on_change") for p in problems],
        "BF async random": lambda: [algorithms.run_async(p, algorithms.ASYNC_SCHEDULES["random"], rng)
                                    for p in problems],
    }, warmup=1, repeats=max(args.repeats // 2, 3))
    print()
    print(timing.format_ratios(t, baseline="BF sync always (CLRS rounds)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
