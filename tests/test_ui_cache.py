import json

import torch
from PIL import Image

from helpers.ui.cache import ResultCache, cache_key, to_json_values

OPTIONS = {"size": 64, "steps": 3, "style_layers": {"relu1_1": 1.0}}


def test_cache_key_is_stable_and_ignores_dict_order():
    key = cache_key(OPTIONS, [b"content", b"style"], tag="engine")
    reordered = {"style_layers": {"relu1_1": 1.0}, "steps": 3, "size": 64}
    assert key == cache_key(reordered, [b"content", b"style"], tag="engine")
    assert len(key) == 64 and int(key, 16) >= 0


def test_cache_key_changes_with_every_input():
    key = cache_key(OPTIONS, [b"content", b"style"], tag="engine")
    assert key != cache_key({**OPTIONS, "steps": 4}, [b"content", b"style"], tag="engine")
    assert key != cache_key(OPTIONS, [b"content!", b"style"], tag="engine")
    assert key != cache_key(OPTIONS, [b"style", b"content"], tag="engine")
    assert key != cache_key(OPTIONS, [b"content", b"style"], tag="other engine")


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
    (tmp_path / "k.json").write_text(json.dumps({"history": [], "seconds": 0}))
    (tmp_path / "k.png").write_bytes(b"broken")
    assert cache.get("k") is None


def test_to_json_values_matches_a_json_round_trip():
    value = {"size": (3, 4), "loss": torch.tensor(1.5), "bad": float("nan"), "layers": {"relu1_1": 2}}
    assert to_json_values(value) == {"size": [3, 4], "loss": 1.5, "bad": None, "layers": {"relu1_1": 2}}
    assert json.loads(json.dumps(to_json_values(value))) == to_json_values(value)
