"""sha256 digests: of one file, and of a whole tree against a ``sha256sum`` manifest.

A digest mismatch is always a :class:`ChecksumError` whose message names the file, the
expected and the actual digest.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

__all__ = [
    "ChecksumError",
    "normalise_digest",
    "read_manifest",
    "sha256_file",
    "verify_file",
    "verify_manifest",
    "write_digest_record",
]

log = logging.getLogger("ssn.data")

_CHUNK = 1 << 20


class ChecksumError(ValueError):
    """A file's sha256 digest differs from the expected one."""


def sha256_file(path, *, progress: bool = False) -> str:
    """Return the hex sha256 digest of ``path``, read in 1 MiB chunks.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    digest = hashlib.sha256()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc=f"sha256 {path.name}")
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            if bar is not None:
                bar.update(len(chunk))
    if bar is not None:
        bar.close()
    return digest.hexdigest()


def normalise_digest(digest: str) -> str:
    """Lower-case hex digest without a ``sha256:`` prefix; ValueError if malformed."""
    digest = digest.strip().lower()
    if digest.startswith("sha256:"):
        digest = digest[len("sha256:") :]
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"not a sha256 hex digest: {digest!r}")
    return digest


def verify_file(path, expected: str, *, progress: bool = False) -> str:
    """Check the sha256 of ``path`` against ``expected``; return the digest.

    Raises
    ------
    ChecksumError
        If the digests differ (the message names the file).
    FileNotFoundError
        If ``path`` does not exist.
    """
    expected = normalise_digest(expected)
    actual = sha256_file(path, progress=progress)
    if actual != expected:
        raise ChecksumError(
            f"sha256 mismatch for {path}: expected {expected}, got {actual} "
            "(corrupt or incomplete file, or a different version of it)"
        )
    return actual


def read_manifest(path) -> dict[str, str]:
    """Read a ``sha256sum``-style manifest: ``<digest>  <relative path>`` per line.

    Leading ``./`` and a ``*`` binary marker are stripped; blank lines and ``#`` comments
    are skipped.

    Raises
    ------
    FileNotFoundError
        If the manifest does not exist.
    ValueError
        If a line is not ``<sha256>  <path>``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such checksum manifest: {path}")
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            raise ValueError(f"{path}:{number}: expected '<sha256>  <path>', got {line!r}")
        digest, name = parts
        name = name.lstrip("*")
        while name.startswith("./"):
            name = name[2:]
        try:
            entries[name] = normalise_digest(digest)
        except ValueError as err:
            raise ValueError(f"{path}:{number}: {err}") from None
    return entries


def verify_manifest(root, manifest, *, progress: bool = False) -> int:
    """Check every file listed in ``manifest`` (paths relative to ``root``).

    Files present under ``root`` but not listed are ignored.

    Returns
    -------
    count : int
        Number of files verified.

    Raises
    ------
    FileNotFoundError
        If a listed file is missing (the message names it).
    ChecksumError
        If a listed file's digest differs (the message names it).
    """
    root = Path(root)
    entries = read_manifest(manifest) if not isinstance(manifest, dict) else manifest
    items = sorted(entries.items())
    if progress:
        from tqdm import tqdm

        items = tqdm(items, unit="file", desc=f"verify {root.name}")
    for name, digest in items:
        target = root / name
        if not target.is_file():
            raise FileNotFoundError(f"missing file listed in the checksum manifest: {target}")
        verify_file(target, digest)
    return len(entries)


def write_digest_record(path, digest: str) -> Path:
    """Write ``<path>.sha256`` in ``sha256sum`` format; return the record's path."""
    path = Path(path)
    record = path.with_name(path.name + ".sha256")
    record.write_text(f"{normalise_digest(digest)}  {path.name}\n")
    return record
