"""Entry point: ``python -m modular_hyperteacher.reproduce --scale quick|full|gpu [--only ...]``.

Runs the paper's experiments at the chosen scale, evaluates each pre-registered claim and writes
``results/<scale>/<experiment>.json`` (+ Markdown and plots) via ``repro_shared.results``. Experiments share
one process so that later ones reuse earlier runs (identification reuses the theory and hyperteacher runs).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

from repro_shared import cli
from repro_shared.results import default_results_dir

EXPERIMENTS: tuple[str, ...] = ("theory_supports", "hyperteacher_compositional", "task_support", "identification",
                                "grid_worlds", "grid_goals")


def _configure_device(device: str) -> None:
    if device == "cpu":
        os.environ["JAX_PLATFORMS"] = "cpu"
    elif device in ("gpu", "cuda") or device.startswith("cuda:"):
        os.environ["JAX_PLATFORMS"] = "cuda"
        if ":" in device:
            os.environ["CUDA_VISIBLE_DEVICES"] = device.split(":", 1)[1]


def main(args: argparse.Namespace) -> int:
    _configure_device(args.device)
    import importlib

    from modular_hyperteacher.configs import CONFIGS

    cfg = cli.apply_overrides(cli.config_for_scale(CONFIGS, args.scale), args.overrides)
    if args.seeds is not None:
        cfg = dataclasses.replace(cfg, seeds=tuple(args.seeds))
    cfg = cfg.validate()
    out_dir = args.out or default_results_dir(__file__, args.scale)
    cache: dict = {}
    verdicts = []
    for name in args.only or EXPERIMENTS:
        module = importlib.import_module(f"modular_hyperteacher.experiments.{name}")
        t0 = time.perf_counter()
        print(f"== {name} ({args.scale})", flush=True)
        record = module.run(cfg, args.scale, out_dir, cache)
        path = record.write(out_dir)
        print(f"   wrote {path} ({time.perf_counter() - t0:.0f} s)")
        for c in record.claims:
            print(f"   {c.id:<28} {c.verdict}  ({c.criterion})")
            verdicts.append(c.verdict.value)
    print("verdicts:", {v: verdicts.count(v) for v in sorted(set(verdicts))})
    return 0


def build_parser() -> argparse.ArgumentParser:
    return cli.make_parser(
        "python -m modular_hyperteacher.reproduce",
        "Reproduce arXiv:2312.15001 (Discovering modular solutions that generalize compositionally).",
        experiments=EXPERIMENTS,
    )


if __name__ == "__main__":
    sys.exit(cli.run_main(main, build_parser()))
