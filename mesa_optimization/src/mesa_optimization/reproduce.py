"""Entry point: ``python -m mesa_optimization.reproduce --scale quick|full|gpu``.

Runs the paper's experiments at the chosen scale, evaluates each pre-registered claim and writes
``results/<scale>/<experiment>.json`` (+ Markdown and plots) via ``repro_shared.results``.
"""

from __future__ import annotations

import argparse
import sys
import time

from mesa_optimization.configs import CONFIGS
from repro_shared import cli
from repro_shared.results import default_results_dir

EXPERIMENTS: tuple[str, ...] = ("e1_depth", "e2_reverse", "e3_probes", "e4_softmax", "e5_fewshot", "e6_charlm")


def main(args: argparse.Namespace) -> int:
    cfg = cli.apply_overrides(cli.config_for_scale(CONFIGS, args.scale), args.overrides)
    if args.seeds is not None:
        cfg = cli.apply_overrides(cfg, [f"seeds={list(args.seeds)}"])
    if args.device not in ("auto", "cpu"):
        import jax

        if not any(d.platform == "gpu" for d in jax.devices()):
            raise cli.ConfigError("device", args.device, "auto or cpu (no GPU visible to jax)")
    from mesa_optimization.experiments import REGISTRY  # heavy imports after argument checks

    out_dir = args.out or default_results_dir(__file__, args.scale)
    names = args.only or list(EXPERIMENTS)
    summary = []
    for name in names:
        t0 = time.perf_counter()
        print(f"== {name} ({args.scale})", flush=True)
        record = REGISTRY[name].run(cfg, args.scale, out_dir)
        path = record.write(out_dir)
        for c in record.claims:
            print(f"  [{c.verdict}] {c.id}: {c.statement}\n      criterion: {c.criterion}\n"
                  f"      measured: {c.measured}")
            summary.append((name, c.id, str(c.verdict)))
        print(f"  wrote {path} ({time.perf_counter() - t0:.0f} s)", flush=True)
    print("\nSummary:")
    for name, cid, verdict in summary:
        print(f"  {cid:<6} {verdict:<15} ({name})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    return cli.make_parser(
        "python -m mesa_optimization.reproduce",
        "Reproduce arXiv:2309.05858 (Uncovering mesa-optimization algorithms in Transformers).",
        experiments=EXPERIMENTS,
    )


if __name__ == "__main__":
    sys.exit(cli.run_main(main, build_parser()))
