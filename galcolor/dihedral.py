"""The dihedral group of the square: the 4 rotations and 4 reflections of an image.

Galaxies have no preferred orientation, so training augments with these
and the colorizer averages over them (test-time augmentation). Every
element moves pixels, never interpolates them.
"""

from __future__ import annotations

import torch

from .exceptions import InputError

__all__ = ["DIHEDRAL_ELEMENTS", "dihedral", "dihedral_inverse"]

#: Number of elements of the dihedral group of the square: 4 rotations, 4 reflections.
DIHEDRAL_ELEMENTS = 8


def dihedral(image: torch.Tensor, k: int) -> torch.Tensor:
    """Element ``k`` (0-7) of the dihedral group D4 applied to the last two axes.

    ``k`` = 0-3 rotates by ``k`` quarter turns (counter-clockwise as
    displayed with row 0 at the top); ``k`` = 4-7 flips left-right first and
    then rotates by ``k - 4`` quarter turns. Every element is a permutation
    of pixels: values are moved, never interpolated.

    Parameters
    ----------
    image : torch.Tensor, shape ``(*, H, W)``
        Any dtype. Odd rotations swap H and W.
    k : int
        Group element, 0 (identity) to 7.

    Returns
    -------
    torch.Tensor, shape ``(*, H, W)`` or ``(*, W, H)``

    See Also
    --------
    dihedral_inverse

    Examples
    --------
    >>> import torch
    >>> image = torch.arange(4).reshape(2, 2)
    >>> dihedral(image, 1).tolist()
    [[1, 3], [0, 2]]
    >>> dihedral(image, 4).tolist()  # mirror
    [[1, 0], [3, 2]]
    >>> all(torch.equal(dihedral(dihedral(image, k), dihedral_inverse(k)), image) for k in range(8))
    True
    """
    k = _check_element(k)
    if image.ndim < 2:
        raise InputError(f"image must have shape (*, H, W), got {tuple(image.shape)}")
    if k >= 4:
        image = torch.flip(image, dims=(-1,))
    return torch.rot90(image, k % 4, dims=(-2, -1))


def dihedral_inverse(k: int) -> int:
    """The element of D4 that undoes element ``k`` of :func:`dihedral`.

    Rotations by ``k`` quarter turns are undone by ``4 - k``; the four
    reflections (``k`` >= 4) undo themselves.

    Examples
    --------
    >>> [dihedral_inverse(k) for k in range(8)]
    [0, 3, 2, 1, 4, 5, 6, 7]
    """
    k = _check_element(k)
    return (4 - k) % 4 if k < 4 else k


def _check_element(k: int) -> int:
    if isinstance(k, bool) or int(k) != k or not 0 <= int(k) < DIHEDRAL_ELEMENTS:
        raise InputError(f"dihedral element must be an int in 0-7, got {k!r}")
    return int(k)
