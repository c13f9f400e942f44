"""galcolor.models: every registered network, both heads, and safe weights files."""

from __future__ import annotations

import json
import math

import pytest
import torch

import galcolor
import galcolor.styles
from torch import nn

from galcolor import FileFormatError, GalcolorError, InputError
from galcolor.color import AbGrid, annealed_mean, rebalance_weights, soft_encode
from galcolor.models import (
    AB_SCALE,
    ColorizerNet,
    WeightsError,
    default_galaxy_grid,
    get_model,
    list_models,
    load_weights,
    save_weights,
    sha256_of,
)

# Tiny versions of every architecture: a few thousand parameters, so that
# 20 optimisation steps of all of them take about a second on one core.
TINY = {
    "baseline": {"width": 4},
    "fusion": {"width": 4},
    "unet": {"width": 4, "depth": 2},
}
HEADS = ("regression", "classification")
# A 5 x 5 grid 8 units apart keeps the classification layers tiny too.
SMALL_GRID = AbGrid([[a, b] for a in range(-16, 17, 8) for b in range(-16, 17, 8)], 8.0)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models run fastest on one thread, and do not fight other jobs for cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_model(name: str, head: str = "regression", **options) -> ColorizerNet:
    torch.manual_seed(0)
    if head == "classification":
        options.setdefault("grid", SMALL_GRID)
    return get_model(name, head=head, **{**TINY[name], **options})


