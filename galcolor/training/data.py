"""Training data beside :class:`galcolor.datasets.ImageFolder`: simulated galaxies, an in-memory cache.

Both serve the same item dicts as :class:`~galcolor.datasets.ImageFolder`
(``lightness``, ``ab``, ``galaxy_mask``, ``valid_mask``, ``index``), so they
mix with it through :class:`torch.utils.data.ConcatDataset`.

Examples
--------
>>> from galcolor.training.data import SimulatedPairs
>>> data = SimulatedPairs(2, size=32, seed=1)
>>> item = data[0]
>>> item["lightness"].shape, item["ab"].shape, item["index"]
(torch.Size([1, 32, 32]), torch.Size([2, 32, 32]), 0)
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .._pairs import item_from_rgb
from ..exceptions import InputError
from ..color import rgb_lightness
from ..datasets import iter_simulate
from ..geometry import GALAXY_MIN_LIGHTNESS, SCALE_RANGE
from ..geometry import galaxy_radius as measure_galaxy_radius

__all__ = ["SimulatedPairs", "InMemoryPairs", "WithTransform", "item_from_rgb"]

Item = dict[str, Any]


class SimulatedPairs(Dataset):
    """Simulated galaxies (:func:`galcolor.datasets.simulate`) as (lightness, ab) training pairs.

    The gri composites are drawn once, when the dataset is made (about
    0.12 s per 128 px galaxy on one CPU core), and kept as 8-bit sRGB, as
    the JPEG composites of real surveys are; items are converted to Lab when
    served.

    Parameters
    ----------
    n : int
        Number of galaxies.
    size : int, optional
        Image side in pixels (>= 32, the simulator's minimum).
    seed : int, optional
        Simulator seed: the same seed gives the same galaxies.
    transform : callable, optional
        Called on every item dict, as in :class:`~galcolor.datasets.ImageFolder`.
    progress : bool, optional
        Show a tqdm bar while simulating.
    galaxy_radius : float, optional
        Present each galaxy as ``Colorizer(scale="auto")`` presents images
        to a network whose training galaxies have this radius in pixels
        (:func:`galcolor.geometry.training_galaxy_radius`): the composite
        is enlarged by ``galaxy_radius / r`` (``r`` from
        :func:`galcolor.geometry.galaxy_radius` of its L), at most by the
        auto scale's limit of 2, bilinearly, and its central ``size`` pixels
        kept. Simulated galaxies at the SDSS pixel scale are small (median
        ``r`` ~10 px in 128 px frames), so a colorizer meets them enlarged;
        galaxies already larger are left as they are. None (default) keeps
        the simulator's scale.
    band : str, optional
        Take the lightness from this simulated band as
        :meth:`~galcolor.datasets.SimulatedGalaxy.to_cutout` makes it (the
        band through :func:`galcolor.load`'s auto stretch: how a colorizer
        meets a single-band FITS image) instead of from the gri composite;
        the color (ab) is always the composite's. None (default): the
        composite's L.
    **physics
        Passed to :func:`galcolor.datasets.simulate` (e.g. ``max_clumps=0``).

    Examples
    --------
    >>> data = SimulatedPairs(1, size=32)
    >>> len(data), data[0]["valid_mask"].all().item()
    (1, True)
    """

    def __init__(self, n: int, *, size: int = 128, seed: int = 0,
                 transform: Callable[[Item], Item] | None = None, progress: bool = False,
                 galaxy_radius: float | None = None, band: str | None = None, **physics: Any) -> None:
        from tqdm.auto import tqdm

        if galaxy_radius is not None and not galaxy_radius > 0:
            raise InputError(f"galaxy_radius must be positive, got {galaxy_radius!r}")
        galaxies = tqdm(iter_simulate(n, size=size, seed=seed, **physics), total=n,
                        desc="simulating galaxies", disable=not progress)
        rgbs, lightnesses = [], []
        for galaxy in galaxies:
            rgb = np.clip(galaxy.rgb, 0.0, 1.0).astype(np.float32)
            lightness = galaxy.to_cutout(band).lightness.astype(np.float32) if band is not None else None
            if galaxy_radius is not None:
                measured = lightness if lightness is not None else rgb_lightness(rgb)
                zoom = _zoom_factor(measured, galaxy_radius)
                rgb = _zoom(rgb, zoom)
                lightness = None if lightness is None else _zoom(lightness[..., None], zoom)[..., 0]
            rgbs.append(np.round(rgb * 255.0).astype(np.uint8))
            lightnesses.append(lightness)
        self.rgb = np.stack(rgbs) if n else np.zeros((0, size, size, 3), dtype=np.uint8)
        self.lightness = (np.stack(lightnesses).clip(0.0, 100.0) if n and band is not None else None)
        self.size = int(size)
        self.seed = int(seed)
        self.galaxy_radius = galaxy_radius
        self.band = band
        self.transform = transform

    def __len__(self) -> int:
        return len(self.rgb)

    def __getitem__(self, index: int) -> Item:
        count = len(self)
        if not -count <= index < count:
            raise IndexError(f"index {index} out of range for {count} simulated galaxies")
        index %= count
        item = item_from_rgb(self.rgb[index], index)
        if self.lightness is not None:
            item["lightness"] = torch.from_numpy(self.lightness[index][None].copy())
            item["galaxy_mask"] = item["valid_mask"] & (item["lightness"] > GALAXY_MIN_LIGHTNESS)
        return self.transform(item) if self.transform is not None else item

    def __repr__(self) -> str:
        extra = "" if self.galaxy_radius is None else f", galaxy_radius={self.galaxy_radius}"
        extra += "" if self.band is None else f", band={self.band!r}"
        return f"SimulatedPairs(n={len(self)}, size={self.size}, seed={self.seed}{extra})"


def _zoom_factor(lightness: np.ndarray, galaxy_radius: float) -> float:
    """How much ``Colorizer(scale="auto")`` would enlarge this image towards ``galaxy_radius``: 1 to 2."""
    radius = measure_galaxy_radius(lightness)
    return 1.0 if radius is None else min(max(galaxy_radius / radius, 1.0), SCALE_RANGE[1])


def _zoom(image: np.ndarray, zoom: float) -> np.ndarray:
    """``image`` (H, W, C) enlarged ``zoom`` times (bilinear), its central H x W kept."""
    height, width = image.shape[:2]
    big_h, big_w = round(height * zoom), round(width * zoom)
    if (big_h, big_w) == (height, width):
        return image
    planes = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))[None]
    planes = torch.nn.functional.interpolate(planes, size=(big_h, big_w), mode="bilinear", align_corners=False)
    top, left = (big_h - height) // 2, (big_w - width) // 2
    return planes[0, :, top:top + height, left:left + width].numpy().transpose(1, 2, 0)


class InMemoryPairs(Dataset):
    """Training items held as stacked tensors in memory.

    Loading and converting a 424 px JPEG takes ~0.2 s of CPU; holding the
    converted items (3 float32 and 2 bool planes: 14 bytes per pixel, 230 kB
    per 128 px image, 1.5 GB for the 6,704 SDSS training galaxies) makes
    every epoch after the first free of that cost.

    Parameters
    ----------
    lightness, ab, galaxy_mask, valid_mask : torch.Tensor
        Stacked item tensors, shapes ``(N, 1, H, W)``, ``(N, 2, H, W)``,
        ``(N, 1, H, W)``, ``(N, 1, H, W)``.
    index : torch.Tensor, optional
        ``(N,)`` int64, the ``index`` each item had in its source.
    transform : callable, optional
        Called on every item dict served.

    Examples
    --------
    >>> from galcolor.training.data import InMemoryPairs, SimulatedPairs
    >>> cached = InMemoryPairs.from_dataset(SimulatedPairs(3, size=32))
    >>> len(cached), cached.lightness.shape
    (3, torch.Size([3, 1, 32, 32]))
    """

    def __init__(self, lightness: torch.Tensor, ab: torch.Tensor, galaxy_mask: torch.Tensor,
                 valid_mask: torch.Tensor, index: torch.Tensor | None = None,
                 transform: Callable[[Item], Item] | None = None) -> None:
        count = lightness.shape[0]
        self.lightness = lightness
        self.ab = ab
        self.galaxy_mask = galaxy_mask
        self.valid_mask = valid_mask
        self.index = torch.arange(count) if index is None else index
        self.transform = transform
        for name in ("ab", "galaxy_mask", "valid_mask", "index"):
            if getattr(self, name).shape[0] != count:
                raise InputError(f"{name} has {getattr(self, name).shape[0]} items, lightness has {count}")

    @classmethod
    def from_dataset(cls, dataset: Dataset, *, num_workers: int = 0, batch_size: int = 64,
                     progress: bool = False, transform: Callable[[Item], Item] | None = None
                     ) -> "InMemoryPairs":
        """Load every item of ``dataset`` once (in parallel with ``num_workers``) and keep it.

        A dataset ``transform`` (augmentation) would be frozen into the cache:
        give the augmentation to the :class:`~galcolor.training.Trainer` or
        as ``transform`` here instead.
        """
        from tqdm.auto import tqdm

        loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
        parts: dict[str, list[torch.Tensor]] = {key: [] for key in
                                                ("lightness", "ab", "galaxy_mask", "valid_mask", "index")}
        for batch in tqdm(loader, desc="loading images", disable=not progress):
            for key, values in parts.items():
                values.append(torch.as_tensor(batch[key]))
        if not parts["lightness"]:
            raise InputError("cannot cache an empty dataset")
        stacked = {key: torch.cat(values) for key, values in parts.items()}
        return cls(**stacked, transform=transform)

    def __len__(self) -> int:
        return self.lightness.shape[0]

    def __getitem__(self, index: int) -> Item:
        item = {"lightness": self.lightness[index], "ab": self.ab[index],
                "galaxy_mask": self.galaxy_mask[index], "valid_mask": self.valid_mask[index],
                "index": int(self.index[index])}
        return self.transform(item) if self.transform is not None else item

    def __repr__(self) -> str:
        return f"InMemoryPairs(n={len(self)}, size={tuple(self.lightness.shape[-2:])})"


class WithTransform(Dataset):
    """Another dataset's items through ``transform`` (e.g. :class:`~galcolor.training.KnotInjection`).

    The :class:`~galcolor.training.Trainer` calls ``transform.set_epoch``
    each epoch when the transform has one, so that a transform that draws
    at random draws anew every epoch, reproducibly.

    Examples
    --------
    >>> from galcolor.training.data import SimulatedPairs, WithTransform
    >>> marked = WithTransform(SimulatedPairs(2, size=32), lambda item: {**item, "seen": True})
    >>> len(marked), marked[1]["seen"]
    (2, True)
    """

    def __init__(self, dataset: Dataset, transform: Callable[[Item], Item]) -> None:
        self.dataset = dataset
        self.transform = transform

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Item:
        return self.transform(self.dataset[index])

    def __repr__(self) -> str:
        return f"WithTransform({self.dataset!r}, {self.transform!r})"

