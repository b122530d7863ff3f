"""Entry point: ``python -m memory_adam.reproduce --scale quick|full|gpu``.

Runs the experiments E1-E6 at the chosen scale, evaluates each pre-registered claim (README) and writes
``results/<scale>/<experiment>.json`` + ``.md`` (+ PNG) via ``repro_shared.results``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
import time

import torch

from memory_adam.configs import CONFIGS
from memory_adam.experiments import EXPERIMENTS
from repro_shared import cli
from repro_shared.results import default_results_dir, print_record, print_verdict_summary, write_claims_summary


def main(args: argparse.Namespace) -> int:
    cfg = cli.apply_overrides(cli.config_for_scale(CONFIGS, args.scale), args.overrides)
    if args.seeds is not None:
        cfg = dataclasses.replace(cfg, seeds=tuple(args.seeds))
    cfg = dataclasses.replace(cfg, device=cli.resolve_device(args.device, torch.cuda.is_available())).validate()
    torch.set_num_threads(cfg.threads)
    out = args.out or default_results_dir(__file__, args.scale)
    names = args.only or list(EXPERIMENTS)
    print(f"memory_adam ({args.scale} scale): experiments {', '.join(names)} -> {out}")
    t0 = time.perf_counter()
    records = []
    for name in names:
        module = importlib.import_module(f"memory_adam.experiments.{name}")
        rec = module.run(cfg, args.scale, out)
        rec.finish()
        rec.write(out)
        records.append(rec)
        print_record(rec)
    write_claims_summary(out, "memory_adam", EXPERIMENTS)
    print_verdict_summary(records, f"summary ({args.scale} scale, {time.perf_counter() - t0:.0f} s); records in {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    return cli.make_parser(
        "python -m memory_adam.reproduce",
        "Reproduce arXiv:2307.09638 (Adam with critical momenta): E1 toy landscapes, E2 sharp-minimum escape, "
        "E3 LSTM language model, E4 digits CNN, E5 sharpness/distance, E6 first-step-transient ablation.",
        experiments=EXPERIMENTS,
    )


if __name__ == "__main__":
    sys.exit(cli.run_main(main, build_parser()))
