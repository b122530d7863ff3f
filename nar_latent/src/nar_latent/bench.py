"""Entry point: ``python -m nar_latent.bench``: training throughput against dm-clrs's reference loop.

Both loops train Triplet-GMPNN on the same on-the-fly CLRS batches (the fork's samplers, cycling
over the training sizes, the batch drawn inside the timed loop), in one process, alternating:

* ``dm-clrs``: ``BaselineModel.feedback`` once per step, one model (the authors' ``run.py`` loop);
* ``ours x1``: our scanned, fixed-shape training chunk for one model;
* ``ours x4``: the four paper variants vmapped in one program (one seed's shared batches).

Reported: seconds per model-update (median over repeats, wall and CPU) and the speed-up ratio
over dm-clrs, the one-off start-up (compilation) times, and how many programs each loop
recompiled while timed (dm-clrs recompiles whenever its sampler meets a longer trajectory; the
median over repeats keeps one such outlier out). A model-update is one Adam step of one model.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import jax

from repro_shared.cli import ConfigError
from repro_shared.results import RunRecord


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m nar_latent.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algorithm", default="bellman_ford")
    p.add_argument("--hidden", type=int, default=64, help="hidden size (full scale: 64; the paper: 128)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--sizes", default="4,7,11,13,16", help="training graph sizes, cycled")
    p.add_argument("--rounds", type=int, default=3, help="rounds over the sizes per timed repeat")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", type=Path, default=None, help="write bench.json / bench.md here")
    return p


def _reference_loop(algorithm: str, sizes: tuple[int, ...], batch: int, hidden: int):
    from nar_latent import data, reference

    stream = data.TrainStream(algorithm, sizes, batch, seed=0)
    example = stream.next(sizes[0])
    task = data.make_task(algorithm, example)
    bl = reference.baseline_model(task.spec, example, hidden)
    bl.init(example.features, 1)
    key = jax.random.PRNGKey(0)

    def rounds(k: int) -> int:
        loss = None
        for _ in range(k):
            for n in stream.sizes:
                loss = bl.feedback(key, stream.next(n))
        jax.block_until_ready(loss)
        return k * len(stream.sizes)

    rounds.compiled = lambda: bl.jitted_feedback._cache_size()  # noqa: SLF001 - programs compiled so far
    return rounds


def _our_loop(algorithm: str, sizes: tuple[int, ...], batch: int, hidden: int, variants: list[str]):
    from nar_latent import train

    cfg = train.TrainConfig(algorithm=algorithm, sizes=sizes, batch_size=batch, hidden=hidden,
                            steps=len(sizes), eval_every=len(sizes))
    trainer = train.Trainer(cfg, seeds=[0], variants=variants)

    def rounds(k: int) -> int:
        jax.block_until_ready(trainer._train(k, k * len(trainer.sizes)))  # noqa: SLF001
        return k * len(trainer.sizes) * len(variants)

    rounds.compiled = lambda: trainer._chunk._cache_size()  # noqa: SLF001
    return rounds


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    except ValueError:
        raise ConfigError("sizes", args.sizes, "comma-separated ints such as 4,7,11,13,16") from None
    from nar_latent.train import VARIANTS

    record = RunRecord(paper="Latent Space Representations of Neural Algorithmic Reasoners", experiment="bench",
                       scale="bench", config={**vars(args), "out": str(args.out), "sizes": list(sizes)}, seeds=[0])
    loops, startup, compiled_at_start = {}, {}, {}
    for name, make in (("dm-clrs", lambda: _reference_loop(args.algorithm, sizes, args.batch_size, args.hidden)),
                       ("ours x1", lambda: _our_loop(args.algorithm, sizes, args.batch_size, args.hidden,
                                                     ["baseline"])),
                       ("ours x4", lambda: _our_loop(args.algorithm, sizes, args.batch_size, args.hidden,
                                                     list(VARIANTS)))):
        t0 = time.perf_counter()
        loop = make()
        loop(args.rounds)  # compiles every shape
        startup[name] = time.perf_counter() - t0
        loops[name] = loop
        compiled_at_start[name] = loop.compiled()
        print(f"{name}: set-up + first {args.rounds} round(s) (compilation) {startup[name]:.1f} s", flush=True)
    per_update: dict[str, list[float]] = {k: [] for k in loops}
    cpu_per_update: dict[str, list[float]] = {k: [] for k in loops}
    for _ in range(args.repeats):
        for name, loop in loops.items():
            t0, c0 = time.perf_counter(), time.process_time()
            updates = loop(args.rounds)
            per_update[name].append((time.perf_counter() - t0) / updates)
            cpu_per_update[name].append((time.process_time() - c0) / updates)
    recompiles = {k: loops[k].compiled() - compiled_at_start[k] for k in loops}
    med = {k: statistics.median(v) for k, v in per_update.items()}
    cpu = {k: statistics.median(v) for k, v in cpu_per_update.items()}
    print(f"\n{'loop':<10} {'s / model-update':>17} {'speed-up':>9} {'CPU s / update':>15} {'CPU speed-up':>13}")
    for k in loops:
        print(f"{k:<10} {med[k]:>17.4f} {med['dm-clrs'] / med[k]:>9.2f} {cpu[k]:>15.4f} "
              f"{cpu['dm-clrs'] / cpu[k]:>13.2f}   ({recompiles[k]} recompilation(s) while timed)")
    if args.out:
        record.metrics = {"seconds_per_model_update": per_update, "median": med, "startup_seconds": startup,
                          "speedup_vs_dm_clrs": {k: med["dm-clrs"] / med[k] for k in loops},
                          "cpu_seconds_per_model_update": cpu_per_update,
                          "cpu_speedup_vs_dm_clrs": {k: cpu["dm-clrs"] / cpu[k] for k in loops},
                          "recompilations_while_timed": recompiles}
        record.add_table("Training throughput (same on-the-fly batches, one process, alternating)",
                         ["loop", "s / model-update (median)", "speed-up vs dm-clrs", "CPU speed-up",
                          "start-up s (compile)"],
                         [[k, f"{med[k]:.4f}", f"{med['dm-clrs'] / med[k]:.2f}", f"{cpu['dm-clrs'] / cpu[k]:.2f}",
                           f"{startup[k]:.0f}"] for k in loops])
        record.write(args.out)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


