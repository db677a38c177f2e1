"""Session-wide tiny phantom datasets for the stage 1 pipeline tests."""
import pytest

from tests.landmarks.phantoms import phantom_set


@pytest.fixture(scope="session")
def contiguous_phantom(tmp_path_factory):
    return phantom_set(tmp_path_factory, "contiguous", n=1, seed=11)


@pytest.fixture(scope="session")
def angled_phantom(tmp_path_factory):
    return phantom_set(tmp_path_factory, "angled", n=1, seed=11)
