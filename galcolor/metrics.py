"""Color metrics, measured on the galaxy as well as on the whole image.

Most pixels of a galaxy cutout are dark sky, where every colorizer (even one
that predicts grey) is nearly right; whole-image averages therefore reward
grey predictions. Every metric here takes an optional mask, and
:func:`galaxy_mask` gives the standard one: pixels with L > 15
(``GALAXY_MIN_LIGHTNESS``, DESIGN.md).

Arrays are channels-last numpy arrays: ``lab`` and ``rgb`` are
(..., H, W, 3), ``ab`` (..., H, W, 2), masks (..., H, W) with True for the
pixels that count. A mask that selects no pixel gives NaN, never an error, so
that a harness can drop such images (:func:`bootstrap_ci` ignores NaN). The
one exception to channels-last is :func:`classification_metrics`, which takes
the ``(B, K, H, W)`` logits and ``(B, 2, H, W)`` ab tensors of
:mod:`galcolor.models` as they come.

Per-pixel ab errors (Lab units)
    :func:`ab_mae`, :func:`ab_rmse`, :func:`ab_error_auc`,
    :func:`ab_error_curve`
Perceptual color difference
    :func:`delta_e2000`
sRGB image quality (values in [0, 1])
    :func:`psnr`, :func:`ssim`, :func:`colorfulness`,
    :func:`colorfulness_difference`
Classification heads
    :func:`classification_metrics`
Evaluation harness
    :func:`evaluate_image` (every per-image metric of a Lab pair),
    :func:`bootstrap_ci`, :func:`summarize` (per-metric means with 95 %
    bootstrap intervals over images)

Examples
--------
>>> import numpy as np
>>> from galcolor.metrics import ab_mae, delta_e2000
>>> truth = np.zeros((4, 4, 3)); truth[..., 0] = 50.0; truth[..., 2] = 10.0
>>> grey = truth.copy(); grey[..., 1:] = 0.0
>>> float(ab_mae(grey[..., 1:], truth[..., 1:]))
5.0
>>> round(float(delta_e2000(grey, truth)), 2)
8.16
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from numpy.typing import ArrayLike
from skimage.color import deltaE_ciede2000
from skimage.metrics import structural_similarity

from .color import AbGrid, check_batch, check_logits, lab_to_rgb_numpy
from .exceptions import InputError
from .geometry import GALAXY_MIN_LIGHTNESS, galaxy_mask

if TYPE_CHECKING:  # pandas is imported by summarize() only: it is slow to import
    import pandas as pd

__all__ = [
    "GALAXY_MIN_LIGHTNESS",
    "evaluate_image_regions",
    "galaxy_mask",
    "ab_mae",
    "ab_rmse",
    "ab_error_auc",
    "ab_error_curve",
    "delta_e2000",
    "psnr",
    "ssim",
    "colorfulness",
    "colorfulness_difference",
    "classification_metrics",
    "bootstrap_ci",
    "evaluate_image",
    "summarize",
]



def _check_mask(mask: np.ndarray | None, shape: tuple[int, ...], name: str) -> np.ndarray | None:
    """``mask`` as a boolean array of ``shape`` (the image without its channels), or None."""
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != shape:
        raise InputError(f"{name}: mask shape {mask.shape} does not match the image shape {shape}")
    return mask


def _masked_mean(values: np.ndarray, mask: np.ndarray | None, name: str) -> float:
    mask = _check_mask(mask, values.shape, name)
    if mask is None:
        return float(np.mean(values))
    if not mask.any():
        return float("nan")
    return float(np.mean(values[mask]))


def _image_pair(
    predicted: np.ndarray, true: np.ndarray, channels: int, names: tuple[str, str], function: str
) -> tuple[np.ndarray, np.ndarray]:
    """Both images as float64, after checking they are (..., H, W, channels) and alike."""
    arrays = []
    for name, image in zip(names, (predicted, true)):
        array = np.asarray(image, dtype=np.float64)
        if array.ndim < 3 or array.shape[-1] != channels:
            raise InputError(f"{function}: {name} must have shape (..., H, W, {channels}), got {array.shape}")
        arrays.append(array)
    if arrays[0].shape != arrays[1].shape:
        raise InputError(
            f"{function}: {names[1]} shape {arrays[1].shape} does not match "
            f"{names[0]} shape {arrays[0].shape}"
        )
    return arrays[0], arrays[1]


def _ab_error(predicted_ab: np.ndarray, true_ab: np.ndarray, function: str) -> np.ndarray:
    """Per-pixel Euclidean ab error, shape (..., H, W)."""
    predicted, true = _image_pair(predicted_ab, true_ab, 2, ("predicted_ab", "true_ab"), function)
    return np.hypot(*np.moveaxis(predicted - true, -1, 0))


def ab_mae(predicted_ab: np.ndarray, true_ab: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean absolute ab error, averaged over a* and b* and over (masked) pixels.

    Parameters
    ----------
    predicted_ab, true_ab : numpy.ndarray, shape (..., H, W, 2)
        Chrominance in Lab units.
    mask : numpy.ndarray of bool, shape (..., H, W), optional
        Pixels to average over (e.g. :func:`galaxy_mask`); all by default.

    Returns
    -------
    float
        NaN when the mask selects no pixel.
    """
    predicted, true = np.asarray(predicted_ab, dtype=np.float64), np.asarray(true_ab, dtype=np.float64)
    if predicted.shape != true.shape or predicted.shape[-1] != 2:
        raise InputError(f"ab_mae: expected two (..., H, W, 2) arrays, got {predicted.shape} and {true.shape}")
    return _masked_mean(np.abs(predicted - true).mean(axis=-1), mask, "ab_mae")


