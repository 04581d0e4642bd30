"""Safe extraction of tar and zip archives.

Every member is checked before anything is written, and an unsafe one is refused with an
:class:`UnsafeArchiveError` naming the archive and the member. Tar members go through the
standard library's ``"data"`` extraction filter (:func:`tarfile.data_filter`: links whose
target resolves outside the destination, absolute links, device files and fifos, unsafe
modes), once over all members before extracting and again as each is written. What it
does not do is kept here: absolute names and ``..`` components are refused (the filter
strips a leading ``/``, and ``zipfile`` silently rewrites both), and so is a zip member
stored as a symbolic link that points outside (``zipfile`` would write the link's target
as a file).
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


def _outside(archive: Path, name: str, link: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"{archive}: link {name!r} -> {link!r} points outside the destination"
    )


def _tar_member(archive: Path, member: tarfile.TarInfo, dest: Path) -> tarfile.TarInfo:
    """``member`` as the ``"data"`` filter lets it be written into ``dest``."""
    _check_name(archive, member.name)
    try:
        return tarfile.data_filter(member, str(dest))
    except tarfile.LinkOutsideDestinationError as err:
        raise _outside(archive, member.name, member.linkname) from err
    except tarfile.SpecialFileError as err:
        raise UnsafeArchiveError(
            f"{archive}: member {member.name!r} is a device or special file"
        ) from err
    except tarfile.FilterError as err:
        raise UnsafeArchiveError(f"{archive}: {err}") from err


def _zip_member(archive: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path) -> None:
    """Refuse ``info`` if it (or the link it stores) would lead outside ``dest``, through
    its name or through a link already in ``dest``."""
    name = _check_name(archive, info.filename)
    real_dest = os.path.realpath(dest)

    def inside(path) -> bool:
        real = os.path.realpath(os.path.join(real_dest, path))
        return os.path.commonpath([real_dest, real]) == real_dest

    if not inside(name):
        raise UnsafeArchiveError(f"{archive}: member {info.filename!r} escapes the destination")
    if stat.S_ISLNK(info.external_attr >> 16):
        link = zf.read(info).decode("utf-8", "replace")
        if not inside(name.parent / link):
            raise _outside(archive, info.filename, link)


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
    RuntimeError
        For a tar archive, if this Python's :mod:`tarfile` has no ``"data"`` filter.
    """
    archive = Path(archive)
    dest = Path(dest)
    kind = archive_kind(archive)
    if kind == "tar" and not hasattr(tarfile, "data_filter"):
        raise RuntimeError(
            "extracting a tar archive safely needs tarfile's 'data' filter, which came with "
            "Python 3.10.12, 3.11.4 and 3.12: update Python"
        )
    dest.mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    try:
        if kind == "tar":
            with tarfile.open(archive) as tar:
                members = [_tar_member(archive, member, dest) for member in tar.getmembers()]
                for member in tqdm(
                    members, desc=f"extract {archive.name}", unit="file", disable=not progress
                ):
                    # again, as links written before may now lie on the member's path
                    tar.extract(member, dest, filter="data")
        else:
            with zipfile.ZipFile(archive) as zf:
                members = zf.infolist()
                for info in members:
                    _zip_member(archive, zf, info, dest)
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
