import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("REPRO_NO_PROGRESS", "1")


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """A private cache for the whole session (datasets, bases, runs); never the user's cache."""
    path = tmp_path_factory.mktemp("cl_transfer_cache")
    os.environ["CL_TRANSFER_CACHE"] = str(path)
    return path


@pytest.fixture(scope="module")
def suite():
    """Two generated tasks tokenised for the tiny engine of ``tiny_engine.py``."""
    from tiny_engine import task_tensors

    return {n: task_tensors(n) for n in ("SPUR-a", "DIG-seven")}
