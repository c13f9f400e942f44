"""Fit a survey style from that survey's color images (``galcolor fit-style``).

The images' L is colorized by a :class:`galcolor.Colorizer`, their color is
the truth, and :func:`galcolor.styles.fit_style` fits the mapping and its
uncertainty on pixels sampled from each (:func:`galcolor.styles.style_pixels`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .exceptions import InputError
from .styles import ColorStyle, fit_style, style_pixels

__all__ = ["fit_style_from_images"]


def fit_style_from_images(
    paths: Sequence[str | os.PathLike],
    *,
    name: str,
    colorizer: Any = None,
    galaxy_pixels: int = 3000,
    sky_pixels: int = 1000,
    seed: int = 0,
    progress: bool = True,
) -> tuple[ColorStyle, list[dict[str, str]]]:
    """Fit a style from a survey's color images: their L colorized, their color the truth.

    Parameters
    ----------
    paths : sequence of path
        Color JPEG/PNG/TIFF images of one survey (a few dozen or more).
    name : str
    colorizer : galcolor.Colorizer, optional
        The model to fit the style for (default: the shipped default, TTA on).
    galaxy_pixels, sky_pixels : int, optional
        Pixels sampled per image (:func:`style_pixels`).
    seed : int, optional
        Pixel sampling.
    progress : bool, optional

    Returns
    -------
    (ColorStyle, failures)
        Failures: ``{"file", "error"}`` of images that could not be used
        (unreadable, grey); the others are fitted on.
    """
    from tqdm.auto import tqdm

    from .color import rgb_to_lab_numpy
    from .colorizer import Colorizer
    from .exceptions import GalcolorError
    from .io import load

    colorizer = Colorizer("default", tta=True, progress=False) if colorizer is None else colorizer
    rng = np.random.default_rng(seed)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    failures: list[dict[str, str]] = []
    used: list[str] = []
    groups: list[np.ndarray] = []
    for path in tqdm(list(paths), desc=f"fitting style {name}", unit="image", disable=not progress):
        try:
            cutout = load(path)
            if cutout.truth_rgb is None:
                raise InputError(f"{path}: a grey image has no color to fit a style on")
            result = colorizer(cutout)
        except (GalcolorError, OSError, ValueError) as error:
            failures.append({"file": str(path), "error": f"{type(error).__name__}: {error}"})
            continue
        true_lab = rgb_to_lab_numpy(np.asarray(cutout.truth_rgb, dtype=np.float32))
        valid = ~cutout.truth_invalid
        parts.append(
            style_pixels(
                cutout.lightness,
                result.ab,
                true_lab[..., 1:],
                valid,
                rng=rng,
                galaxy=galaxy_pixels,
                sky=sky_pixels,
            )
        )
        used.append(Path(path).name)
        groups.append(np.full(len(parts[-1][0]), len(used) - 1))
    if not parts:
        raise InputError(f"style {name!r}: none of the {len(failures)} images could be used")
    lightness, ab, true_ab = (np.concatenate([part[k] for part in parts]) for k in range(3))
    style = fit_style(
        lightness,
        ab,
        true_ab,
        name=name,
        weights_sha256=colorizer.weights_sha256,
        groups=np.concatenate(groups),
        seed=seed,
        provenance={
            "images": used,
            "tta": colorizer.tta,
            "seed": seed,
            "galaxy_pixels_per_image": galaxy_pixels,
            "sky_pixels_per_image": sky_pixels,
        },
    )
    return style, failures
