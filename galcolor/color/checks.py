"""Shape and dtype checks shared by the color functions, the models and the metrics.

Each check raises :class:`~galcolor.exceptions.InputError` (or
:class:`TypeError` for a non-tensor) with the shape or dtype that arrived.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ..exceptions import InputError

if TYPE_CHECKING:  # only for the annotation: quantize imports this module
    from .quantize import AbGrid

__all__ = ["check_batch", "check_logits"]


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


def check_logits(logits: torch.Tensor, grid: AbGrid, name: str = "logits") -> None:
    """Raise unless ``logits`` is a floating-point ``(B, K, H, W)`` tensor for ``grid``.

    The shape check of everything that reads bin logits: the decoders of
    :mod:`galcolor.color` and the probabilistic scores of
    :mod:`galcolor.metrics`. K must be the number of bins of ``grid``.

    Parameters
    ----------
    logits : torch.Tensor
        The tensor to check.
    grid : AbGrid
        The bins the logits must refer to.
    name : str, optional
        Name of the argument in the error message (default ``"logits"``).

    Raises
    ------
    TypeError
        If ``logits`` is not a tensor.
    galcolor.exceptions.InputError
        If it is not ``(B, grid.num_bins, H, W)`` or not floating point.

    Examples
    --------
    >>> import torch
    >>> from galcolor.color import AbGrid, check_logits
    >>> grid = AbGrid([[0.0, 0.0], [4.0, 0.0]], 4.0)
    >>> check_logits(torch.zeros(1, 2, 3, 3), grid)
    >>> check_logits(torch.zeros(1, 3, 3, 3), grid)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    galcolor.exceptions.InputError: logits must have shape (B, K, H, W) with K = 2 bins ..., got (1, 3, 3, 3)
    """
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(logits).__name__}")
    if logits.ndim != 4 or logits.shape[1] != grid.num_bins:
        raise InputError(
            f"{name} must have shape (B, K, H, W) with K = {grid.num_bins} bins of the grid, "
            f"got {tuple(logits.shape)}"
        )
    if not logits.is_floating_point():
        raise InputError(f"{name} must be a floating-point tensor, got {logits.dtype}")
