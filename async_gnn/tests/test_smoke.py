import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1]


@pytest.mark.smoke
def test_imports():
    import async_gnn
    from async_gnn import algebra, algorithms, configs, engine, layers, model, reproduce  # noqa: F401

    assert async_gnn.__version__
    assert set(configs.CONFIGS) == {"quick", "full", "gpu"}
    for cfg in configs.CONFIGS.values():
        assert cfg.validate() is cfg
    assert reproduce.build_parser().prog.endswith("async_gnn.reproduce")


def test_reproduce_cli_help_and_bad_values():
    ok = subprocess.run([sys.executable, "-m", "async_gnn.reproduce", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "--scale" in ok.stdout and "e2_learning" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "async_gnn.reproduce", "--scale", "huge"], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "'quick', 'full', 'gpu'" in bad.stderr
    bad_model = subprocess.run([sys.executable, "-m", "async_gnn.reproduce", "--set", 'models=["gat"]'],
                               capture_output=True, text=True)
    assert bad_model.returncode == 2 and "'models'" in bad_model.stderr and "maxmax" in bad_model.stderr
    bench = subprocess.run([sys.executable, "-m", "async_gnn.bench", "--help"], capture_output=True, text=True)
    assert bench.returncode == 0


def test_readme_lists_every_claim_the_experiments_evaluate():
    readme = (PACKAGE_DIR / "README.md").read_text()
    assert "## Claims" in readme and "arXiv:2306.15632" in readme
    src = "\n".join(p.read_text() for p in (PACKAGE_DIR / "src/async_gnn/experiments").glob("e*.py"))
    ids = set(re.findall(r'id=f?"(E\d\.\d)', src))
    assert ids == {"E1.1", "E1.2", "E1.3", "E1.5", "E2.1", "E2.2", "E2.3", "E2.4", "E2.5", "E3.1", "E3.2", "E3.3"}
    for claim_id in ids | {"E1.4"}:
        assert f"**{claim_id}**" in readme, claim_id


def test_committed_quick_records_render_from_json():
    from repro_shared.results import render_markdown

    quick = PACKAGE_DIR / "results" / "quick"
    records = sorted(quick.glob("e*.json"))
    if not records:
        pytest.skip("no quick-scale records committed yet")
    for path in records:
        record = json.loads(path.read_text())
        assert record["claims"], path.name
        assert render_markdown(record).startswith("### ")