def galaxy_batch(size: int = 32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(lightness, ab, weight) of two smooth synthetic galaxies: color follows L and position."""
    y, x = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    lightness = (80.0 * torch.exp(-(x**2 + y**2) / 0.2)).expand(2, 1, size, size).clone()
    lightness[1] = lightness[1] * 0.7 + 10.0
    ab = torch.stack([0.2 * (lightness[:, 0] - 40.0), 12.0 * torch.tanh(3.0 * x).expand(2, size, size)], 1)
    weight = 1.0 + 3.0 * (lightness > 15.0).float()  # galaxy pixels count more, as the trainer does
    return lightness, ab, weight


def adam_losses(model: ColorizerNet, steps: int = 20) -> list[float]:
    """The loss on :func:`galaxy_batch` over ``steps`` Adam steps (lr 1e-2)."""
    lightness, ab, weight = galaxy_batch()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = model.loss(model(lightness), ab, weight)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def out_channels(head: str) -> int:
    return 2 if head == "regression" else SMALL_GRID.num_bins


# -- registry ----------------------------------------------------------------


def test_registry_lists_the_three_architectures():
    assert list_models() == ["baseline", "fusion", "unet"]


def test_unknown_model_name_lists_the_available_ones():
    with pytest.raises(InputError, match="baseline, fusion, unet"):
        get_model("resnet")


@pytest.mark.parametrize("options", [{"head": "softmax"}, {"color": "blue"}, {"loss": "l3"},
                                     {"head": "classification", "loss": "l1"}])
def test_bad_options_are_input_errors(options):
    with pytest.raises(InputError):
        get_model("unet", **{**TINY["unet"], **options})


def test_default_widths():
    """The issue's baseline widths; CPU-sized defaults for the others."""
    baseline = get_model("baseline")
    encoder_widths = [block[0].out_channels for block in baseline.layers if isinstance(block, nn.Sequential)]
    assert encoder_widths == [64, 128, 128, 256, 256, 512, 512, 256, 128, 64, 32, 16]
    assert baseline.layers[-2].out_channels == 2
    assert get_model("fusion").config()["width"] == 32
    assert get_model("unet").config() == {
        "name": "unet", "head": "regression", "width": 16, "depth": 4, "loss": "l1", "huber_delta": 2.0,
    }
    assert baseline.config()["loss"] == "l2"  # the tutorial's MSE


# -- every model, both heads --------------------------------------------------


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("name", list_models())
def test_forward_shapes(name, head):
    model = tiny_model(name, head)
    assert model.name == name and model.head == head
    lightness, _, _ = galaxy_batch()
    assert model(lightness).shape == (2, out_channels(head), 32, 32)
    # Any multiple of the stride works, not only squares.
    wide = torch.full((1, 1, model.stride * 2, model.stride * 3), 40.0)
    assert model(wide).shape == (1, out_channels(head), model.stride * 2, model.stride * 3)


@pytest.mark.parametrize("name", list_models())
def test_regression_output_stays_within_ab_scale(name):
    model = tiny_model(name)
    with torch.no_grad():  # push the pre-activation far into saturation
        for parameter in model.parameters():
            parameter.mul_(30.0)
    lightness = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 100.0
    ab = model(lightness)
    assert AB_SCALE == 110.0
    assert ab.abs().max() <= AB_SCALE
    assert ab.dtype == torch.float32


@pytest.mark.parametrize("name", list_models())
def test_classification_predicts_colors_inside_the_grid_with_a_spread(name):
    model = tiny_model(name, "classification").eval()
    lightness, _, _ = galaxy_batch()
    ab, ab_std = model.predict(lightness)
    assert ab.shape == ab_std.shape == (2, 2, 32, 32)
    # The annealed mean is a convex combination of bin centres.
    assert ab.abs().max() <= 16.0 + 1e-4
    assert (ab_std >= 0).all() and ab_std.max() > 0
    assert not ab.requires_grad and not ab_std.requires_grad


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("name", list_models())
def test_gradient_reaches_the_first_layer(name, head):
    model = tiny_model(name, head)
    lightness, ab, weight = galaxy_batch()
    model.loss(model(lightness), ab, weight).backward()
    first = next(model.parameters())
    assert first.grad is not None and torch.isfinite(first.grad).all()
    assert first.grad.abs().sum() > 0


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("name", list_models())
def test_a_few_adam_steps_reduce_the_loss(name, head):
    losses = adam_losses(tiny_model(name, head))
    # Measured: regression losses fall to 0.16-0.31 of the start, the
    # cross-entropy (whose floor is the entropy of the soft targets, ~ln 5)
    # to 0.67-0.85. A 10% drop separates learning from noise.
    assert losses[-1] < 0.9 * losses[0]


@pytest.mark.parametrize("name", list_models())
def test_input_not_a_multiple_of_the_stride_is_refused_naming_the_shape(name):
    model = tiny_model(name)
    size = model.stride * 4
    with pytest.raises(InputError, match=rf"multiples of {model.stride}.*\(2, 1, {size - 2}, {size}\)"):
        model(torch.zeros(2, 1, size - 2, size))


def test_input_with_three_channels_is_refused_naming_the_shape():
    with pytest.raises(InputError, match=r"\(B, 1, H, W\), got \(2, 3, 32, 32\)"):
        tiny_model("unet")(torch.zeros(2, 3, 32, 32))


def test_unet_stride_follows_depth():
    assert get_model("unet", width=2, depth=3).stride == 8
    assert get_model("unet", width=2, depth=1).stride == 2
    assert get_model("unet", width=2, depth=3, input_stride=2).stride == 16


@pytest.mark.parametrize("head", HEADS)
def test_unet_with_input_stride_runs_at_lower_resolution_and_learns(head, tmp_path):
    model = tiny_model("unet", head, input_stride=2)
    lightness, ab, weight = galaxy_batch()
    output = model(lightness)
    assert output.shape == (2, out_channels(head), 32, 32)
    # the first convolution halves the resolution
    first = model.encoder[0][0][0]
    assert first.stride == (2, 2)
    losses = adam_losses(model)
    assert losses[-1] < 0.9 * losses[0]
    # the option travels with the weights; plain U-Nets keep their old config
    assert model.config()["input_stride"] == 2 and "input_stride" not in get_model("unet").config()
    save_weights(model, tmp_path / "fast.pt")
    loaded = load_weights(tmp_path / "fast.pt")
    assert loaded.stride == model.stride
    torch.testing.assert_close(loaded(lightness), model.eval()(lightness))
    with pytest.raises(InputError, match="input_stride must be 1, 2 or 4"):
        get_model("unet", input_stride=3)


@pytest.mark.parametrize("input_stride", [1, 2])
def test_widened_unet_computes_the_same_colors_and_trains_its_new_channels(input_stride):
    narrow = tiny_model("unet", input_stride=input_stride)
    adam_losses(narrow, steps=5)  # trained weights and batch-norm statistics, not the initial ones
    wide = narrow.widened(6, seed=1)
    assert wide.config() == {**narrow.config(), "width": 6}
    assert wide.encoder[1][0][0].out_channels == 12 and wide.decoder[-1][0][0].in_channels == 12
    lightness, ab, weight = galaxy_batch()
    # float32 sums of the same terms in another order: equal to ~1e-6 of the tanh scale
    for mode in (False, True):  # evaluation, then training (batch statistics)
        torch.testing.assert_close(wide.train(mode)(lightness), narrow.train(mode)(lightness),
                                   atol=1e-4, rtol=1e-5)
    # the weights from the new channels into the old outputs start at zero, the new channels'
    # own weights do not; the first loss gradient already reaches those zero weights
    decoder_input = wide.decoder[-1][0][0].weight  # input channels: skip 0..5, then upsampled 6..11
    assert torch.count_nonzero(decoder_input[:4, 4:6]) == 0
    assert torch.count_nonzero(decoder_input[:4, 10:]) == 0
    assert torch.count_nonzero(decoder_input[4:]) > 0
    wide.loss(wide.train()(lightness), ab, weight).backward()
    assert decoder_input.grad[:4, 4:6].abs().sum() > 0
    assert narrow.config()["width"] == 4  # the original is untouched
    losses = adam_losses(wide, steps=10)
    assert losses[-1] < losses[0]
    with pytest.raises(InputError, match="at least this network's 4"):
        narrow.widened(3)


def test_forward_under_bf16_autocast_returns_float32():
    model = tiny_model("unet", "classification")
    lightness, ab, weight = galaxy_batch(16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        output = model(lightness)
        loss = model.loss(output, ab, weight)
    assert output.dtype == torch.float32 and torch.isfinite(loss)


# -- losses --------------------------------------------------------------------


@pytest.mark.parametrize("kind, expected", [
    # error (3, -1) on the first pixel, (0, 0) on the second; weights (1, 3).
    ("l1", (3 + 1) / 2 / 4),
    ("l2", (9 + 1) / 2 / 4),
    # Huber, delta 2: 0.5 * 1^2 for |1|, 2 * (3 - 0.5 * 2) = 4 for |3|.
    ("huber", (4 + 0.5) / 2 / 4),
])
def test_regression_losses_are_weighted_means_in_lab_units(kind, expected):
    model = get_model("unet", width=2, depth=1, loss=kind)
    output = torch.tensor([[[[3.0, 0.0]], [[-1.0, 0.0]]]])
    ab = torch.zeros(1, 2, 1, 2)
    weight = torch.tensor([[[[1.0, 3.0]]]])
    assert model.loss(output, ab, weight).item() == pytest.approx(expected)


def test_de2000_loss_is_the_weighted_mean_ciede2000_and_set_loss_switches_to_it():
    model = get_model("unet", width=2, depth=1)
    assert model.config()["loss"] == "l1"
    assert model.set_loss("de2000") is model and model.config()["loss"] == "de2000"
    output = torch.tensor([[[[3.0, 10.0]], [[-1.0, 10.0]]]])
    ab = torch.tensor([[[[0.0, 10.0]], [[0.0, 12.0]]]])
    weight = torch.tensor([[[[1.0, 3.0]]]])
    # skimage's CIEDE2000 of the two pixels (the lightness does not matter when it is equal)
    from skimage.color import deltaE_ciede2000

    lab_out = torch.cat([torch.full((1, 1, 1, 2), 40.0), output], 1)[0].permute(1, 2, 0).numpy()
    lab_true = torch.cat([torch.full((1, 1, 1, 2), 40.0), ab], 1)[0].permute(1, 2, 0).numpy()
    per_pixel = deltaE_ciede2000(lab_out, lab_true, channel_axis=-1)[0]
    expected = (per_pixel[0] * 1 + per_pixel[1] * 3) / 4
    # within the 0.01 that the default eps under the square roots allows
    assert model.loss(output, ab, weight).item() == pytest.approx(expected, abs=1e-2)
    with pytest.raises(InputError, match="loss must be one of"):
        model.set_loss("ssim")
    with pytest.raises(InputError, match="only a regression head"):
        tiny_model("unet", "classification").set_loss("l1")


def test_loss_ignores_zero_weight_pixels_and_is_zero_without_any():
    model = get_model("unet", width=2, depth=1)
    output = torch.tensor([[[[5.0, 1.0]], [[5.0, 1.0]]]])
    ab = torch.zeros(1, 2, 1, 2)
    assert model.loss(output, ab, torch.tensor([[[[0.0, 2.0]]]])).item() == pytest.approx(1.0)
    assert model.loss(output, ab, torch.zeros(1, 1, 1, 2)).item() == 0.0
    assert model.loss(output, ab).item() == pytest.approx(3.0)  # no weight: plain mean


def test_classification_loss_is_rebalanced_cross_entropy_against_soft_targets():
    """Zhang et al. eq. 2 written out with the public functions."""
    model = tiny_model("unet", "classification")
    generator = torch.Generator().manual_seed(3)
    logits = torch.randn(2, SMALL_GRID.num_bins, 4, 4, generator=generator)
    ab = torch.randn(2, 2, 4, 4, generator=generator) * 12.0
    weight = torch.rand(2, 1, 4, 4, generator=generator)
    target = soft_encode(ab, SMALL_GRID, k=5)
    cross_entropy = -(target * torch.log_softmax(logits, 1)).sum(1)
    rebalance = rebalance_weights(SMALL_GRID, lam=0.5)[SMALL_GRID.quantize(ab)]
    expected = (weight[:, 0] * rebalance * cross_entropy).sum() / weight.sum()
    assert model.loss(logits, ab, weight).item() == pytest.approx(expected.item(), rel=1e-5)


def test_loss_checks_shapes():
    model = tiny_model("unet")
    with pytest.raises(InputError, match=r"output must have shape \(B, 2, H, W\)"):
        model.loss(torch.zeros(1, 3, 4, 4), torch.zeros(1, 2, 4, 4))
    with pytest.raises(InputError, match=r"ab must have shape \(1, 2, 4, 4\), got \(1, 2, 4, 5\)"):
        model.loss(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 5))
    with pytest.raises(InputError, match=r"weight must have shape \(1, 1, 4, 4\), got \(1, 4, 4\)"):
        model.loss(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4), torch.ones(1, 4, 4))


