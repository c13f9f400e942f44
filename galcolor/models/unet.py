"""``unet``: U-Net with skip connections and batch norm (Ronneberger et al. 2015)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..exceptions import InputError
from .base import ColorizerNet
from .layers import conv_relu

__all__ = ["UNetColorizer"]


def _double_conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        conv_relu(in_channels, out_channels, stride=stride, batch_norm=True),
        conv_relu(out_channels, out_channels, batch_norm=True),
    )


class UNetColorizer(ColorizerNet):
    """U-Net: an encoder-decoder whose skip connections carry fine detail.

    Each level is two 3x3 conv + batch norm + ReLU; the encoder halves the
    resolution with 2x2 max pooling and doubles the channels (width, 2 width,
    ..., 2**depth width), the decoder doubles it with 2x2 transposed
    convolutions and concatenates the encoder features of the same level
    (Ronneberger, Fischer & Brox 2015). A 1x1 convolution gives the output.
    Stride ``2 ** depth``.

    Skip connections keep the predicted color aligned with the galaxy's
    structure (arms, knots), which a bottleneck-only decoder blurs.

    Parameters
    ----------
    width : int, optional
        Channels of the first level (default 16: with depth 4, 1.9 M
        parameters, 7.8 MB of float32 weights, trainable on a CPU; width 32
        is 7.8 M parameters, 31 MB).
    depth : int, optional
        Number of poolings (default 4: stride 16).
    input_stride : {1, 2, 4}, optional
        Resolution of the first level (default 1: the input's). With 2 (or
        4), the first convolution has that stride, the whole U-Net runs at
        half (a quarter of) the resolution, and its output (ab before the
        tanh, or the bin logits) is upsampled bilinearly to the input's
        size: color varies more smoothly than lightness (Zhang et al. 2016
        predict ab at a quarter of the resolution), and the network costs
        about a third as much. The stride becomes ``input_stride * 2 ** depth``.
    head : {"regression", "classification"}, optional
        Default "regression".
    **head_options
        See :class:`~galcolor.models.ColorizerNet`.

    Examples
    --------
    >>> import torch
    >>> model = UNetColorizer(width=4, depth=2)
    >>> model.stride
    4
    >>> model(torch.full((1, 1, 8, 12), 50.0)).shape
    torch.Size([1, 2, 8, 12])
    >>> fast = UNetColorizer(width=4, depth=2, input_stride=2)
    >>> fast.stride, fast(torch.full((1, 1, 8, 16), 50.0)).shape
    (8, torch.Size([1, 2, 8, 16]))
    """

    name = "unet"
    default_loss = "l1"

    def __init__(self, *, width: int = 16, depth: int = 4, input_stride: int = 1, head: str = "regression",
                 **head_options) -> None:
        super().__init__(head=head, **head_options)
        width, depth, input_stride = int(width), int(depth), int(input_stride)
        if width < 1:
            raise InputError(f"width must be >= 1, got {width}")
        if depth < 1:
            raise InputError(f"depth must be >= 1, got {depth}")
        if input_stride not in (1, 2, 4):
            raise InputError(f"input_stride must be 1, 2 or 4, got {input_stride}")
        self.input_stride = input_stride
        self.stride = input_stride * 2 ** depth
        self._architecture_options = {"width": width, "depth": depth}
        if input_stride != 1:  # only when set, so that older weights files read the same
            self._architecture_options["input_stride"] = input_stride
        level_channels = [width * 2 ** level for level in range(depth + 1)]
        self.encoder = nn.ModuleList([_double_conv(1, width, stride=input_stride)])
        for level in range(1, depth + 1):
            self.encoder.append(_double_conv(level_channels[level - 1], level_channels[level]))
        self.pool = nn.MaxPool2d(2)
        self.upsample = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for level in range(depth, 0, -1):
            self.upsample.append(
                nn.ConvTranspose2d(level_channels[level], level_channels[level - 1], 2, stride=2)
            )
            self.decoder.append(_double_conv(2 * level_channels[level - 1], level_channels[level - 1]))
        self.output = nn.Conv2d(width, self.out_channels, 1)

    def widened(self, width: int, *, seed: int | None = None) -> "UNetColorizer":
        """This network with more channels per level, computing the same colors.

        Every channel of this network keeps its weights in the wider one; the
        added channels start from fresh random weights, and the weights that
        lead from them into the old channels start at zero. So the wider
        network's output equals this one's, in evaluation and in training mode
        (batch norm statistics of the old channels are unchanged), and
        fine-tuning it starts from this network's quality with more capacity
        to spend, instead of from scratch (the "function-preserving" widening
        of Chen, Goodfellow & Shlens 2016, Net2Net, with zero instead of
        duplicated outgoing weights, so the new channels need no noise to
        break their symmetry).

        Parameters
        ----------
        width : int
            The new base width, at least this network's.
        seed : int, optional
            Seed of the added channels' random weights (default: the global
            torch generator).

        Returns
        -------
        UNetColorizer
            A new network, in this one's mode and on its device; this one is
            not changed.

        Examples
        --------
        >>> import torch
        >>> narrow = UNetColorizer(width=4, depth=2).eval()
        >>> wide = narrow.widened(6, seed=0).eval()
        >>> wide.config()["width"]
        6
        >>> lightness = torch.linspace(0, 100, 64).reshape(1, 1, 8, 8)
        >>> bool(torch.allclose(wide(lightness), narrow(lightness), atol=1e-5))
        True
        """
        width = int(width)
        old_width = self._architecture_options["width"]
        if width < old_width:
            raise InputError(f"widened() needs a width of at least this network's {old_width}, got {width}")
        config = {**self.config(), "width": width}
        config.pop("name")
        if seed is not None:
            generator_state = torch.random.get_rng_state()
            torch.manual_seed(seed)
        try:
            wide = type(self)(**config)
        finally:
            if seed is not None:
                torch.random.set_rng_state(generator_state)
        wide.to(next(self.parameters()).device)
        concatenated = {f"decoder.{index}.0.0.weight" for index in range(len(self.decoder))}
        old_state = self.state_dict()
        with torch.no_grad():
            for name, new in wide.state_dict().items():
                old = old_state[name]
                if old.shape == new.shape:
                    new.copy_(old)
                    continue
                # Where a dimension grew, the old channels are the leading ones of
                # each block (two blocks in a decoder's input: the skip, then the
                # upsampled features), and weights from the new input channels into
                # the old output channels are zeroed: the old outputs ignore them.
                # Conv2d weights are (out, in, ...), ConvTranspose2d's (in, out, ...).
                transposed = name.startswith("upsample.")
                out_dim, in_dim = (1, 0) if transposed else (0, 1)
                blocks = [2 if dim == 1 and name in concatenated else 1 for dim in range(old.dim())]
                old_index = []
                for dim in range(old.dim()):
                    old_block, new_block = old.shape[dim] // blocks[dim], new.shape[dim] // blocks[dim]
                    old_index.append(torch.cat([torch.arange(old_block, device=new.device) + block * new_block
                                                for block in range(blocks[dim])]))
                if old.dim() >= 2:
                    old_out = torch.zeros(new.shape[out_dim], dtype=torch.bool, device=new.device)
                    old_out[old_index[out_dim]] = True
                    new_in = torch.ones(new.shape[in_dim], dtype=torch.bool, device=new.device)
                    new_in[old_index[in_dim]] = False
                    along = lambda dim: [-1 if d == dim else 1 for d in range(new.dim())]  # noqa: E731
                    new.masked_fill_(old_out.view(along(out_dim)) & new_in.view(along(in_dim)), 0.0)
                grid = torch.meshgrid(*old_index, indexing="ij")
                new[grid] = old
        return wide.train(self.training)

    def network(self, normalized_lightness: torch.Tensor) -> torch.Tensor:
        skips = []
        features = normalized_lightness
        for level, block in enumerate(self.encoder):
            features = block(features if level == 0 else self.pool(features))
            skips.append(features)
        skips.pop()  # the bottleneck has no partner
        for upsample, block in zip(self.upsample, self.decoder):
            features = block(torch.cat([skips.pop(), upsample(features)], dim=1))
        output = self.output(features)
        if self.input_stride != 1:
            output = F.interpolate(output, size=normalized_lightness.shape[-2:], mode="bilinear",
                                   align_corners=False)
        return output
