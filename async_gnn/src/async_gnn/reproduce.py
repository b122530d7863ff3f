"""Entry point: ``python -m async_gnn.reproduce --scale quick|full|gpu``.

Runs E1 (exact invariance), E2 (learning, our hypotheses) and E3 (message counts), evaluates each
pre-registered claim (README) and writes ``results/<scale>/<experiment>.json`` + ``.md`` (+ PNG) via
``repro_shared.results``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
import time

from async_gnn.configs import CONFIGS
from async_gnn.experiments import EXPERIMENTS
from repro_shared import cli
from repro_shared.results import default_results_dir, print_record, print_verdict_summary, write_claims_summary


def main(args: argparse.Namespace) -> int:
    cfg = cli.apply_overrides(cli.config_for_scale(CONFIGS, args.scale), args.overrides)
    if args.seeds is not None:
        cfg = dataclasses.replace(cfg, seeds=tuple(args.seeds))
    cfg = cfg.validate()
    if args.device not in ("auto", "cpu", "gpu", "cuda"):
        raise cli.ConfigError("device", args.device, "auto, cpu, gpu (jax picks its default backend)")
    out = args.out or default_results_dir(__file__, args.scale)
    names = args.only or list(EXPERIMENTS)
    print(f"async_gnn ({args.scale} scale): experiments {', '.join(names)} -> {out}")
    t0 = time.perf_counter()
    records = []
    for name in names:
        module = importlib.import_module(f"async_gnn.experiments.{name}")
        rec = module.run(cfg, args.scale, out)
        rec.finish()
        rec.write(out)
        records.append(rec)
        print_record(rec)
    write_claims_summary(out, "async_gnn", EXPERIMENTS)
    print_verdict_summary(records, f"summary ({args.scale} scale, {time.perf_counter() - t0:.0f} s); records in {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    return cli.make_parser(
        "python -m async_gnn.reproduce",
        "Reproduce arXiv:2306.15632 (Asynchronous Algorithmic Alignment with Cocycles): E1 exact invariance "
        "(law checkers, schedule gaps, hand-built Bellman-Ford/BFS vs CLRS), E2 learning on CLRS Bellman-Ford and "
        "BFS under asynchronous test-time schedules, E3 message counts of emit-on-change execution.",
        experiments=EXPERIMENTS,
    )


if __name__ == "__main__":
    sys.exit(cli.run_main(main, build_parser()))
