"""Entry point: ``python -m lru_universality.reproduce --scale quick|full|gpu [--only ...] [--set field=value]``.

Runs experiments 1-5 of the issue at the chosen scale, evaluates each pre-registered claim (README, "Claims") and
writes ``results/<scale>/<experiment>.json`` + ``.md`` + plots via ``repro_shared.results``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys

from lru_universality.configs import CONFIGS
from lru_universality.experiments.common import Context
from repro_shared import cli
from repro_shared.results import default_results_dir

EXPERIMENTS: tuple[str, ...] = ("conditioning", "reconstruction", "compression", "universality", "lru_tasks")


def main(args: argparse.Namespace) -> int:
    cfg = cli.apply_overrides(cli.config_for_scale(CONFIGS, args.scale), args.overrides)
    if args.seeds is not None:
        cfg = dataclasses.replace(cfg, seeds=tuple(args.seeds))
    cfg = cfg.validate()
    if args.device not in ("auto", "cpu"):
        import jax

        if not any(d.platform == "gpu" for d in jax.devices()):
            raise cli.ConfigError("device", args.device, "auto or cpu (no GPU visible to jax)")
    out_dir = args.out or default_results_dir(__file__, args.scale)
    ctx = Context(cfg=cfg, scale=args.scale, seeds=tuple(cfg.seeds), out_dir=out_dir)
    failed = 0
    for name in args.only or EXPERIMENTS:
        module = importlib.import_module(f"lru_universality.experiments.{name}")
        print(f"== experiment {EXPERIMENTS.index(name) + 1}: {name} ({args.scale})", flush=True)
        record = module.run(ctx)
        path = record.write(out_dir)
        for c in record.claims:
            print(f"  [{c.verdict}] {c.id}: {c.statement}")
            if not c.passed:
                failed += 1
        print(f"  wrote {path} ({record.wall_time_s:.0f} s)", flush=True)
    print(f"done: {failed} claim(s) not reproduced or inconclusive" if failed else "done: every claim reproduced")
    return 0


def build_parser() -> argparse.ArgumentParser:
    return cli.make_parser(
        "python -m lru_universality.reproduce",
        "Reproduce arXiv:2307.11888 (On the Universality of Linear Recurrences Followed by Nonlinear Projections) "
        "and the LRU (arXiv:2303.06349) at a given scale; prints REPRODUCED / NOT REPRODUCED / INCONCLUSIVE per claim.",
        experiments=EXPERIMENTS,
    )


if __name__ == "__main__":
    sys.exit(cli.run_main(main, build_parser()))
