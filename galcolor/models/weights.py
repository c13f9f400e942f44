"""Saving and loading model weights safely (no pickled code, checksums)."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import torch
from torch import nn

from .._atomic import atomic_write
from ..exceptions import FileFormatError, InputError
from .base import ColorizerNet
from .detail import DetailRefiner
from .registry import get_model

__all__ = ["WeightsError", "save_weights", "load_weights", "sha256_of"]

# Written into every file, so a checkpoint of something else is recognised.
_FORMAT = "galcolor-weights"
_FORMAT_VERSION = 1


class WeightsError(FileFormatError):
    """A weights file is unreadable, corrupt, not galcolor's, or fails its checksum."""


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, the checksum :func:`save_weights` returns."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _unwrap(model: nn.Module) -> ColorizerNet | DetailRefiner:
    # torch.compile wraps the model in an OptimizedModule (._orig_mod), DDP
    # in a DistributedDataParallel (.module); their state-dict keys carry a
    # prefix that the bare model would not accept back.
    for attribute in ("_orig_mod", "module"):
        inner = getattr(model, attribute, None)
        if isinstance(inner, nn.Module) and not isinstance(model, (ColorizerNet, DetailRefiner)):
            model = inner
    if not isinstance(model, (ColorizerNet, DetailRefiner)):
        raise TypeError(f"model must be a galcolor ColorizerNet or DetailRefiner, got {type(model).__name__}")
    return model


def _check_plain(value, where: str) -> None:
    """Refuse anything torch.load(weights_only=True) would not read back."""
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_plain(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise InputError(f"{where} has a key of type {type(key).__name__}; use str or int keys")
            _check_plain(item, f"{where}[{key!r}]")
        return
    raise InputError(
        f"{where} is a {type(value).__name__}; weights files hold only dicts, lists, "
        "str, numbers, None and tensors (so that loading never unpickles code)"
    )


def save_weights(model: nn.Module, path: str | os.PathLike, *, extra: dict | None = None) -> str:
    """Write a model's config and weights to ``path`` atomically.

    Parameters
    ----------
    model : ColorizerNet
        The model (a ``torch.compile`` or DDP wrapper around one is unwrapped).
    path : str or os.PathLike
        Output file (conventionally ``.pt``); its folder is created.
    extra : dict, optional
        Anything else to keep beside the weights (training data, metrics,
        epoch): plain dicts, lists, str, numbers, None and tensors only.

    Returns
    -------
    str
        The hex sha256 of the file, for :func:`load_weights`' ``sha256``.

    Raises
    ------
    galcolor.exceptions.InputError
        If ``extra`` holds something else (it could not be loaded safely).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from galcolor.models import get_model
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.pt"
    >>> checksum = save_weights(get_model("unet", width=2, depth=1), path, extra={"epochs": 0})
    >>> len(checksum)
    64
    """
    model = _unwrap(model)
    extra = {} if extra is None else extra
    if not isinstance(extra, dict):
        raise InputError(f"extra must be a dict, got {type(extra).__name__}")
    _check_plain(extra, "extra")
    payload = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "config": model.config(),
        "state_dict": {key: value.detach().cpu() for key, value in model.state_dict().items()},
        "extra": extra,
    }
    _check_plain(payload["config"], "model.config()")
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    with atomic_write(path) as temporary:
        temporary.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def load_weights(
    path: str | os.PathLike,
    *,
    sha256: str | None = None,
    map_location: str | torch.device = "cpu",
    backbone: nn.Module | None = None,
) -> ColorizerNet:
    """Rebuild a model saved by :func:`save_weights`, safely.

    The file is read with ``torch.load(..., weights_only=True)``, which never
    runs code from the file.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save_weights`.
    sha256 : str, optional
        Expected hex sha256 of the file; checked before anything is loaded.
    map_location : str or torch.device, optional
        Device for the model (default "cpu").
    backbone : torch.nn.Module, optional
        The user-supplied backbone of a ``fusion`` model that was built with
        one (its weights are in the file; its code is not).

    Returns
    -------
    ColorizerNet
        The model, in eval mode, with ``model.weights_info`` = ``{"path",
        "sha256", "extra"}`` describing where it came from.

    Raises
    ------
    WeightsError
        (a :class:`~galcolor.exceptions.FileFormatError`, so also an
        ``OSError``) if the file is missing, corrupt, not a galcolor weights
        file, its weights do not fit its config, or its checksum differs
        from ``sha256`` ("refusing tampered weights").

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from galcolor.models import get_model
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.pt"
    >>> checksum = save_weights(get_model("unet", width=2, depth=1), path)
    >>> model = load_weights(path, sha256=checksum)
    >>> model.name, model.weights_info["sha256"] == checksum
    ('unet', True)
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise WeightsError(f"{path}: cannot read weights file: {error.strerror or error}") from None
    digest = hashlib.sha256(data).hexdigest()
    if sha256 is not None and digest != sha256.strip().lower():
        raise WeightsError(
            f"{path}: sha256 is {digest} but {sha256.strip().lower()} was expected; "
            "refusing tampered weights"
        )
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:  # pickle, zip and torch errors of every kind
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise WeightsError(
            f"{path}: not a readable galcolor weights file (corrupt, truncated or not safe to load): {reason}"
        ) from None
    if (
        not isinstance(payload, dict)
        or payload.get("format") != _FORMAT
        or not isinstance(payload.get("config"), dict)
        or not isinstance(payload.get("state_dict"), dict)
    ):
        raise WeightsError(f"{path}: not a galcolor weights file (no {_FORMAT!r} config and state_dict)")
    if payload.get("format_version", 0) > _FORMAT_VERSION:
        raise WeightsError(
            f"{path}: weights format version {payload['format_version']} is newer than this "
            f"galcolor reads ({_FORMAT_VERSION}); upgrade galcolor"
        )
    config = dict(payload["config"])
    if backbone is not None:
        config["backbone"] = backbone
    try:
        model = DetailRefiner.from_config(config) if config.get("name") == DetailRefiner.name else get_model(**config)
    except InputError as error:
        raise WeightsError(f"{path}: its config does not build a model: {error}") from None
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        raise WeightsError(f"{path}: weights do not fit the {model.describe()} model: {error}") from None
    model.to(map_location)
    model.eval()
    model.weights_info = {"path": str(path), "sha256": digest, "extra": payload.get("extra", {})}
    return model
