"""The interface every galcolor colorizer network implements: :class:`ColorizerNet`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..color import (
    check_batch,
    DEFAULT_TEMPERATURE,
    AbGrid,
    soft_encode_sparse,
    ab_std_from_logits,
    annealed_mean,
    delta_e2000_ab,
    rebalance_weights,
)
from ..exceptions import InputError
from .grids import default_galaxy_grid

__all__ = ["AB_SCALE", "HEADS", "REGRESSION_LOSSES", "ColorizerNet"]

# Regression heads predict tanh(x) * AB_SCALE. 110 Lab units covers the
# whole sRGB gamut's ab extent that galaxies reach with room to spare (the
# SDSS galaxy pixels span |a*|, |b*| < 100; DESIGN.md: 99% have chroma < 67),
# while keeping the typical galaxy color (chroma ~12) in tanh's linear part.
AB_SCALE = 110.0

# Lightness enters the networks as L / 50 - 1, i.e. [0, 100] -> [-1, 1].
_LIGHTNESS_HALF_RANGE = 50.0

HEADS = ("regression", "classification")
REGRESSION_LOSSES = ("l1", "l2", "huber", "de2000")

# Options of each head, with their defaults (None: see the class docstring).
_HEAD_DEFAULTS = {
    "regression": {"loss": None, "huber_delta": 2.0},
    "classification": {
        "grid": None,
        "soft_k": 5,
        "soft_sigma": None,
        "rebalance_lam": 0.5,
        "prior_sigma": None,
        "temperature": DEFAULT_TEMPERATURE,
    },
}


def _check_regression_loss(loss: str) -> None:
    if loss not in REGRESSION_LOSSES:
        raise InputError(f"loss must be one of {REGRESSION_LOSSES}, got {loss!r}")


class ColorizerNet(nn.Module):
    """Base class of the networks that predict ab from L.

    To colorize images with a network, use :class:`galcolor.Colorizer` (the
    inference engine, a different class) or :func:`galcolor.colorize`.

    Subclasses build their layers in ``__init__`` (after calling
    ``super().__init__``, which sets :attr:`out_channels`) and implement
    :meth:`network`; the head, the loss, decoding and the configuration live
    here, once for all architectures.

    Parameters
    ----------
    head : {"regression", "classification"}
        What the network outputs: ab directly (``tanh * AB_SCALE``), or
        logits over the ab bins of an :class:`~galcolor.color.AbGrid`
        (Zhang et al. 2016).
    **head_options
        Regression head:

        - ``loss`` : {"l1", "l2", "huber", "de2000"}; default the
          architecture's :attr:`default_loss`. ``"de2000"`` is the CIEDE2000
          difference at the pixel's lightness (:func:`galcolor.color.delta_e2000_ab`),
          the perceptual error the quality benchmarks report.
        - ``huber_delta`` : float, default 2.0 Lab units (about the chroma
          noise of JPEG survey composites): quadratic below, linear above.

        Classification head:

        - ``grid`` : AbGrid or its ``to_dict()``; default
          :func:`~galcolor.models.default_galaxy_grid` (614 bins of 4 Lab
          units fitted to SDSS galaxies).
        - ``soft_k`` : int, default 5; ``soft_sigma`` : float, default 1.25
          grid steps (see :func:`~galcolor.color.soft_encode`).
        - ``rebalance_lam`` : float, default 0.5; ``prior_sigma`` : float,
          default 1.25 grid steps (see
          :func:`~galcolor.color.rebalance_weights`).
        - ``temperature`` : float, default 0.38, used by :meth:`predict`.

    Attributes
    ----------
    name : str
        Registry name of the architecture (``"unet"``, ...).
    head : str
        ``"regression"`` or ``"classification"``.
    stride : int
        H and W of the input must be multiples of it.
    out_channels : int
        2 for regression, the number of bins K for classification.
    grid : AbGrid or None
        The bins of the classification head.

    Notes
    -----
    Inputs are CIELAB lightness in [0, 100], shape ``(B, 1, H, W)``; the
    model scales them to [-1, 1] itself, so callers never normalise.
    """

    name: str = ""
    stride: int = 1
    default_loss: str = "l1"

    def __init__(self, *, head: str = "regression", **head_options) -> None:
        super().__init__()
        if head not in HEADS:
            raise InputError(f"head must be one of {HEADS}, got {head!r}")
        unknown = sorted(set(head_options) - set(_HEAD_DEFAULTS[head]))
        if unknown:
            raise InputError(
                f"unknown option(s) {unknown} for the {head} head of {self.name!r}; "
                f"it takes {sorted(_HEAD_DEFAULTS[head])} besides the architecture's options"
            )
        self.head = head
        options = {**_HEAD_DEFAULTS[head], **head_options}
        self.grid: AbGrid | None = None
        if head == "regression":
            loss = self.default_loss if options["loss"] is None else options["loss"]
            _check_regression_loss(loss)
            huber_delta = float(options["huber_delta"])
            if not huber_delta > 0:
                raise InputError(f"huber_delta must be > 0, got {huber_delta}")
            self._head_options = {"loss": loss, "huber_delta": huber_delta}
            self.out_channels = 2
        else:
            grid = options.pop("grid")
            if grid is None:
                grid = default_galaxy_grid()
            elif isinstance(grid, dict):
                grid = AbGrid.from_dict(grid)
            elif not isinstance(grid, AbGrid):
                raise InputError(f"grid must be an AbGrid or its to_dict(), got {type(grid).__name__}")
            self.grid = grid
            self._head_options = {
                "soft_k": int(options["soft_k"]),
                "soft_sigma": None if options["soft_sigma"] is None else float(options["soft_sigma"]),
                "rebalance_lam": float(options["rebalance_lam"]),
                "prior_sigma": None if options["prior_sigma"] is None else float(options["prior_sigma"]),
                "temperature": float(options["temperature"]),
            }
            # Not persistent: the config carries the grid, and the weights
            # follow from it; a state dict cannot contradict the config.
            class_weights = rebalance_weights(
                grid, self._head_options["rebalance_lam"], self._head_options["prior_sigma"]
            )
            self.register_buffer("class_weights", class_weights, persistent=False)
            self.out_channels = grid.num_bins
        self._architecture_options: dict = {}

    # -- subclasses ---------------------------------------------------------

    def network(self, normalized_lightness: torch.Tensor) -> torch.Tensor:
        """Map (B, 1, H, W) lightness in [-1, 1] to (B, out_channels, H, W) raw scores."""
        raise NotImplementedError

    # -- the common interface ----------------------------------------------

    def check_lightness(self, lightness: torch.Tensor) -> None:
        """Raise :class:`~galcolor.exceptions.InputError` unless ``lightness`` fits the model."""
        check_batch(lightness, "lightness", 1)
        height, width = lightness.shape[-2:]
        if height % self.stride or width % self.stride:
            raise InputError(
                f"lightness H and W must be multiples of {self.stride} (the stride of "
                f"{self.describe()}), got shape {tuple(lightness.shape)}"
            )

    def describe(self) -> str:
        """A short human-readable name, e.g. ``"'unet' (classification head, width 16, depth 4)"``."""
        options = ", ".join(f"{key} {value}" for key, value in self._architecture_options.items()
                            if isinstance(value, (int, float, str)))
        return f"{self.name!r} ({self.head} head{', ' + options if options else ''})"

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        """Predict ab (regression) or bin logits (classification).

        Parameters
        ----------
        lightness : torch.Tensor, shape ``(B, 1, H, W)``
            CIELAB L in [0, 100]; H and W multiples of :attr:`stride`.

        Returns
        -------
        torch.Tensor
            Regression: ``(B, 2, H, W)`` float32 a*, b* in Lab units, within
            ``±AB_SCALE``. Classification: ``(B, K, H, W)`` float32 logits.
        """
        self.check_lightness(lightness)
        raw = self.network(lightness / _LIGHTNESS_HALF_RANGE - 1.0)
        # float32 even under bf16 autocast: tanh * 110 in bf16 would be
        # quantized to ~0.4 Lab units near saturation.
        if self.head == "regression":
            return torch.tanh(raw.float()) * AB_SCALE
        return raw.float()

    def _check_loss_inputs(self, output, ab, weight) -> torch.Tensor:
        batch, _, height, width = ab.shape if isinstance(ab, torch.Tensor) and ab.ndim == 4 else (0, 0, 0, 0)
        if not isinstance(output, torch.Tensor) or output.ndim != 4 or output.shape[1] != self.out_channels:
            shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
            raise InputError(
                f"output must have shape (B, {self.out_channels}, H, W) for the {self.head} head, got {shape}"
            )
        if not isinstance(ab, torch.Tensor) or ab.ndim != 4 or ab.shape[1] != 2 \
                or ab.shape[0] != output.shape[0] or ab.shape[-2:] != output.shape[-2:]:
            shape = tuple(ab.shape) if isinstance(ab, torch.Tensor) else type(ab).__name__
            raise InputError(f"ab must have shape {(output.shape[0], 2, *output.shape[-2:])}, got {shape}")
        if weight is None:
            return torch.ones(batch, 1, height, width, dtype=torch.float32, device=ab.device)
        if not isinstance(weight, torch.Tensor) or tuple(weight.shape) != (batch, 1, height, width):
            shape = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
            raise InputError(f"weight must have shape {(batch, 1, height, width)}, got {shape}")
        return weight.float()

    def pixel_loss(self, output: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        """Unweighted loss of every pixel, shape ``(B, 1, H, W)``; see :meth:`loss`."""
        ab = ab.float()
        if self.head == "regression":
            output = output.float()
            kind = self._head_options["loss"]
            if kind == "l1":
                error = (output - ab).abs()
            elif kind == "l2":
                error = (output - ab) ** 2
            elif kind == "de2000":
                return delta_e2000_ab(output, ab)
            else:
                error = F.huber_loss(output, ab, reduction="none", delta=self._head_options["huber_delta"])
            return error.mean(1, keepdim=True)
        indices, target = soft_encode_sparse(
            ab, self.grid, self._head_options["soft_k"], self._head_options["soft_sigma"]
        )
        log_probabilities = torch.log_softmax(output.float(), dim=1)
        cross_entropy = -(target * log_probabilities.gather(1, indices)).sum(1, keepdim=True)
        # Zhang et al. eq. 2: each pixel weighs by the rebalancing weight of
        # its nearest bin (the first of the k).
        return cross_entropy * self.class_weights[indices[:, :1]]

    def loss(
        self, output: torch.Tensor, ab: torch.Tensor, weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Weighted mean loss of ``output`` against the true ``ab``.

        Parameters
        ----------
        output : torch.Tensor
            What :meth:`forward` returned: ``(B, 2, H, W)`` or ``(B, K, H, W)``.
        ab : torch.Tensor, shape ``(B, 2, H, W)``
            True a*, b* in Lab units.
        weight : torch.Tensor, shape ``(B, 1, H, W)``, optional
            Non-negative per-pixel weights (e.g. 0 outside the valid area,
            more on galaxy pixels); default all ones.

        Returns
        -------
        torch.Tensor
            Scalar ``sum(weight * pixel_loss) / sum(weight)`` (0 when all
            weights are 0). Regression: the mean over a*, b* of |error|
            (``"l1"``, in Lab units), error², the Huber loss, or the
            CIEDE2000 difference (``"de2000"``). Classification:
            the cross-entropy against the soft-encoded ``ab``, times the
            class-rebalancing weight of the pixel's nearest bin (Zhang et al.
            2016, eq. 2).
        """
        weight = self._check_loss_inputs(output, ab, weight)
        return (weight * self.pixel_loss(output, ab)).sum() / weight.sum().clamp_min(1e-12)

    def predict(
        self, lightness: torch.Tensor, *, temperature: float | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Predicted ab and its per-pixel standard deviation, without gradients.

        Parameters
        ----------
        lightness : torch.Tensor, shape ``(B, 1, H, W)``
            CIELAB L in [0, 100].
        temperature : float, optional
            Annealed-mean temperature of the classification head (default
            the model's ``temperature`` option, 0.38). Ignored by regression.

        Returns
        -------
        ab, ab_std : torch.Tensor, shape ``(B, 2, H, W)``
            float32, Lab units. Classification: the annealed mean and the
            standard deviation of the predicted distribution (at T = 1).
            Regression: the prediction and zeros (a regression head has no
            spread of its own; test-time augmentation supplies one).

        Notes
        -----
        The model's train/eval mode is left as it is: call ``model.eval()``
        first for inference (batch norm uses its running statistics).
        """
        with torch.no_grad():
            output = self(lightness)
            if self.head == "regression":
                return output, torch.zeros_like(output)
            if temperature is None:
                temperature = self._head_options["temperature"]
            return annealed_mean(output, self.grid, temperature), ab_std_from_logits(output, self.grid)

    def set_loss(self, loss: str) -> "ColorizerNet":
        """Train on another regression loss from now on (e.g. to fine-tune on it).

        Parameters
        ----------
        loss : {"l1", "l2", "huber", "de2000"}

        Returns
        -------
        ColorizerNet
            This model, whose :meth:`config` (and so its saved weights) now
            records the new loss.

        Examples
        --------
        >>> from galcolor.models import get_model
        >>> get_model("unet", width=4, depth=2).set_loss("de2000").config()["loss"]
        'de2000'
        """
        if self.head != "regression":
            raise InputError(f"only a regression head has a choice of loss; this model's head is {self.head!r}")
        _check_regression_loss(loss)
        self._head_options["loss"] = loss
        return self

    def config(self) -> dict:
        """Everything needed to rebuild this architecture: ``get_model(**model.config())``.

        Returns
        -------
        dict
            JSON-able: ``name``, ``head``, the architecture options and the
            head options (with the grid as ``AbGrid.to_dict()``).
        """
        config = {"name": self.name, "head": self.head, **self._architecture_options, **self._head_options}
        if self.grid is not None:
            config["grid"] = self.grid.to_dict()
        return config

    def extra_repr(self) -> str:
        return f"name={self.name!r}, head={self.head!r}, stride={self.stride}"
