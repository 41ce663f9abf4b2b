from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def caffe_vgg():
    import helpers

    return helpers.load_vgg19()


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(0)
