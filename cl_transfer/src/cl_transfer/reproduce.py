"""Entry point: ``python -m cl_transfer.reproduce --scale quick|full|gpu``.

Runs the experiments at the chosen scale, evaluates each pre-registered claim (README.md) and writes
``results/<scale>/<experiment>.json`` (+ Markdown, PNG) via ``repro_shared.results``. Fine-tuning runs, θ₀ and
the datasets are memoised under ``$CL_TRANSFER_CACHE`` (default ``~/.cache/cl_transfer``), so a re-run only
trains what changed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from cl_transfer.configs import CONFIGS, Config  # noqa: E402
from repro_shared import cli  # noqa: E402
from repro_shared.progress import progress  # noqa: E402
from repro_shared.results import default_results_dir  # noqa: E402

EXPERIMENTS: tuple[str, ...] = ("transfer_matrix", "sequences", "survey")


def resolve_config(args: argparse.Namespace) -> Config:
    cfg = cli.apply_overrides(cli.config_for_scale(CONFIGS, args.scale), args.overrides)
    if args.seeds is not None:
        cfg = cli.apply_overrides(cfg, [f"seeds={list(args.seeds)}"])
    return cfg.validate()


def main(args: argparse.Namespace) -> int:
    cfg = resolve_config(args)
    out = args.out or default_results_dir(__file__, args.scale)
    out.mkdir(parents=True, exist_ok=True)
    todo = args.only or list(EXPERIMENTS)
    engine = base_info = None
    for name in todo:
        if name == "survey":
            from cl_transfer.experiments import survey

            rec = survey.run(cfg, args.scale)
        else:
            if engine is None:
                import torch

                from cl_transfer.suite import make_engine

                t0 = time.perf_counter()
                device = cli.resolve_device(args.device, torch.cuda.is_available())
                engine, base_info = make_engine(cfg, device=device, progress=progress)
                print(f"set-up (datasets, θ₀) in {time.perf_counter() - t0:.0f} s: {base_info}")
            if name == "transfer_matrix":
                from cl_transfer.experiments import transfer_matrix

                rec = transfer_matrix.run(engine, cfg, args.scale, out, base_info)
            else:
                from cl_transfer.experiments import sequences

                rec = sequences.run(engine, cfg, args.scale, out, progress=progress)
        path = rec.write(out)
        print(f"\n== {rec.experiment} ({args.scale}) -> {path}  [{rec.wall_time_s:.0f} s]")
        for c in rec.claims:
            print(f"  [{c.verdict}] {c.id}: {c.statement}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    return cli.make_parser(
        "python -m cl_transfer.reproduce",
        "Reproduce arXiv:2307.05741 (Towards Robust and Efficient Continual Language Learning) "
        "and the survey arXiv:2311.11908.",
        experiments=EXPERIMENTS,
    )


if __name__ == "__main__":
    sys.exit(cli.run_main(main, build_parser()))
