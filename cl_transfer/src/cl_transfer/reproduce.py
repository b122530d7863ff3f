"""Entry point: ``python -m cl_transfer.reproduce --scale quick|full|gpu``.

Runs the paper's experiments at the chosen scale, evaluates each pre-registered claim and
writes ``results/<scale>/<experiment>.json`` (+ Markdown) via ``repro_shared.results``.
"""

from __future__ import annotations

import argparse
import sys

from repro_shared import cli

EXPERIMENTS: tuple[str, ...] = ()


def main(args: argparse.Namespace) -> int:
    print("cl_transfer: not implemented yet; no experiment to run at scale", args.scale)
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
