"""The paper's released SSN models: names, where to find them, fetching and loading.

The authors released one SSN_deep model per task as Caffe files (NVlabs/ssn_superpixels,
``models/get_models.sh``). They are licensed CC BY-NC-SA 4.0 (NVIDIA), unlike this
project's MIT code, so they are never bundled: ``ssn models fetch`` downloads them at run
time into a per-user cache, pinned to their sha256 digests, and :func:`load` converts a
``.caffemodel`` into an :class:`~ssn.models.SSN` in memory (:mod:`ssn.caffe`).

Where a model is looked for, in order:

1. ``$SSN_WEIGHTS``, a folder holding the ``.caffemodel`` files, when set;
2. the ``source`` folder of a models config (``config/models.local.yaml``), when given
   (a ``source`` or ``$SSN_WEIGHTS`` that names no folder is an error, never a download);
3. the cache, ``$SSN_HOME/models`` (default: the platform's user cache folder, e.g.
   ``~/.cache/ssn`` on Linux).

Every file is checked against its pinned digest before use. A models config's ``urls``
(model name to URL) points the download at a mirror.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ssn.io import read_yaml

__all__ = [
    "LICENCE",
    "OFFICIAL_MODELS",
    "OfficialModel",
    "cache_dir",
    "fetch",
    "is_official",
    "load",
    "local_folders",
    "locate",
    "read_models_config",
    "read_models_urls",
]

log = logging.getLogger("ssn")

LICENCE = (
    "The SSN models released by the paper's authors are (c) NVIDIA, licensed CC BY-NC-SA 4.0 "
    "(non-commercial, share-alike: https://creativecommons.org/licenses/by-nc-sa/4.0/). "
    "They are downloaded for your own use and are not part of ssn-bench."
)


@dataclass(frozen=True)
class OfficialModel:
    """One released model: its file, download link, digest and training task."""

    name: str
    file: str
    url: str
    sha256: str
    task: str
    description: str


def _dropbox(key: str, file: str) -> str:
    # The authors' script appends ?dl=0, which serves an HTML preview; ?dl=1 is the file.
    return f"https://www.dropbox.com/s/{key}/{file}?dl=1"


OFFICIAL_MODELS = {
    m.name: m
    for m in (
        OfficialModel(
            "official-bsds500",
            "ssn_bsds_model.caffemodel",
            _dropbox("kjugte52o6pqhsk", "ssn_bsds_model.caffemodel"),
            "0424f3b45a3d660dfc159b4c49888bdb5afa4c4682a862f69ec23cac9c6355d7",
            "bsds500",
            "BSDS500 segments (reconstruction of 50 one-hot labels)",
        ),
        OfficialModel(
            "official-cityscapes",
            "ssn_cityscapes_model.caffemodel",
            _dropbox("g12e0e71z5bclf9", "ssn_cityscapes_model.caffemodel"),
            "606c66810b6bb1222d4ee1f9265b1e132c24e2eab547da36cf8f2fe7fd4f3400",
            "cityscapes",
            "Cityscapes semantic labels (19 classes)",
        ),
        OfficialModel(
            "official-voc2012",
            "ssn_voc_model.caffemodel",
            _dropbox("f7r15b7yom5f57o", "ssn_voc_model.caffemodel"),
            "807725afed73e247350586b04939fafc1076cfb70093f388efde127ceb3ddc7c",
            "voc2012",
            "Pascal VOC 2012 semantic labels (21 classes)",
        ),
        OfficialModel(
            "official-sintel",
            "ssn_sintel_model.caffemodel",
            _dropbox("qbck66abf7ek9gv", "ssn_sintel_model.caffemodel"),
            "ac1a73b019cc748f27de46930c9dc1c3a270d42f11fc43754fceae2aff7417bc",
            "sintel",
            "MPI-Sintel optical flow (input: a frame pair)",
        ),
    )
}


def is_official(name) -> bool:
    """True for the name of a released model (``official-bsds500``, …)."""
    return isinstance(name, str) and name in OFFICIAL_MODELS


def _model(name: str) -> OfficialModel:
    try:
        return OFFICIAL_MODELS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown official model {name!r}; known: {', '.join(OFFICIAL_MODELS)}"
        ) from None


def cache_dir() -> Path:
    """``$SSN_HOME/models``; by default in the platform's per-user cache folder."""
    home = os.environ.get("SSN_HOME")
    if home:
        return Path(home).expanduser() / "models"
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "ssn" / "models"


def _config_data(path) -> dict:
    """The mapping in a models config, its keys checked.

    Raises
    ------
    FileNotFoundError
        If the config file does not exist.
    ValueError
        If it is not a mapping of ``source`` and ``urls``.
    """
    path = Path(path)
    data = read_yaml(path, "models config")
    if not isinstance(data, dict) or set(data) - {"source", "urls"}:
        raise ValueError(
            f"{path}: expected a mapping with only a 'source' folder and 'urls' (model name "
            "to download URL)"
        )
    return data


