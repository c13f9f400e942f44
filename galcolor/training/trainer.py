"""The colorizer training loop: CUDA with bf16 and DDP when present, the same code on the CPU.

:class:`Trainer` fits any galcolor colorizer -- a module with the model
interface of :mod:`galcolor.models` -- on datasets of training items
(:class:`galcolor.datasets.ImageFolder`, :class:`~galcolor.training.SimulatedPairs`,
or a :class:`torch.utils.data.ConcatDataset` of them).

The model interface the trainer relies on:

``model(lightness)``
    ``(B, 1, H, W)`` L in [0, 100] -> the raw output (ab ``(B, 2, H, W)``
    for regression heads, bin logits ``(B, K, H, W)`` for classification).
``model.loss(output, ab, weight)``
    Scalar weighted mean loss; ``weight`` is ``(B, 1, H, W)``.
``model.predict(lightness)``
    ``(ab, ab_std)``, each ``(B, 2, H, W)`` in Lab units.
``model.config()`` (optional)
    A JSON-able dict such that ``galcolor.models.get_model(**config)``
    rebuilds the architecture; stored in checkpoints.

Examples
--------
See :class:`Trainer`.
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Iterator, Literal

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, RandomSampler, Sampler

from ..devices import resolve_device
from ..exceptions import GalcolorError, InputError
from .augment import OPTIONAL_MASKS, Augment
from .checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from .history import write_history
from .losses import DEFAULT_SKY_WEIGHT, ab_error_sums, loss_weight

__all__ = ["Trainer", "TrainingError", "WarmupCosine", "resolve_device"]

_ITEM_KEYS = ("lightness", "ab", "galaxy_mask", "valid_mask")

# Trainer settings that shape the optimisation trajectory: a checkpoint can only
# be resumed by a trainer with the same values (the learning-rate schedule is
# laid out over epochs * steps_per_epoch steps).
_RESUME_SETTINGS = ("epochs", "batch_size", "steps_per_epoch", "world_size", "lr", "weight_decay",
                    "sky_weight", "seed")


class TrainingError(GalcolorError, RuntimeError):
    """Training cannot go on: the loss diverged, or the data gave no batch."""


class WarmupCosine:
    """Learning-rate factor per step: linear warm-up, then cosine annealing.

    Used with :class:`torch.optim.lr_scheduler.LambdaLR`, stepped once per
    batch. Unlike :class:`~torch.optim.lr_scheduler.OneCycleLR` it works for
    any number of steps (OneCycleLR divides by zero below ~8 steps), and its
    state is three numbers, which checkpoints keep as plain values.

    Parameters
    ----------
    total_steps : int
        Steps of the whole run.
    warmup_fraction : float, optional
        Fraction of the steps spent warming up (at least one step).
    start, end : float, optional
        Factors of the peak learning rate at the first and the last step.

    Examples
    --------
    >>> schedule = WarmupCosine(100)
    >>> [round(schedule(step), 3) for step in (0, 25, 100)]
    [0.04, 1.0, 0.001]
    """

    def __init__(self, total_steps: int, warmup_fraction: float = 0.25,
                 start: float = 1.0 / 25.0, end: float = 1e-3) -> None:
        self.total_steps = int(total_steps)
        self.warmup_steps = max(1, round(warmup_fraction * self.total_steps))
        self.start = float(start)
        self.end = float(end)

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.start + (1.0 - self.start) * step / self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps))
        return self.end + (1.0 - self.end) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def __repr__(self) -> str:
        return (f"WarmupCosine(total_steps={self.total_steps}, warmup_steps={self.warmup_steps}, "
                f"start={self.start}, end={self.end})")


class _ShardSampler(Sampler[int]):
    """Indices ``rank, rank + world, ...`` in order: every item once over all ranks, no padding."""

    def __init__(self, length: int, rank: int, world_size: int) -> None:
        self.indices = list(range(rank, length, world_size))

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


class Trainer:
    """Train a colorizer: AdamW with warm-up + cosine, galaxy-weighted loss, checkpoints with exact resume.

    Parameters
    ----------
    model : torch.nn.Module
        A colorizer with the galcolor model interface (see the module
        documentation). Its weights are trained in place.
    train_data : torch.utils.data.Dataset
        Items with ``lightness`` (1, H, W), ``ab`` (2, H, W), ``galaxy_mask``
        and ``valid_mask`` (1, H, W); all of one size H = W.
    val_data : torch.utils.data.Dataset, optional
        Validation items (never augmented). Without it the best epoch is the
        one with the lowest training loss.
    epochs : int, optional
        Length of the run (the learning-rate schedule spans it).
    batch_size : int, optional
        Images per optimisation step and process (under ``torchrun`` the
        global batch is ``batch_size * WORLD_SIZE``).
    lr : float, optional
        Peak learning rate of the warm-up + cosine schedule (see Notes).
    weight_decay : float, optional
        AdamW decoupled weight decay.
    sky_weight : float, optional
        Loss weight of a valid sky pixel relative to a galaxy pixel, in [0, 1]
        (:func:`~galcolor.training.loss_weight`): most pixels of a cutout are
        sky, so an unweighted loss learns grey. Invalid pixels weigh 0.
    knot_weight : float, optional
        Added to the loss weight of the pixels a dataset transform marks in
        ``knot_mask`` (:class:`~galcolor.training.KnotInjection`): compact
        knots are a tiny share of the galaxy pixels, and count this much
        more (default 0: as any galaxy pixel).
    augment : Augment or bool, optional
        Augmentation applied to every training batch on the device; ``True``
        (default) uses ``Augment()`` with its defaults, ``False`` none.
    device : str or torch.device, optional
        ``"auto"`` (default): CUDA when present, else the CPU.
    amp : bool or "auto", optional
        bf16 autocast. ``"auto"`` switches it on on CUDA GPUs that support
        bf16, off on the CPU. Losses and metrics are computed in float32.
    channels_last : bool or "auto", optional
        NHWC memory format for model and inputs (``"auto"``: on CUDA).
    compile : bool, optional
        Run the forward pass through :func:`torch.compile`.
    num_workers : int, optional
        DataLoader worker processes (0 loads in the main process).
    pin_memory : bool or "auto", optional
        Page-locked host batches for faster copies (``"auto"``: on CUDA).
    checkpoint_dir : str or os.PathLike, optional
        Where ``last.pt``, ``best.pt`` and the ``history.csv``/``.json``/``.png``
        go after every epoch. ``None`` writes nothing.
    early_stopping_patience : int, optional
        Stop after this many epochs without a better best metric.
    grad_clip_norm : float, optional
        Clip the global gradient norm to this value.
    seed : int, optional
        Seeds the data order, the augmentation and the global torch, NumPy
        and :mod:`random` generators (which the trainer sets when it is made;
        seed the model's initialisation yourself, before making it).
    progress : bool, optional
        tqdm bars and a summary line per epoch on stderr (rank 0 only).
    max_batches_per_epoch : int, optional
        Cap on steps per epoch, for runs on a time budget.
    val_batch_size : int, optional
        Batch size for validation (default ``batch_size``).
    metadata : dict, optional
        Plain values (str, numbers, bools, None, lists and dicts of them) that
        describe the run, such as where a fine-tuned model started; kept in
        every checkpoint and restored by :meth:`resume`.

    Attributes
    ----------
    history : list of dict
        One row per completed epoch: ``epoch``, ``train_loss``, ``val_loss``,
        ``val_ab_mae_galaxy``, ``val_ab_mae_whole`` (ab MAE per component in
        Lab units on galaxy pixels, L > 15, and on all valid pixels), ``lr``
        (at the end of the epoch), ``images_per_s`` (training only, all
        processes), ``epoch_time_s`` (training and validation, without
        writing checkpoints).
    epoch : int
        Number of completed epochs.
    best_metric, best_epoch : float, int
        Lowest ``val_ab_mae_galaxy`` (or ``train_loss`` without validation
        data) and the epoch that reached it.
    stopped_early : bool
        Whether early stopping ended the run.

    Raises
    ------
    galcolor.InputError
        If an option is invalid or an item lacks a key.
    TrainingError
        If the loss becomes NaN or infinite.

    See Also
    --------
    galcolor.training.Augment, galcolor.training.load_checkpoint

    Notes
    -----
    **Optimisation.** AdamW with a one-cycle-like learning rate
    (:class:`WarmupCosine`, after Smith & Topin 2019): a linear warm-up over
    the first quarter of all steps from ``lr / 25`` to ``lr``, then cosine
    annealing to ``lr / 1000``, stepped after every batch. The loss is
    ``model.loss(output, ab, weight)`` with the weights of
    :func:`~galcolor.training.loss_weight`.

    **Checkpoints** (:func:`~galcolor.training.save_checkpoint`), written
    atomically by rank 0 after every epoch: ``last.pt``, and ``best.pt``
    when the best metric improved. Both hold the model, optimizer and
    scheduler states, the epoch, best metric, history, the trainer's
    settings, and the states of every random number generator of every
    process (torch CPU and CUDA, NumPy, :mod:`random`, data order,
    augmentation), all as tensors, numbers, lists and dicts: they load with
    ``torch.load(..., weights_only=True)``. :meth:`resume` continues a run
    bit for bit on the CPU: the weights and history of a run resumed after
    any epoch equal those of an uninterrupted run (except the wall-clock
    columns). On CUDA, cuDNN and atomics make runs themselves
    non-deterministic, so resumed runs match only statistically.

    **Several GPUs.** Launched by ``torchrun`` (``WORLD_SIZE > 1``), the
    trainer joins the process group (NCCL on CUDA, Gloo on the CPU), wraps
    the model in :class:`~torch.nn.parallel.DistributedDataParallel`, shards
    the training data with a :class:`~torch.utils.data.DistributedSampler`
    and the validation data without padding, averages losses and metrics
    over processes, and lets rank 0 alone write checkpoints, history and
    progress::

        torchrun --nproc_per_node=4 pipelines/train_colorizer.py --epochs 30 ...

    **Batches** are ``batch_size`` images; the last incomplete batch of an
    epoch is dropped when there is at least one full batch (a batch of one
    image breaks batch normalisation).

    Examples
    --------
    A tiny colorizer (a 1x1 convolution with an L1 loss) on simulated
    galaxies, one epoch on the CPU:

    >>> import torch
    >>> from torch import nn
    >>> from galcolor.training import SimulatedPairs, Trainer
    >>> class Tiny(nn.Module):
    ...     name, head, stride = "tiny", "regression", 1
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.conv = nn.Conv2d(1, 2, 1)
    ...     def forward(self, lightness):
    ...         return self.conv(lightness / 100.0)
    ...     def loss(self, output, ab, weight):
    ...         return ((output - ab).abs() * weight).sum() / (2 * weight.sum()).clamp_min(1e-6)
    ...     def predict(self, lightness):
    ...         ab = self(lightness)
    ...         return ab, torch.zeros_like(ab)
    >>> data = SimulatedPairs(4, size=32)
    >>> trainer = Trainer(Tiny(), data, data, epochs=1, batch_size=2, progress=False)
    >>> history = trainer.fit()
    >>> len(history), sorted(history[0])[:3]
    (1, ['epoch', 'epoch_time_s', 'images_per_s'])
    """

    def __init__(
        self,
        model: nn.Module,
        train_data: Dataset,
        val_data: Dataset | None = None,
        *,
        epochs: int = 10,
        batch_size: int = 16,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        sky_weight: float = DEFAULT_SKY_WEIGHT,
        knot_weight: float = 0.0,
        augment: Augment | bool = True,
        device: str | torch.device = "auto",
        amp: bool | Literal["auto"] = "auto",
        channels_last: bool | Literal["auto"] = "auto",
        compile: bool = False,
        num_workers: int = 0,
        pin_memory: bool | Literal["auto"] = "auto",
        checkpoint_dir: str | os.PathLike | None = None,
        early_stopping_patience: int | None = None,
        grad_clip_norm: float | None = None,
        seed: int = 0,
        progress: bool = True,
        max_batches_per_epoch: int | None = None,
        val_batch_size: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive int, got {value!r}")
        for name, value in (("max_batches_per_epoch", max_batches_per_epoch),
                            ("early_stopping_patience", early_stopping_patience),
                            ("val_batch_size", val_batch_size)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InputError(f"{name} must be None or a positive int, got {value!r}")
        if not lr > 0:
            raise InputError(f"lr must be > 0, got {lr!r}")
        if not weight_decay >= 0:
            raise InputError(f"weight_decay must be >= 0, got {weight_decay!r}")
        if not 0.0 <= sky_weight <= 1.0:
            raise InputError(f"sky_weight must be in [0, 1], got {sky_weight!r}")
        if not knot_weight >= 0:
            raise InputError(f"knot_weight must be >= 0, got {knot_weight!r}")
        if num_workers < 0:
            raise InputError(f"num_workers must be >= 0, got {num_workers!r}")
        for name, value in (("amp", amp), ("channels_last", channels_last), ("pin_memory", pin_memory)):
            if value not in (True, False, "auto"):
                raise InputError(f"{name} must be True, False or 'auto', got {value!r}")
        if len(train_data) == 0:
            raise InputError("train_data is empty")
        if val_data is not None and len(val_data) == 0:
            raise InputError("val_data is empty; pass None to train without validation")

        self.epochs = epochs
        self.batch_size = batch_size
        self.val_batch_size = val_batch_size or batch_size
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.sky_weight = float(sky_weight)
        self.knot_weight = float(knot_weight)
        self.seed = int(seed)
        self.progress = bool(progress)
        self.max_batches_per_epoch = max_batches_per_epoch
        self.early_stopping_patience = early_stopping_patience
        self.grad_clip_norm = grad_clip_norm
        self.num_workers = int(num_workers)
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.train_data = train_data
        self.val_data = val_data

        # ---- processes and device
        self.device = resolve_device(device)
        self._owns_process_group = False
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = 0
        if self.world_size > 1:
            if not dist.is_initialized():
                dist.init_process_group(backend="nccl" if self.device.type == "cuda" else "gloo")
                self._owns_process_group = True
            self.rank = dist.get_rank()
            self.world_size = dist.get_world_size()
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self.is_main = self.rank == 0
        on_cuda = self.device.type == "cuda"
        self.amp = (on_cuda and torch.cuda.is_bf16_supported()) if amp == "auto" else bool(amp)
        self.channels_last = on_cuda if channels_last == "auto" else bool(channels_last)
        self.pin_memory = on_cuda if pin_memory == "auto" else bool(pin_memory)
        self.compile = bool(compile)

        # ---- randomness: the trainer's own generators, and the global ones for the model (dropout)
        torch.manual_seed(self.seed + self.rank)
        np.random.seed((self.seed + self.rank) % 2**32)
        random.seed(self.seed + self.rank)
        self._data_generator = torch.Generator().manual_seed(self.seed)
        self._augment_generator = torch.Generator().manual_seed(
            self.seed * 1_000_003 + 7919 * (self.rank + 1))
        if augment is True:
            augment = Augment(seed=self.seed)
        elif augment is False or augment is None:
            augment = None
        elif not callable(augment):
            raise InputError(f"augment must be an Augment, True or False, got {type(augment).__name__}")
        self.augment = augment

        # ---- model, optimiser, schedule
        self.model = model.to(self.device)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        forward: nn.Module = self.model
        if self.world_size > 1:
            forward = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if on_cuda else None)
        if self.compile:
            forward = torch.compile(forward)
        self._forward = forward

        self.train_loader = self._make_train_loader()
        self.val_loader = self._make_val_loader()
        self.steps_per_epoch = len(self.train_loader)
        if self.max_batches_per_epoch is not None:
            self.steps_per_epoch = min(self.steps_per_epoch, self.max_batches_per_epoch)
        if self.steps_per_epoch < 1:
            raise InputError("train_data gives no batch")
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=self.lr,
                                           weight_decay=self.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, WarmupCosine(self.epochs * self.steps_per_epoch))

        # ---- progress of the run
        self.epoch = 0
        self.history: list[dict[str, Any]] = []
        self.best_metric = math.inf
        self.best_epoch = 0
        self.epochs_without_improvement = 0
        self.stopped_early = False
        self._best_state: dict[str, torch.Tensor] | None = None

    # ------------------------------------------------------------------ data

    def _make_train_loader(self) -> DataLoader:
        if self.world_size > 1:
            sampler: Sampler[int] = DistributedSampler(self.train_data, num_replicas=self.world_size,
                                                       rank=self.rank, shuffle=True, seed=self.seed)
        else:
            sampler = RandomSampler(self.train_data, generator=self._data_generator)
        return DataLoader(
            self.train_data, batch_size=self.batch_size, sampler=sampler, num_workers=self.num_workers,
            pin_memory=self.pin_memory, drop_last=len(sampler) >= self.batch_size,
            generator=self._data_generator,
        )

    def _make_val_loader(self) -> DataLoader | None:
        if self.val_data is None:
            return None
        sampler = _ShardSampler(len(self.val_data), self.rank, self.world_size)
        return DataLoader(self.val_data, batch_size=self.val_batch_size, sampler=sampler,
                          num_workers=self.num_workers, pin_memory=self.pin_memory)

    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(batch, dict) or any(key not in batch for key in _ITEM_KEYS):
            have = list(batch) if isinstance(batch, dict) else type(batch).__name__
            raise InputError(f"training items must be dicts with keys {list(_ITEM_KEYS)}, got {have}")
        out = dict(batch)
        for key in _ITEM_KEYS + OPTIONAL_MASKS:
            if key in batch:
                out[key] = batch[key].to(self.device, non_blocking=self.pin_memory)
        return out

    def _input(self, lightness: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            return lightness.contiguous(memory_format=torch.channels_last)
        return lightness

    def _autocast(self):
        if not self.amp:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)

    # ------------------------------------------------------------------ loop

    def fit(self, stop_after: int | None = None) -> list[dict[str, Any]]:
        """Train until ``epochs`` are done or early stopping says stop.

        Parameters
        ----------
        stop_after : int, optional
            Run at most this many epochs in this call, e.g. to spread one run
            over several sessions; :meth:`resume` from ``last.pt`` goes on.

        Returns
        -------
        list of dict
            :attr:`history`, all epochs so far.
        """
        run = 0
        while self.epoch < self.epochs and not self.stopped_early:
            if stop_after is not None and run >= stop_after:
                break
            self._run_epoch()
            run += 1
        return self.history

    def _run_epoch(self) -> None:
        started = time.perf_counter()
        train_loss, images, train_seconds = self._train_epoch()
        row: dict[str, Any] = {"epoch": self.epoch + 1, "train_loss": train_loss}
        metrics = self.evaluate() if self.val_loader is not None else {}
        row.update(val_loss=metrics.get("val_loss", math.nan),
                   val_ab_mae_galaxy=metrics.get("val_ab_mae_galaxy", math.nan),
                   val_ab_mae_whole=metrics.get("val_ab_mae_whole", math.nan),
                   lr=float(self.scheduler.get_last_lr()[0]),
                   images_per_s=images / train_seconds if train_seconds > 0 else math.nan)
        self.epoch += 1
        metric = row["val_ab_mae_galaxy"] if self.val_loader is not None else train_loss
        improved = math.isfinite(metric) and metric < self.best_metric
        if improved:
            self.best_metric, self.best_epoch = float(metric), self.epoch
            self.epochs_without_improvement = 0
            self._best_state = {key: value.detach().to("cpu", copy=True)
                                for key, value in self.model.state_dict().items()}
        else:
            self.epochs_without_improvement += 1
        patience = self.early_stopping_patience
        if patience is not None and self.epochs_without_improvement >= patience:
            self.stopped_early = True
        row["epoch_time_s"] = time.perf_counter() - started  # before writing: same for every rank
        self.history.append(row)
        self._write(improved)
        if self.progress and self.is_main:
            from tqdm.auto import tqdm
            tqdm.write(_summary(row, self.epochs, improved), file=sys.stderr)
            if self.stopped_early:
                tqdm.write(f"early stopping: no improvement for {patience} epochs "
                           f"(best epoch {self.best_epoch})", file=sys.stderr)

    def _train_epoch(self) -> tuple[float, int, float]:
        from tqdm.auto import tqdm

        self.model.train()
        sampler = self.train_loader.sampler
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(self.epoch)
        transform = getattr(self.train_data, "transform", None)
        if hasattr(transform, "set_epoch"):  # a dataset transform that draws anew each epoch (KnotInjection)
            transform.set_epoch(self.epoch)
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        images = 0
        started = time.perf_counter()
        bar = tqdm(total=self.steps_per_epoch, desc=f"epoch {self.epoch + 1}/{self.epochs}", unit="batch",
                   leave=False, file=sys.stderr, disable=not (self.progress and self.is_main))
        with bar:
            for step, batch in enumerate(self.train_loader):
                if step >= self.steps_per_epoch:
                    break
                batch = self._to_device(batch)
                if self.augment is not None:
                    batch = self.augment(batch, generator=self._augment_generator)
                weight = loss_weight(batch["valid_mask"], batch["galaxy_mask"], self.sky_weight)
                if self.knot_weight and "knot_mask" in batch:
                    weight = weight + self.knot_weight * batch["knot_mask"].to(weight.dtype)
                with self._autocast():
                    output = self._forward(self._input(batch["lightness"]))
                loss = self.model.loss(output.float(), batch["ab"], weight)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if self.grad_clip_norm is not None:
                    nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip_norm)
                self.optimizer.step()
                self.scheduler.step()
                count = batch["lightness"].shape[0]
                loss_sum += loss.detach().double() * count
                images += count
                bar.update()
                if bar.disable is False and step % 10 == 0:
                    bar.set_postfix(loss=f"{loss.item():.3g}")
        seconds = time.perf_counter() - started
        totals = torch.stack([loss_sum, torch.tensor(float(images), dtype=torch.float64, device=self.device)])
        if self.world_size > 1:
            dist.all_reduce(totals)
        train_loss = float(totals[0] / totals[1])
        if not math.isfinite(train_loss):
            raise TrainingError(
                f"training loss became {train_loss} in epoch {self.epoch + 1}: lower lr (now {self.lr}), "
                f"set grad_clip_norm, or switch amp off"
            )
        return train_loss, int(totals[1]), seconds

    @torch.no_grad()
    def evaluate(self, data: Dataset | None = None) -> dict[str, float]:
        """Validation loss and ab MAE on galaxy pixels and on whole images.

        Parameters
        ----------
        data : torch.utils.data.Dataset, optional
            Items to evaluate (default the trainer's ``val_data``); never
            augmented.

        Returns
        -------
        dict
            ``val_loss`` (the weighted training loss over all pixels of
            the set, whatever the batches), ``val_ab_mae_galaxy`` (mean absolute a*, b* error
            per component on galaxy pixels, L > 15), ``val_ab_mae_whole``
            (the same on all valid pixels), from ``model.predict``; NaN when
            there are no such pixels. Under DDP every process gets the
            totals over all of them.
        """
        if data is None:
            loader = self.val_loader
            if loader is None:
                raise InputError("no validation data: pass val_data to the Trainer or data= here")
        else:
            loader = DataLoader(data, batch_size=self.val_batch_size, num_workers=self.num_workers,
                                sampler=_ShardSampler(len(data), self.rank, self.world_size),
                                pin_memory=self.pin_memory)
        self.model.eval()
        if self.world_size > 1:
            # DDP copies rank 0's buffers only at the start of a training forward: after
            # the last step every rank holds its own batch-norm statistics. Validate
            # (and checkpoint) rank 0's.
            for buffer in self.model.buffers():
                dist.broadcast(buffer, src=0)
        totals = torch.zeros(6, dtype=torch.float64, device=self.device)
        for batch in loader:
            batch = self._to_device(batch)
            lightness = self._input(batch["lightness"])
            weight = loss_weight(batch["valid_mask"], batch["galaxy_mask"], self.sky_weight)
            with self._autocast():
                output = self.model(lightness)
                ab_pred, _ = self.model.predict(lightness)
            loss = self.model.loss(output.float(), batch["ab"], weight)
            # model.loss is sum(w * l) / sum(w) per batch: multiplying back by sum(w)
            # makes the total independent of how the set is cut into batches and ranks.
            weight_sum = weight.double().sum()
            totals[0] += loss.double() * weight_sum
            totals[1] += weight_sum
            totals[2:] += ab_error_sums(ab_pred.float(), batch["ab"], batch["valid_mask"],
                                        batch["galaxy_mask"])
        if self.world_size > 1:
            dist.all_reduce(totals)
        loss_sum, weight_sum, galaxy_error, galaxy_count, whole_error, whole_count = totals.tolist()
        return {
            "val_loss": loss_sum / weight_sum if weight_sum else math.nan,
            "val_ab_mae_galaxy": galaxy_error / (2 * galaxy_count) if galaxy_count else math.nan,
            "val_ab_mae_whole": whole_error / (2 * whole_count) if whole_count else math.nan,
        }

    # ------------------------------------------------------------------ checkpoints

    def settings(self) -> dict[str, Any]:
        """The trainer's settings as plain values (stored in checkpoints)."""
        return {
            "epochs": self.epochs, "batch_size": self.batch_size, "val_batch_size": self.val_batch_size,
            "lr": self.lr, "weight_decay": self.weight_decay, "sky_weight": self.sky_weight,
            "knot_weight": self.knot_weight,
            "train_transform": repr(getattr(self.train_data, "transform", None)),
            "seed": self.seed, "steps_per_epoch": self.steps_per_epoch, "world_size": self.world_size,
            "max_batches_per_epoch": self.max_batches_per_epoch,
            "early_stopping_patience": self.early_stopping_patience, "grad_clip_norm": self.grad_clip_norm,
            "amp": self.amp, "channels_last": self.channels_last, "compile": self.compile,
            "augment": repr(self.augment),
            "augment_options": self.augment.options() if isinstance(self.augment, Augment) else None,
            "scheduler": repr(self.scheduler.lr_lambdas[0]),
            "optimizer": "AdamW",
            "train_items": len(self.train_data),
            "val_items": None if self.val_data is None else len(self.val_data),
        }

    def state_dict(self) -> dict[str, Any]:
        """Everything a checkpoint holds (see Notes of the class); rank 0's view plus every rank's RNG."""
        rng = [rng_state(self._data_generator, self._augment_generator)]
        if self.world_size > 1:
            gathered: list[Any] = [None] * self.world_size
            dist.all_gather_object(gathered, rng[0])
            rng = gathered
        config = self.model.config() if hasattr(self.model, "config") else None
        return {
            "epoch": self.epoch,
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "model_name": str(getattr(self.model, "name", type(self.model).__name__)),
            "model_config": config,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "best_metric": self.best_metric,
            "best_epoch": self.best_epoch,
            "best_metric_name": "val_ab_mae_galaxy" if self.val_loader is not None else "train_loss",
            "epochs_without_improvement": self.epochs_without_improvement,
            "stopped_early": self.stopped_early,
            "history": [dict(row) for row in self.history],
            "trainer": self.settings(),
            "metadata": self.metadata,
            "rng": rng,
        }

    def _write(self, improved: bool) -> None:
        """Checkpoints and history after an epoch (rank 0), leaving every RNG as it was."""
        state = self.state_dict()  # collective under DDP: every rank takes part
        if self.checkpoint_dir is not None and self.is_main:
            save_checkpoint(state, self.checkpoint_dir / "last.pt")
            if improved:
                save_checkpoint(state, self.checkpoint_dir / "best.pt")
            # Plotting must not change the random streams a resumed run replays.
            write_history(self.history, self.checkpoint_dir)
            set_rng_state(state["rng"][0], self._data_generator, self._augment_generator)
        if self.world_size > 1:
            dist.barrier()

    def resume(self, checkpoint: str | os.PathLike) -> "Trainer":
        """Continue the run saved in ``checkpoint`` (``last.pt``); returns the trainer.

        The trainer must have been made with the same settings that shape the
        run (epochs, batch size, steps per epoch, number of processes,
        learning rate, weight decay, sky weight, seed) and the same model
        architecture.

        Raises
        ------
        galcolor.FileFormatError
            If the file is missing, truncated or corrupt.
        galcolor.InputError
            If its settings or model do not match this trainer's.
        """
        path = Path(checkpoint)
        state = load_checkpoint(path, map_location="cpu")
        saved = state.get("trainer", {})
        mine = self.settings()
        different = {key: (saved.get(key), mine[key])
                     for key in _RESUME_SETTINGS if saved.get(key) != mine[key]}
        # An Augment (or none) is part of the run; a custom callable cannot be compared.
        known = saved.get("augment_options") is not None or saved.get("augment") == "None"
        if known and saved["augment"] != mine["augment"]:
            different["augment"] = (saved["augment"], mine["augment"])
        if different:
            listed = ", ".join(f"{key}: checkpoint {old!r}, trainer {new!r}"
                               for key, (old, new) in different.items())
            raise InputError(
                f"{path}: cannot resume: the trainer's settings differ from the run's ({listed})")
        config = self.model.config() if hasattr(self.model, "config") else None
        if state.get("model_config") is not None and config is not None and state["model_config"] != config:
            raise InputError(f"{path}: cannot resume: model config {config} differs from the "
                             f"checkpoint's {state['model_config']}")
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as error:
            raise InputError(f"{path}: model weights do not fit this model: {error}") from error
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = int(state["epoch"])
        self.history = [dict(row) for row in state["history"]]
        self.best_metric = float(state["best_metric"])
        self.best_epoch = int(state["best_epoch"])
        self.epochs_without_improvement = int(state["epochs_without_improvement"])
        self.stopped_early = bool(state.get("stopped_early", False))
        self.metadata = {**self.metadata, **dict(state.get("metadata") or {})}
        rng = state["rng"]
        mine_rng = rng[self.rank] if len(rng) == self.world_size else rng[0]
        set_rng_state(mine_rng, self._data_generator, self._augment_generator)
        self._best_state = None
        if self.checkpoint_dir is not None and (self.checkpoint_dir / "best.pt").is_file():
            best = load_checkpoint(self.checkpoint_dir / "best.pt")
            if int(best.get("best_epoch", -1)) == self.best_epoch:
                self._best_state = best["model"]
        elif self.best_epoch == self.epoch:
            self._best_state = {k: v.clone() for k, v in state["model"].items()}
        return self

    @classmethod
    def from_checkpoint(cls, checkpoint: str | os.PathLike, train_data: Dataset,
                        val_data: Dataset | None = None, *, model: nn.Module | None = None,
                        **options: Any) -> "Trainer":
        """A trainer rebuilt from a checkpoint's settings (and model config), resumed from it.

        Parameters
        ----------
        checkpoint : str or os.PathLike
            ``last.pt`` of the run.
        train_data, val_data : torch.utils.data.Dataset
            The run's data (checkpoints hold no data).
        model : torch.nn.Module, optional
            The model; by default rebuilt with
            ``galcolor.models.get_model(**checkpoint["model_config"])``.
        **options
            Other :class:`Trainer` options (device, num_workers, progress,
            checkpoint_dir, ...); the settings stored in the checkpoint win
            for those that shape the run, the augmentation included (an
            ``augment`` option is replaced by the run's own, when the
            checkpoint records it). Without ``amp``, the run keeps its
            own autocast setting.
        """
        state = load_checkpoint(checkpoint)
        if model is None:
            if state.get("model_config") is None:
                raise InputError(f"{checkpoint}: the checkpoint has no model_config; pass model=")
            from ..models import get_model  # imported here: training does not need the registry otherwise

            model = get_model(**state["model_config"])
        saved = state["trainer"]
        run_keys = ("epochs", "batch_size", "lr", "weight_decay", "sky_weight", "seed",
                    "max_batches_per_epoch", "early_stopping_patience", "grad_clip_norm", "val_batch_size")
        settings = {key: saved[key] for key in run_keys if key in saved}
        if "amp" not in options and "amp" in saved:
            settings["amp"] = bool(saved["amp"])
        if saved.get("augment_options") is not None:
            settings["augment"] = Augment(**saved["augment_options"])
        elif saved.get("augment") == "None":
            settings["augment"] = None
        trainer = cls(model, train_data, val_data, **{**options, **settings})
        return trainer.resume(checkpoint)

    def restore_best(self) -> nn.Module:
        """Load the best epoch's weights into the model and return the model.

        Raises
        ------
        TrainingError
            If no epoch has been completed (or the best one's weights are gone).
        """
        state = self._best_state
        if state is None and self.checkpoint_dir is not None and (self.checkpoint_dir / "best.pt").is_file():
            state = load_checkpoint(self.checkpoint_dir / "best.pt")["model"]
        if state is None:
            raise TrainingError("no best model: no epoch has been completed")
        self.model.load_state_dict(state)
        return self.model

    def close(self) -> None:
        """Leave the process group, if this trainer joined it."""
        if self._owns_process_group and dist.is_initialized():
            dist.destroy_process_group()
            self._owns_process_group = False

    def __repr__(self) -> str:
        return (f"Trainer(model={getattr(self.model, 'name', type(self.model).__name__)!r}, "
                f"epoch={self.epoch}/{self.epochs}, device={str(self.device)!r}, "
                f"world_size={self.world_size}, batch_size={self.batch_size}, lr={self.lr})")


def _summary(row: dict[str, Any], epochs: int, improved: bool) -> str:
    parts = [f"epoch {row['epoch']}/{epochs}", f"train loss {row['train_loss']:.4g}"]
    if math.isfinite(row["val_loss"]):
        parts += [f"val loss {row['val_loss']:.4g}",
                  f"val ab MAE galaxy {row['val_ab_mae_galaxy']:.3f} / whole {row['val_ab_mae_whole']:.3f}"]
    parts += [f"lr {row['lr']:.2e}", f"{row['images_per_s']:.1f} img/s", f"{row['epoch_time_s']:.1f} s"]
    return " | ".join(parts) + (" *" if improved else "")
