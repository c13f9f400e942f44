"""Shape and dtype checks shared by the color functions, the models and the metrics.

Each check raises :class:`~galcolor.exceptions.InputError` (or
:class:`TypeError` for a non-tensor) with the shape or dtype that arrived.
"""

from __future__ import annotations

import torch

from ..exceptions import InputError


__all__ = ["check_batch"]


def check_batch(tensor: torch.Tensor, name: str, channels: int) -> None:
    """Raise unless ``tensor`` is a floating-point ``(B, channels, H, W)`` tensor.

    The one shape check shared by the quantization functions, the models
    and the baselines; the message prints the shape that arrived.

    Examples
    --------
    >>> import torch
    >>> check_batch(torch.zeros(2, 1, 4, 4), "lightness", 1)
    >>> check_batch(torch.zeros(4, 4), "lightness", 1)
    Traceback (most recent call last):
    ...
    galcolor.exceptions.InputError: lightness must have shape (B, 1, H, W), got (4, 4)
    """
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.ndim != 4 or tensor.shape[1] != channels:
        raise InputError(f"{name} must have shape (B, {channels}, H, W), got {tuple(tensor.shape)}")
    if not tensor.is_floating_point():
        raise InputError(f"{name} must be a floating-point tensor, got {tensor.dtype}")