# -- predict -----------------------------------------------------------------


def test_regression_predict_returns_the_forward_output_and_zero_spread():
    model = tiny_model("fusion").eval()
    lightness, _, _ = galaxy_batch()
    ab, ab_std = model.predict(lightness)
    assert torch.equal(ab, model(lightness)) and torch.equal(ab_std, torch.zeros_like(ab))


def test_classification_predict_uses_the_annealed_mean_and_its_temperature():
    model = tiny_model("unet", "classification", temperature=0.5).eval()
    lightness, _, _ = galaxy_batch()
    with torch.no_grad():
        logits = model(lightness)
    assert torch.allclose(model.predict(lightness)[0], annealed_mean(logits, SMALL_GRID, 0.5))
    mode = model.predict(lightness, temperature=0.0)[0]
    assert torch.allclose(mode, annealed_mean(logits, SMALL_GRID, 0.0))


def test_classification_defaults_to_the_sdss_galaxy_grid():
    model = get_model("unet", head="classification", width=2, depth=1)
    assert model.grid == default_galaxy_grid()
    assert model(torch.full((1, 1, 4, 4), 50.0)).shape == (1, 614, 4, 4)


# -- configuration and weights files ------------------------------------------------


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("name", list_models())
def test_config_is_json_and_rebuilds_the_same_architecture(name, head):
    model = tiny_model(name, head, **({"loss": "huber"} if head == "regression" else {"soft_k": 3}))
    config = json.loads(json.dumps(model.config()))
    rebuilt = get_model(**config)
    assert rebuilt.config() == model.config()
    assert {key: value.shape for key, value in rebuilt.state_dict().items()} == \
        {key: value.shape for key, value in model.state_dict().items()}
    rebuilt.load_state_dict(model.state_dict())


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("name", list_models())
def test_saved_weights_load_back_identically_with_their_checksum(tmp_path, name, head):
    model = tiny_model(name, head)
    lightness, ab, weight = galaxy_batch()
    model.loss(model(lightness), ab, weight).backward()  # move batch-norm statistics off their defaults
    model.eval()
    path = tmp_path / "weights" / f"{name}.pt"
    checksum = save_weights(model, path, extra={"epochs": 3, "val": {"delta_e00": 7.1}})
    assert checksum == sha256_of(path)
    loaded = load_weights(path, sha256=checksum)
    assert type(loaded) is type(model) and loaded.config() == model.config()
    assert not loaded.training
    assert loaded.weights_info == {"path": str(path), "sha256": checksum,
                                   "extra": {"epochs": 3, "val": {"delta_e00": 7.1}}}
    with torch.no_grad():
        assert torch.equal(loaded(lightness), model(lightness))
    assert list(tmp_path.joinpath("weights").iterdir()) == [path]  # no temporary left behind


