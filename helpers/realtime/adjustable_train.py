"""Training the adjustable network: random crops of photos and paintings, loss weights drawn at random, and the
objective of ``helpers.objective`` with those weights as the loss.

Every image of a batch gets its own weights: log10(α/β) uniform in [-3, 3] and each layer weight log-uniform in
[1e-2, 1e2], or 0 (off) with probability ``off_probability``. Each image's loss is ``StyleObjective``'s total in
balanced units divided by the total that ``fast_stylize``'s picture of the same photo, painting and weights
scores: a constant per image, so it changes no setting's best picture, but every setting then counts about the
same, and 1 means "no better than the network of notebook 06". ``scripts/train_adjustable.py`` runs
``train_steps`` with checkpoints.

Training scores a whole batch with one pass of VGG19 (``layer_terms``): every term of ``StyleObjective`` in balanced
units for each image against its own photo and painting, the paintings' Gram matrices made once per crop. The
weighted total is the objective's (``tests/test_realtime_adjustable_train.py`` checks the two agree).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..images import resize_image
from ..losses import gram_matrix
from ..objective import StyleObjective
from ..options import DEFAULT_CONTENT_LAYERS, StyleOptions
from ..vgg import TORCHVISION_INDEX, VGGFeatures
from .adjustable import LAYER_WEIGHT_RANGE, RATIO_RANGE, STYLE_LAYERS, TV_WEIGHT, WeightConditioner, weight_features
from .api import load_transformer, style_embedding
from .layers import ConditionalInstanceNorm

__all__ = [
    "AdjustableModel",
    "NEAR_RANGE",
    "PaintingBank",
    "Setting",
    "TERMS",
    "batch_loss",
    "boosted",
    "content_targets",
    "distill",
    "draw_batch",
    "fit_one_pair",
    "layer_terms",
    "norm_offsets",
    "norm_sizes",
    "random_crop",
    "sample_setting",
    "setting_objective",
    "shared_offsets",
    "train_steps",
]


TERMS: tuple[str, ...] = ("content", *STYLE_LAYERS, "tv")
"""The columns of ``layer_terms``: the content term, each style layer's own term, the smoothness term."""
CONTENT_LAYERS = dict(DEFAULT_CONTENT_LAYERS)


@dataclass(frozen=True)
class Setting:
    """One choice of loss weights: α/β (``ratio``, with β = 1) and layer -> weight (0 = off)."""

    ratio: float
    style_layers: Mapping[str, float]

    def features(self) -> Tensor:
        """The (1, 6) input of the conditioner for this setting."""
        return weight_features(self.ratio, 1.0, self.style_layers)

    def term_weights(self) -> Tensor:
        """float32 (7,): what each column of ``layer_terms`` is multiplied by in this setting's total (β = 1):
        α/β, each layer's share w_l / Σ w, and ``TV_WEIGHT``."""
        total = sum(self.style_layers.values())
        shares = [self.style_layers.get(name, 0.0) / total for name in STYLE_LAYERS]
        return torch.tensor([self.ratio, *shares, TV_WEIGHT], dtype=torch.float32)


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


NEAR_RANGE = (0.1, 10.0)
"""Layer weights of a near-balanced setting (``sample_setting``'s ``near``): every layer on, within a factor of 10 of
1, where a person moving one slider from equal weights is."""


def sample_setting(generator: torch.Generator, off_probability: float = 0.15, near: float = 0.0) -> Setting:
    """Loss weights drawn log-uniformly from ``RATIO_RANGE`` and ``LAYER_WEIGHT_RANGE``; a layer is off with
    probability ``off_probability`` (at least one stays on).

    With probability ``near`` the layer weights are near-balanced instead: each log-uniform in ``NEAR_RANGE``,
    none off (α/β as before). ``near=0`` draws exactly the stream it drew before the option existed.
    """
    ratio = 10 ** _uniform(generator, *map(math.log10, RATIO_RANGE))
    if near > 0 and float(torch.rand((), generator=generator)) < near:
        layers = {name: 10 ** _uniform(generator, *map(math.log10, NEAR_RANGE)) for name in STYLE_LAYERS}
        return Setting(ratio, layers)
    layers = {name: 10 ** _uniform(generator, *map(math.log10, LAYER_WEIGHT_RANGE)) for name in STYLE_LAYERS}
    off = torch.rand(len(STYLE_LAYERS), generator=generator) < off_probability
    if off.all():
        off[int(torch.randint(len(STYLE_LAYERS), (), generator=generator))] = False
    return Setting(ratio, {name: 0.0 if o else w for (name, w), o in zip(layers.items(), off.tolist())})


