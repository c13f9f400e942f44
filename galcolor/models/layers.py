"""Building blocks shared by the architectures."""

from __future__ import annotations

from torch import nn

__all__ = ["conv_relu", "channels"]


def channels(width: int, factor: float) -> int:
    """``width * factor`` channels, at least one (tiny test models go down to 1)."""
    return max(1, int(round(width * factor)))


def conv_relu(
    in_channels: int, out_channels: int, *, stride: int = 1, batch_norm: bool = False
) -> nn.Sequential:
    """3x3 convolution ('same' padding), optional batch norm, ReLU.

    With batch norm the convolution has no bias: the norm's shift replaces it.
    """
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=not batch_norm)
    ]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)
