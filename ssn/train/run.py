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

from ssn.bench.jobs import set_threads
from ssn.checkpoint import atomic_write_text, remove_stale_temporaries, save_checkpoint

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
        """``model`` under DistributedDataParallel when there are ranks, else itself."""
        if not self.distributed:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def close(self) -> None:
        if self.distributed:
            torch.distributed.destroy_process_group()


def _device(config: TrainConfig, local_rank: int) -> torch.device:
    from ssn.inference import resolve_device

    if config.device == "auto":
        return (
            torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
        )
    try:
        return resolve_device(config.device)
    except ValueError as err:
        raise ValueError(f"config key 'device': {err}") from None


def setup(config: TrainConfig) -> Session:
    """The session of this process: device, threads, and the process group under torchrun."""
    distributed = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    device = _device(config, int(os.environ.get("LOCAL_RANK", 0)))
    if distributed and config.batch_size % world:
        raise ValueError(f"batch_size {config.batch_size} must divide by {world} ranks")
    if distributed:
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if config.threads:  # torch's, and numba's for the validation's SLIC kernels
        set_threads(config.threads)
    return Session(device, rank, world, distributed)


# -- the run folder and its checkpoints -------------------------------------------------


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


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
            rng=rng_state(), train_seconds=run.seconds, train_device=run.devices,
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

    Every rank calls :meth:`step` (which stops a run whose loss is not finite); rank 0
    calls :meth:`write`, which adds a row at every ``log_interval`` and every validation.
    """

    FIELDS = ("iter", "loss", "reconstruction", "compactness", "val_asa", "val_br",
              "seconds", "samples_per_s", "val_epe")  # fmt: skip

    def __init__(self, config: TrainConfig, start: int, master: bool):
        self.path = config.run_folder / "log.csv"
        self.log_interval, self.batch_size = config.log_interval, config.batch_size
        if master and start and self.path.exists():
            truncate_log(self.path, start)
        self.running: dict[str, float] | None = None
        self.t_start = self.t_log = time.time()
        self.progress = None
        if master and config.progress:
            from tqdm import tqdm

            self.progress = tqdm(total=config.max_iters, initial=start, desc="train", unit="it")

    def step(self, iteration: int, losses: dict) -> None:
        values = {k: float(v.detach()) for k, v in losses.items()}
        if not all(math.isfinite(v) for v in values.values()):
            raise FloatingPointError(f"non-finite loss at iteration {iteration}: {values}")
        old = self.running
        self.running = (
            values if old is None else {k: 0.9 * old[k] + 0.1 * values[k] for k in values}
        )
        if self.progress is not None:
            self.progress.update(1)
            self.progress.set_postfix(loss=f"{self.running['loss']:.4f}")

    def write(self, iteration: int, scores: dict) -> None:
        """A row for ``iteration`` if it is a log interval or has validation ``scores``."""
        logged = iteration % self.log_interval == 0
        if not (logged or scores):
            return
        now = time.time()
        row = {"iter": iteration, **{k: f"{v:.6g}" for k, v in self.running.items()},
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