def boosted(setting: Setting, generator: torch.Generator, factor: float = 100.0) -> Setting:
    """``setting`` with one layer, drawn at random, weighed ``factor`` times more (an off layer comes on at
    ``factor`` times the mean of the others): the same photo and painting scored both ways tell the network
    what that layer's slider means."""
    name = STYLE_LAYERS[int(torch.randint(len(STYLE_LAYERS), (), generator=generator))]
    weights = dict(setting.style_layers)
    others = [w for n, w in weights.items() if n != name and w > 0] or [1.0]
    weights[name] = weights[name] * factor if weights[name] > 0 else factor * sum(others) / len(others)
    return Setting(setting.ratio, weights)


def random_crop(image: Tensor, size: int, generator: torch.Generator, zoom: tuple[float, float] = (1.0, 2.0)) -> Tensor:
    """A ``size`` × ``size`` crop of a (1, 3, H, W) image: shorter side resized to ``size`` × U(zoom), random
    position, mirrored with probability 1/2."""
    h, w = image.shape[-2:]
    short = size * _uniform(generator, *zoom)
    scale = short / min(h, w)
    resized = F.interpolate(
        image,
        size=(max(size, round(h * scale)), max(size, round(w * scale))),
        mode="bilinear",
        antialias=True,
        align_corners=False,
    ).clamp(0, 1)
    top = int(torch.randint(resized.shape[-2] - size + 1, (), generator=generator))
    left = int(torch.randint(resized.shape[-1] - size + 1, (), generator=generator))
    crop = resized[:, :, top : top + size, left : left + size]
    return crop.flip(-1) if float(torch.rand((), generator=generator)) < 0.5 else crop


class PaintingBank:
    """Crops of the training paintings, each at the training size with its style embedding, made once.

    Args:
        paintings: name -> (1, 3, H, W) painting in [0, 1].
        size: longest side of every crop (the content crops' size, as ``stylize`` scales a style image).
        crops: crops per painting; the first is the whole painting, the others cover 60-100 % of each side.
        generator: the random stream.
    """

    def __init__(self, paintings: Mapping[str, Tensor], size: int, crops: int, generator: torch.Generator) -> None:
        self.names, self.images, self.embeddings = [], [], []
        for name, painting in paintings.items():
            h, w = painting.shape[-2:]
            for k in range(crops):
                fraction = 1.0 if k == 0 else _uniform(generator, 0.6, 1.0)
                ch, cw = max(16, round(h * fraction)), max(16, round(w * fraction))
                top = int(torch.randint(h - ch + 1, (), generator=generator))
                left = int(torch.randint(w - cw + 1, (), generator=generator))
                crop = painting[:, :, top : top + ch, left : left + cw]
                crop = crop.flip(-1) if k and float(torch.rand((), generator=generator)) < 0.5 else crop
                self.names.append(name)
                self.images.append(resize_image(crop.contiguous(), size, upscale=True))
                embedding = style_embedding(crop.contiguous())
                self.embeddings.append(embedding.clone())  # a normal tensor: inference tensors cannot join a graph

        self._grams: dict[int, list[dict[str, Tensor]]] = {}

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """One (style image, embedding) pair drawn uniformly."""
        return self.images[(index := self.sample_index(generator))], self.embeddings[index]

    def sample_index(self, generator: torch.Generator) -> int:
        """The index of one crop, drawn uniformly (the same draw as ``sample``)."""
        return int(torch.randint(len(self), (), generator=generator))

    def grams(self, extractor: VGGFeatures) -> list[dict[str, Tensor]]:
        """Each crop's Gram matrices at the five style layers, (C, C) float32, made once per extractor."""
        key = id(extractor)
        if key not in self._grams:
            device = extractor.mean.device
            with torch.no_grad():
                self._grams[key] = [
                    {
                        name: gram_matrix(features.float())[0]
                        for name, features in extractor(image.to(device), list(STYLE_LAYERS)).items()
                    }
                    for image in self.images
                ]
        return self._grams[key]


