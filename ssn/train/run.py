"""The bookkeeping of a training run: where it runs, its folder, checkpoints and log.

- :func:`setup` / :class:`Session`: the device, and the rank and world size under
  ``torchrun`` (DistributedDataParallel; rank 0 logs, validates and saves).
- :class:`Checkpointer`: ``out_dir`` itself -- refuses to replace a run silently, clears
  the temporaries of killed runs, writes ``config.json``, ``last.pt`` and ``best.pt``
  atomically (a kill at any moment loses at most the work since the last checkpoint).
- :class:`RunLog`: ``log.csv`` (cut back to the checkpoint on resume) and the progress bar.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ssn._parallel import set_threads
from ssn.checkpoint import atomic_write_text, remove_stale_temporaries, save_checkpoint
from ssn.devices import resolve_device

from .config import TrainConfig

__all__ = ["RUN_FILES", "Checkpointer", "RunLog", "Session", "due", "setup"]

#: the files of a run in ``out_dir`` (``config.json`` alone is no run)
RUN_FILES = ("last.pt", "best.pt", "log.csv")


# -- where the run happens --------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """This process's device and its place among the DistributedDataParallel ranks."""

    device: torch.device
    rank: int = 0
    world: int = 1
    distributed: bool = False

    @property
    def master(self) -> bool:
        return self.rank == 0

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` under DistributedDataParallel when there are ranks, else itself.

        No ``device_ids``: the model and every batch are already on this rank's device
        (torch's documented form for single-device modules, on CUDA and CPU alike).
        """
        if not self.distributed:
            return model
        return torch.nn.parallel.DistributedDataParallel(model)

    def close(self) -> None:
        if self.distributed:
            torch.distributed.destroy_process_group()


def setup(config: TrainConfig) -> Session:
    """The session of this process: device, threads, and the process group under torchrun.

    The device is :func:`ssn.devices.resolve_device`'s (``cuda`` is this rank's GPU,
    ``cuda:LOCAL_RANK``); ranks talk through the backend torch pairs with the device
    type (NCCL for CUDA, gloo for the CPU).
    """
    distributed = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    try:
        device = resolve_device(config.device)
    except ValueError as err:
        raise ValueError(f"config key 'device': {err}") from None
    if distributed and config.batch_size % world:
        raise ValueError(f"batch_size {config.batch_size} must divide by {world} ranks")
    if config.deterministic:  # cuDNN and cuBLAS too; ops without such a kernel warn
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    if device.type == "cuda":
        torch.cuda.set_device(device)  # before the process group: NCCL binds to it
    if distributed:
        backend = torch.distributed.Backend.default_device_backend_map[device.type]
        torch.distributed.init_process_group(backend)
    if config.threads:  # torch's, and numba's for the validation's SLIC kernels
        set_threads(config.threads)
    return Session(device, rank, world, distributed)


# -- the run folder and its checkpoints -------------------------------------------------


def rng_state(device: torch.device) -> dict:
    """The random state a resumed run needs: the CPU's, and its own GPU's when it has one."""
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict, device: torch.device) -> None:
    """Restore :func:`rng_state` on ``device`` (a run saved on a GPU may go on on the CPU,
    and the other way round, with what there is to restore).

    Older checkpoints hold a list, one state per GPU of the machine that saved them; this
    process's GPU takes the one of its index, or the first when that machine had fewer.
    """
    torch.set_rng_state(state["torch"])
    saved = state.get("cuda")
    if device.type != "cuda" or saved is None:
        return
    if isinstance(saved, (list, tuple)):
        if not saved:
            return
        saved = saved[device.index if device.index < len(saved) else 0]
    torch.cuda.set_rng_state(saved, device)


class Checkpointer:
    """The run folder ``config.out_dir``: its config, checkpoints and nothing else."""

    def __init__(self, config: TrainConfig):
        self.config = config
        self.out_dir = config.run_folder

    def check_free(self, overwrite: bool) -> None:
        """Refuse to start over a run in the folder unless resuming or ``overwrite``."""
        existing = [name for name in RUN_FILES if (self.out_dir / name).exists()]
        if existing and self.config.init_from != "resume" and not overwrite:
            raise FileExistsError(
                f"{self.out_dir} already holds a training run ({', '.join(existing)}); "
                "continue it with --resume (init_from=resume), write to another --out, or "
                "replace it with --overwrite"
            )

    def open(self, overwrite: bool) -> None:
        """Create the folder, drop a replaced run and dead temporaries, write config.json."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if overwrite and self.config.init_from != "resume":
            for name in RUN_FILES:  # the replaced run's own files, nothing else
                (self.out_dir / name).unlink(missing_ok=True)
        for name in (*RUN_FILES, "config.json"):
            remove_stale_temporaries(self.out_dir / name)  # of killed runs
        settings = dataclasses.asdict(self.config)
        atomic_write_text(self.out_dir / "config.json", json.dumps(settings, indent=2))
        print(f"training config: {json.dumps(settings)}", flush=True)

    def save(self, name: str, run, iteration: int) -> None:
        """Checkpoint ``run`` (a :class:`ssn.train.loop.TrainState`) as ``out_dir/name``."""
        save_checkpoint(
            self.out_dir / name, run.model, optimizer=run.optimizer.state_dict(),
            iter=iteration, best_metric=run.best, config=dataclasses.asdict(self.config),
            rng=rng_state(run.device), train_seconds=run.seconds, train_device=run.devices,
        )  # fmt: skip


def due(iteration: int, interval: int, last: int) -> bool:
    """Whether a periodic task (validation, checkpoint) runs after ``iteration``."""
    return iteration % interval == 0 or iteration == last


# -- the log ----------------------------------------------------------------------------


def truncate_log(log_path: Path, last_iter: int) -> None:
    """Keep only the complete log rows up to the checkpoint a run resumes from.

    Rows after it belong to iterations that are about to run again, and a row cut off
    by the interruption is incomplete; keeping either would corrupt the log.
    """
    with open(log_path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return
    header = rows[0]

    def complete(row: list[str]) -> bool:
        return len(row) == len(header) and row[0].isdigit() and int(row[0]) <= last_iter

    text = io.StringIO(newline="")
    csv.writer(text).writerows([header, *filter(complete, rows[1:])])
    atomic_write_text(log_path, text.getvalue())  # a kill mid-write keeps the old log


class RunLog:
    """Smoothed losses, ``log.csv`` rows and the progress bar of a run.

    Every rank calls :meth:`step` each iteration. The losses are smoothed on the device,
    as tensors: reading a number back from a GPU waits for all the work queued before
    it, so the log reads them once per ``log_interval`` (and before a validation or a
    checkpoint), where it also stops a run whose loss is not finite. Rank 0 calls
    :meth:`write`, which adds a row at every ``log_interval`` and every validation.
    """

    FIELDS = ("iter", "loss", "reconstruction", "compactness", "val_asa", "val_br",
              "seconds", "samples_per_s", "val_epe")  # fmt: skip

    def __init__(self, config: TrainConfig, start: int, master: bool):
        self.path = config.run_folder / "log.csv"
        self.log_interval, self.batch_size = config.log_interval, config.batch_size
        if master and start and self.path.exists():
            truncate_log(self.path, start)
        self.names: tuple[str, ...] = ()
        self.running: torch.Tensor | None = None  # smoothed losses, on the device
        self.read: dict[str, float] = {}  # their values at the last read
        self.read_at = start
        self.t_start = self.t_log = time.time()
        self.progress = None
        if master and config.progress:
            from tqdm import tqdm

            self.progress = tqdm(total=config.max_iters, initial=start, desc="train", unit="it")

    def step(self, iteration: int, losses: dict, *, read: bool = False) -> None:
        """Smooth ``losses`` (0.9 · previous + 0.1 · new); read them back at a log
        interval, or when ``read`` (a validation or checkpoint follows).

        Raises
        ------
        FloatingPointError
            At a read, if a loss since the previous read was not finite (a NaN or an
            infinity stays in the smoothed value, so none goes unnoticed).
        """
        values = torch.stack([v.detach().reshape(()) for v in losses.values()])
        values = values.to(torch.float32 if values.device.type == "mps" else torch.float64)
        if self.running is None:
            self.names, self.running = tuple(losses), values
        else:
            self.running = 0.9 * self.running + 0.1 * values
        if self.progress is not None:
            self.progress.update(1)
        if read or iteration % self.log_interval == 0:
            self._read(iteration)

    def _read(self, iteration: int) -> None:
        self.read = dict(zip(self.names, self.running.tolist(), strict=True))  # the one sync
        if not all(math.isfinite(v) for v in self.read.values()):
            raise FloatingPointError(
                f"non-finite loss in iterations {self.read_at + 1}-{iteration}: {self.read}"
            )
        self.read_at = iteration
        if self.progress is not None:
            self.progress.set_postfix(loss=f"{self.read['loss']:.4f}")

    def write(self, iteration: int, scores: dict) -> None:
        """A row for ``iteration`` if it is a log interval or has validation ``scores``."""
        logged = iteration % self.log_interval == 0
        if not (logged or scores):
            return
        now = time.time()
        row = {"iter": iteration, **{k: f"{v:.6g}" for k, v in self.read.items()},
               "seconds": f"{now - self.t_start:.1f}"}  # fmt: skip
        if logged:
            rate = self.log_interval * self.batch_size / (now - self.t_log)
            row["samples_per_s"] = f"{rate:.2f}"
            self.t_log = now
        shown = {k: v for k, v in scores.items() if k != "score"}
        row.update({k: f"{v:.5f}" for k, v in shown.items()})
        if shown and self.progress is not None:
            self.progress.write(
                f"iter {iteration}: " + ", ".join(f"{k} {v:.4f}" for k, v in shown.items())
            )
        new = not self.path.exists()
        with open(self.path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.FIELDS)
            if new:
                writer.writeheader()
            writer.writerow({k: row.get(k, "") for k in self.FIELDS})

    def close(self) -> None:
        if self.progress is not None:
            self.progress.close()
