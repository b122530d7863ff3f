"""Entry point: ``python -m nar_latent.bench``: performance figures as ratios against a named baseline."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nar_latent.bench", description=__doc__)
    parser.parse_args(argv)
    print("nar_latent: no benchmark yet (not implemented yet)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
