"""Per-pixel loss weights and the validation error sums, masked to galaxy pixels.

Most pixels of a galaxy cutout are dark sky (DESIGN.md, "Metrics"): a loss
averaged over whole images rewards grey predictions. :func:`loss_weight`
gives sky pixels less weight than galaxy pixels and invalid pixels none;
:func:`ab_error_sums` accumulates the ab error on galaxy pixels and on whole
images, side by side, so a validation pass can report both.

Examples
--------
>>> import torch
>>> from galcolor.training.losses import loss_weight
>>> valid = torch.tensor([[[[True, True, False]]]])
>>> galaxy = torch.tensor([[[[True, False, False]]]])
>>> loss_weight(valid, galaxy, sky_weight=0.25).tolist()
[[[[1.0, 0.25, 0.0]]]]
"""

from __future__ import annotations

import torch

from ..exceptions import InputError
from .arguments import DEFAULT_SKY_WEIGHT

__all__ = ["DEFAULT_SKY_WEIGHT", "loss_weight", "ab_error_sums"]


def loss_weight(
    valid_mask: torch.Tensor, galaxy_mask: torch.Tensor, sky_weight: float = DEFAULT_SKY_WEIGHT
) -> torch.Tensor:
    """Per-pixel loss weight: ``valid * (sky_weight + galaxy * (1 - sky_weight))``.

    Parameters
    ----------
    valid_mask : torch.Tensor, shape ``(B, 1, H, W)``, bool
        Pixels with a valid color target.
    galaxy_mask : torch.Tensor, shape ``(B, 1, H, W)``, bool
        Galaxy pixels (L > 15 on valid pixels).
    sky_weight : float, optional
        Weight of a valid sky pixel, in [0, 1]; galaxy pixels weigh 1.
        1 weighs all valid pixels alike; 0 trains on galaxy pixels only.

    Returns
    -------
    torch.Tensor, shape ``(B, 1, H, W)``, float32
        0 on invalid pixels, ``sky_weight`` on sky, 1 on galaxy pixels.
        Models normalise by the weight sum (``model.loss`` is a weighted
        mean), so only the ratio of the two weights matters.

    Examples
    --------
    >>> import torch
    >>> valid = torch.ones(1, 1, 2, 2, dtype=torch.bool)
    >>> galaxy = torch.tensor([[[[True, False], [False, False]]]])
    >>> loss_weight(valid, galaxy, sky_weight=0.0).tolist()  # the galaxy pixel only
    [[[[1.0, 0.0], [0.0, 0.0]]]]
    """
    if valid_mask.shape != galaxy_mask.shape:
        raise InputError(f"valid_mask {tuple(valid_mask.shape)} and galaxy_mask "
                         f"{tuple(galaxy_mask.shape)} must have the same shape")
    if not 0.0 <= sky_weight <= 1.0:
        raise InputError(f"sky_weight must be in [0, 1], got {sky_weight!r}")
    galaxy = (galaxy_mask & valid_mask).to(torch.float32)
    return valid_mask.to(torch.float32) * float(sky_weight) + (1.0 - float(sky_weight)) * galaxy


def ab_error_sums(
    ab_pred: torch.Tensor, ab_true: torch.Tensor, valid_mask: torch.Tensor, galaxy_mask: torch.Tensor
) -> torch.Tensor:
    """Sums of absolute ab errors and pixel counts, on galaxy pixels and whole images.

    Parameters
    ----------
    ab_pred, ab_true : torch.Tensor, shape ``(B, 2, H, W)``
        Predicted and true a*, b* in Lab units.
    valid_mask, galaxy_mask : torch.Tensor, shape ``(B, 1, H, W)``, bool

    Returns
    -------
    torch.Tensor, shape ``(4,)``, float64
        ``[galaxy error sum, galaxy pixel count, valid error sum, valid pixel
        count]``, where an error sum adds ``|da*| + |db*|`` over pixels. Sums
        over batches (and over DDP ranks) add up; the ab MAE is
        ``error_sum / (2 * count)``, the mean absolute error per ab
        component, as the reference numbers of DESIGN.md are quoted
        (predicting grey: 8.5 on SDSS galaxy pixels).

    Examples
    --------
    >>> import torch
    >>> truth = torch.zeros(1, 2, 1, 2)
    >>> pred = torch.tensor([[[[2.0, 0.0]], [[4.0, 0.0]]]])
    >>> valid = torch.ones(1, 1, 1, 2, dtype=torch.bool)
    >>> galaxy = torch.tensor([[[[True, False]]]])
    >>> ab_error_sums(pred, truth, valid, galaxy).tolist()
    [6.0, 1.0, 6.0, 2.0]
    """
    error = (ab_pred.float() - ab_true.float()).abs().sum(dim=1, keepdim=True)
    valid = valid_mask.to(error.dtype)
    galaxy = (galaxy_mask & valid_mask).to(error.dtype)
    return torch.stack([
        (error * galaxy).sum(), galaxy.sum(), (error * valid).sum(), valid.sum(),
    ]).double()
