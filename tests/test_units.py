import pytest
import torch

import helpers
from helpers import units
from helpers.objective import StyleObjective
from helpers.options import StyleOptions

LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


@pytest.fixture(scope="module")
def pair(data_dir):
    content = helpers.load_image(data_dir / "chelsea.png", max_size=48)
    style = torch.nn.functional.interpolate(
        helpers.load_image(data_dir / "great_wave.jpg"), size=content.shape[-2:], mode="bilinear", antialias=True
    ).clamp(0, 1)
    return content, style  # one shape, as the source article's raw Gram sums need


@pytest.fixture(scope="module")
def scales(caffe_vgg, pair):
    return units.term_scales(caffe_vgg, *pair)


def balanced_total(caffe_vgg, pair, converted, image):
    options = StyleOptions(
        content_layers={"relu4_2": 1.0},
        style_layers=converted["style_layers"],
        content_weight=converted["content_weight"],
        style_weight=1.0,
        tv_weight=0.0,
    )
    with torch.no_grad():
        return float(StyleObjective(caffe_vgg, pair[0], [pair[1]], options)(image)[0])


def paper_total(caffe_vgg, pair, image, alpha, beta):
    with torch.no_grad():
        f, p, a = (caffe_vgg(x, ["relu4_2", *LAYERS]) for x in (image, pair[0], pair[1]))
    total = alpha * 0.5 * ((f["relu4_2"] - p["relu4_2"]) ** 2).sum()
    for name in LAYERS:
        n, m = f[name].shape[1], f[name].shape[2] * f[name].shape[3]
        g, target = f[name].reshape(n, m), a[name].reshape(n, m)
        total += beta * 0.2 * (((g @ g.T) - (target @ target.T)) ** 2).sum() / (4 * n**2 * m**2)
    return float(total)


def article_total(caffe_vgg, pair, image):
    with torch.no_grad():
        f, p, a = (caffe_vgg(x, ["relu4_2", *LAYERS]) for x in (image, pair[0], pair[1]))
    total = ((f["relu4_2"] - p["relu4_2"]) ** 2).mean()
    for name, weight in units.ARTICLE_WEIGHTS.items():
        n, m = f[name].shape[1], f[name].shape[2] * f[name].shape[3]
        g, target = f[name].reshape(n, m), a[name].reshape(n, m)
        total += 1e6 * weight * (((g @ g.T) - (target @ target.T)) ** 2).mean() / (n * m)
    return float(total)


def test_the_paper_and_the_article_convert_exactly_up_to_one_factor(caffe_vgg, pair, scales, generator):
    images = [torch.rand(1, 3, *pair[0].shape[-2:], generator=generator) for _ in range(2)] + [pair[0] * 0.7]
    for convention, alpha, beta, weights, written in [
        ("paper", 1e-3, 1.0, {n: 0.2 for n in LAYERS}, lambda x: paper_total(caffe_vgg, pair, x, 1e-3, 1.0)),
        ("article", 1.0, 1e6, units.ARTICLE_WEIGHTS, lambda x: article_total(caffe_vgg, pair, x)),
    ]:
        converted = units.to_balanced(scales, convention, alpha, beta, weights)
        ratios = [written(x) / balanced_total(caffe_vgg, pair, converted, x) for x in images]
        assert ratios == pytest.approx([ratios[0]] * len(ratios), rel=1e-4), convention
        assert sum(converted["style_layers"].values()) == pytest.approx(1.0)


def test_balanced_and_raw_conventions_agree_with_the_engine(caffe_vgg, pair, scales, generator):
    image = torch.rand(1, 3, *pair[0].shape[-2:], generator=generator)
    raw = StyleOptions(
        content_layers={"relu4_2": 1.0},
        style_layers={n: 0.2 for n in LAYERS},
        content_weight=1.0,
        style_weight=1e3,
        tv_weight=0.0,
        units="raw",
    )
    with torch.no_grad():
        raw_total = float(StyleObjective(caffe_vgg, pair[0], [pair[1]], raw)(image)[0])
    converted = units.to_balanced(scales, "raw", 1.0, 1e3, raw.style_layers)
    other = torch.rand(1, 3, *pair[0].shape[-2:], generator=generator)
    with torch.no_grad():
        other_raw = float(StyleObjective(caffe_vgg, pair[0], [pair[1]], raw)(other)[0])
    assert raw_total / balanced_total(caffe_vgg, pair, converted, image) == pytest.approx(
        other_raw / balanced_total(caffe_vgg, pair, converted, other), rel=1e-4
    )
    same = units.to_balanced(scales, "balanced", 0.1, 1.0, {n: 2.0 for n in LAYERS})
    assert same["ratio"] == pytest.approx(0.1) and list(same["style_layers"].values()) == pytest.approx([0.2] * 5)


def test_conversion_rows_cover_the_paper_the_article_and_the_series(scales):
    rows = units.conversion_rows(scales)
    assert [row[0].split(",")[0] for row in rows] == [
        "paper",
        "paper",
        "source article",
        "balanced units",
        "balanced units",
    ]
    assert all(len(row) == 3 + len(LAYERS) for row in rows)
    assert float(rows[0][2]) == pytest.approx(10 * float(rows[1][2]), rel=1e-3)  # α/β scales linearly
    with pytest.raises(ValueError, match="convention"):
        units.to_balanced(scales, "sums", 1.0, 1.0, {"relu1_1": 1.0})
