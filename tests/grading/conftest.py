"""A few phantom studies for the grading tests, generated once per session (skipped while the generator is absent)."""
import pytest


@pytest.fixture(scope="session")
def phantom_dir(tmp_path_factory):
    try:
        from lib.phantom import generate_dataset
    except ImportError as err:
        pytest.skip(f"phantom generator not available: {err}")
    out = tmp_path_factory.mktemp("grading_phantoms")
    generate_dataset(out, 3, 7)
    return out