def delta_e2000(predicted_lab: np.ndarray, true_lab: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean CIEDE2000 color difference (:func:`skimage.color.deltaE_ciede2000`).

    Parameters
    ----------
    predicted_lab, true_lab : numpy.ndarray, shape (..., H, W, 3)
        Lab images.
    mask : numpy.ndarray of bool, shape (..., H, W), optional
        Pixels to average over; all by default.

    Returns
    -------
    float
        NaN when the mask selects no pixel.
    """
    predicted, true = np.asarray(predicted_lab, dtype=np.float64), np.asarray(true_lab, dtype=np.float64)
    if predicted.shape != true.shape or predicted.shape[-1] != 3:
        raise InputError(
            f"delta_e2000: expected two (..., H, W, 3) arrays, got {predicted.shape} and {true.shape}"
        )
    return _masked_mean(deltaE_ciede2000(predicted, true, channel_axis=-1), mask, "delta_e2000")


# Zhang, Isola & Efros (2016, ECCV, Section 3.1) sweep the ab error threshold
# from 0 to 150 Lab units for their "AuC" of the cumulative error curve.
_AUC_MAX_THRESHOLD = 150.0

# sRGB images are compared in [0, 1], so the peak signal is 1.
_RGB_DATA_RANGE = 1.0

# Side of the uniform SSIM window of skimage.metrics.structural_similarity
# (its default; Wang et al. 2004 use an 11-tap Gaussian instead).
_SSIM_WINDOW = 7

# Hasler & Suesstrunk (2003, Proc. SPIE 5007, 87), eq. 3: weight of the mean
# chroma against its spread, for sRGB in 0-255.
_COLORFULNESS_MEAN_WEIGHT = 0.3
_COLORFULNESS_SCALE = 255.0


def ab_rmse(predicted_ab: np.ndarray, true_ab: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Root mean square ab error, averaged over a* and b* and over (masked) pixels.

    ``sqrt(mean((predicted - true)**2))`` with the mean taken over both
    channels and the pixels, the square-error counterpart of :func:`ab_mae`
    (which averages ``|predicted - true|`` the same way).

    Parameters
    ----------
    predicted_ab, true_ab : numpy.ndarray, shape (..., H, W, 2)
        Chrominance in Lab units.
    mask : numpy.ndarray of bool, shape (..., H, W), optional
        Pixels to average over (e.g. :func:`galaxy_mask`); all by default.

    Returns
    -------
    float
        In Lab units; NaN when the mask selects no pixel.

    Raises
    ------
    galcolor.exceptions.InputError
        If an array is not (..., H, W, 2), the two differ in shape or the
        mask does not match them.

    See Also
    --------
    ab_mae, ab_error_auc

    Notes
    -----
    Because the mean runs over the two channels, the root mean square of the
    per-pixel Euclidean ab error is ``sqrt(2)`` times this value: an error of
    (3, 4) everywhere (5 Lab units of distance) gives ``sqrt(12.5) = 3.54``.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((2, 2, 2))
    >>> offset = truth + np.array([3.0, 4.0])
    >>> round(ab_rmse(offset, truth), 4)
    3.5355
    """
    predicted, true = _image_pair(predicted_ab, true_ab, 2, ("predicted_ab", "true_ab"), "ab_rmse")
    return float(np.sqrt(_masked_mean(((predicted - true) ** 2).mean(axis=-1), mask, "ab_rmse")))


def ab_error_curve(
    predicted_ab: np.ndarray,
    true_ab: np.ndarray,
    mask: np.ndarray | None = None,
    max_threshold: float = _AUC_MAX_THRESHOLD,
    step: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Fraction of (masked) pixels whose Euclidean ab error is at most t.

    The cumulative error curve of Zhang, Isola & Efros (2016), for plotting;
    :func:`ab_error_auc` gives the area under it.

    Parameters
    ----------
    predicted_ab, true_ab : numpy.ndarray, shape (..., H, W, 2)
        Chrominance in Lab units.
    mask : numpy.ndarray of bool, shape (..., H, W), optional
        Pixels to count; all by default.
    max_threshold : float, optional
        Largest threshold in Lab units (default 150, Zhang et al.).
    step : float, optional
        Threshold spacing in Lab units (default 1); ``max_threshold`` must be
        a multiple of it.

    Returns
    -------
    thresholds : numpy.ndarray, shape (N,)
        ``0, step, ..., max_threshold``.
    fraction : numpy.ndarray, shape (N,)
        Fraction of the pixels with ``|predicted - true| <= t``, from 0 to 1;
        all NaN when the mask selects no pixel.

    Raises
    ------
    galcolor.exceptions.InputError
        On bad shapes, or unless ``0 < step <= max_threshold`` with
        ``max_threshold`` a multiple of ``step``.

    See Also
    --------
    ab_error_auc

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((1, 2, 2))
    >>> predicted = np.array([[[0.0, 0.0], [3.0, 4.0]]])  # errors 0 and 5
    >>> thresholds, fraction = ab_error_curve(predicted, truth, max_threshold=6.0)
    >>> thresholds.tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    >>> fraction.tolist()
    [0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0]
    """
    max_threshold, step = float(max_threshold), float(step)
    count = round(max_threshold / step) if step > 0.0 else 0
    if not (step > 0.0 and count >= 1 and abs(count * step - max_threshold) <= 1e-9 * max_threshold):
        raise InputError(
            f"ab_error_curve: max_threshold ({max_threshold:g}) must be a positive multiple "
            f"of step ({step:g})"
        )
    error = _ab_error(predicted_ab, true_ab, "ab_error_curve")
    mask = _check_mask(mask, error.shape, "ab_error_curve")
    selected = np.sort(error[mask] if mask is not None else error.ravel())
    thresholds = np.arange(count + 1) * step
    if selected.size == 0:
        return thresholds, np.full(thresholds.shape, np.nan)
    return thresholds, np.searchsorted(selected, thresholds, side="right") / selected.size


def ab_error_auc(
    predicted_ab: np.ndarray,
    true_ab: np.ndarray,
    mask: np.ndarray | None = None,
    max_threshold: float = _AUC_MAX_THRESHOLD,
) -> float:
    """Area under the cumulative ab error curve, normalised to [0, 1] ("AuC").

    Zhang, Isola & Efros (2016, Section 3.1): the fraction of pixels whose
    Euclidean ab error is at most t, integrated over t from 0 to
    ``max_threshold`` and divided by ``max_threshold``. 1 is a perfect
    prediction; a pixel with error e contributes ``max(0, 1 - e / max_threshold)``.

    Parameters
    ----------
    predicted_ab, true_ab : numpy.ndarray, shape (..., H, W, 2)
        Chrominance in Lab units.
    mask : numpy.ndarray of bool, shape (..., H, W), optional
        Pixels to count; all by default.
    max_threshold : float, optional
        Upper end of the threshold sweep in Lab units (default 150).

    Returns
    -------
    float
        In [0, 1]; NaN when the mask selects no pixel.

    Raises
    ------
    galcolor.exceptions.InputError
        On bad shapes or ``max_threshold <= 0``.

    See Also
    --------
    ab_error_curve

    Notes
    -----
    The integral is computed exactly, as the mean of
    ``clip(1 - e / max_threshold, 0, 1)`` over pixels: the area under the
    curve sampled infinitely finely. The trapezoidal area under the 1-unit
    curve of :func:`ab_error_curve` differs from it by at most half a step,
    ``0.5 / 150 = 0.0033``.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((2, 2, 2))
    >>> round(ab_error_auc(truth + np.array([3.0, 4.0]), truth), 4)  # 1 - 5 / 150
    0.9667
    """
    max_threshold = float(max_threshold)
    if not max_threshold > 0.0:
        raise InputError(f"ab_error_auc: max_threshold must be > 0, got {max_threshold:g}")
    error = _ab_error(predicted_ab, true_ab, "ab_error_auc")
    return _masked_mean(np.clip(1.0 - error / max_threshold, 0.0, 1.0), mask, "ab_error_auc")


def psnr(predicted_rgb: np.ndarray, true_rgb: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio of sRGB images in [0, 1], in dB.

    ``10 log10(1 / MSE)``, the MSE taken over the three channels of the
    (masked) pixels. Without a mask this is
    :func:`skimage.metrics.peak_signal_noise_ratio` with ``data_range=1``.

    Parameters
    ----------
    predicted_rgb, true_rgb : numpy.ndarray, shape (..., H, W, 3)
        Gamma-encoded sRGB in [0, 1] (e.g. from
        :func:`galcolor.color.lab_to_rgb_numpy`).
    mask : numpy.ndarray of bool, shape (..., H, W), optional
        Pixels to compare; all by default.

    Returns
    -------
    float
        ``inf`` for identical images (MSE = 0, as scikit-image gives); NaN
        when the mask selects no pixel.

    Raises
    ------
    galcolor.exceptions.InputError
        If an array is not (..., H, W, 3), the two differ in shape or the
        mask does not match them.

    See Also
    --------
    ssim

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.full((4, 4, 3), 0.5)
    >>> round(psnr(truth + 0.01, truth), 6)  # MSE 1e-4
    40.0
    >>> psnr(truth, truth)
    inf
    """
    predicted, true = _image_pair(predicted_rgb, true_rgb, 3, ("predicted_rgb", "true_rgb"), "psnr")
    mse = _masked_mean(((predicted - true) ** 2).mean(axis=-1), mask, "psnr")
    # np.float64 so that MSE = 0 gives inf (like scikit-image), not ZeroDivisionError.
    with np.errstate(divide="ignore"):
        return float(10.0 * np.log10(_RGB_DATA_RANGE**2 / np.float64(mse)))


def ssim(predicted_rgb: np.ndarray, true_rgb: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean structural similarity of sRGB images in [0, 1], on the (masked) pixels.

    The SSIM map of :func:`skimage.metrics.structural_similarity` (7 x 7
    uniform window, ``data_range=1``, each channel separately), averaged over
    the channels and the selected pixels. Without a mask this is
    scikit-image's mean SSIM.

    Parameters
    ----------
    predicted_rgb, true_rgb : numpy.ndarray, shape (..., H, W, 3)
        Gamma-encoded sRGB in [0, 1]; H and W at least 7.
    mask : numpy.ndarray of bool, shape (..., H, W), optional
        Pixels to average over; all by default.

    Returns
    -------
    float
        1 for identical images; NaN when the mask selects no pixel away from
        the border (see Notes).

    Raises
    ------
    galcolor.exceptions.InputError
        On bad shapes, or when an image is smaller than 7 pixels in a side.

    See Also
    --------
    psnr

    Notes
    -----
    Pixels closer than 3 to the image edge are left out, masked or not: their
    windows reach into the reflected padding, and scikit-image drops them from
    its mean for the same reason. Galaxy masks of centred cutouts are not
    affected.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.uniform(size=(16, 16, 3))
    >>> ssim(truth, truth)
    1.0
    >>> ssim(truth, np.clip(truth + rng.normal(0, 0.1, truth.shape), 0, 1)) < 0.95
    True
    """
    predicted, true = _image_pair(predicted_rgb, true_rgb, 3, ("predicted_rgb", "true_rgb"), "ssim")
    height, width = predicted.shape[-3:-1]
    if min(height, width) < _SSIM_WINDOW:
        raise InputError(
            f"ssim: images must be at least {_SSIM_WINDOW} x {_SSIM_WINDOW} pixels (the SSIM window), "
            f"got predicted_rgb of shape {predicted.shape}"
        )
    maps, inside = _ssim_map(predicted, true)
    mask = _check_mask(mask, maps.shape, "ssim")
    selected = np.broadcast_to(inside, maps.shape) if mask is None else mask & inside
    return _masked_mean(maps, selected, "ssim")


def _ssim_map(predicted: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel SSIM (mean over RGB) of checked (..., H, W, 3) images, and the (H, W)
    pixels far enough from the border for a full window."""
    height, width = predicted.shape[-3:-1]
    maps = np.stack([
        structural_similarity(
            one_predicted, one_true, channel_axis=-1, data_range=_RGB_DATA_RANGE, full=True
        )[1].mean(axis=-1)
        for one_predicted, one_true in zip(
            predicted.reshape(-1, height, width, 3), true.reshape(-1, height, width, 3)
        )
    ]).reshape(predicted.shape[:-1])
    pad = (_SSIM_WINDOW - 1) // 2
    inside = np.zeros((height, width), dtype=bool)
    inside[pad:height - pad, pad:width - pad] = True
    return maps, inside


def colorfulness(rgb: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Colorfulness of Hasler & Süsstrunk (2003) of the (masked) pixels.

    On sRGB scaled to 0-255, with ``rg = R - G`` and ``yb = (R + G) / 2 - B``
    over the selected pixels::

        M = sqrt(std(rg)**2 + std(yb)**2) + 0.3 * sqrt(mean(rg)**2 + mean(yb)**2)

    0 for any grey image; about 30 is "moderately colorful" on their scale.

    Parameters
    ----------
    rgb : numpy.ndarray, shape (..., H, W, 3)
        Gamma-encoded sRGB in [0, 1].
    mask : numpy.ndarray of bool, shape (..., H, W), optional
        Pixels to use; all by default.

    Returns
    -------
    float
        NaN when the mask selects no pixel.

    Raises
    ------
    galcolor.exceptions.InputError
        If ``rgb`` is not (..., H, W, 3) or the mask does not match it.

    See Also
    --------
    colorfulness_difference

    Notes
    -----
    Standard deviations are population ones (``ddof=0``). Hasler, D. &
    Süsstrunk, S. (2003), "Measuring colorfulness in natural images",
    Proc. SPIE 5007, 87-95, eq. 3.

    Examples
    --------
    >>> import numpy as np
    >>> colorfulness(np.full((2, 2, 3), 0.4))
    0.0
    >>> red = np.zeros((2, 2, 3)); red[..., 0] = 1.0
    >>> round(colorfulness(red), 2)  # 0.3 * sqrt(255**2 + 127.5**2)
    85.53
    """
    image = np.asarray(rgb, dtype=np.float64)
    if image.ndim < 3 or image.shape[-1] != 3:
        raise InputError(f"colorfulness: rgb must have shape (..., H, W, 3), got {image.shape}")
    mask = _check_mask(mask, image.shape[:-1], "colorfulness")
    pixels = (image[mask] if mask is not None else image.reshape(-1, 3)) * _COLORFULNESS_SCALE
    if pixels.shape[0] == 0:
        return float("nan")
    red, green, blue = pixels.T
    rg = red - green
    yb = 0.5 * (red + green) - blue
    spread = np.hypot(rg.std(), yb.std())
    return float(spread + _COLORFULNESS_MEAN_WEIGHT * np.hypot(rg.mean(), yb.mean()))


def colorfulness_difference(
    predicted_rgb: np.ndarray, true_rgb: np.ndarray, mask: np.ndarray | None = None
) -> float:
    """Colorfulness of the prediction minus that of the truth, on the same pixels.

    Negative values mean the colorizer is duller than the truth (the usual
    failure of regression losses, which pull towards grey).

    Parameters
    ----------
    predicted_rgb, true_rgb : numpy.ndarray, shape (..., H, W, 3)
        Gamma-encoded sRGB in [0, 1].
    mask : numpy.ndarray of bool, shape (..., H, W), optional
        Pixels to use; all by default.

    Returns
    -------
    float
        NaN when the mask selects no pixel.

    Raises
    ------
    galcolor.exceptions.InputError
        On bad or mismatched shapes.

    See Also
    --------
    colorfulness

    Examples
    --------
    >>> import numpy as np
    >>> red = np.zeros((2, 2, 3)); red[..., 0] = 1.0
    >>> round(colorfulness_difference(np.full((2, 2, 3), 0.5), red), 2)
    -85.53
    """
    predicted, true = _image_pair(
        predicted_rgb, true_rgb, 3, ("predicted_rgb", "true_rgb"), "colorfulness_difference"
    )
    return colorfulness(predicted, mask) - colorfulness(true, mask)


def classification_metrics(
    logits: torch.Tensor,
    true_ab: torch.Tensor,
    grid: AbGrid,
    mask: np.ndarray | torch.Tensor | None = None,
) -> dict[str, float]:
    """Bin accuracy and cross-entropy of a classification head.

    Unlike the rest of this module, the inputs are the channels-first
    tensors of :mod:`galcolor.models`: what a classification head's
    ``forward`` returns and the ab it was trained on.

    Parameters
    ----------
    logits : torch.Tensor, shape (B, K, H, W)
        Unnormalised scores over the K bins of ``grid``.
    true_ab : torch.Tensor, shape (B, 2, H, W)
        True a*, b* in Lab units, on the device of ``logits``.
    grid : galcolor.color.AbGrid
        The bins the logits refer to.
    mask : numpy.ndarray or torch.Tensor of bool, shape (B, H, W), optional
        Pixels to average over; all by default.

    Returns
    -------
    dict
        ``accuracy``: fraction of pixels whose most probable bin is the bin
        nearest to the true ab (:meth:`AbGrid.quantize`). ``cross_entropy``:
        mean of ``-log p(nearest bin)`` in nats. Both NaN when the mask
        selects no pixel.

    Raises
    ------
    galcolor.exceptions.InputError
        If the shapes do not fit the grid or each other.

    Notes
    -----
    The cross-entropy is against the hard nearest bin: it does not depend on
    the soft-encoding or rebalancing options of a model, so it compares
    models, but it is not the training loss (soft-encoded, class-rebalanced;
    :meth:`galcolor.models.ColorizerNet.loss`).

    Examples
    --------
    >>> import torch
    >>> from galcolor.color import AbGrid
    >>> grid = AbGrid([[0.0, 0.0], [4.0, 0.0]], 4.0)
    >>> true_ab = torch.tensor([[[[0.5, 3.5]], [[0.0, 0.0]]]])  # nearest bins 0 and 1
    >>> # Pixel 1: sure of bin 0 (right). Pixel 2: 50/50, argmax bin 0 (wrong).
    >>> logits = torch.tensor([[[[0.0, 0.0]], [[-30.0, 0.0]]]])
    >>> metrics = classification_metrics(logits, true_ab, grid)
    >>> metrics["accuracy"]
    0.5
    >>> round(metrics["cross_entropy"], 4)  # (0 + log 2) / 2
    0.3466
    """
    check_logits(logits, grid)
    check_batch(true_ab, "true_ab", 2)
    batch, _, height, width = logits.shape
    if true_ab.shape[0] != batch or true_ab.shape[-2:] != logits.shape[-2:]:
        raise InputError(
            f"classification_metrics: true_ab must have shape {(batch, 2, height, width)} to match logits, "
            f"got {tuple(true_ab.shape)}"
        )
    with torch.no_grad():
        nearest = grid.quantize(true_ab.to(logits.device))
        log_probabilities = torch.log_softmax(logits.float(), dim=1)
        cross_entropy = -log_probabilities.gather(1, nearest[:, None])[:, 0]
        correct = (logits.argmax(1) == nearest).double()
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    return {
        "accuracy": _masked_mean(correct.cpu().numpy(), mask, "classification_metrics"),
        "cross_entropy": _masked_mean(cross_entropy.double().cpu().numpy(), mask, "classification_metrics"),
    }


def bootstrap_ci(
    values: ArrayLike,
    statistic: Callable[..., np.ndarray] = np.mean,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> tuple[float, float, float]:
    """A statistic of per-image values and its percentile bootstrap interval.

    The values are resampled with replacement ``n_resamples`` times; the
    interval runs between the ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` quantiles of the statistic over the resamples
    (Efron & Tibshirani 1993, ch. 13).

    Parameters
    ----------
    values : array-like, shape (N,)
        One value per image. NaN values (images whose mask was empty) are
        dropped; infinite ones are kept.
    statistic : callable, optional
        Reduction taking an ``axis`` keyword, like :func:`numpy.mean` (the
        default) or :func:`numpy.median`.
    n_resamples : int, optional
        Number of bootstrap resamples (default 1000).
    confidence : float, optional
        Coverage of the interval, in (0, 1) (default 0.95).
    seed : int or None, optional
        Seed of the resampling; the same seed gives the same interval.

    Returns
    -------
    estimate, low, high : float
        The statistic of the values and the interval; ``(v, v, v)`` for a
        single value.

    Raises
    ------
    galcolor.exceptions.InputError
        If ``values`` is not 1-D or has no non-NaN value, or the options are
        out of range.

    Notes
    -----
    The quantiles are order statistics of the resampled statistics
    (``method="inverted_cdf"``), not interpolations between them, so an
    infinite value (the PSNR of a perfect prediction) gives an infinite
    bound rather than NaN.

    Examples
    --------
    >>> import numpy as np
    >>> values = np.random.default_rng(1).normal(10.0, 2.0, 400)
    >>> estimate, low, high = bootstrap_ci(values)
    >>> bool(low < estimate < high), round(high - low, 1)  # about 2 * 1.96 * 2 / sqrt(400)
    (True, 0.4)
    >>> bootstrap_ci([3.0, np.nan])
    (3.0, 3.0, 3.0)
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise InputError(f"bootstrap_ci: values must be 1-D (one value per image), got shape {array.shape}")
    array = array[~np.isnan(array)]
    if array.size == 0:
        raise InputError("bootstrap_ci: values has no non-NaN value")
    n_resamples = int(n_resamples)
    if n_resamples < 1:
        raise InputError(f"bootstrap_ci: n_resamples must be >= 1, got {n_resamples}")
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise InputError(f"bootstrap_ci: confidence must be in (0, 1), got {confidence}")
    rng = np.random.default_rng(seed)
    # Resample in blocks of ~4 M values so that large evaluations do not hold
    # an (n_resamples, N) index array at once.
    block = max(1, (1 << 22) // array.size)
    resampled = np.concatenate([
        statistic(array[rng.integers(0, array.size, size=(min(block, n_resamples - start), array.size))],
                  axis=-1)
        for start in range(0, n_resamples, block)
    ])
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(resampled, [tail, 1.0 - tail], method="inverted_cdf")
    return float(statistic(array)), float(low), float(high)


def evaluate_image(
    predicted_lab: np.ndarray, true_lab: np.ndarray, mask: np.ndarray | None = None
) -> dict[str, float]:
    """Every per-image metric of a predicted Lab image against the truth.

    The ab metrics use the Lab values directly; PSNR, SSIM and colorfulness
    use both images converted to sRGB with
    :func:`galcolor.color.lab_to_rgb_numpy` (clipped to [0, 1]).

    Parameters
    ----------
    predicted_lab, true_lab : numpy.ndarray, shape (H, W, 3)
        One Lab image each; H and W at least 7 (for SSIM).
    mask : numpy.ndarray of bool, shape (H, W), optional
        Pixels to measure on (e.g. :func:`galaxy_mask` of the true
        lightness); all by default.

    Returns
    -------
    dict
        ``ab_mae``, ``ab_rmse``, ``delta_e2000``, ``psnr``, ``ssim``,
        ``auc`` (:func:`ab_error_auc`), ``colorfulness_predicted``,
        ``colorfulness_true`` and ``colorfulness_difference``, as floats;
        all NaN when the mask selects no pixel. One row of the table that
        :func:`summarize` takes.

    Raises
    ------
    galcolor.exceptions.InputError
        If an image is not (H, W, 3), the two differ in shape, the mask does
        not match them or they are smaller than 7 x 7.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((8, 8, 3)); truth[..., 0] = 50.0; truth[..., 2] = 10.0
    >>> metrics = evaluate_image(truth, truth)
    >>> metrics["ab_mae"], metrics["auc"], metrics["psnr"], metrics["ssim"]
    (0.0, 1.0, inf, 1.0)
    >>> list(metrics)[:4]
    ['ab_mae', 'ab_rmse', 'delta_e2000', 'psnr']
    """
    return evaluate_image_regions(predicted_lab, true_lab, {"image": mask}, function="evaluate_image")["image"]


def evaluate_image_regions(
    predicted_lab: np.ndarray,
    true_lab: np.ndarray,
    masks: Mapping[str, np.ndarray | None],
    *,
    true_rgb: np.ndarray | None = None,
    function: str = "evaluate_image_regions",
) -> dict[str, dict[str, float]]:
    """:func:`evaluate_image` on several masks of one image, at the cost of one.

    The color conversions and the per-pixel maps (CIEDE2000, SSIM, ab
    errors) are computed once and averaged over each mask; the numbers are
    those :func:`evaluate_image` gives mask by mask.

    Parameters
    ----------
    predicted_lab, true_lab : numpy.ndarray, shape (H, W, 3)
        One Lab image each; H and W at least 7.
    masks : mapping of str to (H, W) bool array or None
        Named pixel selections (None: every pixel), e.g. ``{"galaxy": ...,
        "whole": ...}``.
    true_rgb : numpy.ndarray, shape (H, W, 3), optional
        ``lab_to_rgb_numpy(true_lab)``, when several predictions are
        compared with one truth and it has been computed already.
    function : str, optional
        Name used in error messages.

    Returns
    -------
    dict of str to dict
        For each mask name, the dict :func:`evaluate_image` returns.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((8, 8, 3)); truth[..., 0] = 50.0; truth[..., 2] = 10.0
    >>> left = np.zeros((8, 8), bool); left[:, :4] = True
    >>> predicted = truth.copy(); predicted[:, 4:, 2] = 0.0  # right half grey
    >>> results = evaluate_image_regions(predicted, truth, {"left": left, "right": ~left})
    >>> results["left"]["ab_mae"], results["right"]["ab_mae"]
    (0.0, 5.0)
    """
    predicted, true = _image_pair(predicted_lab, true_lab, 3, ("predicted_lab", "true_lab"), function)
    if predicted.ndim != 3:
        raise InputError(f"{function}: predicted_lab must be one image (H, W, 3), got {predicted.shape}")
    shape = predicted.shape[:-1]
    if min(shape) < _SSIM_WINDOW:
        raise InputError(
            f"{function}: images must be at least {_SSIM_WINDOW} x {_SSIM_WINDOW} pixels (the SSIM window), "
            f"got {predicted.shape}"
        )
    masks = {name: _check_mask(mask, shape, function) for name, mask in masks.items()}
    predicted_rgb = lab_to_rgb_numpy(predicted)
    if true_rgb is None:
        true_rgb = lab_to_rgb_numpy(true)
    else:
        true_rgb = np.asarray(true_rgb, dtype=np.float64)
        if true_rgb.shape != predicted.shape:
            raise InputError(f"{function}: true_rgb shape {true_rgb.shape} does not match {predicted.shape}")
    difference = predicted[..., 1:] - true[..., 1:]
    maps = {
        "ab_mae": np.abs(difference).mean(axis=-1),
        "ab_rmse": (difference**2).mean(axis=-1),
        "delta_e2000": deltaE_ciede2000(predicted, true, channel_axis=-1),
        "psnr": ((predicted_rgb - true_rgb) ** 2).mean(axis=-1),
        "auc": np.clip(1.0 - np.hypot(*np.moveaxis(difference, -1, 0)) / _AUC_MAX_THRESHOLD, 0.0, 1.0),
    }
    ssim_map, inside = _ssim_map(predicted_rgb, true_rgb)
    results = {}
    for name, mask in masks.items():
        means = {metric: _masked_mean(values, mask, function) for metric, values in maps.items()}
        colorfulness_predicted = colorfulness(predicted_rgb, mask)
        colorfulness_true = colorfulness(true_rgb, mask)
        with np.errstate(divide="ignore"):
            peak = float(10.0 * np.log10(_RGB_DATA_RANGE**2 / np.float64(means["psnr"])))
        results[name] = {
            "ab_mae": means["ab_mae"],
            "ab_rmse": float(np.sqrt(means["ab_rmse"])),
            "delta_e2000": means["delta_e2000"],
            "psnr": peak,
            "ssim": _masked_mean(ssim_map, inside if mask is None else mask & inside, function),
            "auc": means["auc"],
            "colorfulness_predicted": colorfulness_predicted,
            "colorfulness_true": colorfulness_true,
            "colorfulness_difference": colorfulness_predicted - colorfulness_true,
        }
    return results


def summarize(
    per_image: pd.DataFrame,
    columns: Sequence[str] | None = None,
    n_resamples: int = 1000,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Mean of each metric over images with its 95 % bootstrap interval.

    Parameters
    ----------
    per_image : pandas.DataFrame
        One row per image, e.g. built from :func:`evaluate_image` dicts.
    columns : sequence of str, optional
        Metrics to summarise; default every numeric column.
    n_resamples : int, optional
        Bootstrap resamples per metric (default 1000).
    seed : int or None, optional
        Seed of the resampling (the same for every metric).

    Returns
    -------
    pandas.DataFrame
        Indexed by metric, with columns ``mean``, ``low``, ``high`` (the 95 %
        percentile bootstrap interval of the mean, :func:`bootstrap_ci`),
        ``median`` and ``n``, the number of images with a non-NaN value (NaN
        values, from empty masks, are left out; a metric with none gets NaN
        statistics).

    Raises
    ------
    galcolor.exceptions.InputError
        If a requested column is missing or not numeric.

    Examples
    --------
    >>> import pandas as pd
    >>> per_image = pd.DataFrame({"ab_mae": [1.0, 2.0, 3.0, float("nan")], "galaxy": ["a", "b", "c", "d"]})
    >>> summary = summarize(per_image)
    >>> summary.loc["ab_mae", ["mean", "median", "n"]].tolist()
    [2.0, 2.0, 3.0]
    >>> bool(summary.loc["ab_mae", "low"] < 2.0 < summary.loc["ab_mae", "high"])
    True
    """
    import pandas as pd

    if columns is None:
        columns = list(per_image.select_dtypes("number").columns)
    else:
        columns = list(columns)
        missing = [name for name in columns if name not in per_image.columns]
        if missing:
            raise InputError(
                f"summarize: per_image has no column(s) {missing}; it has {list(per_image.columns)}"
            )
        for name in columns:
            if not pd.api.types.is_numeric_dtype(per_image[name]):
                raise InputError(f"summarize: column {name!r} is not numeric ({per_image[name].dtype})")
    rows = []
    for name in columns:
        values = per_image[name].to_numpy(dtype=np.float64)
        values = values[~np.isnan(values)]
        if values.size == 0:
            rows.append((np.nan, np.nan, np.nan, np.nan, 0))
            continue
        estimate, low, high = bootstrap_ci(values, np.mean, n_resamples, 0.95, seed)
        rows.append((estimate, low, high, float(np.median(values)), int(values.size)))
    summary = pd.DataFrame(rows, index=pd.Index(columns, name="metric"),
                           columns=["mean", "low", "high", "median", "n"])
    return summary.astype({"n": np.int64})
