"""The released models: the SSN paper's and its successors'; names, where to find them,
fetching and loading.

One catalog, :data:`OFFICIAL_MODELS`, holds every model whose authors released weights:

* the SSN paper's SSN_deep models, one per task, as Caffe files (NVlabs/ssn_superpixels,
  ``models/get_models.sh``), licensed CC BY-NC-SA 4.0 (NVIDIA); :func:`load` converts a
  ``.caffemodel`` into an :class:`~ssn.models.SSN` in memory (:mod:`ssn.caffe`);
* SEAL's pixel-affinity nets (Tu et al., CVPR 2018; wctu/SEAL), CC BY-NC-SA 4.0 (NVIDIA),
  and LNSNet's model (Zhu et al., CVPR 2021; zh460045050/LNSNet), whose repository has no
  licence: PyTorch state dicts, read by :func:`get_state_dict`.

None is bundled with this project's MIT code: ``ssn models fetch`` downloads them at run
time into a per-user cache, from the authors' links pinned to a commit where they have
one, and checks each against its sha256; each entry's licence is shown before its
download. LNSNet's file is never redistributed: it is fetched from the authors'
repository only.

Where a model is looked for, in order:

1. ``$SSN_WEIGHTS``, a folder holding the model files, or several folders separated by
   :data:`os.pathsep` (``:``; ``;`` on Windows), when set;
2. the ``source`` folder (or list of folders) of a models config
   (``config/models.local.yaml``), when given (a ``source`` or ``$SSN_WEIGHTS`` that
   names no folder is an error, never a download);
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
    "LNSNET_LICENCE",
    "OFFICIAL_MODELS",
    "OfficialModel",
    "SEAL_LICENCE",
    "cache_dir",
    "fetch",
    "get_state_dict",
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
SEAL_LICENCE = (
    "The SEAL models released by its authors (Tu et al., CVPR 2018, github.com/wctu/SEAL) "
    "are (c) 2018 NVIDIA, licensed CC BY-NC-SA 4.0 (non-commercial, share-alike: "
    "https://creativecommons.org/licenses/by-nc-sa/4.0/). They are downloaded for your own "
    "use and are not part of ssn-bench."
)
LNSNET_LICENCE = (
    "The LNSNet model released by its authors (Zhu et al., CVPR 2021, "
    "github.com/zh460045050/LNSNet) comes from a repository with no licence file: no "
    "licence is granted. It is downloaded from the authors' repository for your own use "
    "only; ssn-bench never redistributes it, and neither should you."
)


@dataclass(frozen=True)
class OfficialModel:
    """One released model: its file, download link, digest, training task and licence.

    ``network`` says what reads the file: ``"ssn"`` (a Caffe ``.caffemodel``, converted by
    :func:`load`), ``"seal"`` or ``"lnsnet"`` (a PyTorch state dict, read by
    :func:`get_state_dict`). ``licence`` is shown before a download; ``terms`` is its
    short form for messages.
    """

    name: str
    file: str
    url: str
    sha256: str
    task: str
    description: str
    network: str = "ssn"
    licence: str = LICENCE
    terms: str = "CC BY-NC-SA 4.0"


def _dropbox(key: str, file: str) -> str:
    # The authors' script appends ?dl=0, which serves an HTML preview; ?dl=1 is the file.
    return f"https://www.dropbox.com/s/{key}/{file}?dl=1"


def _github(repository: str, commit: str, path: str) -> str:
    # a raw file at a pinned commit: the bytes never change under the digest
    return f"https://raw.githubusercontent.com/{repository}/{commit}/{path}"


_SEAL = ("wctu/SEAL", "66317a95d8e545fb431ae9e26b762fa1e5a132b0")
_LNSNET = ("zh460045050/LNSNet", "ed7baa6889478063a487e04e2c90cc964519f732")


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
        OfficialModel(
            "seal-bsds500",
            "seal_bsds500.pkl",
            _github(*_SEAL, "test/bsds500.pkl"),
            "7ee8768152430640cc948b1fe3af2aef24f77f1041ab49696f6864614a3888dd",
            "bsds500",
            "SEAL pixel affinities for ERS, trained on BSDS500",
            network="seal",
            licence=SEAL_LICENCE,
        ),
        OfficialModel(
            "seal-cityscapes",
            "seal_cityscapes.pkl",
            _github(*_SEAL, "test/cityscapes.pkl"),
            "0d4d8010cdc07c03e573f71b0d22c3edcebe5d6ca44dac55f55d59843724ed34",
            "cityscapes",
            "SEAL pixel affinities for ERS, trained on Cityscapes",
            network="seal",
            licence=SEAL_LICENCE,
        ),
        OfficialModel(
            "lnsnet-bsds500",
            "lnsnet_BSDS_checkpoint.pth",
            _github(*_LNSNET, "lnsnet_BSDS_checkpoint.pth"),
            "f4815137898f54fb9f3b8147f50eaa146af9543a5ba1698ead66a532e1082a8f",
            "bsds500",
            "LNSNet trained on BSDS500 (no licence: fetched from the authors, never redistributed)",
            network="lnsnet",
            licence=LNSNET_LICENCE,
            terms="no licence, not redistributable",
        ),
    )
}


def is_official(name) -> bool:
    """True for the name of one of the SSN paper's released models (``official-bsds500``,
    …): the names ``ssn.segment(model=...)`` takes. False for SEAL's and LNSNet's."""
    return (
        isinstance(name, str) and name in OFFICIAL_MODELS and OFFICIAL_MODELS[name].network == "ssn"
    )


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


def read_models_config(path) -> list[Path]:
    """The local ``source`` folders named by a models config (``config/models.local.yaml``).

    The file holds ``source: <folder>`` or a list of folders (``source: [<a>, <b>]``),
    each relative to the file's own folder (``${VARS}`` are expanded), and/or ``urls:``
    (see :func:`read_models_urls`). Returns the folders in the order given; an empty list
    when the file sets no source.

    Raises
    ------
    FileNotFoundError
        If the config file does not exist, or a ``source`` entry names no folder.
    ValueError
        If it is not a mapping of ``source`` and ``urls``, ``source`` is neither a path
        nor a list of paths, or an entry is a URL or uses a variable that is not set.
    """
    path = Path(path)
    source = _config_data(path).get("source")
    if source is None:
        return []
    entries = source if isinstance(source, list) else [source]
    if not entries or not all(isinstance(entry, str) for entry in entries):
        raise ValueError(
            f"{path}: 'source' must be a folder path or a list of folder paths, got {source!r}"
        )
    fix = (
        "set it to the folder holding the model files, or remove it to use the cache "
        "(a download URL goes under 'urls:')"
    )
    base = path.resolve().parent
    return [_folder(entry, f"{path}: source: {entry}", fix, base=base) for entry in entries]


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


_WEIGHTS_FIX = (
    f"set it to the folder holding the model files (or several, separated by {os.pathsep!r}), "
    "or unset it to use the cache"
)


def _weights_folders(value: str) -> list[Path]:
    """The folders of ``$SSN_WEIGHTS``: one, or several separated by :data:`os.pathsep`
    (empty entries skipped, as in ``PATH``-like lists).

    Raises
    ------
    ValueError, FileNotFoundError
        As :func:`_folder`, naming the variable (and the entry, for a list).
    """
    from ssn.data.config import is_url

    what = f"SSN_WEIGHTS={value}"
    # a URL holds ':' (the separator on POSIX): refuse it whole rather than split it
    entries = [value] if is_url(value) else [e for e in value.split(os.pathsep) if e]
    if len(entries) == 1:
        return [_folder(entries[0], what, _WEIGHTS_FIX)]
    return [_folder(entry, f"{what}: {entry}", _WEIGHTS_FIX) for entry in entries]


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
        folders += [("SSN_WEIGHTS", folder) for folder in _weights_folders(env)]
    if config is not None:
        folders += [(str(config), folder) for folder in read_models_config(config)]
    return folders


_CACHE = "the cache"


def _find(model: OfficialModel, config) -> tuple[Path, str] | None:
    """Where ``model`` is (its path and origin), unverified; None if nowhere."""
    folders = local_folders(config)
    for origin, folder in folders:
        path = folder / model.file
        if path.is_file():
            return path, origin
    weights = [folder for origin, folder in folders if origin == "SSN_WEIGHTS"]
    if weights:  # set, so meant to be used: never fall back to the cache or a download
        shown = os.pathsep.join(map(str, weights))
        raise FileNotFoundError(
            f"SSN_WEIGHTS={shown} holds no {model.file} (the {model.name} model); "
            f"unset it to use the cache, or put the file there (SSN_WEIGHTS may list "
            f"several folders, separated by {os.pathsep!r})"
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
        f"(downloads {model.file} from the authors' link, {model.terms}) or set "
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
    """The verified file of a released model, without downloading.

    Parameters
    ----------
    name : str
        A name in :data:`OFFICIAL_MODELS`: ``official-bsds500``, ``official-cityscapes``,
        ``official-voc2012``, ``official-sintel`` (``.caffemodel``), ``seal-bsds500``,
        ``seal-cityscapes`` (``.pkl``) or ``lnsnet-bsds500`` (``.pth``).
    config : path-like, optional
        A models config whose ``source`` folders are searched after ``$SSN_WEIGHTS``.

    Returns
    -------
    path : Path
        The file, whose sha256 is the pinned one.

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
    """Make a released model available and return its verified file.

    A local copy (``$SSN_WEIGHTS`` or the config's ``source``) is used in place; otherwise
    the file is downloaded (resumably, with a progress bar) into :func:`cache_dir`, from
    the config's ``urls`` entry (a mirror) when it has one, else the authors' link. A
    cached file whose digest is wrong is kept aside as ``<file>.<digest prefix>.rejected``
    and downloaded again. The model's licence (``OFFICIAL_MODELS[name].licence``) is
    printed before each download. A download whose digest differs from the pinned one is
    kept aside as ``<file>.<digest prefix>.rejected`` and is an error naming both digests.

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
    print(f"{model.name}: {model.licence}", file=sys.stderr)
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
    """The SSN paper's released model ``name`` as an :class:`~ssn.models.SSN` in eval mode.

    Raises
    ------
    ValueError
        If ``name`` is unknown or not an SSN model (SEAL's and LNSNet's are read by
        :func:`get_state_dict`).
    FileNotFoundError
        If the model is not available offline (see :func:`locate`).
    """
    from ssn.caffe import convert

    if _model(name).network != "ssn":
        raise ValueError(
            f"{name} is a {_model(name).network} model, not an SSN: read its weights with "
            "ssn.official.get_state_dict"
        )
    path, data = _locate(name, config)  # read once: the bytes verified are those converted
    return convert(path, data=data).to(device or "cpu")


def get_state_dict(name: str, *, config=None) -> dict:
    """The verified weights of a released PyTorch model (SEAL's, LNSNet's), on the CPU.

    The file is found as by :func:`locate` (never downloaded: ``ssn models fetch NAME``
    does that), read once, checked against its pinned sha256 and unpickled from those
    same bytes with ``torch.load(..., weights_only=True)``, which builds tensors and
    plain containers only and never runs code from the file.

    Parameters
    ----------
    name : str
        ``seal-bsds500``, ``seal-cityscapes`` or ``lnsnet-bsds500``.
    config : path-like, optional
        A models config whose ``source`` folders are searched after ``$SSN_WEIGHTS``.

    Returns
    -------
    state_dict : dict of str to torch.Tensor
        The file's mapping of parameter and buffer names to tensors, as saved.

    Raises
    ------
    ValueError
        If ``name`` is unknown, is an SSN model (a Caffe file: see :func:`load`), or the
        file holds something other than a mapping of names to tensors.
    FileNotFoundError
        If the model is not available offline (see :func:`locate`).
    ssn.data.checksum.ChecksumError
        If the file found differs from the pinned digest: a tampered or damaged file is
        refused before it is unpickled.
    """
    import io

    import torch

    model = _model(name)
    if model.network == "ssn":
        raise ValueError(f"{name} is a Caffe model: convert it with ssn.official.load")
    path, data = _locate(name, config)  # read once: the bytes verified are those loaded
    state = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ValueError(f"{path}: expected a state dict (names to tensors), got {type(state)}")
    return state