def test_weights_file_holds_only_safe_types(tmp_path):
    path = tmp_path / "unet.pt"
    save_weights(tiny_model("unet", "classification"), path)
    payload = torch.load(path, weights_only=True)
    assert set(payload) == {"format", "format_version", "config", "state_dict", "extra"}
    json.dumps(payload["config"])


def test_tampered_weights_are_refused_naming_the_file_and_both_checksums(tmp_path):
    path = tmp_path / "unet.pt"
    checksum = save_weights(tiny_model("unet"), path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    actual = sha256_of(path)
    with pytest.raises(WeightsError, match="refusing tampered weights") as caught:
        load_weights(path, sha256=checksum)
    message = str(caught.value)
    assert str(path) in message and checksum in message and actual in message
    assert isinstance(caught.value, GalcolorError) and isinstance(caught.value, FileFormatError)
    assert isinstance(caught.value, OSError)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_weights_are_refused_naming_the_file(tmp_path, damage):
    path = tmp_path / "unet.pt"
    save_weights(tiny_model("unet"), path)
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"not a torch file" * 10,
                      "empty": b""}[damage])
    with pytest.raises(WeightsError, match="not a readable galcolor weights file") as caught:
        load_weights(path)
    assert str(path) in str(caught.value)


def test_missing_weights_file_is_refused_naming_it(tmp_path):
    with pytest.raises(WeightsError, match="missing.pt"):
        load_weights(tmp_path / "missing.pt")


