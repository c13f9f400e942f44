"""The model registry: one name per architecture."""

from __future__ import annotations

from ..exceptions import InputError
from .base import ColorizerNet
from .baseline import BaselineColorizer
from .fusion import FusionColorizer
from .unet import UNetColorizer

__all__ = ["list_models", "get_model"]

_MODELS: dict[str, type[ColorizerNet]] = {
    model.name: model for model in (BaselineColorizer, FusionColorizer, UNetColorizer)
}


def list_models() -> list[str]:
    """Names of the registered architectures, sorted.

    Examples
    --------
    >>> list_models()
    ['baseline', 'fusion', 'unet']
    """
    return sorted(_MODELS)


def get_model(name: str, *, head: str = "regression", **options) -> ColorizerNet:
    """Build a registered colorizer network (randomly initialised).

    Parameters
    ----------
    name : str
        One of :func:`list_models`.
    head : {"regression", "classification"}, optional
        Predict ab directly (default) or a distribution over ab bins.
    **options
        Architecture options (``width``, and ``depth`` for ``unet``,
        ``backbone`` for ``fusion``) and head options (see
        :class:`~galcolor.models.ColorizerNet`). A model's
        :meth:`~galcolor.models.ColorizerNet.config` is a valid set of
        arguments: ``get_model(**model.config())`` rebuilds it.

    Returns
    -------
    ColorizerNet

    Raises
    ------
    galcolor.exceptions.InputError
        For an unknown name, head or option.

    Examples
    --------
    >>> model = get_model("unet", width=4, depth=2)
    >>> model.name, model.head, model.stride
    ('unet', 'regression', 4)
    >>> get_model(**model.config()).config() == model.config()
    True
    """
    try:
        model_class = _MODELS[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown model {name!r}; available: {', '.join(list_models())}") from None
    try:
        return model_class(head=head, **options)
    except TypeError as error:
        # Unknown architecture options end up here as "unexpected keyword".
        raise InputError(f"cannot build model {name!r} with options {sorted(options)}: {error}") from None
