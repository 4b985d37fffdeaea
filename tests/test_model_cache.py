"""The synthetic-model disk cache (golden/model_cache.py): a second call loads what the first built, and a
corrupt, stale, copied or unrecorded entry is rebuilt, never trusted."""
import json
import shutil

import numpy as np
import pytest

from golden import model_cache
from golden.inference import infer
from golden.model_file import model_header
from golden.spec import DEFAULT_SPEC
from golden.synthetic import build_synthetic, synthetic_images, synthetic_model
from golden.topologies import topology


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(model_cache.CACHE_ENV, str(tmp_path))
    return tmp_path


def entry(name="tiny", seed=0):
    return model_cache.entry_path(model_cache.cache_root(), name, seed, DEFAULT_SPEC)


def same_model(a, b) -> bool:
    return model_header(a)[0]["digest"] == model_header(b)[0]["digest"]


def counting_build(monkeypatch):
    """Count the builds synthetic_model makes."""
    calls = []
    real = build_synthetic

    def build(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr("golden.synthetic.build_synthetic", build)
    return calls


def test_second_call_loads_the_stored_model(cache_dir, monkeypatch):
    calls = counting_build(monkeypatch)
    first = synthetic_model("tiny", 0, backend="numpy")
    assert entry().is_file() and model_cache.record_path(entry()).is_file() and len(calls) == 1
    second = synthetic_model("tiny", 0, backend="numpy")
    assert len(calls) == 1 and same_model(first, second)
    images = synthetic_images(first.network, 2, 0, first.spec)
    assert np.array_equal(infer(first, images, "uniform:4").logits, infer(second, images, "uniform:4").logits)
    assert same_model(second, build_synthetic("tiny", 0, backend="numpy").model)


@pytest.mark.parametrize("damage", ["flip_byte", "truncate", "drop_record", "edit_record"])
def test_a_damaged_entry_is_rebuilt(cache_dir, monkeypatch, damage):
    first = synthetic_model("tiny", 0, backend="numpy")
    path, record = entry(), model_cache.record_path(entry())
    if damage == "flip_byte":
        data = bytearray(path.read_bytes())
        data[-5] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "drop_record":
        record.unlink()
    else:
        fields = json.loads(record.read_text())
        record.write_text(json.dumps({**fields, "seed": 1}))
    calls = counting_build(monkeypatch)
    again = synthetic_model("tiny", 0, backend="numpy")
    assert len(calls) == 1 and same_model(first, again)
    assert len(calls) == 1 and same_model(synthetic_model("tiny", 0, backend="numpy"), first)  # stored again


def test_an_entry_copied_from_another_seed_is_not_trusted(cache_dir, monkeypatch):
    other = synthetic_model("tiny", 1, backend="numpy")
    own = entry(seed=0)
    own.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(entry(seed=1), own)
    shutil.copy(model_cache.record_path(entry(seed=1)), model_cache.record_path(own))
    calls = counting_build(monkeypatch)
    model = synthetic_model("tiny", 0, backend="numpy")
    assert len(calls) == 1 and not same_model(model, other)


def test_changed_code_gives_a_new_key_and_removes_the_old_entry(cache_dir, monkeypatch):
    synthetic_model("tiny", 0, backend="numpy")
    old = entry()
    monkeypatch.setattr(model_cache, "code_digest", lambda: "another version of the code")
    calls = counting_build(monkeypatch)
    synthetic_model("tiny", 0, backend="numpy")
    assert len(calls) == 1 and entry() != old and entry().is_file()
    assert not old.exists() and not model_cache.record_path(old).exists()


def test_cache_off_and_unwritable_cache_still_give_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv(model_cache.CACHE_ENV, model_cache.DISABLED)
    assert model_cache.cache_root() is None
    built = synthetic_model("tiny", 0, backend="numpy")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(model_cache.CACHE_ENV, str(blocker))
    assert same_model(synthetic_model("tiny", 0, backend="numpy"), built)


def test_default_location_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv(model_cache.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert model_cache.cache_root() == tmp_path / "dqt-hw"
    assert entry().parent == tmp_path / "dqt-hw" / "synthetic"
    assert entry().name.startswith("tiny-seed0-")
    assert topology("tiny").name == "tiny"
