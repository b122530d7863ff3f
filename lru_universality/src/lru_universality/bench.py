"""Entry point: ``python -m lru_universality.bench``: performance figures as ratios against a named baseline."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lru_universality.bench", description=__doc__)
    parser.parse_args(argv)
    print("lru_universality: no benchmark yet (not implemented yet)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
