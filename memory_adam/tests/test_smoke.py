import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1]


@pytest.mark.smoke
def test_imports():
    import memory_adam
    from memory_adam import configs, reproduce

    assert memory_adam.__version__
    assert set(configs.CONFIGS) == {"quick", "full", "gpu"}
    assert reproduce.build_parser().prog.endswith("memory_adam.reproduce")


@pytest.mark.smoke
def test_reproduce_cli_help_and_bad_scale():
    ok = subprocess.run([sys.executable, "-m", "memory_adam.reproduce", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "--scale" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "memory_adam.reproduce", "--scale", "huge"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "'quick', 'full', 'gpu'" in bad.stderr


def test_readme_lists_claims():
    readme = (PACKAGE_DIR / "README.md").read_text()
    assert "## Claims" in readme and "arXiv:2307.09638" in readme


def test_device_is_a_config_field_and_cuda_without_gpu_exits_2():
    import dataclasses

    import torch
    from memory_adam.configs import CONFIGS

    from repro_shared.cli import ConfigError

    with pytest.raises(ConfigError, match="'device'.*cpu, cuda"):
        dataclasses.replace(CONFIGS["quick"], device="tpu").validate()
    if not torch.cuda.is_available():
        bad = subprocess.run([sys.executable, "-m", "memory_adam.reproduce", "--device", "cuda"],
                             capture_output=True, text=True)
        assert bad.returncode == 2 and "'device'" in bad.stderr and "no CUDA device" in bad.stderr