class AdjustableModel(nn.Module):
    """The conditioner in front of the frozen transformer: ``model(content, embedding, features)`` -> image.

    Args:
        conditioner: the trainable ``WeightConditioner``.

    The transformer's weights are frozen but the gradient flows through it into the embedding.
    """

    def __init__(self, conditioner: WeightConditioner) -> None:
        super().__init__()
        self.conditioner = conditioner
        self.transformer = [load_transformer()]  # in a list: not a submodule, so not in the state dict

    def forward(self, content_image: Tensor, embedding: Tensor, features: Tensor) -> Tensor:
        """(B, 3, H, W) photos, (B, 100) embeddings, (B, 6) weight features -> (B, 3, H, W) in (0, 1)."""
        adjusted = self.conditioner(embedding, features)
        return self.transformer[0](content_image.contiguous(memory_format=torch.channels_last), adjusted)


def _conditional_norms(transformer: nn.Module) -> list[ConditionalInstanceNorm]:
    return [m for m in transformer.modules() if isinstance(m, ConditionalInstanceNorm)]


def norm_sizes(transformer: nn.Module) -> list[int]:
    """The channels of each ``ConditionalInstanceNorm`` of ``transformer``, in the order ``norm_offsets`` takes them."""
    return [norm.to_gamma.out_features for norm in _conditional_norms(transformer)]


@contextlib.contextmanager
def norm_offsets(transformer: nn.Module, offsets: Sequence[Tensor], *, relative_gamma: bool = False) -> Iterator[None]:
    """While inside, every conditional norm of ``transformer`` paints with its γ and β moved by ``offsets``.

    Args:
        transformer: a network whose ``ConditionalInstanceNorm`` layers are moved (it is not changed otherwise).
        offsets: one (2C,) or (B, 2C) tensor per norm, in ``norm_sizes`` order: δγ then δβ.
        relative_gamma: γ becomes γ · (1 + δγ) instead of γ + δγ; β always becomes β + δβ.

    The trial designs of ``scripts/train_adjustable.py`` (the paper's Λ: weights -> norm parameters) and the
    shared-offset diagnosis of ``bench/adjustable_directions.py`` both move the norms this way. The offsets are
    added to the outputs of each norm's ``to_gamma`` and ``to_beta`` by forward hooks, removed on leaving.
    """
    norms = _conditional_norms(transformer)
    if len(offsets) != len(norms):
        raise ValueError(f"offsets: {len(norms)} conditional norms need {len(norms)} tensors, got {len(offsets)}")
    handles = []
    try:
        for norm, offset in zip(norms, offsets):
            channels = norm.to_gamma.out_features
            if offset.shape[-1] != 2 * channels:
                raise ValueError(
                    f"offsets: a norm of {channels} channels needs 2 x {channels} numbers, got {offset.shape}"
                )
            gamma, beta = offset[..., :channels], offset[..., channels:]
            move = (
                (lambda _, __, out, d=gamma: out * (1 + d)) if relative_gamma else (lambda _, __, out, d=gamma: out + d)
            )
            handles.append(norm.to_gamma.register_forward_hook(move))
            handles.append(norm.to_beta.register_forward_hook(lambda _, __, out, d=beta: out + d))
        yield
    finally:
        for handle in handles:
            handle.remove()


def setting_objective(
    extractor: VGGFeatures, content_image: Tensor, style_image: Tensor, setting: Setting
) -> StyleObjective:
    """``StyleObjective`` in balanced units with a setting's weights (content relu4_2, TV 0.01), for one pair."""
    options = StyleOptions(
        style_layers=dict(setting.style_layers), content_weight=setting.ratio, style_weight=1.0, tv_weight=TV_WEIGHT
    )
    return StyleObjective(extractor, content_image, [style_image], options)


def _per_image_mean(x: Tensor) -> Tensor:
    return x.flatten(1).mean(dim=1)


def _per_image_tv(images: Tensor) -> Tensor:
    down = images[:, :, 1:, :] - images[:, :, :-1, :]
    across = images[:, :, :, 1:] - images[:, :, :, :-1]
    return _per_image_mean(down**2) + _per_image_mean(across**2)


@dataclass
class Targets:
    """What ``layer_terms`` scores a batch against: row i belongs to image i.

    content: layer -> (B, C, H, W) features of each photo; grams: layer -> (B, C, C) Gram matrices of each painting;
    tv: (B,) each photo's roughness (the smoothness term's unit).
    """

    content: dict[str, Tensor]
    grams: dict[str, Tensor]
    tv: Tensor

    def first(self, count: int) -> Targets:
        """The targets of the batch's first ``count`` images."""
        return Targets(
            {n: t[:count] for n, t in self.content.items()},
            {n: t[:count] for n, t in self.grams.items()},
            self.tv[:count],
        )

    def repeat(self, times: int) -> Targets:
        """The batch repeated ``times`` times (the paired batches' second half)."""
        return Targets(
            {n: t.repeat(times, 1, 1, 1) for n, t in self.content.items()},
            {n: t.repeat(times, 1, 1) for n, t in self.grams.items()},
            self.tv.repeat(times),
        )


