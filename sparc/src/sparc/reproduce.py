"""Entry point: ``python -m sparc.reproduce --scale quick|full|gpu``.

Trains the (dataset, method, seed) runs that experiments 1-4 share (or reuses the ones stored under
``results/<scale>/runs/`` for the same config), runs the cost sweep (experiment 5) and the MiniLM variant,
evaluates each pre-registered claim and writes ``results/<scale>/<experiment>.json`` (+ Markdown, plots).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

from repro_shared import cli
from repro_shared.results import default_results_dir
from sparc.configs import CONFIGS

EXPERIMENTS: tuple[str, ...] = ("zero_shot_retrieval", "segmentation", "faithfulness", "ablations", "cost", "minilm")


def main(args: argparse.Namespace) -> int:
    from sparc.experiments import EXPERIMENTS as MODULES
    from sparc.runs import ensure_runs

    cfg = cli.apply_overrides(cli.config_for_scale(CONFIGS, args.scale), args.overrides)
    if args.seeds is not None:
        cfg = dataclasses.replace(cfg, seeds=tuple(args.seeds))
    cfg = cfg.validate()
    seeds = list(cfg.seeds)
    import torch

    torch.set_num_threads(cfg.threads)
    out_dir = args.out or default_results_dir(__file__, args.scale)
    selected = args.only or list(EXPERIMENTS)
    t0 = time.perf_counter()
    print(f"sparc: scale={args.scale} seeds={seeds} experiments={selected} -> {out_dir}", flush=True)

    wanted = [r for name in selected for r in MODULES[name].needs(cfg, seeds)]
    device = cli.resolve_device(args.device, torch.cuda.is_available())
    runs = ensure_runs(cfg, wanted, out_dir / "runs", retrain=args.retrain, device=device) if wanted else {}

    records = []
    for name in selected:
        module = MODULES[name]
        print(f"\n=== {name} ===", flush=True)
        if name == "cost":
            rec = module.run(cfg, seeds, args.scale, out_dir, args.device)
        elif name == "minilm":
            rec = module.run(cfg, seeds, args.scale)
        elif name == "segmentation":
            rec = module.run(cfg, runs, seeds, args.scale, out_dir)
        else:
            rec = module.run(cfg, runs, seeds, args.scale)
        path = rec.write(out_dir)
        records.append(rec)
        for t in rec.tables:
            print(t.to_markdown(), "\n")
        for c in rec.claims:
            print(f"[{c.verdict}] {c.id}: {c.statement}\n    criterion: {c.criterion}\n    measured: {c.measured}")
        print(f"wrote {path}", flush=True)

    print(f"\n=== summary ({time.perf_counter() - t0:.0f} s) ===")
    for rec in records:
        for c in rec.claims:
            print(f"{c.verdict.value:<15} {rec.experiment}/{c.id}: {c.statement}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = cli.make_parser(
        "python -m sparc.reproduce",
        "Reproduce arXiv:2401.09865 (Improving fine-grained understanding in image-text pre-training (SPARC)).",
        experiments=EXPERIMENTS,
    )
    parser.add_argument("--retrain", action="store_true",
                        help="train every run again instead of reusing results/<scale>/runs/ for the same config")
    return parser


if __name__ == "__main__":
    sys.exit(cli.run_main(main, build_parser()))
