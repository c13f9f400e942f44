"""Models that ship inside galcolor: one bundle per model, under ``galcolor/weights/<name>/``.

A bundle is everything that belongs to one set of weights and must never be
paired with another's: the weights, the model card, the calibrated
uncertainty table, the region-score calibration of its predicted color,
and its training geometry (the galaxy size ``scale="auto"`` aims for). Its
``manifest.json`` lists each file with its sha256; :func:`load_bundle`
checks every one but the weights before anything is used, and the weights
are checked against the manifest by :func:`galcolor.models.load_weights`
on the very bytes it loads (``torch.load(..., weights_only=True)``), so a
replaced or corrupted file is refused rather than silently loaded.

Weights that are not a shipped bundle's (a user's own training) have no
uncertainty table and no region calibration: :func:`bundle_for_weights`
returns None for them, and galcolor says so instead of borrowing another
model's.

Examples
--------
>>> from galcolor.models.pretrained import list_pretrained, load_bundle
>>> "default" in list_pretrained()
True
>>> bundle = load_bundle("default")
>>> bundle.weights_sha256 == bundle.manifest["files"]["weights"]["sha256"]
True
>>> sorted(bundle.manifest["files"])
['card', 'novelty', 'region_classifier', 'region_score', 'styles', 'uncertainty', 'weights']
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._atomic import atomic_write
from ..exceptions import InputError
from ..geometry import training_galaxy_radius
from ..uncertainty import ResidualTable, read_residual_table
from .base import ColorizerNet
from .detail import DetailRefiner
from .weights import WeightsError, load_weights, sha256_of

if TYPE_CHECKING:
    from ..novelty import NoveltyReference
    from ..styles import ColorStyle

__all__ = ["WEIGHTS_DIR", "MANIFEST", "ModelBundle", "list_pretrained", "load_bundle", "bundle_for_weights",
           "pretrained_path", "load_pretrained", "write_manifest"]

#: Folder of the shipped bundles, one sub-folder per model.
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
#: File name of a bundle's manifest.
MANIFEST = "manifest.json"
#: What a manifest lists: kind -> file name in the bundle folder.
BUNDLE_FILES = {"weights": "weights.pt", "card": "MODEL_CARD.md", "uncertainty": "uncertainty.json",
                "region_score": "region_score.json", "region_classifier": "region_classifier.json",
                "detail": "detail.pt", "styles": "styles.json", "novelty": "novelty.json"}
#: The kinds every bundle must have (an uncertainty table and a region
#: calibration are measured after training, so a new bundle may lack them).
REQUIRED_FILES = ("weights", "card")


@dataclass(frozen=True)
class ModelBundle:
    """One shipped model: its folder and checked manifest.

    Attributes
    ----------
    name : str
        The name :func:`load_pretrained` takes (the folder's name).
    folder : pathlib.Path
    manifest : dict
        ``{"name", "format_version", "files": {kind: {"path", "sha256"}},
        "training_geometry": {"size", "crop", ...}, "reference_radius"}``.
    """

    name: str
    folder: Path
    manifest: dict[str, Any] = field(compare=False, repr=False)

    def path(self, kind: str) -> Path | None:
        """The file of one kind (``weights``, ``card``, ``uncertainty``, ``region_score``, ``region_classifier``,
        ``detail``, ``styles``, ``novelty``), None if absent."""
        entry = self.manifest["files"].get(kind)
        return None if entry is None else self.folder / entry["path"]

    @property
    def weights_sha256(self) -> str:
        """sha256 of the weights file."""
        return str(self.manifest["files"]["weights"]["sha256"])

    @property
    def training_geometry(self) -> dict[str, Any]:
        """Side ``size`` and central ``crop`` of the Galaxy Zoo frames the model was trained on."""
        return dict(self.manifest.get("training_geometry") or {})

    @property
    def reference_radius(self) -> float:
        """The galaxy radius, in network pixels, that ``scale="auto"`` aims for."""
        return float(self.manifest["reference_radius"])

    def residual_table(self) -> ResidualTable | None:
        """The calibrated per-lightness uncertainty table of these weights (None: not measured)."""
        path = self.path("uncertainty")
        return None if path is None else _residual_table(str(path), self.weights_sha256)

    def region_score(self) -> dict[str, Any] | None:
        """The region-score calibration of this model's predicted color, as stored (None: not fitted)."""
        path = self.path("region_score")
        return None if path is None else json.loads(path.read_text())

    def region_classifier(self) -> dict[str, Any] | None:
        """The region classifier of this model's predicted color, as stored (None: not fitted)."""
        path = self.path("region_classifier")
        return None if path is None else json.loads(path.read_text())

    def detail_refiner(self, map_location: str = "cpu") -> DetailRefiner | None:
        """The full-resolution chroma path trained on this model's ab (None: the bundle has none)."""
        path = self.path("detail")
        if path is None:
            return None
        return load_weights(path, sha256=self.manifest["files"]["detail"]["sha256"], map_location=map_location)

    def styles(self) -> dict[str, "ColorStyle"]:
        """The survey styles fitted for these weights, by name ({}: none fitted)."""
        path = self.path("styles")
        return {} if path is None else dict(_styles(str(path), self.weights_sha256))

    def novelty_reference(self) -> "NoveltyReference | None":
        """The training range of the input properties of these weights (None: not measured)."""
        path = self.path("novelty")
        return None if path is None else _novelty(str(path), self.weights_sha256)

    def load_network(self, map_location: str = "cpu") -> ColorizerNet:
        """The network, in eval mode; ``network.bundle`` is this bundle."""
        network = load_weights(self.path("weights"), sha256=self.weights_sha256, map_location=map_location)
        network.bundle = self
        return network


@functools.lru_cache(maxsize=8)  # read once per process, not once per image
def _novelty(path: str, weights_sha256: str) -> "NoveltyReference":
    from ..novelty import NoveltyReference

    reference = NoveltyReference.from_dict(json.loads(Path(path).read_text()))
    _check_weights(path, "the novelty reference", reference.weights_sha256, weights_sha256)
    return reference


@functools.lru_cache(maxsize=8)  # read once per process, not once per image
def _styles(path: str, weights_sha256: str) -> tuple[tuple[str, "ColorStyle"], ...]:
    from ..styles import ColorStyle

    data = json.loads(Path(path).read_text())
    styles = tuple((name, ColorStyle.from_dict(entry)) for name, entry in data["styles"].items())
    for name, style in styles:
        _check_weights(path, f"style {name!r}", style.weights_sha256, weights_sha256)
    return styles


@functools.lru_cache(maxsize=8)  # read once per process, not once per image
def _residual_table(path: str, weights_sha256: str) -> ResidualTable:
    table = read_residual_table(path)
    _check_weights(path, "the uncertainty table", table.weights_sha256, weights_sha256)
    return table


def _check_weights(path: str, what: str, fitted_for: str, weights_sha256: str) -> None:
    """Refuse a calibration file of a bundle that was fitted for other weights."""
    if fitted_for != weights_sha256:
        raise WeightsError(f"{path}: {what} is for weights {fitted_for[:16]}…, "
                           f"not for the bundle's {weights_sha256[:16]}…")


def list_pretrained() -> list[str]:
    """Names of the shipped models (folders of :data:`WEIGHTS_DIR` with a manifest)."""
    return sorted(path.parent.name for path in WEIGHTS_DIR.glob(f"*/{MANIFEST}"))


def load_bundle(name: str = "default") -> ModelBundle:
    """A shipped model's bundle, its files checked against the manifest's sha256.

    The weights are checked when they are loaded (:meth:`ModelBundle.load_network`),
    on the bytes that are loaded; a bundle only looked up for its calibrations
    does not read them.

    Raises
    ------
    galcolor.InputError
        For an unknown name.
    galcolor.models.WeightsError
        When the manifest is unreadable, a file is missing or fails its checksum.
    """
    if name not in list_pretrained():
        raise InputError(f"no shipped model {name!r}; available: {list_pretrained()}")
    return _load_bundle(str(WEIGHTS_DIR / name))


@functools.lru_cache(maxsize=8)  # each file hashed once per process
def _load_bundle(folder: str) -> ModelBundle:
    root = Path(folder)
    try:
        manifest = json.loads((root / MANIFEST).read_text())
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise WeightsError(f"{root / MANIFEST}: not a readable bundle manifest ({error})") from error
    for kind in REQUIRED_FILES:
        if kind not in files:
            raise WeightsError(f"{root / MANIFEST}: the bundle has no {kind} file")
    for kind, entry in files.items():
        path = root / entry["path"]
        if not path.is_file():
            raise WeightsError(f"{path}: the {kind} file of bundle {root.name!r} is missing")
        if kind == "weights":  # load_weights checks them on the bytes it loads
            continue
        checksum = sha256_of(path)
        if checksum != entry["sha256"]:
            raise WeightsError(f"{path}: sha256 {checksum} does not match the manifest's {entry['sha256']}; "
                               "the file was changed or corrupted (after an intended change, refresh the manifest: "
                               "galcolor.models.pretrained.write_manifest)")
    return ModelBundle(name=root.name, folder=root, manifest=manifest)


def bundle_for_weights(weights_sha256: str | None) -> ModelBundle | None:
    """The shipped bundle whose weights have this sha256, or None (a user's own weights).

    Examples
    --------
    >>> from galcolor.models.pretrained import bundle_for_weights, load_bundle
    >>> bundle_for_weights(load_bundle().weights_sha256).name
    'default'
    >>> bundle_for_weights("f" * 64) is None
    True
    """
    if not weights_sha256:
        return None
    for name in list_pretrained():
        bundle = load_bundle(name)
        if bundle.weights_sha256 == weights_sha256:
            return bundle
    return None


def pretrained_path(name: str = "default") -> Path:
    """Path of a shipped model's weights file."""
    return load_bundle(name).path("weights")


def load_pretrained(name: str = "default", *, map_location: str = "cpu") -> ColorizerNet:
    """Load a shipped model's bundle and its network, after checking every checksum.

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
        training metadata stored with the weights; ``model.bundle`` is the
        :class:`ModelBundle` (uncertainty table, region calibration,
        training geometry).

    Raises
    ------
    galcolor.models.WeightsError
        If a file of the bundle is missing, corrupt or fails its checksum.

    Examples
    --------
    >>> from galcolor.models.pretrained import load_pretrained
    >>> model = load_pretrained()
    >>> model.name, model.head, model.bundle.name
    ('unet', 'regression', 'default')
    """
    return load_bundle(name).load_network(map_location=map_location)


def write_manifest(folder: str | Path, *, training_geometry: dict[str, Any]) -> dict[str, Any]:
    """Write (or refresh) a bundle's ``manifest.json`` from the files present in ``folder``.

    Run after any file of a bundle changed (``pipelines/calibrate_uncertainty.py``
    and ``pipelines/calibrate_regions.py`` do it). The reference radius is
    :func:`galcolor.geometry.training_galaxy_radius` of the geometry.

    Parameters
    ----------
    folder : str or pathlib.Path
        The bundle folder, holding the files named in :data:`BUNDLE_FILES`.
    training_geometry : dict
        ``{"size": ..., "crop": ...}`` (and ``window`` when trained on windows).
    """
    folder = Path(folder)
    files = {kind: {"path": file, "sha256": sha256_of(folder / file)}
             for kind, file in BUNDLE_FILES.items() if (folder / file).is_file()}
    manifest = {"name": folder.name, "format_version": 1, "files": files,
                "training_geometry": dict(training_geometry),
                "reference_radius": training_galaxy_radius(training_geometry["size"], training_geometry.get("crop"))}
    with atomic_write(folder / MANIFEST) as handle:
        handle.write_text(json.dumps(manifest, indent=2) + "\n")
    _load_bundle.cache_clear()
    return manifest
