import json
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

import helpers
from helpers.ui import cache as cache_module
from helpers.ui.cache import (
    ENGINE_MODULES,
    ResultCache,
    cache_key,
    default_cache_dir,
    engine_source_hash,
    environment,
    image_digest,
    to_json_values,
)

RUN = {"engine": "helpers.engine.stylize", "stages": [{"stage": "full size", "options": {"size": 64, "steps": 3}}]}


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_CACHE", str(tmp_path / "default-cache"))


@pytest.fixture
def images(generator):
    return [torch.rand(1, 3, 6, 8, generator=generator), torch.rand(1, 3, 5, 5, generator=generator)]


def _env(**changes):
    return {**environment("cpu", "auto"), **changes}


def test_the_key_is_stable_and_ignores_dict_order(images):
    reordered = {"stages": [{"options": {"steps": 3, "size": 64}, "stage": "full size"}], "engine": RUN["engine"]}
    assert cache_key(RUN, images, _env()) == cache_key(reordered, [image.clone() for image in images], _env())


@pytest.mark.parametrize(
    "run",
    [
        {**RUN, "stages": [{"stage": "full size", "options": {"size": 64, "steps": 4}}]},
        {**RUN, "stages": [{"stage": "quick preview", "options": {"size": 32, "steps": 2}}, *RUN["stages"]]},
        {**RUN, "engine": "tests.FakeEngine"},
    ],
)
def test_a_changed_option_stage_or_engine_misses(images, run):
    assert cache_key(run, images, _env()) != cache_key(RUN, images, _env())


@pytest.mark.parametrize(
    "changes",
    [
        {"device": "cuda"},
        {"precision": "bfloat16"},
        {"torch": "0.0.1"},
        {"helpers": "99.0"},
        {"engine_source": "0" * 64},
    ],
)
def test_a_changed_environment_misses(images, changes):
    assert cache_key(RUN, images, _env(**changes)) != cache_key(RUN, images, _env())


def test_changed_image_content_misses(images):
    key = cache_key(RUN, images, _env())
    changed = images[0].clone()
    changed[0, 0, 0, 0] += 1 / 255
    assert cache_key(RUN, [changed, images[1]], _env()) != key
    assert cache_key(RUN, images[::-1], _env()) != key
    assert image_digest(images[0]) != image_digest(images[0].reshape(1, 3, 8, 6))


def test_the_environment_names_device_precision_and_versions():
    env = environment("cpu", "auto")
    assert env == {
        "device": "cpu",
        "precision": "float32",
        "torch": torch.__version__,
        "helpers": helpers.__version__,
        "engine_source": engine_source_hash(),
    }
    assert environment("cpu", "bf16")["precision"] == "bfloat16"
    assert len(env["engine_source"]) == 64


def test_the_engine_source_hash_changes_with_any_engine_file(tmp_path, monkeypatch):
    copy = tmp_path / "helpers"
    shutil.copytree(Path(helpers.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__", "data"))
    monkeypatch.setattr(cache_module, "_HELPERS", copy)
    assert {"engine", "optim", "objective", "options", "pyramid", "losses", "vgg", "images"} <= set(ENGINE_MODULES)
    hashes = []
    for name in ENGINE_MODULES:
        engine_source_hash.cache_clear()
        before = engine_source_hash()
        with (copy / f"{name}.py").open("a") as file:
            file.write("\n# changed\n")
        engine_source_hash.cache_clear()
        hashes.append(engine_source_hash())
        assert hashes[-1] != before, name
    engine_source_hash.cache_clear()
    assert len(set(hashes)) == len(ENGINE_MODULES)


def test_the_cache_folder_comes_from_the_environment_never_the_repository(tmp_path, monkeypatch):
    assert default_cache_dir() == tmp_path / "default-cache"
    assert ResultCache().root == tmp_path / "default-cache"
    monkeypatch.delenv("NST_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "nst-helpers"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "nst-helpers"
    repository = Path(helpers.__file__).resolve().parents[1]
    assert repository not in default_cache_dir().parents


def test_put_then_get_returns_the_result(tmp_path, generator):
    cache = ResultCache(tmp_path / "cache")
    image = torch.rand(1, 3, 12, 20, generator=generator)
    history = [{"step": 1, "total": 2.5, "style_layers": {"relu1_1": torch.tensor(0.5)}}]
    assert cache.get("k") is None and len(cache) == 0
    path = cache.put("k", image, history, seconds=1.25, metadata={"nst:settings": "{}"})
    found = cache.get("k")
    torch.testing.assert_close(found.image, image, atol=0.5 / 255 + 1e-6, rtol=0)
    assert found.history == [{"step": 1, "total": 2.5, "style_layers": {"relu1_1": 0.5}}]
    assert found.seconds == 1.25 and len(cache) == 1
    assert Image.open(path).text["nst:settings"] == "{}"
    assert not list((tmp_path / "cache").glob("*.tmp.*"))


def test_a_damaged_entry_is_a_miss(tmp_path, generator):
    cache = ResultCache(tmp_path)
    cache.put("k", torch.rand(1, 3, 4, 4, generator=generator), [], seconds=0.0)
    (tmp_path / "k.json").write_text("{not json")
    assert cache.get("k") is None
    (tmp_path / "k.json").write_text(json.dumps({"seconds": 0}))
    assert cache.get("k") is None
    (tmp_path / "k.json").write_text(json.dumps({"history": [], "seconds": 0}))
    (tmp_path / "k.png").write_bytes(b"broken")
    assert cache.get("k") is None


def test_to_json_values_matches_a_json_round_trip():
    value = {"size": (3, 4), "loss": torch.tensor(1.5), "bad": float("nan"), "layers": {"relu1_1": 2}}
    assert to_json_values(value) == {"size": [3, 4], "loss": 1.5, "bad": None, "layers": {"relu1_1": 2}}
    assert json.loads(json.dumps(to_json_values(value))) == to_json_values(value)
