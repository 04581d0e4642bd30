"""Dataset configuration: ``config/datasets.yaml`` plus optional override files.

Relative paths (``source``, ``manifest``) are resolved against the folder of the YAML
file that sets them, and ``${VARS}`` are expanded, before the files are merged. Later
files are deep-merged into earlier ones, except ``expect``, ``archives`` and ``splits``,
which an override replaces as a whole.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..io import read_yaml
from .checksum import normalise_digest
from .layout import LAYOUTS

__all__ = [
    "DEFAULT_CONFIG",
    "ArchiveSpec",
    "DatasetSpec",
    "is_url",
    "load_config",
]

#: config/datasets.yaml of this checkout
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "datasets.yaml"

_REPLACED = {"expect", "archives", "splits"}
_KNOWN_KEYS = {
    "title",
    "homepage",
    "citation",
    "source",
    "archives",
    "manifest",
    "manifest_prefix",
    "expect",
    "splits",
    "instructions",
}


def is_url(value: str) -> bool:
    """True for http(s)/ftp URLs."""
    return isinstance(value, str) and value.split("://", 1)[0].lower() in ("http", "https", "ftp")


@dataclass(frozen=True)
class ArchiveSpec:
    """One official archive file of a dataset."""

    file: str
    url: str | None = None
    sha256: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """Everything needed to acquire and check one dataset."""

    name: str
    title: str = ""
    homepage: str = ""
    source: tuple[str, ...] | None = None
    archives: tuple[ArchiveSpec, ...] = ()
    manifest: Path | None = None
    manifest_prefix: str = ""
    expect: dict = field(default_factory=dict)
    splits: dict = field(default_factory=dict)
    instructions: str = ""

    def fingerprint(self) -> str:
        """sha256 of the fields that decide what a fetch produces (for no-op re-runs)."""
        payload = {
            "source": self.source,
            "archives": [vars(a) for a in self.archives],
            "manifest": str(self.manifest) if self.manifest else None,
            "manifest_prefix": self.manifest_prefix,
            "expect": self.expect,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _resolve_path(value: str, base: Path) -> str:
    value = os.path.expandvars(os.path.expanduser(str(value)))
    if is_url(value) or os.path.isabs(value):
        return value
    return os.path.normpath(base / value)


def _read(path: Path) -> dict:
    data = read_yaml(path, "dataset config")
    if not isinstance(data, dict) or not isinstance(data.get("datasets", {}), dict):
        raise ValueError(f"{path}: expected a mapping with a 'datasets' mapping")
    base = path.resolve().parent
    for name, entry in (data.get("datasets") or {}).items():
        if name not in LAYOUTS:
            raise ValueError(
                f"{path}: unknown dataset {name!r}; known: {', '.join(sorted(LAYOUTS))}"
            )
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: datasets.{name} must be a mapping")
        unknown = set(entry) - _KNOWN_KEYS
        if unknown:
            raise ValueError(f"{path}: datasets.{name}: unknown keys {sorted(unknown)}")
        source = entry.get("source")
        if source is not None:
            items = source if isinstance(source, list) else [source]
            entry["source"] = [_resolve_path(item, base) for item in items]
        if entry.get("manifest"):
            entry["manifest"] = _resolve_path(entry["manifest"], base)
    return data


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        if (
            key in out
            and isinstance(out[key], dict)
            and isinstance(value, dict)
            and key not in _REPLACED
        ):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _spec(name: str, entry: dict) -> DatasetSpec:
    archives = []
    for number, item in enumerate(entry.get("archives") or []):
        if not isinstance(item, dict) or "file" not in item:
            raise ValueError(f"datasets.{name}.archives: each entry needs at least 'file'")
        sha256 = item.get("sha256")
        if sha256 is not None:
            key = f"datasets.{name}.archives[{number}].sha256"
            if not isinstance(sha256, str):
                # YAML reads an unquoted all-digit digest as a number (64 zeros: 0)
                raise ValueError(
                    f"{key} must be a quoted string of 64 hex digits, got the "
                    f'{type(sha256).__name__} {sha256!r}; write it in quotes: sha256: "..."'
                )
            try:
                normalise_digest(sha256)
            except ValueError as err:
                raise ValueError(
                    f"{key}: {err} (64 hex digits, or null to record it on first use)"
                ) from None
        archives.append(
            ArchiveSpec(
                file=str(item["file"]),
                url=item.get("url"),
                sha256=sha256,
                size=int(item["size"]) if item.get("size") is not None else None,
            )
        )
    expect = entry.get("expect") or {}
    if not all(isinstance(v, int) and v >= 0 for v in expect.values()):
        raise ValueError(f"datasets.{name}.expect: counts must be non-negative integers")
    source = entry.get("source")
    return DatasetSpec(
        name=name,
        title=entry.get("title") or "",
        homepage=entry.get("homepage") or "",
        source=tuple(source) if source else None,
        archives=tuple(archives),
        manifest=Path(entry["manifest"]) if entry.get("manifest") else None,
        manifest_prefix=entry.get("manifest_prefix") or "",
        expect=dict(expect),
        splits=dict(entry.get("splits") or {}),
        instructions=(entry.get("instructions") or "").strip(),
    )


def load_config(paths=None) -> dict[str, DatasetSpec]:
    """Load and merge dataset config files (default: :data:`DEFAULT_CONFIG`).

    Parameters
    ----------
    paths : path-like or list of path-like, optional
        Config files, later ones overriding earlier ones.

    Returns
    -------
    specs : dict of str to DatasetSpec

    Raises
    ------
    FileNotFoundError
        If a config file is missing.
    ValueError
        If a file is malformed or names an unknown dataset or key.
    """
    if paths is None:
        paths = [DEFAULT_CONFIG]
    elif isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    merged: dict = {}
    for path in paths:
        merged = _merge(merged, _read(Path(path)).get("datasets") or {})
    return {name: _spec(name, entry) for name, entry in merged.items()}
