import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1]


@pytest.mark.smoke
def test_imports():
    import lru_universality
    from lru_universality import bench, compressor, configs, data, layers, models, reproduce, scan, train  # noqa: F401

    assert lru_universality.__version__
    assert set(configs.CONFIGS) == {"quick", "full", "gpu"}
    for cfg in configs.CONFIGS.values():
        cfg.validate()
    assert reproduce.build_parser().prog.endswith("lru_universality.reproduce")


@pytest.mark.smoke
def test_reproduce_cli_help_and_bad_config():
    ok = subprocess.run([sys.executable, "-m", "lru_universality.reproduce", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "--scale" in ok.stdout and "conditioning" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "lru_universality.reproduce", "--scale", "huge"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "'quick', 'full', 'gpu'" in bad.stderr
    bad = subprocess.run([sys.executable, "-m", "lru_universality.reproduce", "--set", "delay_variants=[\"gru\"]"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "delay_variants" in bad.stderr and "lru r[.9,.999]" in bad.stderr
    bad = subprocess.run([sys.executable, "-m", "lru_universality.reproduce", "--set", "no_such_field=1"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "cond_sizes" in bad.stderr


def test_bench_help():
    ok = subprocess.run([sys.executable, "-m", "lru_universality.bench", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "--lengths" in ok.stdout


def test_readme_lists_claims():
    readme = (PACKAGE_DIR / "README.md").read_text()
    assert "## Claims" in readme and "arXiv:2307.11888" in readme
    for claim in ("1a", "2d", "3a", "4c", "5d"):
        assert f"- {claim}:" in readme
