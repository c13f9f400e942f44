"""``fusion``: encoder, global-feature branch and fusion layer (Iizuka et al. 2016)."""

from __future__ import annotations

import torch
from torch import nn

from ..exceptions import InputError
from .base import ColorizerNet
from .layers import channels, conv_relu

__all__ = ["FusionColorizer"]

# Side of the blank image that measures a user backbone's feature size.
_PROBE_SIZE = 224


class FusionColorizer(ColorizerNet):
    """A colorizer network with global image context fused into every pixel.

    The architecture of Iizuka, Simo-Serra & Ishikawa (2016, "Let there be
    Color!", SIGGRAPH) as simplified by Baldassarre, Morín & Rodés-Guirao
    (2017, "Deep Koalarization"):

    - **low-level encoder**: 3x3 conv + batch norm + ReLU, width -> 2w -> 2w
      -> 4w -> 4w -> 8w channels, three of them with stride 2 (H/8);
    - **mid-level**: 8w -> 4w channels at H/8;
    - **global branch**: from the low-level features, four more 3x3
      convolutions (two with stride 2), global average pooling and an MLP
      (8w -> 16w -> 8w -> 4w): one vector that sees the whole galaxy;
    - **fusion layer**: the vector is replicated over the H/8 x W/8 grid,
      concatenated with the mid-level features and mixed by a 1x1 conv;
    - **decoder**: three 4x4 transposed convolutions with stride 2 (4w ->
      2w -> w -> w/2, batch norm, ReLU) and a 3x3 output convolution.

    Stride 8. The pooled global branch makes the model work at any input
    size, not only the one it was trained at.

    Parameters
    ----------
    width : int, optional
        Channels of the first layer (default 32: 4.3 M parameters, 17 MB of
        float32 weights; 64 gives Iizuka's 256-d fusion vector and 17 M
        parameters).
    backbone : torch.nn.Module, optional
        A pretrained feature extractor to use as the global branch instead
        of the learned convolutions (Baldassarre et al. used
        Inception-ResNet-v2, Iizuka a network trained for scene labels). It
        receives the grey image as ``(B, 3, H, W)`` with L / 100 in all
        three channels (add your own normalisation inside the module, e.g.
        ImageNet mean/std), and must return ``(B, D)`` or ``(B, D, h, w)``
        features (pooled). Pretrained weights cannot be downloaded by
        galcolor; build the module yourself (e.g. from torchvision with
        weights you have locally). Its weights are saved with the model, but
        to rebuild or load such a model pass the module again:
        ``get_model(**{**config, "backbone": module})`` or
        ``load_weights(path, backbone=module)``.
    backbone_dim : int, optional
        D; measured with one forward pass of a blank 224 x 224 image when
        not given.
    freeze_backbone : bool, optional
        Keep the backbone's weights fixed and its batch norm in eval mode
        (default True).
    head : {"regression", "classification"}, optional
        Default "regression".
    **head_options
        See :class:`~galcolor.models.ColorizerNet`.

    Examples
    --------
    >>> import torch
    >>> model = FusionColorizer(width=4)
    >>> model(torch.full((2, 1, 32, 32), 50.0)).shape
    torch.Size([2, 2, 32, 32])

    A user-supplied backbone (here a toy one) replaces the learned global
    branch:

    >>> toy_backbone = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3), torch.nn.AdaptiveAvgPool2d(1))
    >>> model = FusionColorizer(width=4, backbone=toy_backbone)
    >>> model.config()["backbone"], model.config()["backbone_dim"]
    ('torch.nn.modules.container.Sequential', 6)
    """

    name = "fusion"
    stride = 8

    def __init__(
        self,
        *,
        width: int = 32,
        backbone: nn.Module | str | None = None,
        backbone_dim: int | None = None,
        freeze_backbone: bool = True,
        head: str = "regression",
        **head_options,
    ) -> None:
        super().__init__(head=head, **head_options)
        width = int(width)
        if width < 1:
            raise InputError(f"width must be >= 1, got {width}")
        if isinstance(backbone, str):
            raise InputError(
                f"this fusion model was built with a user-supplied backbone ({backbone}); "
                "pass the module itself again: get_model(**{**config, 'backbone': module}) "
                "or load_weights(path, backbone=module)"
            )
        if backbone is not None and not isinstance(backbone, nn.Module):
            raise InputError(f"backbone must be a torch.nn.Module, got {type(backbone).__name__}")
        w = lambda factor: channels(width, factor)  # noqa: E731

        self.low_level = nn.Sequential(
            conv_relu(1, w(1), stride=2, batch_norm=True),
            conv_relu(w(1), w(2), batch_norm=True),
            conv_relu(w(2), w(2), stride=2, batch_norm=True),
            conv_relu(w(2), w(4), batch_norm=True),
            conv_relu(w(4), w(4), stride=2, batch_norm=True),
            conv_relu(w(4), w(8), batch_norm=True),
        )
        self.mid_level = nn.Sequential(
            conv_relu(w(8), w(8), batch_norm=True),
            conv_relu(w(8), w(4), batch_norm=True),
        )
        self.backbone = backbone
        self.freeze_backbone = bool(freeze_backbone)
        if backbone is None:
            # No batch norm here: at 32 px the branch ends at 1 x 1, where a
            # batch of one would have a single value per channel.
            self.global_convs = nn.Sequential(
                conv_relu(w(8), w(8), stride=2),
                conv_relu(w(8), w(8)),
                conv_relu(w(8), w(8), stride=2),
                conv_relu(w(8), w(8)),
            )
            global_dim = w(8)
            backbone_dim = None
        else:
            self.global_convs = None
            if self.freeze_backbone:
                backbone.requires_grad_(False)
            if backbone_dim is None:
                backbone_dim = self._measure_backbone(backbone)
            global_dim = int(backbone_dim)
        self.global_mlp = nn.Sequential(
            nn.Linear(global_dim, w(16)), nn.ReLU(inplace=True),
            nn.Linear(w(16), w(8)), nn.ReLU(inplace=True),
            nn.Linear(w(8), w(4)), nn.ReLU(inplace=True),
        )
        self.fusion = nn.Sequential(nn.Conv2d(w(4) + w(4), w(4), 1), nn.ReLU(inplace=True))
        decoder: list[nn.Module] = []
        previous = w(4)
        for factor in (2, 1, 0.5):
            decoder += [
                nn.ConvTranspose2d(previous, w(factor), 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(w(factor)),
                nn.ReLU(inplace=True),
            ]
            previous = w(factor)
        decoder.append(nn.Conv2d(previous, self.out_channels, 3, padding=1))
        self.decoder = nn.Sequential(*decoder)

        self._architecture_options = {"width": width}
        if backbone is not None:
            kind = type(backbone)
            self._architecture_options.update({
                "backbone": f"{kind.__module__}.{kind.__qualname__}",
                "backbone_dim": global_dim,
                "freeze_backbone": self.freeze_backbone,
            })

    @staticmethod
    def _measure_backbone(backbone: nn.Module) -> int:
        was_training = backbone.training
        backbone.eval()
        try:
            parameter = next(backbone.parameters(), None)
            device = parameter.device if parameter is not None else "cpu"
            with torch.no_grad():
                features = backbone(torch.zeros(1, 3, _PROBE_SIZE, _PROBE_SIZE, device=device))
        finally:
            backbone.train(was_training)
        if not isinstance(features, torch.Tensor) or features.ndim not in (2, 4):
            raise InputError(
                "backbone must return (B, D) or (B, D, h, w) features, got "
                f"{tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__}"
            )
        return int(features.shape[1])

    def train(self, mode: bool = True) -> "FusionColorizer":
        super().train(mode)
        if self.backbone is not None and self.freeze_backbone:
            self.backbone.eval()  # frozen: its batch-norm statistics stay fixed too
        return self

    def _global_features(self, normalized_lightness: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        if self.backbone is None:
            features = self.global_convs(low)
        else:
            grey = ((normalized_lightness + 1.0) / 2.0).expand(-1, 3, -1, -1)
            features = self.backbone(grey)
        if features.ndim == 4:
            features = features.mean(dim=(2, 3))
        return self.global_mlp(features.flatten(1))

    def network(self, normalized_lightness: torch.Tensor) -> torch.Tensor:
        low = self.low_level(normalized_lightness)
        mid = self.mid_level(low)
        vector = self._global_features(normalized_lightness, low)
        replicated = vector[:, :, None, None].expand(-1, -1, *mid.shape[-2:])
        fused = self.fusion(torch.cat([mid, replicated.to(mid.dtype)], dim=1))
        return self.decoder(fused)
