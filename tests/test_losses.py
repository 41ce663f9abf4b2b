import pytest
import torch

import helpers


def test_gram_matches_einsum_oracle(generator):
    features = torch.randn(2, 5, 7, 3, generator=generator, dtype=torch.float64)
    expected = torch.einsum("bchw,bdhw->bcd", features, features) / (7 * 3)
    torch.testing.assert_close(helpers.gram_matrix(features), expected)


def test_gram_hand_example():
    features = torch.tensor([[1.0, 2.0], [0.0, 3.0]]).view(1, 2, 1, 2)  # two channels, two positions
    expected = torch.tensor([[1 + 4, 0 + 6], [0 + 6, 0 + 9]]) / 2
    torch.testing.assert_close(helpers.gram_matrix(features)[0], expected)


def test_gram_symmetric_and_positive_semidefinite(generator):
    gram = helpers.gram_matrix(torch.randn(3, 8, 6, 6, generator=generator, dtype=torch.float64))
    torch.testing.assert_close(gram, gram.transpose(1, 2))
    assert torch.linalg.eigvalsh(gram).min() > -1e-10


def test_gram_unchanged_when_positions_are_shuffled(generator):
    features = torch.randn(1, 6, 5, 4, generator=generator)
    perm = torch.randperm(20, generator=generator)
    shuffled = features.flatten(2)[:, :, perm].view(1, 6, 5, 4)
    assert not torch.equal(shuffled, features)
    torch.testing.assert_close(helpers.gram_matrix(shuffled), helpers.gram_matrix(features))


def test_gram_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        helpers.gram_matrix(torch.zeros(4, 4))


def test_content_loss_zero_for_identical_and_matches_mse(generator):
    a, b = torch.randn(1, 4, 3, 3, generator=generator), torch.randn(1, 4, 3, 3, generator=generator)
    assert helpers.content_loss(a, a.clone()).item() == 0
    torch.testing.assert_close(helpers.content_loss(a, b), ((a - b) ** 2).sum() / a.numel())


def test_layer_style_loss_is_four_times_gatys_E_l(generator):
    f = torch.randn(1, 6, 4, 5, generator=generator, dtype=torch.float64)
    s = torch.randn(1, 6, 4, 5, generator=generator, dtype=torch.float64)
    n, m = 6, 20
    raw_g, raw_a = f.view(n, m) @ f.view(n, m).T, s.view(n, m) @ s.view(n, m).T
    gatys_e = ((raw_g - raw_a) ** 2).sum() / (4 * n**2 * m**2)
    ours = helpers.layer_style_loss(f, helpers.gram_matrix(s))
    torch.testing.assert_close(ours.double(), 4 * gatys_e, rtol=1e-5, atol=0)


def test_style_loss_weights_and_zero_on_identical(generator):
    feats = {
        "relu1_1": torch.randn(1, 3, 4, 4, generator=generator),
        "relu2_1": torch.randn(1, 5, 2, 2, generator=generator),
    }
    other = {k: torch.randn_like(v) for k, v in feats.items()}
    grams = {k: helpers.gram_matrix(v) for k, v in feats.items()}
    assert helpers.style_loss(feats, grams).item() == 0
    per_layer = {k: helpers.layer_style_loss(other[k], grams[k]) for k in feats}
    torch.testing.assert_close(helpers.style_loss(other, grams), (per_layer["relu1_1"] + per_layer["relu2_1"]) / 2)
    weighted = helpers.style_loss(other, grams, {"relu1_1": 2.0, "relu2_1": 0.0})
    torch.testing.assert_close(weighted, 2 * per_layer["relu1_1"])
    with pytest.raises(ValueError, match="relu2_1"):
        helpers.style_loss({"relu1_1": feats["relu1_1"]}, grams)


def test_tv_loss_matches_naive_loop(generator):
    image = torch.rand(1, 2, 4, 5, generator=generator, dtype=torch.float64)
    down = across = 0.0
    for c in range(2):
        for y in range(4):
            for x in range(5):
                if y + 1 < 4:
                    down += (image[0, c, y + 1, x] - image[0, c, y, x]) ** 2
                if x + 1 < 5:
                    across += (image[0, c, y, x + 1] - image[0, c, y, x]) ** 2
    expected = down / (2 * 3 * 5) + across / (2 * 4 * 4)
    torch.testing.assert_close(helpers.tv_loss(image), expected)
    assert helpers.tv_loss(torch.full((1, 3, 6, 6), 0.3)).item() == 0


def test_balanced_weights_hand_example():
    targets = {"a": torch.tensor([[1.0, 3.0]]), "b": torch.full((2, 2), 10.0)}  # mean squares 5 and 100
    assert helpers.balanced_weights(targets) == pytest.approx({"a": 1 / 10, "b": 1 / 200})


def test_balanced_weights_start_every_layer_near_one_over_n(generator):
    grams = {
        name: helpers.gram_matrix(torch.rand(1, c, 6, 6, generator=generator) * scale)
        for name, c, scale in [("shallow", 4, 1.0), ("middle", 8, 30.0), ("deep", 16, 1e3)]
    }
    zeros = {name: torch.zeros(1, gram.shape[1], 6, 6) for name, gram in grams.items()}
    weights = helpers.balanced_weights(grams)
    terms = [weights[name] * helpers.layer_style_loss(zeros[name], gram).item() for name, gram in grams.items()]
    assert terms == pytest.approx([1 / 3] * 3, rel=1e-5)
    assert helpers.style_loss(zeros, grams, weights).item() == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("targets, message", [({}, "empty"), ({"relu1_1": torch.zeros(3, 3)}, "relu1_1")])
def test_balanced_weights_refuses_empty_or_zero_targets(targets, message):
    with pytest.raises(ValueError, match=message):
        helpers.balanced_weights(targets)
