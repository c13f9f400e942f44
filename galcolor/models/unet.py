"""``unet``: U-Net with skip connections and batch norm (Ronneberger et al. 2015)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..exceptions import InputError
from .base import Colorizer
from .layers import conv_relu

__all__ = ["UNetColorizer"]


def _double_conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        conv_relu(in_channels, out_channels, stride=stride, batch_norm=True),
        conv_relu(out_channels, out_channels, batch_norm=True),
    )


class UNetColorizer(Colorizer):
    """U-Net: an encoder-decoder whose skip connections carry fine detail.

    Each level is two 3x3 conv + batch norm + ReLU; the encoder halves the
    resolution with 2x2 max pooling and doubles the channels (width, 2 width,
    ..., 2**depth width), the decoder doubles it with 2x2 transposed
    convolutions and concatenates the encoder features of the same level
    (Ronneberger, Fischer & Brox 2015). A 1x1 convolution gives the output.
    Stride ``2 ** depth``.

    Skip connections keep the predicted colour aligned with the galaxy's
    structure (arms, knots), which a bottleneck-only decoder blurs.

    Parameters
    ----------
    width : int, optional
        Channels of the first level (default 16: with depth 4, 1.9 M
        parameters, 7.8 MB of float32 weights, trainable on a CPU; width 32
        is 7.8 M parameters, 31 MB).
    depth : int, optional
        Number of poolings (default 4: stride 16).
    input_stride : {1, 2, 4}, optional
        Resolution of the first level (default 1: the input's). With 2 (or
        4), the first convolution has that stride, the whole U-Net runs at
        half (a quarter of) the resolution, and its output (ab before the
        tanh, or the bin logits) is upsampled bilinearly to the input's
        size: colour varies more smoothly than lightness (Zhang et al. 2016
        predict ab at a quarter of the resolution), and the network costs
        about a third as much. The stride becomes ``input_stride * 2 ** depth``.
    head : {"regression", "classification"}, optional
        Default "regression".
    **head_options
        See :class:`~galcolor.models.Colorizer`.

    Examples
    --------
    >>> import torch
    >>> model = UNetColorizer(width=4, depth=2)
    >>> model.stride
    4
    >>> model(torch.full((1, 1, 8, 12), 50.0)).shape
    torch.Size([1, 2, 8, 12])
    >>> fast = UNetColorizer(width=4, depth=2, input_stride=2)
    >>> fast.stride, fast(torch.full((1, 1, 8, 16), 50.0)).shape
    (8, torch.Size([1, 2, 8, 16]))
    """

    name = "unet"
    default_loss = "l1"

    def __init__(self, *, width: int = 16, depth: int = 4, input_stride: int = 1, head: str = "regression",
                 **head_options) -> None:
        super().__init__(head=head, **head_options)
        width, depth, input_stride = int(width), int(depth), int(input_stride)
        if width < 1:
            raise InputError(f"width must be >= 1, got {width}")
        if depth < 1:
            raise InputError(f"depth must be >= 1, got {depth}")
        if input_stride not in (1, 2, 4):
            raise InputError(f"input_stride must be 1, 2 or 4, got {input_stride}")
        self.input_stride = input_stride
        self.stride = input_stride * 2 ** depth
        self._architecture_options = {"width": width, "depth": depth}
        if input_stride != 1:  # only when set, so that older weights files read the same
            self._architecture_options["input_stride"] = input_stride
        level_channels = [width * 2 ** level for level in range(depth + 1)]
        self.encoder = nn.ModuleList([_double_conv(1, width, stride=input_stride)])
        for level in range(1, depth + 1):
            self.encoder.append(_double_conv(level_channels[level - 1], level_channels[level]))
        self.pool = nn.MaxPool2d(2)
        self.upsample = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for level in range(depth, 0, -1):
            self.upsample.append(
                nn.ConvTranspose2d(level_channels[level], level_channels[level - 1], 2, stride=2)
            )
            self.decoder.append(_double_conv(2 * level_channels[level - 1], level_channels[level - 1]))
        self.output = nn.Conv2d(width, self.out_channels, 1)

    def network(self, normalized_lightness: torch.Tensor) -> torch.Tensor:
        skips = []
        features = normalized_lightness
        for level, block in enumerate(self.encoder):
            features = block(features if level == 0 else self.pool(features))
            skips.append(features)
        skips.pop()  # the bottleneck has no partner
        for upsample, block in zip(self.upsample, self.decoder):
            features = block(torch.cat([skips.pop(), upsample(features)], dim=1))
        output = self.output(features)
        if self.input_stride != 1:
            output = F.interpolate(output, size=normalized_lightness.shape[-2:], mode="bilinear",
                                   align_corners=False)
        return output
