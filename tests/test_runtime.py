import pytest
import torch

import helpers


def test_choose_device_defaults_to_cpu_without_accelerators(monkeypatch):
    monkeypatch.delenv("NST_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(helpers.runtime, "_mps_available", lambda: False)
    assert helpers.choose_device() == torch.device("cpu")


def test_choose_device_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.delenv("NST_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert helpers.choose_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(helpers.runtime, "_mps_available", lambda: True)
    assert helpers.choose_device().type == "mps"


def test_choose_device_environment_override(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("NST_DEVICE", "cpu")
    assert helpers.choose_device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("NST_DEVICE", "cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        helpers.choose_device()
    monkeypatch.setenv("NST_DEVICE", "gpu-please")
    with pytest.raises(ValueError, match="gpu-please"):
        helpers.choose_device()


def test_seed_everything_repeats_random_streams():
    helpers.seed_everything(7)
    a = torch.rand(3)
    generator = helpers.seed_everything(7)
    assert torch.equal(a, torch.rand(3))
    assert torch.equal(torch.rand(2, generator=generator), torch.rand(2, generator=torch.Generator().manual_seed(7)))
    with pytest.raises(ValueError, match="seed"):
        helpers.seed_everything(-1)


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("0", False), ("", False)])
def test_fast_mode_reads_environment(monkeypatch, value, expected):
    monkeypatch.setenv("NST_FAST", value)
    assert helpers.fast_mode() is expected


def test_data_dir_finds_repository_data_and_honours_override(monkeypatch, tmp_path, data_dir):
    monkeypatch.delenv("NST_DATA", raising=False)
    assert helpers.data_dir() == data_dir and (helpers.data_dir() / "CREDITS.md").is_file()
    monkeypatch.setenv("NST_DATA", str(tmp_path))
    assert helpers.data_dir() == tmp_path
    monkeypatch.setenv("NST_DATA", str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="NST_DATA"):
        helpers.data_dir()


@pytest.mark.parametrize(
    "capability, expected", [((7, 5), None), ((7, 0), None), ((8, 0), torch.bfloat16), ((9, 0), torch.bfloat16)]
)
def test_auto_precision_is_bf16_only_on_gpus_that_compute_it_natively(monkeypatch, capability, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    assert helpers.autocast_dtype("auto", "cuda") is expected  # T4 (7.5), V100 (7.0): float32
    assert helpers.autocast_dtype("auto", "cpu") is None and helpers.autocast_dtype("fp32", "cuda") is None
    assert helpers.autocast_dtype("bf16", "cuda") is torch.bfloat16  # asked for explicitly: as asked
    with pytest.raises(ValueError, match="precision"):
        helpers.autocast_dtype("fp16", "cuda")
