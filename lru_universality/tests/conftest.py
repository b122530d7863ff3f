import jax
import pytest


@pytest.fixture
def x64():
    """Run one test with 64-bit jax types (complex128); the package never enables x64 globally."""
    with jax.enable_x64(True):
        yield
