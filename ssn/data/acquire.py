"""Acquire a dataset: download or take a local copy, verify, extract safely, check counts.

``fetch(spec, dest)`` produces ``<dest>/<name>`` (an extracted folder, or a symbolic link
to a user's already-extracted folder) and a stamp ``<dest>/<name>.json`` recording the
source, the archive digests, the dataset root and the file counts. Re-running with the
same configuration when the stamp and the files are present does nothing.

Downloaded archives are kept in ``<dest>/downloads/`` (so that an interrupted download
resumes and a re-run never downloads again).

Nothing of the user's is deleted: archives are extracted beside ``<dest>/<name>`` and
swapped in only when ``<dest>/<name>`` is absent, a link, or a tree that an earlier fetch
extracted and nobody changed since (its files are listed, with sizes and modification
times, in its ``.ssn-data-fetch.json``). Any other folder there is left as it is and the
fetch stops with a :class:`FileExistsError` naming it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .checksum import read_manifest, verify_manifest
from .config import DatasetSpec, is_url
from .download import download, verify_or_record
from .extract import archive_kind, safe_extract
from .layout import LayoutError, check_counts, find_root

__all__ = ["FetchResult", "NoDownloadError", "check", "fetch", "stamp_path"]

log = logging.getLogger("ssn.data")

#: inside a tree extracted by :func:`fetch`: the files it wrote (size, mtime)
OWNED_RECORD = ".ssn-data-fetch.json"


class NoDownloadError(FileNotFoundError):
    """The dataset has no anonymous download and no local source is configured."""


@dataclass
class FetchResult:
    """What :func:`fetch` did."""

    name: str
    root: Path
    skipped: bool
    source_kind: str
    digests: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)
    manifest_files: int = 0


def stamp_path(dest, name: str) -> Path:
    """``<dest>/<name>.json``, written by a successful :func:`fetch`."""
    return Path(dest) / f"{name}.json"


def _manifest_entries(spec: DatasetSpec) -> dict[str, str] | None:
    if spec.manifest is None:
        return None
    entries = read_manifest(spec.manifest)
    prefix = spec.manifest_prefix
    if prefix:
        entries = {k[len(prefix) :]: v for k, v in entries.items() if k.startswith(prefix)}
    if not entries:
        raise ValueError(f"{spec.name}: manifest {spec.manifest} lists no files under {prefix!r}")
    return entries


def check(spec: DatasetSpec, folder, *, verify: bool = True, progress: bool = False) -> FetchResult:
    """Check an extracted dataset: layout, file counts and (``verify``) the manifest.

    Raises
    ------
    LayoutError
        If the layout or a file count is wrong (the message shows the expected layout).
    ChecksumError, FileNotFoundError
        If a file listed in the manifest differs or is missing (the message names it).
    """
    root = find_root(spec.name, folder)
    counts = check_counts(spec.name, root, spec.expect)
    n_manifest = 0
    if verify:
        entries = _manifest_entries(spec)
        if entries is not None:
            n_manifest = verify_manifest(root, entries, progress=progress)
    return FetchResult(spec.name, root, False, "folder", counts=counts, manifest_files=n_manifest)


def _no_download_message(spec: DatasetSpec) -> str:
    missing = [a.file for a in spec.archives if not a.url]
    text = spec.instructions or (
        f"set datasets.{spec.name}.source to a folder holding {', '.join(missing)} "
        "or to an extracted copy"
    )
    return f"{spec.name}: no download URL for {', '.join(missing)}. {text}"


def _resolve_sources(spec: DatasetSpec, downloads: Path, progress: bool):
    """Return ("folder", path) or ("archives", [(path, digest), ...])."""
    sources = list(spec.source) if spec.source else [None] * len(spec.archives)
    # one folder that is not an archive folder: an already-extracted copy
    if len(sources) == 1 and sources[0] and not is_url(sources[0]) and Path(sources[0]).is_dir():
        folder = Path(sources[0])
        if not all((folder / a.file).is_file() for a in spec.archives):
            return "folder", folder
        sources = [str(folder / a.file) for a in spec.archives]
    if len(sources) == 1 and len(spec.archives) > 1:
        raise ValueError(
            f"{spec.name}: one source for {len(spec.archives)} archives "
            f"({', '.join(a.file for a in spec.archives)}): give a folder holding them or a list"
        )
    if len(sources) != len(spec.archives):
        raise ValueError(f"{spec.name}: {len(sources)} sources for {len(spec.archives)} archives")
    archives = []
    for archive, source in zip(spec.archives, sources, strict=True):
        if source is None:
            if not archive.url:
                raise NoDownloadError(_no_download_message(spec))
            source = archive.url
        if is_url(source):
            path = downloads / archive.file
            digest = download(
                source,
                path,
                sha256=archive.sha256,
                size=archive.size,
                progress=progress,
                check=archive_kind,
            )
        else:
            path = Path(source)
            if not path.is_file():
                raise FileNotFoundError(f"{spec.name}: source archive not found: {path}")
            # digests of local archives are recorded in downloads/, never next to the user's file
            digest = _verify_local(path, archive.sha256, downloads)
        archives.append((path, digest))
    return "archives", archives


def _verify_local(path: Path, sha256: str | None, downloads: Path) -> str:
    if sha256:
        return verify_or_record(path, sha256)
    downloads.mkdir(parents=True, exist_ok=True)
    link = downloads / path.name
    if not link.exists():
        link.symlink_to(path.resolve())
    return verify_or_record(link, None, what=str(path), check=archive_kind)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _listing(tree: Path) -> dict[str, list[int]]:
    """``{relative path: [size, mtime_ns]}`` of every file and link under ``tree``."""
    files = {}
    for folder, dirs, names in os.walk(tree):
        for name in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            files[os.path.relpath(path, tree)] = [info.st_size, info.st_mtime_ns]
    files.pop(OWNED_RECORD, None)
    return files


def _record_ownership(tree: Path) -> None:
    """List what the tool extracted into ``tree`` (see :func:`_foreign_files`)."""
    (tree / OWNED_RECORD).write_text(json.dumps({"files": _listing(tree)}) + "\n")


def _foreign_files(tree: Path) -> list[str]:
    """Files under ``tree`` that :func:`fetch` did not extract there, or that changed since.

    Every file counts as foreign when ``tree`` has no (readable) ownership record: only
    a tree the tool made and nobody touched may be replaced.
    """
    try:
        owned = json.loads((tree / OWNED_RECORD).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        owned = {}
    current = _listing(tree)
    foreign = sorted(k for k, v in current.items() if owned.get(k) != v)
    if not owned and not foreign:
        foreign = [OWNED_RECORD + " (missing)"] if any(tree.iterdir()) else []
    return foreign


def _refuse_foreign(name: str, target: Path, foreign: list[str]) -> FileExistsError:
    shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
    return FileExistsError(
        f"{name}: {target} holds files that `ssn data fetch` did not extract or that changed "
        f"since ({shown}); nothing was deleted. Move your files out of it and delete the "
        f"folder yourself, pass another --dest, or set datasets.{name}.source to it to use "
        "it as it is"
    )


def fetch(spec: DatasetSpec, dest, *, progress: bool = True, verify: bool = False) -> FetchResult:
    """Make ``spec``'s dataset available under ``<dest>/<name>`` and check it.

    Parameters
    ----------
    spec : DatasetSpec
        From :func:`~ssn.data.config.load_config`.
    dest : path-like
        Folder for datasets (e.g. ``resources/datasets``).
    progress : bool
        Progress bars for download, extraction and verification.
    verify : bool
        Re-verify the manifest even when a previous fetch is recorded.

    Returns
    -------
    FetchResult
        ``skipped`` is True when everything was already present (no-op).

    Raises
    ------
    NoDownloadError
        If an archive has no URL and no local source is configured (Cityscapes).
    ChecksumError
        If an archive or an extracted file has the wrong digest (the message names it).
    UnsafeArchiveError
        If an archive would write outside the destination.
    LayoutError
        If the result does not have the expected layout or file counts.
    """
    dest = Path(dest)
    name = spec.name
    target = dest / name
    stamp = stamp_path(dest, name)
    fingerprint = spec.fingerprint()
    if stamp.is_file() and (target.exists() or target.is_symlink()):
        try:
            recorded = json.loads(stamp.read_text())
        except ValueError:
            recorded = {}
        if recorded.get("fingerprint") == fingerprint:
            try:
                result = check(spec, target, verify=verify, progress=progress)
            except (LayoutError, ValueError, OSError) as err:
                log.warning("%s: recorded fetch no longer valid (%s); fetching again", name, err)
            else:
                log.info("%s: already present at %s", name, result.root)
                result.skipped = True
                result.source_kind = recorded.get("source_kind", "")
                result.digests = recorded.get("archives", {})
                return result
    dest.mkdir(parents=True, exist_ok=True)
    kind, resolved = _resolve_sources(spec, dest / "downloads", progress)
    digests: dict[str, str] = {}
    if kind == "folder":
        find_root(name, resolved)  # validate before linking
        if target.exists() and target.resolve() == resolved.resolve():
            pass  # already linked, or the source is the destination folder itself
        elif target.exists() and not target.is_symlink():
            raise FileExistsError(
                f"{name}: {target} already exists and is not a link to the configured source "
                f"{resolved}; move or delete it (a folder source is linked, never copied)"
            )
        else:
            _remove(target)
            target.symlink_to(resolved.resolve(), target_is_directory=True)
    else:
        digests = {path.name: digest for path, digest in resolved}
        present = False
        if target.exists() and not target.is_symlink():
            try:
                check(spec, target, verify=False)
                present = True  # extracted earlier (e.g. stamp lost): keep, verify below
            except (LayoutError, OSError):
                present = False
        if not present:
            replaced = target.is_dir() and not target.is_symlink()
            if replaced and (foreign := _foreign_files(target)):
                raise _refuse_foreign(name, target, foreign)
            if target.exists() and not (replaced or target.is_symlink()):
                raise _refuse_foreign(name, target, [target.name])
            partial = dest / f"{name}.partial"  # the tool's own scratch folder
            _remove(partial)
            for path, _ in resolved:
                log.info("%s: extracting %s", name, path.name)
                safe_extract(path, partial, progress=progress)
            find_root(name, partial)  # layout error before replacing anything
            _record_ownership(partial)
            if replaced:  # checked again: nothing may have appeared during the extraction
                if foreign := _foreign_files(target):
                    raise _refuse_foreign(name, target, foreign)
                old = dest / f"{name}.replaced"
                _remove(old)
                target.replace(old)
                partial.replace(target)
                _remove(old)
            else:
                if target.is_symlink():
                    target.unlink()  # a link: the folder it points to is not touched
                partial.replace(target)
    result = check(spec, target, verify=True, progress=progress)
    result.source_kind = kind
    result.digests = digests
    stamp.write_text(
        json.dumps(
            {
                "name": name,
                "root": os.path.abspath(result.root),
                "source_kind": kind,
                "source": list(spec.source) if spec.source else [a.url for a in spec.archives],
                "archives": digests,
                "counts": result.counts,
                "manifest_files": result.manifest_files,
                "fingerprint": fingerprint,
                "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
            indent=2,
        )
        + "\n"
    )
    return result
