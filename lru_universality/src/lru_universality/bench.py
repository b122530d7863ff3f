"""Entry point: ``python -m lru_universality.bench``: the scan implementations and a deep-LRU training step on CPU,
as time ratios (``repro_shared.timing.compare``: alternating repeats in one process).

Rows: the recurrence x_t = lam x_{t-1} + bu_t (forward, and forward + gradient) by ``lax.associative_scan``,
``lax.scan`` (the baseline: ratio 1) and a Python loop, at T in {1k, 16k}; then one jitted AdamW training step of
a 2-layer deep LRU with each scan. Results go to ``results/bench/bench.json`` (and are printed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lru_universality.layers import RecurrenceConfig
from lru_universality.models import DeepRecurrentModel
from lru_universality.scan import linear_recurrence_associative, linear_recurrence_loop, linear_recurrence_sequential
from lru_universality.train import OptimConfig, make_optimizer
from repro_shared.results import default_results_dir, machine_info, write_json_atomic
from repro_shared.timing import compare, format_ratios


def scan_fns(T: int, N: int, batch: int, with_loop: bool) -> dict:
    rng = np.random.default_rng(0)
    lam = jnp.asarray(np.sqrt(rng.uniform(0.81, 0.998, N)) * np.exp(1j * rng.uniform(0, 2 * np.pi, N)),
                      jnp.complex64)
    bu = jnp.asarray(rng.standard_normal((T, batch, N)) + 1j * rng.standard_normal((T, batch, N)), jnp.complex64)

    def loss(impl):
        return lambda lam, bu: jnp.sum(jnp.abs(impl(lam, bu)) ** 2)

    fns = {}
    for name, impl in (("lax.scan", linear_recurrence_sequential), ("associative_scan", linear_recurrence_associative)):
        fwd = jax.jit(impl)
        grad = jax.jit(jax.grad(loss(impl), argnums=(0, 1), holomorphic=False))
        fns[f"{name} fwd"] = lambda fwd=fwd: fwd(lam, bu).block_until_ready()
        fns[f"{name} fwd+grad"] = lambda grad=grad: jax.block_until_ready(grad(lam, bu))
    if with_loop:
        fns["python loop fwd"] = lambda: linear_recurrence_loop(lam, bu).block_until_ready()
    return fns


def train_step_fns(T: int, batch: int, d_model: int, d_state: int) -> dict:
    x = jnp.asarray(np.random.default_rng(1).standard_normal((batch, T, 8)), jnp.float32)
    y = jnp.zeros((batch,), jnp.int32)
    fns = {}
    for method in ("sequential", "associative"):
        model = DeepRecurrentModel(d_model, 10, RecurrenceConfig("lru", d_state, scan_method=method), n_layers=2)
        params = model.init(jax.random.PRNGKey(0), x)["params"]
        tx = make_optimizer(OptimConfig(), 1000)
        opt_state = tx.init(params)

        @jax.jit
        def step(params, opt_state, model=model, tx=tx):
            def loss(p):
                return optax.softmax_cross_entropy_with_integer_labels(model.apply({"params": p}, x), y).mean()

            g = jax.grad(loss)(params)
            updates, opt_state = tx.update(g, opt_state, params)
            return optax.apply_updates(params, updates), opt_state

        label = "lax.scan" if method == "sequential" else "associative_scan"
        fns[f"train step ({label})"] = lambda step=step, p=params, o=opt_state: jax.block_until_ready(step(p, o))
    return fns


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lru_universality.bench", description=__doc__,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--lengths", type=int, nargs="+", default=[1000, 16000], help="sequence lengths T")
    parser.add_argument("--state", type=int, default=128, help="complex state size N of the scan rows")
    parser.add_argument("--batch", type=int, default=4, help="sequences per scan call / training batch")
    parser.add_argument("--d-model", type=int, default=64, help="deep LRU width H")
    parser.add_argument("--repeats", type=int, default=10, help="timed repeats per candidate (medians reported)")
    parser.add_argument("--loop-max-t", type=int, default=16000, help="skip the Python loop above this T")
    parser.add_argument("--out", type=Path, default=None, help="folder for bench.json (default results/bench)")
    args = parser.parse_args(argv)
    if min(args.lengths) < 1 or args.repeats < 1:
        print("error: invalid value for 'lengths'/'repeats': need positive integers", file=sys.stderr)
        return 2
    report: dict = {"machine": machine_info(), "jax": jax.__version__, "devices": [str(d) for d in jax.devices()],
                    "args": vars(args) | {"out": str(args.out)}, "rows": []}
    for T in args.lengths:
        for title, fns, repeats in (
            (f"scan T={T} N={args.state} batch={args.batch}",
             scan_fns(T, args.state, args.batch, T <= args.loop_max_t), args.repeats),
            (f"deep LRU train step T={T} batch={args.batch} H={args.d_model} N={args.state // 2}",
             train_step_fns(T, args.batch, args.d_model, args.state // 2), max(3, args.repeats // 2)),
        ):
            loop = {k: fns.pop(k) for k in list(fns) if k.startswith("python loop")}
            timings = compare(fns, warmup=2, repeats=repeats)
            if loop:  # the loop is orders of magnitude slower: fewer repeats, timed on its own
                timings |= compare(loop, warmup=1, repeats=max(2, repeats // 5))
            base = "lax.scan fwd" if "lax.scan fwd" in timings else next(iter(timings))
            print(f"\n== {title} (ratio = median time / median time of '{base}')")
            print(format_ratios(timings, base))
            for name, t in timings.items():
                report["rows"].append({"section": title, "T": T, "name": name, "median_ms": 1e3 * t.median_s,
                                       "min_ms": 1e3 * t.min_s, "ratio_to_baseline": t.median_s /
                                       timings[base].median_s, "baseline": base})
    out = args.out or default_results_dir(__file__, "bench")
    path = write_json_atomic(Path(out) / "bench.json", report)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
