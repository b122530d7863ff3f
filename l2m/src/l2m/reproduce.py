"""Entry point: ``python -m l2m.reproduce --scale quick|full|gpu``.

Runs the paper's experiments at the chosen scale (pretrain -> single_task -> continual; the pre-trained MDDT
and the data stores are cached in ``l2m/.data_cache``), evaluates each pre-registered claim and writes
``results/<scale>/<experiment>.json`` (+ Markdown and plots) via ``repro_shared.results``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from repro_shared import cli
from repro_shared.results import default_results_dir

EXPERIMENTS: tuple[str, ...] = ("pretrain", "single_task", "continual")


def main(args: argparse.Namespace) -> int:
    import torch

    from l2m.configs import CONFIGS
    from l2m.experiments import continual, pretrain, single_task

    cfg = cli.apply_overrides(cli.config_for_scale(CONFIGS, args.scale), args.overrides)
    if args.seeds is not None:
        cfg = dataclasses.replace(cfg, seeds=tuple(args.seeds))
    cfg = dataclasses.replace(cfg, device=cli.resolve_device(args.device, torch.cuda.is_available())).validate()
    torch.set_num_threads(1)  # multi-threading tiny CPU ops (decoding, small batches) is slower, and much slower
    # on a loaded machine; pre-training sets cfg.pretrain_threads itself
    out = args.out or default_results_dir(__file__, args.scale)
    modules = {"pretrain": pretrain, "single_task": single_task, "continual": continual}
    failed = 0
    for name in args.only or EXPERIMENTS:
        print(f"== l2m {name} ({args.scale}) ==", flush=True)
        rec = modules[name].run(cfg, out, args.scale)
        path = rec.write(out)
        for c in rec.claims:
            print(f"  {c.id}: {c.verdict}  [{c.criterion}]  measured {c.measured}")
            failed += not c.passed
        print(f"  wrote {path} ({rec.wall_time_s:.0f} s)", flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    return cli.make_parser(
        "python -m l2m.reproduce",
        "Reproduce arXiv:2306.14884 (Learning to Modulate pre-trained Models in RL): pre-train a multi-domain "
        "Decision Transformer on Meta-World + DMControl, fine-tune it on Continual-World tasks with each method.",
        experiments=EXPERIMENTS,
    )


if __name__ == "__main__":
    sys.exit(cli.run_main(main, build_parser()))
