import os

import pytest
import torch

os.environ.setdefault("REPRO_NO_PROGRESS", "1")
torch.set_num_threads(1)


@pytest.fixture()
def tmp_cache(tmp_path, monkeypatch):
    """An empty data cache, so tests never depend on (or write to) the package's .data_cache."""
    monkeypatch.setenv("L2M_DATA_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"
