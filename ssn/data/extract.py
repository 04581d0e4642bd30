"""Safe extraction of tar and zip archives.

Every member is checked before anything is written: absolute paths, ``..`` components,
links (symbolic or hard) whose target resolves outside the destination, and device files
are rejected with an :class:`UnsafeArchiveError` naming the archive and the member.
"""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

__all__ = ["UnsafeArchiveError", "archive_kind", "safe_extract"]


class UnsafeArchiveError(ValueError):
    """An archive member would be written (or point) outside the destination folder."""


def archive_kind(path) -> str:
    """``"tar"`` or ``"zip"`` by content; ValueError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such archive: {path}")
    if zipfile.is_zipfile(path):
        return "zip"
    if tarfile.is_tarfile(path):
        return "tar"
    raise ValueError(f"{path} is neither a tar nor a zip archive (corrupt or incomplete download?)")


def _check_name(archive: Path, name: str) -> PurePosixPath:
    if not name or "\x00" in name:
        raise UnsafeArchiveError(f"{archive}: member with an invalid name {name!r}")
    win = PureWindowsPath(name)
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or win.drive or win.root:
        raise UnsafeArchiveError(f"{archive}: member {name!r} has an absolute path")
    if ".." in posix.parts:
        raise UnsafeArchiveError(f"{archive}: member {name!r} contains '..'")
    return posix


def _inside(dest: Path, target: str) -> bool:
    real_dest = os.path.realpath(dest)
    real = os.path.realpath(os.path.join(real_dest, target))
    return real == real_dest or real.startswith(real_dest + os.sep)


def _check_link(archive: Path, dest: Path, name: PurePosixPath, link: str, hard: bool) -> None:
    if os.path.isabs(link) or PureWindowsPath(link).drive:
        raise UnsafeArchiveError(f"{archive}: link {str(name)!r} points to absolute path {link!r}")
    # symlinks resolve relative to their own folder, hard links relative to the archive root
    target = link if hard else str(name.parent / link)
    if not _inside(dest, target):
        raise UnsafeArchiveError(
            f"{archive}: link {str(name)!r} -> {link!r} points outside the destination"
        )


def _check_member(
    archive: Path, dest: Path, name: str, *, link=None, hard=False, special=False
) -> None:
    """Refuse one member: ``link`` is a link's target, ``special`` a device or fifo."""
    path = _check_name(archive, name)
    if not _inside(dest, str(path)):
        raise UnsafeArchiveError(f"{archive}: member {name!r} escapes the destination")
    if link is not None:
        _check_link(archive, dest, path, link, hard)
    elif special:
        raise UnsafeArchiveError(f"{archive}: member {name!r} is a device or special file")


def _tar_members(archive: Path, tar: tarfile.TarFile, dest: Path) -> list[tarfile.TarInfo]:
    members = tar.getmembers()
    for member in members:
        is_link = member.issym() or member.islnk()
        _check_member(archive, dest, member.name,
                      link=member.linkname if is_link else None, hard=member.islnk(),
                      special=not (is_link or member.isfile() or member.isdir()))  # fmt: skip
    return members


def _zip_members(archive: Path, zf: zipfile.ZipFile, dest: Path) -> list[zipfile.ZipInfo]:
    members = zf.infolist()
    for info in members:
        is_link = stat.S_ISLNK(info.external_attr >> 16)
        link = zf.read(info).decode("utf-8", "replace") if is_link else None
        _check_member(archive, dest, info.filename, link=link)
    return members


def safe_extract(archive, dest, *, progress: bool = False) -> int:
    """Extract a tar (any compression) or zip ``archive`` into ``dest`` after checking it.

    Parameters
    ----------
    archive : path-like
        The archive file.
    dest : path-like
        Destination folder (created).
    progress : bool
        Show a tqdm bar over the members.

    Returns
    -------
    count : int
        Number of members extracted.

    Raises
    ------
    UnsafeArchiveError
        If any member has an absolute path, a ``..`` component, is a link escaping
        ``dest`` or a device file; nothing is extracted then.
    ValueError
        If the file is not a readable tar or zip archive.
    """
    archive = Path(archive)
    dest = Path(dest)
    kind = archive_kind(archive)
    dest.mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    try:
        if kind == "tar":
            with tarfile.open(archive) as tar:
                members = _tar_members(archive, tar, dest)
                for member in tqdm(
                    members, desc=f"extract {archive.name}", unit="file", disable=not progress
                ):
                    # the "data" filter re-checks everything above and drops unsafe modes
                    tar.extract(member, dest, filter="data")
        else:
            with zipfile.ZipFile(archive) as zf:
                members = _zip_members(archive, zf, dest)
                for info in tqdm(
                    members, desc=f"extract {archive.name}", unit="file", disable=not progress
                ):
                    zf.extract(info, dest)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as err:
        if isinstance(err, tarfile.FilterError):
            raise UnsafeArchiveError(f"{archive}: {err}") from err
        raise ValueError(
            f"cannot extract {archive} (corrupt or truncated archive?): {err}"
        ) from err
    return len(members)
