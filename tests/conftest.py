"""Test-session setup: the synthetic-model disk cache (golden/model_cache.py) lives in a fresh temporary
folder, so that tests neither read nor write the user's cache."""
import pytest

from golden.model_cache import CACHE_ENV


@pytest.fixture(autouse=True, scope="session")
def _private_model_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("model-cache")))
        yield
