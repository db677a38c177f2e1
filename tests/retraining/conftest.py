import pytest

from tests.retraining.support import cached_phantoms


@pytest.fixture(scope="session")
def loop_phantoms(tmp_path_factory):
    """Four small phantom studies with truth masks and grades (shared with tests/activelearning)."""
    return cached_phantoms(tmp_path_factory)
