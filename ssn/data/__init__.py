"""Datasets of the SSN benchmark: acquisition, loaders and training patches.

- Acquisition: :func:`load_config` (``config/datasets.yaml``), :func:`fetch`, :func:`check`,
  with :func:`download` (streaming, resumable), sha256 checks and :func:`safe_extract`.
- Loaders (numpy): :class:`BSDS500`, :class:`VOC2012`, :class:`Cityscapes`, :class:`Sintel`,
  by dataset name in :data:`LOADERS` (the names the CLI, the benchmark's jobs and training
  take); each gives ``evaluation_items()`` (:class:`EvaluationItem`), the one evaluation view.
- Training patches: :class:`PatchSampler`, :func:`segment_indices` and the torch
  datasets :class:`SegmentationPatches`, :class:`FlowPatches`
  (``ssn.data.torch_datasets``, imported lazily so that acquisition does not need torch).
"""

from __future__ import annotations

from .acquire import FetchResult, NoDownloadError, check, fetch, stamp_path
from .bsds500 import BSDS500
from .checksum import ChecksumError, sha256_file, verify_file, verify_manifest
from .cityscapes import Cityscapes, label_ids_to_train_ids
from .config import ArchiveSpec, DatasetSpec, load_config
from .download import DownloadError, DownloadInterrupted, download
from .evaluation import EvaluationItem, EvaluationSample
from .extract import UnsafeArchiveError, safe_extract
from .layout import LAYOUTS, LayoutError, find_root
from .sintel import Sintel
from .transforms import OFFICIAL_SCALE, PatchSampler, ScaleDistribution, segment_indices
from .voc import VOC2012

__all__ = [
    "BSDS500",
    "LAYOUTS",
    "LOADERS",
    "OFFICIAL_SCALE",
    "VOC2012",
    "ArchiveSpec",
    "ChecksumError",
    "Cityscapes",
    "DatasetSpec",
    "DownloadError",
    "DownloadInterrupted",
    "EvaluationItem",
    "EvaluationSample",
    "FetchResult",
    "FlowPatches",
    "LayoutError",
    "NoDownloadError",
    "PatchSampler",
    "ScaleDistribution",
    "SegmentationPatches",
    "Sintel",
    "UnsafeArchiveError",
    "check",
    "download",
    "fetch",
    "find_root",
    "label_ids_to_train_ids",
    "load_config",
    "safe_extract",
    "segment_indices",
    "sha256_file",
    "stamp_path",
    "verify_file",
    "verify_manifest",
]

#: the loader class of each dataset, by its name (training's ``task`` takes these names)
LOADERS = {"bsds500": BSDS500, "voc2012": VOC2012, "cityscapes": Cityscapes, "sintel": Sintel}


def __getattr__(name):
    if name in ("SegmentationPatches", "FlowPatches"):
        from . import torch_datasets

        return getattr(torch_datasets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