class _Payload:
    """A class that torch.load(weights_only=True) must refuse to unpickle."""

    def __reduce__(self):
        return (print, ("arbitrary code ran",))


def test_weights_file_with_pickled_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format": "galcolor-weights", "config": {"name": "unet"}, "state_dict": {},
                "extra": _Payload()}, path)
    with pytest.raises(WeightsError, match="evil.pt"):
        load_weights(path)
    assert "arbitrary code ran" not in capsys.readouterr().out


def test_a_torch_file_that_is_not_galcolor_weights_is_refused(tmp_path):
    path = tmp_path / "tensor.pt"
    torch.save({"model": torch.zeros(3)}, path)
    with pytest.raises(WeightsError, match="not a galcolor weights file"):
        load_weights(path)


def test_save_refuses_extra_that_could_not_be_loaded_safely(tmp_path):
    with pytest.raises(InputError, match=r"extra\['when'\] is a object"):
        save_weights(tiny_model("unet"), tmp_path / "unet.pt", extra={"when": object()})
    assert not (tmp_path / "unet.pt").exists()


def test_save_unwraps_a_compiled_or_parallel_wrapper(tmp_path):
    class Wrapper(nn.Module):  # stands in for DistributedDataParallel(.module)
        def __init__(self, module):
            super().__init__()
            self.module = module

    model = tiny_model("unet")
    save_weights(Wrapper(model), tmp_path / "unet.pt")
    assert load_weights(tmp_path / "unet.pt").config() == model.config()


# -- a user-supplied backbone for the fusion model ---------------------------------


def toy_backbone() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(3, 5, 3, stride=4), nn.BatchNorm2d(5), nn.ReLU(), nn.AdaptiveAvgPool2d(1))


def test_fusion_with_a_frozen_backbone_trains_only_its_own_layers():
    backbone = toy_backbone()
    model = get_model("fusion", width=4, backbone=backbone).train()
    assert model.config()["backbone_dim"] == 5
    assert not any(parameter.requires_grad for parameter in backbone.parameters())
    assert not backbone.training  # frozen batch norm keeps its statistics
    lightness, ab, weight = galaxy_batch()
    model.loss(model(lightness), ab, weight).backward()
    assert all(parameter.grad is None for parameter in backbone.parameters())
    assert model.global_mlp[0].weight.grad.abs().sum() > 0


