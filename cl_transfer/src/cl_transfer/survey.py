"""The survey of Verwimp et al., "Continual Learning: Applications and the Road Forward" (arXiv:2311.11908).

Standard library only. ``data/verwimp2023_survey.csv`` is meant to hold the survey's per-paper classification
(paper_version, venue, year, title, memory_constraint, compute_constraint, source_locator), transcribed from the
paper only; :func:`percentages` recomputes the share of each category from it. The per-paper list could not be
read in this session, so the shipped CSV has its header and no rows: nothing is invented, and the report says
"pending transcription". ``data/verwimp2023_facts.json`` keeps what the text does provide (versions, venues,
number of papers), each with where it was read.

Run ``python -m cl_transfer.survey`` for the report.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

COLUMNS = ("paper_version", "venue", "year", "title", "memory_constraint", "compute_constraint", "source_locator")
LABEL_FIELDS = ("memory_constraint", "compute_constraint")


def _data_path(name: str) -> Path:
    return Path(str(resources.files("cl_transfer").joinpath("data", name)))


def load_rows(path: str | Path | None = None) -> list[dict[str, str]]:
    """Rows of the classification CSV; checks the header and that every field is filled."""
    path = Path(path) if path is not None else _data_path("verwimp2023_survey.csv")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}: header {reader.fieldnames} != {list(COLUMNS)}")
        rows = list(reader)
    for i, row in enumerate(rows, start=2):
        empty = [k for k in COLUMNS if not (row.get(k) or "").strip()]
        if empty:
            raise ValueError(f"{path}:{i}: empty fields {empty}")
    return rows


def load_facts(path: str | Path | None = None) -> dict:
    path = Path(path) if path is not None else _data_path("verwimp2023_facts.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def percentages(rows: Sequence[dict[str, str]], field: str) -> dict[str, float]:
    """Share (in %) of each value of ``field``; sums to 100 (empty dict for no rows)."""
    if field not in COLUMNS:
        raise KeyError(f"unknown field {field!r}")
    counts = Counter(row[field] for row in rows)
    total = sum(counts.values())
    return {k: 100.0 * v / total for k, v in sorted(counts.items())} if total else {}


def cross_table(rows: Iterable[dict[str, str]]) -> dict[tuple[str, str], int]:
    """Counts of (memory_constraint, compute_constraint) pairs."""
    return dict(Counter((r["memory_constraint"], r["compute_constraint"]) for r in rows))


def report(rows: Sequence[dict[str, str]], facts: dict) -> str:
    lines = [facts["survey"], ""]
    for fact in facts["facts"]:
        lines.append(f"[{fact['paper_version']}] {fact['statement']}  ({fact['source_locator']})")
    lines.append("")
    expected = max((f.get("n_papers", 0) for f in facts["facts"]), default=0)
    if not rows:
        lines.append(f"per-paper classification: pending transcription (0 of {expected} papers); "
                     "no percentages are computed")
        return "\n".join(lines)
    lines.append(f"per-paper classification: {len(rows)} rows (the survey reports {expected})")
    for field in LABEL_FIELDS:
        shares = ", ".join(f"{k}: {v:.1f}%" for k, v in percentages(rows, field).items())
        lines.append(f"{field}: {shares}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cl_transfer.survey", description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, default=None, help="classification CSV (default: the shipped one)")
    args = parser.parse_args(argv)
    print(report(load_rows(args.csv), load_facts()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
