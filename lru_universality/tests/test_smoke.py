import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1]


@pytest.mark.smoke
def test_imports():
    import lru_universality
    from lru_universality import configs, reproduce

    assert lru_universality.__version__
    assert set(configs.CONFIGS) == {"quick", "full", "gpu"}
    assert reproduce.build_parser().prog.endswith("lru_universality.reproduce")


@pytest.mark.smoke
def test_reproduce_cli_help_and_bad_scale():
    ok = subprocess.run([sys.executable, "-m", "lru_universality.reproduce", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "--scale" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "lru_universality.reproduce", "--scale", "huge"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "'quick', 'full', 'gpu'" in bad.stderr


def test_readme_lists_claims():
    readme = (PACKAGE_DIR / "README.md").read_text()
    assert "## Claims" in readme and "arXiv:2307.11888" in readme
