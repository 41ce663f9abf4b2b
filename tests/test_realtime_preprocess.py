import numpy as np
import pytest
import torch
from PIL import Image

import helpers
from helpers.realtime.preprocess import center_crop_square, lanczos_resize, lanczos_weights, style_input


def pil_square(path, size):
    image = Image.open(path).convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return np.asarray(image.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS)) / 255


@pytest.mark.parametrize("name", ["starry_night.jpg", "great_wave.jpg", "chelsea.png", "brick.png"])
def test_style_input_matches_pillow_to_its_8_bit_rounding(data_dir, name):
    mine = style_input(helpers.load_image(data_dir / name))[0].permute(1, 2, 0).numpy()
    expected = pil_square(data_dir / name, 256)
    assert mine.shape == (256, 256, 3)
    assert np.abs(mine - expected).max() <= 1.5 / 255  # Pillow rounds to 8 bits after each pass
    assert np.abs(mine - expected).mean() <= 0.4 / 255


def test_upscaling_matches_pillow(data_dir):
    image = Image.open(data_dir / "chelsea.png").convert("RGB").resize((40, 27))
    expected = np.asarray(image.resize((97, 61), Image.LANCZOS)) / 255
    tensor = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).permute(2, 0, 1)[None]
    mine = lanczos_resize(tensor, (61, 97))[0].permute(1, 2, 0).numpy()
    assert np.abs(mine - expected).max() <= 1.5 / 255


def test_weights_rows_sum_to_one_and_identity_at_the_same_size():
    assert torch.allclose(lanczos_weights(640, 256).sum(dim=1), torch.ones(256, dtype=torch.float64))
    torch.testing.assert_close(lanczos_weights(9, 9), torch.eye(9, dtype=torch.float64))


def test_shrinking_stretches_the_filter_to_antialias():
    """Lanczos-3 reads 6 input pixels per output pixel when enlarging, 4 × 6 when shrinking 4:1."""
    assert (lanczos_weights(256, 512)[100] != 0).sum() == 6
    assert (lanczos_weights(1024, 256)[100] != 0).sum() == 24


def test_center_crop_square_takes_the_middle():
    image = torch.arange(2 * 5.0).view(1, 1, 2, 5).expand(1, 3, 2, 5)
    assert center_crop_square(image)[0, 0].tolist() == [[1.0, 2.0], [6.0, 7.0]]
