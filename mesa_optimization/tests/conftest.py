import jax
import pytest


@pytest.fixture
def x64():
    """Float64 for one test only (the package never enables it globally)."""
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)