def test_fusion_with_a_backbone_needs_the_module_to_be_rebuilt(tmp_path):
    model = get_model("fusion", width=4, backbone=toy_backbone()).eval()
    config = json.loads(json.dumps(model.config()))
    assert config["backbone"] == "torch.nn.modules.container.Sequential"
    with pytest.raises(InputError, match="pass the module itself again"):
        get_model(**config)
    path = tmp_path / "fusion.pt"
    save_weights(model, path)
    loaded = load_weights(path, backbone=toy_backbone())
    lightness, _, _ = galaxy_batch()
    with torch.no_grad():
        assert torch.equal(loaded(lightness), model(lightness))
    with pytest.raises(WeightsError, match="pass the module itself again"):
        load_weights(path)


def test_unfrozen_backbone_is_fine_tuned():
    backbone = toy_backbone()
    model = get_model("fusion", width=4, backbone=backbone, freeze_backbone=False).train()
    assert backbone.training
    lightness, ab, weight = galaxy_batch()
    model.loss(model(lightness), ab, weight).backward()
    assert backbone[0].weight.grad.abs().sum() > 0


def test_tiny_models_are_tiny():
    """Keeps this file fast: if a tiny model grows, the step test slows down."""
    for name in list_models():
        parameters = sum(parameter.numel() for parameter in tiny_model(name).parameters())
        assert parameters < 100_000, (name, parameters)
    assert math.isclose(AB_SCALE, 110.0)


def test_shipped_default_weights_load_with_their_checksum_and_refuse_tampering(tmp_path, monkeypatch):
    import shutil

    from galcolor.models import WeightsError
    from galcolor.models import pretrained

    model = pretrained.load_pretrained()
    assert model.name == "unet" and model.head == "regression" and not model.training
    ab, _ = model.predict(torch.full((1, 1, 32, 32), 60.0))
    assert ab.shape == (1, 2, 32, 32) and torch.isfinite(ab).all()
    shutil.copytree(pretrained.WEIGHTS_DIR / "default", tmp_path / "default")
    tampered = tmp_path / "default" / "weights.pt"
    with open(tampered, "r+b") as handle:  # flip one byte deep inside the tensors
        handle.seek(4_000_000)
        byte = handle.read(1)
        handle.seek(4_000_000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(WeightsError, match="weights.pt"):
        pretrained.load_pretrained()
    with pytest.raises(galcolor.InputError, match="no shipped model 'best'"):
        pretrained.load_pretrained("best")


def test_a_bundle_carries_every_file_of_its_model_and_refuses_a_changed_calibration(tmp_path, monkeypatch):
    import json
    import shutil

    from galcolor.models import WeightsError, bundle_for_weights, pretrained

    bundle = pretrained.load_bundle("default")
    assert sorted(bundle.manifest["files"]) == ["card", "novelty", "region_classifier", "region_score", "styles",
                                                "uncertainty", "weights"]
    assert set(bundle.region_classifier()) == {"predicted"}
    assert sorted(bundle.styles()) == sorted(galcolor.styles.BUILTIN_STYLES)
    assert bundle.novelty_reference().weights_sha256 == bundle.weights_sha256
    assert bundle.residual_table().weights_sha256 == bundle.weights_sha256
    assert set(bundle.region_score()) == {"predicted"}  # the true-color calibration is the finder's own
    assert bundle.reference_radius == pytest.approx(30.4)
    assert bundle_for_weights(bundle.weights_sha256) == bundle and bundle_for_weights("0" * 64) is None
    # a calibration edited after the manifest was written is refused, not used
    shutil.copytree(pretrained.WEIGHTS_DIR / "default", tmp_path / "default")
    score = tmp_path / "default" / "region_score.json"
    data = json.loads(score.read_text())
    data["predicted"]["intercept"] += 1.0
    score.write_text(json.dumps(data))
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(WeightsError, match="region_score.json"):
        pretrained.load_bundle("default")