def content_targets(extractor: VGGFeatures, contents: Tensor, grams: Sequence[Mapping[str, Tensor]]) -> Targets:
    """``Targets`` for (B, 3, S, S) photos and one painting's Gram matrices per photo."""
    with torch.no_grad():
        features = extractor(contents, list(CONTENT_LAYERS))
    return Targets(
        {name: value.float() for name, value in features.items()},
        {name: torch.stack([g[name] for g in grams]) for name in STYLE_LAYERS},
        _per_image_tv(contents.float()),
    )


def draw_batch(
    extractor: VGGFeatures,
    photos: Sequence[Tensor],
    bank: PaintingBank,
    generator: torch.Generator,
    count: int,
    size: int,
) -> tuple[Tensor, Targets, Tensor]:
    """``count`` random photo crops, each with a random painting crop of ``bank``: the (count, 3, size, size) crops,
    their ``Targets`` and the paintings' (count, 100) embeddings. Draws the photos, their crops, then the
    paintings from ``generator``."""
    picks = [int(torch.randint(len(photos), (), generator=generator)) for _ in range(count)]
    contents = torch.cat([random_crop(photos[p], size, generator) for p in picks])
    crops = [bank.sample_index(generator) for _ in range(count)]
    grams = bank.grams(extractor)
    targets = content_targets(extractor, contents, [grams[k] for k in crops])
    return contents, targets, torch.cat([bank.embeddings[k] for k in crops])


def layer_terms(extractor: VGGFeatures, images: Tensor, targets: Targets) -> Tensor:
    """Every term of ``StyleObjective`` in balanced units, for each image of a batch against its own targets.

    Args:
        extractor: the VGG19 of the objective.
        images: (B, 3, S, S) in [0, 1]; row i is scored against row i of ``targets``.
        targets: from ``content_targets``.

    Returns:
        float32 (B, 7), columns ``TERMS``: mean((F - P)²)/mean(P²) at the content layer, mean((G_l - A_l)²)/mean(A_l²)
        for each style layer, tv(x)/tv(photo). ``terms @ setting.term_weights()`` is the objective's total.
    """
    features = extractor(images, sorted({*CONTENT_LAYERS, *STYLE_LAYERS}, key=TORCHVISION_INDEX.__getitem__))
    total_weight = sum(CONTENT_LAYERS.values())
    content = sum(
        weight
        / total_weight
        * _per_image_mean((features[name].float() - targets.content[name]) ** 2)
        / _per_image_mean(targets.content[name] ** 2)
        for name, weight in CONTENT_LAYERS.items()
    )
    style = [
        _per_image_mean((gram_matrix(features[name].float()) - targets.grams[name]) ** 2)
        / _per_image_mean(targets.grams[name] ** 2)
        for name in STYLE_LAYERS
    ]
    tv = _per_image_tv(images.float()) / torch.where(targets.tv > 0, targets.tv, 1.0)  # flat photo: plain units
    return torch.stack([content, *style, tv], dim=1)


