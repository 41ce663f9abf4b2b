import io
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import helpers


def _rgb_pattern(h=6, w=10):
    array = np.zeros((h, w, 3), dtype=np.uint8)
    array[..., 0] = np.arange(w) * 20
    array[..., 1] = np.arange(h)[:, None] * 30
    array[..., 2] = 200
    return array


def test_loads_png_as_contract(tmp_path):
    array = _rgb_pattern()
    Image.fromarray(array).save(tmp_path / "a.png")
    image = helpers.load_image(tmp_path / "a.png")
    assert image.shape == (1, 3, 6, 10) and image.dtype == torch.float32
    torch.testing.assert_close(image[0].permute(1, 2, 0), torch.from_numpy(array).float() / 255)


def test_every_sample_image_loads(data_dir):
    files = sorted(p for p in data_dir.iterdir() if p.suffix in {".png", ".jpg"})
    assert len(files) >= 14
    for path in files:
        image = helpers.load_image(path, max_size=64)
        assert image.shape[:2] == (1, 3) and max(image.shape[-2:]) == 64
        assert 0 <= image.min() and image.max() <= 1


def test_exif_orientation_is_applied(tmp_path):
    array = _rgb_pattern(4, 8)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    Image.fromarray(array).save(tmp_path / "r.jpg", exif=exif.tobytes(), quality=100)
    assert helpers.load_image(tmp_path / "r.jpg").shape == (1, 3, 8, 4)


def test_transparency_flattened_onto_white(tmp_path):
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    image = helpers.load_image(tmp_path / "t.png")
    torch.testing.assert_close(image[0, :, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    torch.testing.assert_close(image[0, :, 1, 1], torch.ones(3))


def test_grey_sixteen_bit_palette_and_cmyk(tmp_path):
    Image.fromarray(np.full((3, 3), 128, np.uint8), "L").save(tmp_path / "g.png")
    grey = helpers.load_image(tmp_path / "g.png")
    assert grey.shape == (1, 3, 3, 3) and torch.allclose(grey, torch.full_like(grey, 128 / 255))

    Image.fromarray(np.full((3, 3), 65535 // 4, np.uint16)).save(tmp_path / "g16.png")
    deep = helpers.load_image(tmp_path / "g16.png")
    torch.testing.assert_close(deep, torch.full_like(deep, (65535 // 4) / 65535))

    palette = Image.fromarray(_rgb_pattern()).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    palette.save(tmp_path / "p.png")
    assert helpers.load_image(tmp_path / "p.png").shape == (1, 3, 6, 10)

    Image.new("CMYK", (5, 4), (0, 255, 255, 0)).save(tmp_path / "c.jpg")
    cmyk = helpers.load_image(tmp_path / "c.jpg")
    assert cmyk.shape == (1, 3, 4, 5) and cmyk[0, 0].mean() > 0.9 and cmyk[0, 1].mean() < 0.1


def test_max_size_keeps_aspect_and_never_upscales(tmp_path):
    Image.fromarray(np.zeros((300, 200, 3), np.uint8)).save(tmp_path / "tall.png")
    assert helpers.load_image(tmp_path / "tall.png", max_size=90).shape == (1, 3, 90, 60)
    assert helpers.load_image(tmp_path / "tall.png", max_size=1000).shape == (1, 3, 300, 200)
    with pytest.raises(ValueError, match="max_size"):
        helpers.load_image(tmp_path / "tall.png", max_size=0)


def test_bytes_source_for_uploads():
    buffer = io.BytesIO()
    Image.fromarray(_rgb_pattern()).save(buffer, format="PNG")
    assert helpers.load_image(buffer.getvalue()).shape == (1, 3, 6, 10)
    with pytest.raises(helpers.ImageError, match="upload.png: not an image"):
        helpers.load_image(b"not an image at all", name="upload.png")


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: p / "missing.png", "no such file"),
        (lambda p: p, "is a directory"),
        (lambda p: (p / "empty.png", (p / "empty.png").write_bytes(b""))[0], "empty"),
        (lambda p: (p / "text.png", (p / "text.png").write_text("hello"))[0], "not an image"),
    ],
)
def test_unreadable_files_raise_image_error_naming_file(tmp_path, make, reason):
    path = make(tmp_path)
    with pytest.raises(helpers.ImageError, match=reason) as info:
        helpers.load_image(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_truncated_file(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(helpers.ImageError, match="cut.png.*(damaged|truncated)"):
        helpers.load_image(tmp_path / "cut.png")


def test_decompression_bomb(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(helpers.ImageError, match="bomb.png.*decompression bomb"):
        helpers.load_image(tmp_path / "bomb.png")


def test_save_round_trip_with_metadata(tmp_path):
    image = torch.rand(1, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    path = helpers.save_image(image, tmp_path / "sub" / "out.png", metadata={"style_weight": "1e6"})
    assert Image.open(path).text["style_weight"] == "1e6"
    torch.testing.assert_close(helpers.load_image(path), image, atol=0.5 / 255 + 1e-6, rtol=0)


def test_save_refuses_nan(tmp_path):
    image = torch.zeros(1, 3, 2, 2)
    image[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        helpers.save_image(image, tmp_path / "nan.png")
    assert not (tmp_path / "nan.png").exists()


def test_resize_image_longest_side():
    image = torch.rand(1, 3, 40, 100)
    assert helpers.resize_image(image, 50).shape == (1, 3, 20, 50)
    assert helpers.resize_image(image, 200).shape == (1, 3, 40, 100)
    assert helpers.resize_image(image, 200, upscale=True).shape == (1, 3, 80, 200)


def test_show_images_grid_returns_figure():
    import matplotlib

    matplotlib.use("Agg")
    fig = helpers.show_images(
        [torch.rand(1, 3, 8, 8), torch.rand(3, 4, 6), torch.rand(1, 3, 5, 5)], titles=["a", "b", "c"], ncols=2
    )
    axes = fig.get_axes()
    assert len(axes) == 4 and [ax.get_title() for ax in axes[:3]] == ["a", "b", "c"]
    assert axes[1].get_images()[0].get_array().shape == (4, 6, 3)


def test_import_has_no_side_effects():
    code = (
        "import sys, torch; s0 = torch.initial_seed(); import helpers; "
        "assert 'ipywidgets' not in sys.modules; assert 'matplotlib.pyplot' not in sys.modules; "
        "assert torch.initial_seed() == s0; print('ok', end='')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok" and result.stderr == ""
