"""Where tensors are computed: ``device="auto"`` is CUDA when present, else the CPU."""

from __future__ import annotations

import os

import torch

from .exceptions import InputError

__all__ = ["resolve_device"]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The device ``"auto"`` stands for: CUDA when present, else the CPU.

    Under ``torchrun`` a bare ``"cuda"`` becomes this process's GPU,
    ``cuda:$LOCAL_RANK``.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, str) and device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(device)
    except RuntimeError as error:
        raise InputError(f"unknown device {device!r}: {error}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(
                f"device={str(device)!r} but CUDA is not available (this torch build or machine has no "
                "CUDA GPU); use 'auto' or 'cpu'")
        if device.index is None:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return device