def batch_loss(
    model: nn.Module,
    extractor: VGGFeatures,
    contents: Tensor,
    targets: Targets,
    embeddings: Tensor,
    settings: Sequence[Setting],
    repeats: int = 1,
) -> tuple[Tensor, list[dict]]:
    """Mean over the batch of each image's objective total relative to ``fast_stylize``'s, and each image's parts.

    Args:
        model: ``model(contents, embeddings, features)`` -> images.
        extractor: the VGG19 the objective scores with.
        contents: (B, 3, S, S) photos; targets: their ``Targets`` (the paintings' Gram matrices included);
        embeddings: (B, 100) the paintings' embeddings.
        settings: B loss-weight settings.
        repeats: the batch is its first B / repeats rows of photos, targets and embeddings repeated (only the
            settings differ), so ``fast_stylize``'s pictures are made and scored once for those rows.

    Returns:
        The mean relative loss (a scalar with a graph back to the model) and one record per image.
    """
    device = contents.device
    features = torch.cat([s.features() for s in settings]).to(device)
    weights = torch.stack([s.term_weights() for s in settings]).to(device)
    images = model(contents, embeddings, features).contiguous()
    unique = contents.shape[0] // repeats
    with torch.no_grad():
        first = contents[:unique].contiguous(memory_format=torch.channels_last)
        references = load_transformer(device)(first, embeddings[:unique]).contiguous()
        reference_terms = layer_terms(extractor, references, targets.first(unique)).repeat(repeats, 1)
        reference_totals = (reference_terms * weights).sum(dim=1)
    terms = layer_terms(extractor, images, targets)
    relative = (terms * weights).sum(dim=1) / reference_totals
    records = []
    for i, setting in enumerate(settings):
        shares = weights[i, 1:-1]
        records.append(
            {
                "relative": float(relative[i].detach()),
                "total": float((terms[i] * weights[i]).sum().detach()),
                "content": float(terms[i, 0].detach()),
                "style": float((terms[i, 1:-1] * shares).sum().detach()),
                "style_layers": terms[i, 1:-1].detach().tolist(),
                "ratio": setting.ratio,
            }
        )
    return relative.mean(), records


