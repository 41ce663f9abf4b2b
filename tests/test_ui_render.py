import io
import xml.etree.ElementTree as ET

import numpy as np
import torch
from PIL import Image

from helpers.ui.render import loss_curves, loss_plot_svg, png_bytes


def test_png_bytes_decode_to_the_image(generator):
    image = torch.rand(1, 3, 10, 14, generator=generator)
    decoded = Image.open(io.BytesIO(png_bytes(image)))
    assert decoded.size == (14, 10)
    pixels = torch.from_numpy(np.array(decoded)).permute(2, 0, 1).float() / 255
    torch.testing.assert_close(pixels[None], image, atol=0.5 / 255 + 1e-6, rtol=0)


def test_png_bytes_scale_down_to_max_size(generator):
    image = torch.rand(1, 3, 40, 80, generator=generator)
    assert Image.open(io.BytesIO(png_bytes(image, max_size=20))).size == (20, 10)


HISTORY = [{"step": s, "total": 10.0 / s, "content": 1.0, "style": 9.0 / s, "tv": 0.0} for s in range(1, 6)]


def test_loss_curves_leave_out_zero_and_missing_values():
    curves = loss_curves(HISTORY + [{"step": 6, "total": float("nan")}])
    assert set(curves) == {"total", "content", "style"}
    assert curves["total"] == [(float(s), 10.0 / s) for s in range(1, 6)]


def test_svg_is_valid_with_one_line_per_curve():
    svg = ET.fromstring(loss_plot_svg(HISTORY, title="a <title>"))
    lines = svg.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 3
    assert all(len(line.get("points").split()) == 5 for line in lines)
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "a <title>" in texts and "total 2.0e+00" in texts


def test_svg_y_follows_a_log_scale():
    svg = ET.fromstring(
        loss_plot_svg([{"step": 1, "total": 100.0}, {"step": 2, "total": 10.0}, {"step": 3, "total": 1.0}])
    )
    points = svg.find("{http://www.w3.org/2000/svg}polyline").get("points").split()
    ys = [float(p.split(",")[1]) for p in points]
    assert ys[0] < ys[1] < ys[2] and abs((ys[1] - ys[0]) - (ys[2] - ys[1])) < 0.2


def test_empty_history_draws_a_note():
    svg = ET.fromstring(loss_plot_svg([]))
    assert svg.find("{http://www.w3.org/2000/svg}polyline") is None


def test_weights_scale_each_term_so_they_add_up_to_the_total():
    history = [{"step": 1, "content": 2.0, "style": 3.0, "tv": 0.5, "total": 2.0 + 30.0 + 0.0}]
    curves = loss_curves(history, weights={"content": 1.0, "style": 10.0, "tv": 0.0})
    assert curves == {"content": [(1.0, 2.0)], "style": [(1.0, 30.0)], "total": [(1.0, 32.0)]}