def _folder(value: str, what: str, fix: str, base: Path | None = None) -> Path:
    """The existing folder ``value`` names, ``~`` and ``${VARS}`` expanded.

    ``what`` names the setting (``SSN_WEIGHTS=…``, ``<config>: source: …``) and ``fix``
    says what to do, so that ``$SSN_WEIGHTS`` and a config's ``source`` fail alike instead
    of falling back to a download.

    Raises
    ------
    ValueError
        If ``value`` is a URL, or uses a variable that is not set.
    FileNotFoundError
        If it names no folder.
    """
    from ssn.data.config import is_url

    if is_url(value):
        raise ValueError(f"{what} is a URL, not a folder; {fix}")
    expanded = os.path.expandvars(os.path.expanduser(value))
    unset = re.search(r"\$\{?(\w+)", expanded)  # expandvars leaves unset ones as they are
    if unset:
        raise ValueError(f"{what}: ${unset.group(1)} is not set; {fix}")
    folder = Path(expanded)
    if base is not None and not folder.is_absolute():
        folder = (base / folder).resolve()
    if not folder.is_dir():
        shown = "" if str(folder) == value else f" ({folder})"
        raise FileNotFoundError(f"{what} is not a folder{shown}; {fix}")
    return folder


def read_models_config(path) -> Path | None:
    """The local ``source`` folder named by a models config (``config/models.local.yaml``).

    The file holds ``source: <folder>``, relative to the file's own folder (``${VARS}``
    are expanded), and/or ``urls:`` (see :func:`read_models_urls`). Returns None when the
    file sets no source.

    Raises
    ------
    FileNotFoundError
        If the config file does not exist, or ``source`` names no folder.
    ValueError
        If it is not a mapping of ``source`` and ``urls``, or ``source`` is a URL or uses
        a variable that is not set.
    """
    path = Path(path)
    source = _config_data(path).get("source")
    if source is None:
        return None
    if not isinstance(source, str):
        raise ValueError(f"{path}: 'source' must be a folder path, got {source!r}")
    fix = (
        "set it to the folder holding the .caffemodel files, or remove it to use the cache "
        "(a download URL goes under 'urls:')"
    )
    return _folder(source, f"{path}: source: {source}", fix, base=path.resolve().parent)


def read_models_urls(path) -> dict[str, str]:
    """The download URLs a models config sets (``urls:``, model name to URL): a mirror.

    A file downloaded from a mirror is checked against the same pinned digest.

    Raises
    ------
    ValueError
        If ``urls`` is not a mapping of known model names to http(s) or ftp URLs.
    """
    from ssn.data.config import is_url

    path = Path(path)
    urls = _config_data(path).get("urls") or {}
    if not isinstance(urls, dict):
        raise ValueError(f"{path}: 'urls' must map model names to URLs, got {urls!r}")
    for name, url in urls.items():
        if name not in OFFICIAL_MODELS:
            raise ValueError(
                f"{path}: urls: unknown model {name!r}; known: {', '.join(OFFICIAL_MODELS)}"
            )
        if not is_url(url):
            raise ValueError(f"{path}: urls: {name}: {url!r} is not an http(s) or ftp URL")
    return dict(urls)


def local_folders(config=None) -> list[tuple[str, Path]]:
    """The local folders searched before the cache, as (origin, folder), in order.

    Raises
    ------
    FileNotFoundError, ValueError
        If ``$SSN_WEIGHTS`` or the config's ``source`` names no folder (see
        :func:`read_models_config`).
    """
    folders = []
    env = os.environ.get("SSN_WEIGHTS")
    if env:
        fix = "set it to the folder holding the .caffemodel files, or unset it to use the cache"
        folders.append(("SSN_WEIGHTS", _folder(env, f"SSN_WEIGHTS={env}", fix)))
    if config is not None:
        source = read_models_config(config)
        if source is not None:
            folders.append((str(config), source))
    return folders


_CACHE = "the cache"


def _find(model: OfficialModel, config) -> tuple[Path, str] | None:
    """Where ``model`` is (its path and origin), unverified; None if nowhere."""
    for origin, folder in local_folders(config):
        path = folder / model.file
        if path.is_file():
            return path, origin
        if origin == "SSN_WEIGHTS":
            raise FileNotFoundError(
                f"SSN_WEIGHTS={folder} holds no {model.file} (the {model.name} model); "
                "unset it to use the cache, or put the file there"
            )
    path = cache_dir() / model.file
    return (path, _CACHE) if path.is_file() else None


