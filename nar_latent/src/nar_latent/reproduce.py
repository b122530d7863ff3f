"""Entry point: ``python -m nar_latent.reproduce --scale quick|full|gpu``.

Runs the paper's experiments at the chosen scale, evaluates each pre-registered claim and
writes ``results/<scale>/<experiment>.json`` (+ Markdown) via ``repro_shared.results``.
"""

from __future__ import annotations

import argparse
import sys

from repro_shared import cli

EXPERIMENTS: tuple[str, ...] = ()


def main(args: argparse.Namespace) -> int:
    print("nar_latent: not implemented yet; no experiment to run at scale", args.scale)
    return 0


def build_parser() -> argparse.ArgumentParser:
    return cli.make_parser(
        "python -m nar_latent.reproduce",
        "Reproduce arXiv:2307.08874 (Latent Space Representations of Neural Algorithmic Reasoners).",
        experiments=EXPERIMENTS,
    )


if __name__ == "__main__":
    sys.exit(cli.run_main(main, build_parser()))
