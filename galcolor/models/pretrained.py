"""Weights that ship inside galcolor (``galcolor/weights/``).

Each entry names a file and its sha256. The checksum lives here, in code,
not beside the file, so a replaced or corrupted weights file is refused
rather than silently loaded; loading goes through
:func:`galcolor.models.load_weights` (``torch.load(..., weights_only=True)``).
The model card of each entry is in ``galcolor/weights/``.

Examples
--------
>>> from galcolor.models.pretrained import list_pretrained
>>> "default" in list_pretrained()
True
"""

from __future__ import annotations

from pathlib import Path

from ..exceptions import InputError
from .base import ColorizerNet
from .weights import load_weights

__all__ = ["WEIGHTS_DIR", "PRETRAINED", "list_pretrained", "pretrained_path", "load_pretrained"]

#: Folder of the shipped weights and model cards.
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"

#: name -> {"file", "sha256", "card"}; see the model cards for what each is.
PRETRAINED: dict[str, dict[str, str]] = {
    "default": {
        "file": "default.pt",
        "sha256": "faad20f870bf2e0834b8a2a36dbc5436bc9a17885e458efcb9ee198e32c6ace4",
        "card": "MODEL_CARD.md",
    },
}


def list_pretrained() -> list[str]:
    """Names of the shipped models."""
    return sorted(PRETRAINED)


def pretrained_path(name: str = "default") -> Path:
    """Path of a shipped weights file.

    Raises
    ------
    galcolor.InputError
        For an unknown name.
    """
    if name not in PRETRAINED:
        raise InputError(f"no shipped model {name!r}; available: {list_pretrained()}")
    return WEIGHTS_DIR / PRETRAINED[name]["file"]


def load_pretrained(name: str = "default", *, map_location: str = "cpu") -> ColorizerNet:
    """Load a shipped model after checking its sha256.

    Parameters
    ----------
    name : str, optional
        One of :func:`list_pretrained` (default ``"default"``).
    map_location : str or torch.device, optional
        Device for the model.

    Returns
    -------
    ColorizerNet
        In eval mode; ``model.weights_info`` records path, sha256 and the
        training metadata stored with the weights.

    Raises
    ------
    galcolor.models.WeightsError
        If the file is missing, corrupt or fails its checksum.

    Examples
    --------
    >>> from galcolor.models.pretrained import load_pretrained
    >>> model = load_pretrained()
    >>> model.name, model.head
    ('unet', 'regression')
    """
    return load_weights(pretrained_path(name), sha256=PRETRAINED[name]["sha256"], map_location=map_location)
