import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1]


@pytest.mark.smoke
def test_imports():
    import cl_transfer
    from cl_transfer import configs, reproduce

    assert cl_transfer.__version__
    assert set(configs.CONFIGS) == {"quick", "full", "gpu"}
    assert reproduce.build_parser().prog.endswith("cl_transfer.reproduce")


@pytest.mark.smoke
def test_reproduce_cli_help_and_bad_scale():
    ok = subprocess.run([sys.executable, "-m", "cl_transfer.reproduce", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "--scale" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "cl_transfer.reproduce", "--scale", "huge"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "'quick', 'full', 'gpu'" in bad.stderr


def test_readme_lists_claims():
    readme = (PACKAGE_DIR / "README.md").read_text()
    assert "## Claims" in readme and "arXiv:2307.05741" in readme
