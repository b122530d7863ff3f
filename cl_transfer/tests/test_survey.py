"""The survey module (stdlib only): nothing invented, and the arithmetic it would run on transcribed rows."""

import csv
import subprocess
import sys

import pytest

from cl_transfer import survey


def test_shipped_csv_has_the_header_and_no_invented_rows():
    assert survey.load_rows() == []
    report = survey.report([], survey.load_facts())
    assert "pending transcription (0 of 77 papers)" in report


def test_facts_name_their_source():
    facts = survey.load_facts()["facts"]
    assert all(f["source_locator"] for f in facts)
    v3 = [f for f in facts if f["paper_version"] == "v3" and "venues" in f][0]
    assert v3["n_papers"] == 77 and len(v3["venues"]) == 4
    assert {f["n_conferences"] for f in facts if "n_conferences" in f} == {3, 4}


def test_percentages_recompute_and_sum_to_100(tmp_path):
    """On a synthetic fixture (test data only, not the survey's rows)."""
    path = tmp_path / "fixture.csv"
    rows = [("v3", "X", "2023", f"paper {i}", mem, comp, "fixture")
            for i, (mem, comp) in enumerate([("m1", "c1"), ("m1", "c2"), ("m2", "c1"), ("m1", "c1")])]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(survey.COLUMNS)
        w.writerows(rows)
    loaded = survey.load_rows(path)
    mem = survey.percentages(loaded, "memory_constraint")
    assert mem == {"m1": 75.0, "m2": 25.0}
    assert sum(survey.percentages(loaded, "compute_constraint").values()) == pytest.approx(100.0)
    assert survey.cross_table(loaded)[("m1", "c1")] == 2
    assert "memory_constraint: m1: 75.0%" in survey.report(loaded, survey.load_facts())


def test_bad_csv_is_rejected(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("title,venue\nx,y\n")
    with pytest.raises(ValueError, match="header"):
        survey.load_rows(path)
    path.write_text(",".join(survey.COLUMNS) + "\nv3,,2023,t,m,c,s\n")
    with pytest.raises(ValueError, match="empty"):
        survey.load_rows(path)


def test_survey_module_is_stdlib_only():
    code = ("import sys; import cl_transfer.survey as s; s.main([]); "
            "bad = [m for m in ('torch', 'numpy', 'transformers', 'datasets') if m in sys.modules]; "
            "sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "pending transcription" in out.stdout
