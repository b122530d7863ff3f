import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1]


@pytest.mark.smoke
def test_imports():
    import mesa_optimization
    from mesa_optimization import configs, reproduce

    assert mesa_optimization.__version__
    assert set(configs.CONFIGS) == {"quick", "full", "gpu"}
    assert reproduce.build_parser().prog.endswith("mesa_optimization.reproduce")


@pytest.mark.smoke
def test_reproduce_cli_help_and_bad_scale():
    ok = subprocess.run([sys.executable, "-m", "mesa_optimization.reproduce", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "--scale" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "mesa_optimization.reproduce", "--scale", "huge"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "'quick', 'full', 'gpu'" in bad.stderr


def test_bad_override_and_bench_help():
    bad = subprocess.run([sys.executable, "-m", "mesa_optimization.reproduce", "--set", "e1_stepz=3"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "e1_steps_linsa1" in bad.stderr
    ok = subprocess.run([sys.executable, "-m", "mesa_optimization.bench", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "--lengths" in ok.stdout


def test_readme_lists_claims():
    readme = (PACKAGE_DIR / "README.md").read_text()
    assert "## Claims" in readme and "arXiv:2309.05858" in readme
    for claim in ("E1a", "E2a", "E3a", "E4a", "E5a", "E6a"):
        assert claim in readme
