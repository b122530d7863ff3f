import time

import numpy as np
import pytest

from repro_shared import plots, progress, report, seeding, timing
from repro_shared.results import RunRecord


def test_seeding_reproducible():
    a = seeding.seed_everything(3)
    x = np.random.rand(3), a["numpy"].random(3)  # noqa: NPY002
    b = seeding.seed_everything(3)
    y = np.random.rand(3), b["numpy"].random(3)  # noqa: NPY002
    np.testing.assert_array_equal(x[0], y[0])
    np.testing.assert_array_equal(x[1], y[1])
    with pytest.raises(ValueError):
        seeding.seed_everything(-1)


def test_timing_compare_orders_and_ratios():
    fast = lambda: time.sleep(0.001)  # noqa: E731
    slow = lambda: time.sleep(0.004)  # noqa: E731
    t = timing.compare({"fast": fast, "slow": slow}, warmup=1, repeats=5)
    assert timing.ratio(t, "slow", "fast") > 1.5
    assert "ratio" in timing.format_ratios(t, "fast")
    assert timing.measure(fast, repeats=3, warmup=0).median_s > 0


def test_progress_counts(monkeypatch):
    monkeypatch.setenv("REPRO_NO_PROGRESS", "1")
    assert list(progress.prange(4, desc="x")) == [0, 1, 2, 3]


def test_plot_saved(tmp_path):
    fig, ax = plots.new_figure()
    ax[0, 0].plot([0, 1], [1, 0])
    path = plots.save_figure(fig, tmp_path / "p.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]


def test_report_lists_not_run_and_run(tmp_path):
    for name, title in (("pa", "Paper A"), ("pb", "Paper B")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "pyproject.toml").write_text(
            f'[project]\nname="{name}"\n[tool.repro]\npaper="{title}"\narxiv="1234.5678"\nframework="torch"\n')
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "pyproject.toml").write_text('[project]\nname="repro-shared"\n')
    from repro_shared import claims
    rec = RunRecord(paper="Paper A", experiment="e1", scale="quick", config={}, seeds=[0])
    rec.add_claim(claims.threshold(1, 2, id="C1", statement="s"))
    rec.write(tmp_path / "pa" / "results" / "quick")
    side = RunRecord(paper="Paper A", experiment="e2", scale="quick", config={}, seeds=[0])
    side.add_claim(claims.threshold(1, 2, id="C2", statement="s"))
    side.write(tmp_path / "pa" / "results" / "quick_supplementary")  # not a scale folder: left out
    text = report.render(tmp_path)
    assert "| Paper A | 1234.5678 | `pa` | [e1](pa/results/quick/e1.md) | quick | C1 | REPRODUCED |" in text
    assert "C2" not in text
    assert "| Paper B | 1234.5678 | `pb` | — | — | — | not run yet | — |" in text
    assert "repro-shared" not in text
    assert report.main(["--root", str(tmp_path), "--out", str(tmp_path / "R.md")]) == 0
    assert report.main(["--root", str(tmp_path / "nope")]) == 2
