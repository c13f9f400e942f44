"""``baseline``: the all-convolutional reference network of the seed tutorial."""

from __future__ import annotations

import torch
from torch import nn

from ..exceptions import InputError
from .base import ColorizerNet
from .layers import channels, conv_relu

__all__ = ["BaselineColorizer"]

# Encoder channels as multiples of the width, and which convolutions halve
# the resolution (stride 2): 64 -> 128 -> 128 -> 256 -> 256 -> 512 -> 512 -> 256
# at the default width of 64.
_ENCODER = ((1, 2), (2, 1), (2, 2), (4, 1), (4, 2), (8, 1), (8, 1), (4, 1))
# Decoder: (channels / width, upsample x2 after this convolution).
_DECODER = ((2, True), (1, True), (0.5, False), (0.25, False))


class BaselineColorizer(ColorizerNet):
    """The reference network every other model must beat.

    The "Beta" network of Emil Wallner's colorization tutorial (2017), which
    galcolor started from: an all-convolutional VGG-style encoder of 3x3
    convolutions with ReLU, three of them with stride 2 (64 -> 128 -> 128 ->
    256 -> 256 -> 512 -> 512 -> 256 channels), and a decoder of 3x3
    convolutions and x2 nearest-neighbour upsampling (128 -> 64 -> 32 -> 16
    -> 2, tanh). No batch norm, no skip connections. Stride 8.

    Parameters
    ----------
    width : int, optional
        Channels of the first layer; all others scale with it (default 64,
        the tutorial's: 6.2 M parameters, 25 MB of float32 weights).
    head : {"regression", "classification"}, optional
        Default "regression".
    **head_options
        See :class:`~galcolor.models.ColorizerNet`. The regression loss
        defaults to ``"l2"`` (the tutorial's MSE).

    Examples
    --------
    >>> import torch
    >>> model = BaselineColorizer(width=4)
    >>> model(torch.full((1, 1, 16, 16), 50.0)).shape
    torch.Size([1, 2, 16, 16])
    """

    name = "baseline"
    stride = 8
    default_loss = "l2"

    def __init__(self, *, width: int = 64, head: str = "regression", **head_options) -> None:
        super().__init__(head=head, **head_options)
        width = int(width)
        if width < 1:
            raise InputError(f"width must be >= 1, got {width}")
        self._architecture_options = {"width": width}
        layers: list[nn.Module] = []
        previous = 1
        for factor, stride in _ENCODER:
            layers.append(conv_relu(previous, channels(width, factor), stride=stride))
            previous = channels(width, factor)
        for factor, upsample in _DECODER:
            layers.append(conv_relu(previous, channels(width, factor)))
            previous = channels(width, factor)
            if upsample:
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
        layers.append(nn.Conv2d(previous, self.out_channels, 3, padding=1))
        layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
        self.layers = nn.Sequential(*layers)

    def network(self, normalized_lightness: torch.Tensor) -> torch.Tensor:
        return self.layers(normalized_lightness)
