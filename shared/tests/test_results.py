import json
import os
import stat

import numpy as np
import pytest

from repro_shared import claims, results
from repro_shared.results import RunRecord


def _record() -> RunRecord:
    rec = RunRecord(paper="toy", experiment="exp1", scale="quick", config={"lr": 0.1, "betas": (0.9, 0.999)},
                    seeds=[0, 1])
    rec.metrics["loss"] = np.float32(0.25)
    rec.metrics["curve"] = np.arange(3)
    rec.add_claim(claims.threshold(0.25, 0.3, id="C1", statement="loss is small", name="loss"))
    rec.add_claim(claims.margin(0.1, 0.2, 0.0, id="C2", statement="a beats b"))
    rec.add_table("Losses", ["method", "loss"], [["adam", 0.25], ["cm", None]], caption="toy data")
    return rec.finish()


def test_round_trip(tmp_path):
    rec = _record()
    path = rec.write(tmp_path)
    assert path == tmp_path / "exp1.json"
    loaded = results.load_record(path)
    assert loaded.to_dict() == rec.to_dict()
    d = json.loads(path.read_text())
    assert d["metrics"] == {"loss": 0.25, "curve": [0, 1, 2]}
    assert d["config"]["betas"] == [0.9, 0.999]
    assert [c["verdict"] for c in d["claims"]] == ["REPRODUCED", "NOT REPRODUCED"]
    for key in ("git", "machine", "versions", "command", "wall_time_s", "started_at"):
        assert key in d
    assert d["machine"]["cores"] == os.cpu_count()
    assert rec.verdict_counts() == {"REPRODUCED": 1, "NOT REPRODUCED": 1, "INCONCLUSIVE": 0}


def test_markdown_rendered_from_json_alone(tmp_path):
    path = _record().write(tmp_path)
    md_file = (tmp_path / "exp1.md").read_text()
    md = results.render_markdown(json.loads(path.read_text()))
    assert md == md_file
    assert "| C1 | loss is small | loss ≤ 0.3 | loss=0.25 | **REPRODUCED** |" in md
    assert "**NOT REPRODUCED**" in md
    assert "| cm | — |" in md and "toy data" in md


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "r.json"
    results.write_json_atomic(target, {"a": 1})

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        results.write_json_atomic(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temp file left behind


def test_nan_and_unknown_fields():
    assert results._jsonable({"x": float("nan")}) == {"x": "nan"}
    d = _record().to_dict()
    d["bogus"] = 1
    with pytest.raises(ValueError, match="bogus"):
        RunRecord.from_dict(d)


def test_git_info_outside_repo(tmp_path):
    assert results.git_info(tmp_path) == {"commit": None, "dirty": None}


def test_default_results_dir(tmp_path):
    pkg = tmp_path / "mypkg"
    (pkg / "src" / "mypkg" / "experiments").mkdir(parents=True)
    (pkg / "pyproject.toml").write_text("")
    mod = pkg / "src" / "mypkg" / "experiments" / "e.py"
    assert results.default_results_dir(mod, "full") == pkg / "results" / "full"


def test_dirty_flag_ignores_results_folders(tmp_path):
    import subprocess

    def git(*a):
        subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "a@b")
    git("config", "user.name", "a")
    (tmp_path / "pkg" / "results").mkdir(parents=True)
    (tmp_path / "pkg" / "code.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "results" / "r.json").write_text("{}\n")
    git("add", "-A")
    git("commit", "-qm", "init")
    assert results.git_info(tmp_path)["dirty"] is False
    (tmp_path / "pkg" / "results" / "r.json").write_text('{"a": 1}\n')
    assert results.git_info(tmp_path)["dirty"] is False
    (tmp_path / "pkg" / "code.py").write_text("x = 2\n")
    assert results.git_info(tmp_path)["dirty"] is True


def test_command_line_names_python_module():
    cmd = results.command_line()
    assert cmd.startswith("python")


def test_atomic_path_renames_on_success_and_cleans_up_on_error(tmp_path):
    target = tmp_path / "sub" / "arr.npz"
    with results.atomic_path(target, suffix=".npz") as tmp:
        assert tmp.parent == target.parent and tmp.name.endswith(".npz")
        np.savez(tmp, x=np.arange(3))  # a writer that keeps the name because it ends in .npz
    assert np.load(target)["x"].tolist() == [0, 1, 2]
    with pytest.raises(RuntimeError), results.atomic_path(target, suffix=".npz") as tmp:
        np.savez(tmp, x=np.arange(5))
        raise RuntimeError("writer failed")
    assert np.load(target)["x"].tolist() == [0, 1, 2]  # old file kept
    assert sorted(p.name for p in target.parent.iterdir()) == ["arr.npz"]  # no temporary left


def test_atomic_writes_get_the_umask_permissions_not_mkstemps_0600(tmp_path):
    old = os.umask(0o022)
    try:
        path = results.write_text_atomic(tmp_path / "r.md", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_claims_summary_lists_every_record_present_and_counts_verdicts(tmp_path, capsys):
    recs = []
    for name, ok in (("e1", True), ("e2", False)):
        rec = RunRecord(paper="p", experiment=name, scale="quick", config={}, seeds=[0])
        rec.add_claim(claims.threshold(1.0 if ok else 3.0, 2.0, id=f"{name}-c", statement="s", name="x"))
        rec.finish()
        rec.write(tmp_path)
        recs.append(rec)
    summary = results.write_claims_summary(tmp_path, "pkg", ["e1", "e2", "missing"]).read_text()
    assert summary.startswith("# pkg: claims at quick scale")
    assert "## e1" in summary and "## e2" in summary and "**REPRODUCED**" in summary and "**NOT REPRODUCED**" in summary
    assert results.write_claims_summary(tmp_path / "empty", "pkg", ["e1"]) is None
    results.print_verdict_summary(recs, "summary")
    out = capsys.readouterr().out
    assert "✔ REPRODUCED      e1-c" in out and "✘ NOT REPRODUCED  e2-c" in out
    assert "1 REPRODUCED, 1 NOT REPRODUCED, 0 INCONCLUSIVE" in out
