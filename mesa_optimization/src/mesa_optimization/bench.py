"""Entry point: ``python -m mesa_optimization.bench``: performance figures as ratios against a named baseline."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mesa_optimization.bench", description=__doc__)
    parser.parse_args(argv)
    print("mesa_optimization: no benchmark yet (not implemented yet)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