def _read_verified(path: Path, model: OfficialModel, origin: str) -> bytes:
    """The bytes of ``path``, read once and checked against the pinned digest.

    Raises
    ------
    ssn.data.checksum.ChecksumError
        If the digest differs; the message says how to get a good copy.
    """
    import hashlib

    from ssn.data.checksum import ChecksumError

    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != model.sha256:
        if origin == _CACHE:
            fix = f"run `ssn models fetch {model.name}`, which replaces it, or delete it"
        else:  # the user's own copy: never suggest deleting it
            fix = f"replace it with a good copy of {model.file}"
        raise ChecksumError(
            f"{model.name} from {origin}: sha256 mismatch for {path}: expected "
            f"{model.sha256}, got {digest} (corrupt or incomplete file, or a different "
            f"version of it); {fix}"
        )
    return data


def _offline_message(model: OfficialModel) -> str:
    return (
        f"{model.name} is not available offline: run `ssn models fetch {model.name}` "
        f"(downloads {model.file} from the authors' link, CC BY-NC-SA 4.0) or set "
        f"SSN_WEIGHTS to a folder holding {model.file}"
    )


def _locate(name: str, config) -> tuple[Path, bytes]:
    model = _model(name)
    found = _find(model, config)
    if found is None:
        raise FileNotFoundError(_offline_message(model))
    path, origin = found
    return path, _read_verified(path, model, origin)


def locate(name: str, *, config=None) -> Path:
    """The verified ``.caffemodel`` of a released model, without downloading.

    Parameters
    ----------
    name : str
        ``official-bsds500``, ``official-cityscapes``, ``official-voc2012`` or
        ``official-sintel``.
    config : path-like, optional
        A models config whose ``source`` folder is searched after ``$SSN_WEIGHTS``.

    Raises
    ------
    FileNotFoundError
        If the model is in none of the places searched (one line saying how to fetch it
        or where to point ``SSN_WEIGHTS``), ``$SSN_WEIGHTS`` lacks it, or it or the
        config's ``source`` names no folder.
    ValueError
        If ``$SSN_WEIGHTS`` or the config's ``source`` is a URL or uses an unset variable.
    ssn.data.checksum.ChecksumError
        If the file found differs from the pinned digest (the message says how to fix it).
    """
    return _locate(name, config)[0]


def fetch(name: str, *, config=None, progress: bool = True) -> Path:
    """Make a released model available and return its verified ``.caffemodel``.

    A local copy (``$SSN_WEIGHTS`` or the config's ``source``) is used in place; otherwise
    the file is downloaded (resumably, with a progress bar) into :func:`cache_dir`, from
    the config's ``urls`` entry (a mirror) when it has one, else the authors' link. A
    cached file whose digest is wrong is kept aside as ``<file>.<digest prefix>.rejected``
    and downloaded again. The licence is printed before each download. A download whose digest differs from the
    pinned one is kept aside as ``<file>.<digest prefix>.rejected`` and is an error
    naming both digests.

    Raises
    ------
    ValueError
        If ``name`` is unknown.
    ssn.data.checksum.ChecksumError
        If a file differs from the pinned digest.
    ssn.data.download.DownloadError
        If the download fails.
    """
    from ssn.data.checksum import ChecksumError
    from ssn.data.download import download

    model = _model(name)
    found = _find(model, config)
    if found is not None:
        path, origin = found
        try:
            _read_verified(path, model, origin)
            return path
        except ChecksumError as err:
            if origin != _CACHE:
                raise
            _set_aside(path, err)
    url = read_models_urls(config).get(name, model.url) if config is not None else model.url
    destination = cache_dir() / model.file
    print(f"{model.name}: {LICENCE}", file=sys.stderr)
    download(url, destination, sha256=model.sha256, progress=progress, keep_mismatch=True)
    log.info("%s: %s (from %s)", model.name, destination, url)
    return destination


def _set_aside(path: Path, err: Exception) -> None:
    """Move a corrupt cached model aside (``<file>.<digest prefix>.rejected``), for a fetch."""
    from ssn.data.checksum import sha256_file

    try:
        aside = path.with_name(f"{path.name}.{sha256_file(path)[:12]}.rejected")
        path.replace(aside)
    except FileNotFoundError:  # another fetch moved it first
        return
    log.warning("%s; kept aside as %s, downloading it again", str(err).split(";")[0], aside)


def load(name: str, device=None, *, config=None):
    """The released model ``name`` as an :class:`~ssn.models.SSN` in eval mode.

    Raises
    ------
    FileNotFoundError
        If the model is not available offline (see :func:`locate`).
    """
    from ssn.caffe import convert

    path, data = _locate(name, config)  # read once: the bytes verified are those converted
    return convert(path, data=data).to(device or "cpu")
