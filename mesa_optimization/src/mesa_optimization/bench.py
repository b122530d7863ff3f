"""Entry point: ``python -m mesa_optimization.bench``: training-step time of the mesa-layer as ratios.

Compares, in one process and alternating between candidates (``repro_shared.timing.compare``), one jitted AdamW
training step of a 1-layer model on constructed tokens (width 40, 4 heads, key size 20, the paper's Mesa-1 size)
whose attention layer is

* linear self-attention (the baseline),
* the mesa-layer, recurrent Sherman-Morrison scan with the custom backward (the default in our models),
* the mesa-layer, parallel cumulative-Gram Cholesky solve (autodiff backward),

at T=50 (the paper's sequence length) and T=512. Target from the issue: mesa step within 3x the linear step at T=50.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import optax

from mesa_optimization import data as data_lib
from mesa_optimization.models import SequenceModel
from mesa_optimization.training import TrainConfig, make_optimizer, mse_loss
from repro_shared import timing
from repro_shared.cli import ConfigError
from repro_shared.results import framework_versions, machine_info, write_json_atomic

CANDIDATES = {"linear": ("linear", "parallel"), "mesa_recurrent": ("mesa", "recurrent"),
              "mesa_parallel": ("mesa", "parallel")}


def make_step(kind: str, method: str, batch: int, T: int, layers: int = 1):
    """A jitted train step (params, opt_state, x, y) -> (params, opt_state, loss) and its initial arguments."""
    model = SequenceModel(layers=(kind,) * layers, out_dim=10, width=40, num_heads=4, key_size=20,
                          mesa_method=method)
    x, y = data_lib.inputs_targets(data_lib.sample_batch(jax.random.PRNGKey(0), batch, T))
    params = model.init(jax.random.PRNGKey(1), x)["params"]
    opt = make_optimizer(TrainConfig(steps=1000))
    opt_state = opt.init(params)

    @jax.jit
    def step(p, s, x, y):
        loss, g = jax.value_and_grad(lambda p_: mse_loss(model.apply({"params": p_}, x), y))(p)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s, loss

    state = {"p": params, "s": opt_state}

    def run():
        state["p"], state["s"], loss = step(state["p"], state["s"], x, y)
        jax.block_until_ready(loss)

    return run


def bench(lengths: tuple[int, ...], batches: tuple[int, ...], repeats: int, warmup: int, layers: int) -> dict:
    out = {}
    for T, batch in zip(lengths, batches):
        fns = {name: make_step(kind, method, batch, T, layers) for name, (kind, method) in CANDIDATES.items()}
        timings = timing.compare(fns, warmup=warmup, repeats=repeats)
        print(f"\nT={T}, batch={batch}, {layers} layer(s): train-step time, ratio to linear attention")
        print(timing.format_ratios(timings, "linear"))
        out[f"T{T}"] = {
            "batch": batch,
            "median_ms": {k: t.median_s * 1e3 for k, t in timings.items()},
            "ratio_mesa_recurrent_over_linear": timing.ratio(timings, "mesa_recurrent", "linear"),
            "ratio_mesa_parallel_over_linear": timing.ratio(timings, "mesa_parallel", "linear"),
            "ratio_parallel_over_recurrent": timing.ratio(timings, "mesa_parallel", "mesa_recurrent"),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mesa_optimization.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", default="50,512", help="sequence lengths T, comma-separated")
    parser.add_argument("--batches", default="256,32", help="batch size per length, comma-separated")
    parser.add_argument("--layers", type=int, default=1, help="attention layers per model")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    try:
        lengths = tuple(int(t) for t in args.lengths.split(","))
        batches = tuple(int(b) for b in args.batches.split(","))
    except ValueError:
        raise ConfigError("lengths/batches", f"{args.lengths} / {args.batches}", "comma-separated ints") from None
    if len(lengths) != len(batches) or min(lengths + batches) < 1:
        raise ConfigError("batches", args.batches, f"{len(lengths)} positive ints, one per length")
    results = bench(lengths, batches, args.repeats, args.warmup, args.layers)
    t50 = results.get("T50")
    if t50:
        r = t50["ratio_mesa_recurrent_over_linear"]
        print(f"\ntarget (issue): mesa step within 3x linear attention at T=50: {r:.2f}x "
              f"({'met' if r <= 3 else 'not met'})")
    if args.out:
        write_json_atomic(args.out, {"bench": results, "machine": machine_info(), "versions": framework_versions(),
                                     "devices": [str(d) for d in jax.devices()], "command": " ".join(sys.argv)})
        print("wrote", args.out)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
