"""Run each package's pytest suite in its own process and print one summary line per package.

Usage: python tools/test_all.py [PACKAGE ...] [-- extra pytest args]
Exits 1 if any package has a failing or erroring test (or its pytest run crashes).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_package(pkg: str, extra: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "junit.xml"
        env = dict(os.environ, REPRO_NO_PROGRESS="1", PYTHONDONTWRITEBYTECODE="1")
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               f"--junitxml={xml}", *extra], cwd=ROOT / pkg, env=env)
        wall = time.perf_counter() - t0
        counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "wall": wall, "rc": proc.returncode}
        if xml.exists():
            for suite in ET.parse(xml).getroot().iter("testsuite"):
                tests = int(suite.get("tests", 0))
                failed, errors = int(suite.get("failures", 0)), int(suite.get("errors", 0))
                skipped = int(suite.get("skipped", 0))
                counts["failed"] += failed
                counts["errors"] += errors
                counts["skipped"] += skipped
                counts["passed"] += tests - failed - errors - skipped
        return counts


def main(argv: list[str]) -> int:
    if "--" in argv:
        i = argv.index("--")
        pkgs, extra = argv[:i], argv[i + 1:]
    else:
        pkgs, extra = argv, []
    if not pkgs:
        print("usage: python tools/test_all.py PACKAGE [PACKAGE ...] [-- pytest args]", file=sys.stderr)
        return 2
    missing = [p for p in pkgs if not (ROOT / p / "pyproject.toml").is_file()]
    if missing:
        print(f"error: invalid value for 'package': {missing} (allowed: folders of {ROOT} with a pyproject.toml)",
              file=sys.stderr)
        return 2
    results = {}
    for pkg in pkgs:
        print(f"\n===== {pkg} =====", flush=True)
        results[pkg] = run_package(pkg, extra)
    print("\n===== summary =====")
    bad = 0
    for pkg, c in results.items():
        # pytest exit code 5 = no tests collected: a failure for us (every package has tests)
        ok = c["rc"] == 0 and c["failed"] == 0 and c["errors"] == 0
        bad += not ok
        print(f"{pkg:<22} {'ok  ' if ok else 'FAIL'} {c['passed']:4d} passed, {c['failed']:3d} failed, "
              f"{c['errors']:3d} errors, {c['skipped']:3d} skipped  ({c['wall']:.0f} s)")
    passed = sum(c["passed"] for c in results.values())
    failed = sum(c["failed"] + c["errors"] for c in results.values())
    print(f"{passed} passed, {failed} failed ({len(results) - bad}/{len(results)} packages ok)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
