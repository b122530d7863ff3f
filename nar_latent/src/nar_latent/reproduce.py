"""Entry point: ``python -m nar_latent.reproduce --scale quick|full|gpu``.

Runs the paper's experiments at the chosen scale, evaluates each pre-registered claim and
writes ``results/<scale>/<experiment>.json`` (+ Markdown, + PNGs) via ``repro_shared.results``.

* ``ood_scores``: per-algorithm OOD scores of baseline / softmax / decay / both (experiment 1);
* ``latent_analysis``: PCA of trajectories, symmetry probes, loss of resolution, out-of-range
  weights and the extra/fewer-steps attractor, on Bellman-Ford models (experiment 2). It reuses
  experiment 1's Bellman-Ford models when they are cached, and trains them otherwise.
"""

from __future__ import annotations

import argparse
import sys

from repro_shared import cli
from repro_shared.results import default_results_dir

EXPERIMENTS: tuple[str, ...] = ("ood_scores", "latent_analysis")


def enable_compilation_cache() -> None:
    """Persist compiled programs across runs (a chunk of the training loop compiles for minutes on CPU)."""
    import jax

    from nar_latent.checkpoints import cache_dir

    jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 2.0)


def main(args: argparse.Namespace) -> int:
    from nar_latent.configs import CONFIGS
    from nar_latent.experiments import latent_analysis, ood_scores

    config = cli.apply_overrides(cli.config_for_scale(CONFIGS, args.scale), args.overrides)
    seeds = list(args.seeds) if args.seeds else list(config.seeds)
    _check(config)
    enable_compilation_cache()
    out = args.out or default_results_dir(__file__, args.scale)
    runners = {"ood_scores": ood_scores.run, "latent_analysis": latent_analysis.run}
    for name in args.only or EXPERIMENTS:
        print(f"== {name} ({args.scale})", flush=True)
        record = runners[name](config, args.scale, seeds, out)
        path = record.write(out)
        for claim in record.claims:
            print(f"  [{claim.verdict}] {claim.id}: {claim.statement}")
            print(f"      criterion: {claim.criterion}; measured: {claim.measured}")
        print(f"  wrote {path}")
    return 0


def _check(config) -> None:
    from nar_latent.data import PRED_AS_INPUT  # noqa: F401  (imports dm-clrs: fails early when missing)
    from nar_latent.train import VARIANTS
    from repro_shared import clrs

    known = set(clrs.load().specs.CLRS_30_ALGS_SETTINGS)
    for alg in config.algorithms:
        if alg not in known:
            raise cli.ConfigError("algorithms", alg, sorted(known))
    for v in config.variants:
        if v not in VARIANTS:
            raise cli.ConfigError("variants", v, list(VARIANTS))
    for n in config.test_sizes:
        if n < 4:
            raise cli.ConfigError("test_sizes", n, "sizes >= 4")
    if not config.seeds:
        raise cli.ConfigError("seeds", config.seeds, "at least one seed")
    config.train_config(config.algorithms[0]).validate()


def build_parser() -> argparse.ArgumentParser:
    return cli.make_parser(
        "python -m nar_latent.reproduce",
        "Reproduce arXiv:2307.08874 (Latent Space Representations of Neural Algorithmic Reasoners).",
        experiments=EXPERIMENTS,
    )


if __name__ == "__main__":
    sys.exit(cli.run_main(main, build_parser()))
