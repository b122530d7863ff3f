import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1]


@pytest.mark.smoke
def test_imports():
    import nar_latent
    from nar_latent import bench, configs, reproduce

    assert nar_latent.__version__
    assert set(configs.CONFIGS) == {"quick", "full", "gpu"}
    assert reproduce.build_parser().prog.endswith("nar_latent.reproduce")
    assert bench.build_parser().prog.endswith("nar_latent.bench")


@pytest.mark.smoke
def test_reproduce_cli_help_and_bad_config():
    ok = subprocess.run([sys.executable, "-m", "nar_latent.reproduce", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "--scale" in ok.stdout and "latent_analysis" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "nar_latent.reproduce", "--scale", "huge"], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "'quick', 'full', 'gpu'" in bad.stderr
    bad = subprocess.run([sys.executable, "-m", "nar_latent.reproduce", "--set", "algorithms=[\"bogo_sort\"]"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "algorithms" in bad.stderr and "bellman_ford" in bad.stderr
    bad = subprocess.run([sys.executable, "-m", "nar_latent.reproduce", "--set", "eval_every=7"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "eval_every" in bad.stderr


def test_readme_lists_claims_with_criteria():
    readme = (PACKAGE_DIR / "README.md").read_text()
    assert "## Claims" in readme and "arXiv:2307.08874" in readme
    for claim in ("1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7"):
        assert f"**{claim}**" in readme, claim