def train_steps(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    extractor: VGGFeatures,
    photos: Sequence[Tensor],
    bank: PaintingBank,
    generator: torch.Generator,
    *,
    steps: int,
    batch: int,
    size: int,
    paired: bool = False,
    near: float = 0.0,
    callback: Callable[[int, float, list[dict]], object] | None = None,
) -> list[float]:
    """Run ``steps`` optimizer steps; each draws ``batch`` photo crops, paintings and settings from ``generator``.

    Args:
        model, optimizer: what is trained, and how.
        extractor: the VGG19 of the objective.
        photos: (1, 3, H, W) training photos; bank: the training paintings' crops.
        generator: the one random stream (save its state to resume exactly).
        steps, batch, size: how many steps, images per step, and the crops' side in pixels.
        paired: the second half of each batch repeats the first half's crops and paintings with one layer
            ``boosted`` (``batch`` must be even).
        near: the share of settings drawn near-balanced (``sample_setting``'s ``near``).
        callback: ``callback(step, loss, records)`` after every step; returning False stops.

    Returns:
        The loss of every step.
    """
    if batch < 1 or (paired and batch % 2):
        raise ValueError(f"batch must be {'an even number >= 2' if paired else '>= 1'} here, got {batch}")
    losses, drawn = [], batch // 2 if paired else batch
    for step in range(steps):
        contents, targets, embeddings = draw_batch(extractor, photos, bank, generator, drawn, size)
        settings = [sample_setting(generator, near=near) for _ in range(drawn)]
        if paired:
            contents, embeddings, targets = (
                torch.cat([contents, contents]),
                torch.cat([embeddings] * 2),
                targets.repeat(2),
            )
            settings = settings + [boosted(setting, generator) for setting in settings]
        loss, records = batch_loss(model, extractor, contents, targets, embeddings, settings, 2 if paired else 1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(float(loss.detach()))
        if callback is not None and callback(step, losses[-1], records) is False:
            break
    return losses


def fit_one_pair(
    conditioner: WeightConditioner,
    extractor: VGGFeatures,
    content_image: Tensor,
    style_image: Tensor,
    embedding: Tensor,
    settings: Sequence[Setting],
    *,
    steps: int,
    lr: float = 3e-3,
) -> list[list[float]]:
    """Train ``conditioner`` on one photo and one painting under several settings at once, with Adam.

    A diagnosis rather than training: can the conditioner give different settings different pictures at all?
    The loss of a step is the mean over ``settings`` of each total relative to ``fast_stylize``'s; only the
    conditioner's parameters that require a gradient are trained (freeze ``conditioner.direct`` to try the
    MLP alone).

    Args:
        conditioner: trained in place.
        extractor: the VGG19 of the objective.
        content_image, style_image: (1, 3, H, W) in [0, 1]; embedding: the painting's (1, 100).
        settings: the settings trained on together.
        steps, lr: Adam steps and learning rate.

    Returns:
        For every step, the style-layer terms (relu1_1 ... relu5_1) of the pictures that step was taken from, one
        flat list per step: ``record[step][5 * k + l]`` is layer l under setting k (nan for a layer not in it).
    """
    transformer = load_transformer(content_image.device)
    objectives = [setting_objective(extractor, content_image, style_image, s) for s in settings]
    features = torch.cat([s.features() for s in settings]).to(content_image.device)
    with torch.no_grad():
        reference = transformer(content_image, embedding).contiguous()
        references = [float(objective(reference)[0]) for objective in objectives]
    trained = [p for p in conditioner.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trained, lr=lr)
    batch = content_image.expand(len(settings), -1, -1, -1).contiguous(memory_format=torch.channels_last)
    record = []
    for _ in range(steps):
        images = transformer(batch, conditioner(embedding, features)).contiguous()
        losses, terms = [], []
        for k, objective in enumerate(objectives):
            total, parts = objective(images[k : k + 1])
            losses.append(total / references[k])
            own = dict(zip(objective.style_targets, parts["style_layers"].tolist()))
            terms += [own.get(name, math.nan) for name in STYLE_LAYERS]  # an off layer has no term: nan
        record.append(terms)
        optimizer.zero_grad(set_to_none=True)
        torch.stack(losses).mean().backward()
        optimizer.step()
    return record


def shared_offsets(
    extractor: VGGFeatures,
    photos: Sequence[Tensor],
    bank: PaintingBank,
    generator: torch.Generator,
    settings: Sequence[Setting],
    *,
    pairs: int = 2,
    steps: int = 20,
    lr: float = 0.05,
    size: int = 128,
    twins: bool = True,
) -> tuple[Tensor, Tensor]:
    """For each setting, the one embedding offset δ that paints ``pairs`` random photo crops and paintings best.

    The frozen transformer paints every pair with e + δ (e the painting's own embedding); δ starts at 0 and
    takes ``steps`` Adam steps on the mean over its pairs of the objective's total relative to ``fast_stylize``'s
    (the loss of ``batch_loss``). All settings are fitted at once, in one batch of len(settings) × pairs images.
    With ``twins`` the settings come in twins (the first half and the second half, as ``boosted`` makes them) and
    setting k and k + n/2 share their pairs, so the two offsets differ only by what the weights ask for.

    Returns:
        (n, 100) the offsets and (n,) each setting's last relative loss (below 1: better than ``fast_stylize``).
    """
    count = len(settings)
    drawn = count // 2 if twins else count
    contents, targets, embeddings = draw_batch(extractor, photos, bank, generator, drawn * pairs, size)
    if twins:
        contents, targets, embeddings = torch.cat([contents] * 2), targets.repeat(2), torch.cat([embeddings] * 2)
    weights = torch.stack([s.term_weights() for s in settings]).repeat_interleave(pairs, dim=0)
    transformer = load_transformer(contents.device)
    batch = contents.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        references = (layer_terms(extractor, transformer(batch, embeddings).contiguous(), targets) * weights).sum(1)
    offsets = torch.zeros(count, embeddings.shape[1], requires_grad=True)
    optimizer = torch.optim.Adam([offsets], lr=lr)
    for _ in range(steps):
        images = transformer(batch, embeddings + offsets.repeat_interleave(pairs, dim=0)).contiguous()
        relative = (layer_terms(extractor, images, targets) * weights).sum(1) / references
        optimizer.zero_grad(set_to_none=True)
        (relative.sum() / pairs).backward()  # each offset gets the gradient of its own pairs' mean
        optimizer.step()
    return offsets.detach(), relative.detach().view(count, pairs).mean(1)


def distill(
    conditioner: WeightConditioner,
    features: Tensor,
    offsets: Tensor,
    embeddings: Tensor,
    generator: torch.Generator,
    *,
    steps: int = 2000,
    batch: int = 64,
    lr: float = 3e-3,
) -> list[float]:
    """Fit the conditioner's move A(e, u) + D u to offsets found by ``shared_offsets``: mean squared error.

    Args:
        conditioner: trained in place.
        features: (n, 6) the settings' ``weight_features``; offsets: (n, 100) their offsets.
        embeddings: (m, 100) the training paintings' embeddings; each row of a step pairs a random setting with a
            random painting (the offsets are shared by every painting).
        steps, batch, lr: Adam steps, rows per step, learning rate.

    Returns:
        The loss of every step.
    """
    optimizer = torch.optim.Adam(conditioner.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        rows = torch.randint(len(features), (batch,), generator=generator)
        paintings = torch.randint(len(embeddings), (batch,), generator=generator)
        e = embeddings[paintings]
        loss = ((conditioner(e, features[rows]) - e - offsets[rows]) ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses
