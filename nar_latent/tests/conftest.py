import os

os.environ.setdefault("REPRO_NO_PROGRESS", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# tiny shapes: compile time dominates, and XLA's backend optimisations roughly halve it
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

import pytest  # noqa: E402

pytest.importorskip("haiku")
if __import__("importlib").util.find_spec("clrs") is None:
    pytest.skip("dm-clrs not installed (pip install --no-deps dm-clrs==2.0.3)", allow_module_level=True)
