"""Streaming HTTP(S) download with a progress bar, resume of partial files and sha256 checks.

The file is written to ``<name>.part`` and renamed only once it is complete and verified,
so an interrupted download never leaves a file that looks finished. A later call (or the
automatic retry after a dropped connection) resumes the ``.part`` file with an HTTP
``Range`` request; servers that ignore ``Range`` get a fresh download.

Digests: with an expected sha256 a mismatch is a :class:`~ssn.data.checksum.ChecksumError`
naming the file, and the bad download is deleted. Without one (``None``), the digest is
computed, recorded next to the file as ``<name>.sha256`` and a warning says so
(trust-on-first-use); later runs verify the file against that record.

What arrives is written at once, in small reads, so that a dropped connection, a kill or
Ctrl-C keeps it for the resume. A server that sends nothing for ``timeout`` seconds, or
less than ``min_rate`` bytes/s over ``stall_window`` seconds, counts as a dropped
connection. Ctrl-C raises :class:`DownloadInterrupted`, which says how much is kept.
Concurrent downloads of one file (two processes, or threads) take turns through a lock
file ``<name>.lock`` next to it (kept: removing it could let a third one in); the later one
then finds the file complete and only verifies it.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from .checksum import (
    ChecksumError,
    normalise_digest,
    read_manifest,
    sha256_file,
    verify_file,
    write_digest_record,
)

__all__ = ["DownloadError", "DownloadInterrupted", "download", "verify_or_record"]

log = logging.getLogger("ssn.data")

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+|\*)-?(\d*)/(\d+|\*)")
_RETRYABLE = (
    urllib.error.URLError,
    ConnectionError,
    TimeoutError,
    socket.timeout,
    http.client.IncompleteRead,
    http.client.RemoteDisconnected,
)


class DownloadError(OSError):
    """A download failed for good (HTTP error, or still incomplete after all retries)."""


class DownloadInterrupted(KeyboardInterrupt):
    """Ctrl-C during a download; the ``.part`` file is kept and a re-run resumes it.

    Its message is one line saying how many bytes a re-run resumes from.
    """

    def __init__(self, part: Path):
        self.part = part
        self.size = part.stat().st_size if part.is_file() else 0
        super().__init__(
            f"interrupted; run the same command again to resume from {self.size} bytes ({part})"
        )


class _Incomplete(Exception):
    pass


def _resume_hint(part: Path) -> str:
    """What a re-run does: resume the ``.part`` file if one is left, else start again."""
    if part.is_file() and part.stat().st_size:
        return f"re-run to resume from {part} ({part.stat().st_size} bytes)"
    return "re-run to download it again"


@contextlib.contextmanager
def _locked(path: Path):
    """Hold ``<path>.lock`` exclusively: one download of ``path`` at a time.

    Processes and threads alike wait their turn (``flock`` locks an open file, not a
    process). Without ``fcntl`` (Windows) concurrent downloads are not guarded.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    lock = path.with_name(path.name + ".lock")
    with open(lock, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("waiting for another download of %s to finish (%s)", path.name, lock)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _checked(path: Path, check, record: Path | None) -> None:
    """Run ``check(path)``; on ValueError say exactly which files to delete."""
    if check is None:
        return
    try:
        check(path)
    except ValueError as err:
        if path.is_symlink():  # a link to the user's own file: never suggest deleting it
            fix = f"replace {path.resolve()} (the configured source) with a good copy"
        elif record is not None:
            fix = (
                f"delete {path} and {record} (its digest, recorded on first use) and run "
                "again to download it anew"
            )
        else:
            fix = f"no digest was recorded; delete {path} and run again to download it anew"
        raise ValueError(f"{err}; {fix}") from None


def verify_or_record(path, sha256: str | None, *, what: str = "", check=None) -> str:
    """Verify ``path`` against ``sha256`` or, when it is None, against/into ``<path>.sha256``.

    Returns the file's digest. With no expected digest and no record yet, ``check(path)``
    (if given) must accept the file first, then the digest is computed, written to
    ``<path>.sha256`` and a warning is logged (trust-on-first-use), so that a bad first
    download (an HTML error page served as the archive) is never pinned.

    Raises
    ------
    ChecksumError
        If the file differs from the expected or the recorded digest.
    ValueError
        If ``check`` rejects a file whose digest is not published (the message names the
        files to delete).
    """
    path = Path(path)
    if sha256:
        return verify_file(path, sha256)
    record = path.with_name(path.name + ".sha256")
    if record.is_file():
        recorded = read_manifest(record).get(path.name)
        if recorded:
            try:
                digest = verify_file(path, recorded)
            except ChecksumError as err:
                raise ChecksumError(f"{err}; recorded on first download in {record}") from None
            _checked(path, check, record)  # pinned by an older version without the check
            return digest
    _checked(path, check, None)
    digest = sha256_file(path)
    write_digest_record(path, digest)
    log.warning(
        "no published sha256 for %s%s: trusting it on first use, digest %s recorded in %s "
        "(copy it into config/datasets.yaml to pin it)",
        path.name,
        f" ({what})" if what else "",
        digest,
        record,
    )
    return digest


def _parse_total(response) -> tuple[int | None, int | None]:
    """Return (start offset, total size) from a response's headers."""
    content_range = response.headers.get("Content-Range")
    if content_range:
        m = _CONTENT_RANGE.match(content_range.strip())
        if m:
            start = None if m.group(1) == "*" else int(m.group(1))
            total = None if m.group(3) == "*" else int(m.group(3))
            return start, total
    length = response.headers.get("Content-Length")
    return 0, (int(length) if length is not None else None)


def _copy(response, fh, bar, url, *, chunk_size, timeout, rate) -> None:
    """Write the body to ``fh`` as it arrives; raise _Incomplete if it stalls or trickles.

    ``read1`` returns what has arrived (up to ``chunk_size``) instead of waiting for a
    full chunk, and each piece is flushed, so a drop, a kill or Ctrl-C loses nothing
    that arrived. ``rate`` is (bytes/s, window in s): less than that on average over a
    window is a stall, which a per-read socket timeout alone never sees in a trickle.
    """
    min_rate, window = rate
    since, received = time.monotonic(), 0
    while True:
        try:
            chunk = response.read1(chunk_size)
        except TimeoutError:  # socket.timeout is TimeoutError
            raise _Incomplete(f"no data from {url} for {timeout:g} s") from None
        if not chunk:
            return
        fh.write(chunk)
        fh.flush()
        bar.update(len(chunk))
        received += len(chunk)
        elapsed = time.monotonic() - since
        if elapsed >= window:
            if received < min_rate * elapsed:
                raise _Incomplete(
                    f"{url} is too slow: {received} bytes in {elapsed:.0f} s, under the "
                    f"minimum of {min_rate:g} bytes/s"
                )
            since, received = time.monotonic(), 0


def _fetch_once(url, part: Path, *, timeout, chunk_size, rate, progress, desc) -> None:
    """One request: append to (206) or restart (200) ``part``; raise _Incomplete if cut."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "ssn-bench", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=timeout
        )
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:
            _, total = _parse_total(err)
            if total == offset:  # the .part file is already complete
                return
            part.unlink()  # the server's file changed: start again
            raise _Incomplete(f"range request rejected for {url}; restarting") from None
        if err.code in (408, 429) or err.code >= 500:
            raise _Incomplete(f"HTTP {err.code} from {url}") from None
        raise DownloadError(f"download of {url} failed: HTTP {err.code} {err.reason}") from None
    with response:
        if response.status == 206:
            start, total = _parse_total(response)
            if start != offset:
                part.unlink()
                raise _Incomplete(f"server resumed {url} at {start}, not {offset}; restarting")
            mode = "ab"
        else:  # 200: the server ignored Range (or there was none)
            offset = 0
            _, total = _parse_total(response)
            mode = "wb"
        from tqdm import tqdm

        with (
            open(part, mode) as fh,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=desc,
                disable=not progress,
                mininterval=0.5,
            ) as bar,
        ):
            _copy(response, fh, bar, url, chunk_size=chunk_size, timeout=timeout, rate=rate)
    size = part.stat().st_size
    if total is not None and size < total:
        raise _Incomplete(f"connection closed after {size} of {total} bytes of {url}")


def download(
    url: str,
    path,
    *,
    sha256: str | None = None,
    size: int | None = None,
    progress: bool = True,
    retries: int = 5,
    timeout: float = 60.0,
    min_rate: float = 1024.0,
    stall_window: float = 60.0,
    chunk_size: int = 1 << 16,
    backoff: float = 1.0,
    keep_mismatch: bool = False,
    check=None,
) -> str:
    """Download ``url`` to ``path`` (resuming ``<path>.part``) and verify it.

    Parameters
    ----------
    url : str
        HTTP(S) URL.
    path : path-like
        Destination file; its folder is created.
    sha256 : str, optional
        Expected hex digest. ``None``: trust-on-first-use (see :func:`verify_or_record`).
    size : int, optional
        Expected size in bytes, checked before the (slower) digest.
    progress : bool
        Show a tqdm progress bar on stderr.
    retries : int
        Further attempts after a dropped connection or a 5xx answer; each resumes.
    timeout, chunk_size, backoff
        Socket timeout (s) of each read, the largest read (bytes), and the base of the
        linear retry delay (s).
    min_rate, stall_window
        An attempt that receives less than ``min_rate`` bytes/s on average over
        ``stall_window`` seconds is dropped (and resumed, as a cut connection is).
    keep_mismatch : bool
        Keep a download whose digest differs from ``sha256`` aside, as
        ``<path>.<first 12 hex digits of its digest>.rejected``, instead of deleting it.
    check : callable, optional
        Without ``sha256``: ``check(path)`` raises ValueError for a file that must not be
        trusted on first use (see :func:`verify_or_record`).

    Returns
    -------
    digest : str
        The sha256 of the downloaded file.

    Raises
    ------
    ChecksumError
        If the digest (or size) is wrong; the downloaded file is deleted (or kept aside,
        see ``keep_mismatch``).
    DownloadError
        On a permanent HTTP error, or if the file is still incomplete after ``retries``.
    DownloadInterrupted
        On Ctrl-C; the ``.part`` file is kept.
    """
    path = Path(path)
    if path.is_file():  # already downloaded: verify only (re-running is a no-op)
        return verify_or_record(path, sha256, what=url, check=check)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = dict(timeout=timeout, chunk_size=chunk_size, rate=(min_rate, stall_window))
    with _locked(path):
        if path.is_file():  # another download of it finished while this one waited
            return verify_or_record(path, sha256, what=url, check=check)
        part = path.with_name(path.name + ".part")
        try:
            _fetch(url, part, options, retries=retries, backoff=backoff, progress=progress)
        except KeyboardInterrupt:
            raise DownloadInterrupted(part) from None
        return _finish(url, path, part, sha256=sha256, size=size, keep_mismatch=keep_mismatch,
                       check=check)  # fmt: skip


def _fetch(url, part: Path, options: dict, *, retries, backoff, progress) -> None:
    """Fetch ``url`` into ``part``, resuming after each drop, up to ``retries`` times."""
    attempt = 0
    while True:
        try:
            _fetch_once(url, part, progress=progress, desc=part.name[: -len(".part")], **options)
            return
        except (_Incomplete, *_RETRYABLE) as err:
            attempt += 1
            if attempt > retries:
                raise DownloadError(
                    f"download of {url} incomplete after {retries + 1} attempts: {err}; "
                    f"{_resume_hint(part)}"
                ) from None
            log.warning(
                "download of %s interrupted (%s); resuming (attempt %d)", url, err, attempt + 1
            )
            time.sleep(backoff * attempt)


def _finish(url, path: Path, part: Path, *, sha256, size, keep_mismatch, check) -> str:
    """Check the complete ``part`` (size, digest) and rename it to ``path``."""
    actual_size = part.stat().st_size
    if size is not None and actual_size != size:
        part.unlink()
        raise ChecksumError(
            f"size mismatch for {path.name} from {url}: expected {size} bytes, got {actual_size}; "
            "the download was deleted"
        )
    if sha256:
        expected = normalise_digest(sha256)
        digest = sha256_file(part)
        if digest != expected:
            if keep_mismatch:
                aside = path.with_name(f"{path.name}.{digest[:12]}.rejected")
                part.replace(aside)
                fate = f"kept aside as {aside}"
            else:
                part.unlink()
                fate = "the download was deleted"
            raise ChecksumError(
                f"sha256 mismatch for {path.name} downloaded from {url}: expected {expected}, "
                f"got {digest}; {fate}"
            )
        part.replace(path)
        return digest
    part.replace(path)
    return verify_or_record(path, None, what=url, check=check)
