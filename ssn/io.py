"""Readers and writers for the file formats of the datasets and of label images.

One place for file formats, used by the CLI, the metrics, the dataset loaders and the
workflow: images (PNG/JPEG), BSDS500 ground truth (``.mat``), label images (8/16-bit
PNG, palette PNG by index, ``.npy``) and Middlebury optical flow (``.flo``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = [
    "existing_file",
    "read_bsds_ground_truth",
    "read_flo",
    "read_image",
    "read_label_image",
    "read_labelled_image",
    "read_yaml",
    "write_flo",
    "write_label_image",
]

FLO_MAGIC = np.float32(202021.25)

#: the EXIF tag of how a stored image is to be turned to be shown (1: as stored)
ORIENTATION_TAG = 0x0112


def existing_file(path, what: str = "file") -> Path:
    """``path`` as a :class:`~pathlib.Path`; :class:`FileNotFoundError` ("no such
    ``what``") if it is not a file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such {what}: {path}")
    return path


def read_yaml(path, what: str):
    """The data of the YAML file ``path`` (a ``what``, e.g. "training config"); ``{}``
    for an empty file.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        If it is not valid YAML (with the line and column of the fault).
    """
    import yaml

    path = existing_file(path, what)
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or " ".join(str(err).split())
        raise ValueError(f"{path}: not valid YAML{where}: {problem}") from None


def read_image(path) -> np.ndarray:
    """Read an image file as an ``(H, W[, C])`` array in its stored dtype.

    The image is returned as it is shown: an EXIF orientation tag (photos from cameras
    and phones) is applied, as Pillow's :func:`~PIL.ImageOps.exif_transpose` does.
    Palette images are read by their colours, CMYK (and YCbCr, LAB, HSV) images are
    converted to RGB; images larger than Pillow's decompression-bomb limit are refused,
    and so are files of several frames (animated GIF, PNG or WebP, multi-page TIFF).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file cannot be decoded as an image or holds more than one frame.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = existing_file(path)
    try:
        with Image.open(path) as img:
            _check_single_frame(path, img)
            if img.getexif().get(ORIENTATION_TAG, 1) != 1:  # else no copy of a large image
                img = ImageOps.exif_transpose(img)  # segment what is shown, not what is stored
            if img.mode == "P":  # palette images are read by their colours here
                img = img.convert("RGBA" if "transparency" in img.info else "RGB")
            elif img.mode in ("CMYK", "YCbCr", "LAB", "HSV"):  # not RGB(A): 4 channels of CMYK
                img = img.convert("RGB")
            return np.asarray(img)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as err:
        raise ValueError(f"cannot read image {path}: {err}") from err


def _check_single_frame(path: Path, img) -> None:
    """Refuse a file of several frames: which one to segment is the user's choice."""
    # an MPO (a camera's JPEG with a preview or depth image appended) is one picture:
    # its first frame is the photo itself
    frames = getattr(img, "n_frames", 1)
    if frames > 1 and img.format != "MPO":
        raise ValueError(
            f"{path} holds {frames} frames ({img.format}); an image to segment must have "
            f"one: save the frame you want as a file of its own (in Pillow: img.seek(i); "
            f"img.save('frame.png'))"
        )


def read_label_image(path) -> np.ndarray:
    """Read a label image: 8/16-bit PNG (palette PNGs by index) or ``.npy``.

    Returns
    -------
    labels : (H, W) ndarray of int64

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is unreadable, not 2-D or not integer-valued.
    """
    from PIL import Image, UnidentifiedImageError

    path = existing_file(path)
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:  # EOFError: an empty file
            raise ValueError(f"cannot read label array {path}: {err}") from err
    else:
        try:
            with Image.open(path) as img:
                if img.mode not in ("P", "L", "I", "I;16", "I;16B", "I;16L", "1"):
                    raise ValueError(
                        f"{path} is a {img.mode} image, not a label image "
                        "(expected a palette, 8-bit or 16-bit single-channel PNG)"
                    )
                arr = np.asarray(img)  # mode P gives palette indices
        except (UnidentifiedImageError, OSError) as err:
            raise ValueError(f"cannot read label image {path}: {err}") from err
    if arr.ndim != 2:
        raise ValueError(f"label image {path} must be 2-D, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
        raise ValueError(f"label image {path} must hold integers, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def read_labelled_image(image_path, label_path) -> tuple[np.ndarray, np.ndarray]:
    """An RGB image and its label image, checked to belong together.

    Raises
    ------
    FileNotFoundError
        If either file does not exist.
    ValueError
        If the image is not RGB or the label image has another size (the message names
        the file).
    """
    image = read_image(image_path)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{image_path}: expected an RGB image, got shape {image.shape}")
    labels = read_label_image(label_path)
    if labels.shape != image.shape[:2]:
        raise ValueError(
            f"{label_path}: labels {labels.shape} do not match image {image.shape[:2]}"
        )
    return image, labels


def write_label_image(path, labels: np.ndarray) -> None:
    """Write labels as a 16-bit PNG (``.png``) or a ``.npy`` array.

    Raises
    ------
    ValueError
        If ``labels`` is not 2-D integer data, or does not fit 16 bits for PNG output.
    """
    from PIL import Image

    path = Path(path)
    labels = np.asarray(labels)
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 2-D integer array, got {labels.dtype} {labels.shape}")
    if path.suffix.lower() == ".npy":
        np.save(path, labels)
        return
    if path.suffix.lower() != ".png":
        raise ValueError(f"label output must end in .png or .npy, got {path.name}")
    if labels.size and (labels.min() < 0 or labels.max() > 65535):
        raise ValueError("labels outside [0, 65535] do not fit a 16-bit PNG; use .npy")
    Image.fromarray(labels.astype(np.uint16)).save(path)


def read_bsds_ground_truth(path) -> list[np.ndarray]:
    """Read every human annotation of a BSDS500 ``.mat`` ground-truth file.

    Returns
    -------
    segmentations : list of (H, W) ndarray of int64
        One label image per annotation (labels start at 1, as stored). Floating-point
        annotations are accepted when every value is a whole number.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a BSDS500 ground truth, or an annotation holds NaN, infinite
        or fractional labels.
    """
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    path = existing_file(path)
    try:
        cells = loadmat(path)["groundTruth"]
        raw = [np.asarray(cell["Segmentation"][0][0]) for cell in cells[0]]
    # MatReadError (an empty or truncated file) is no ValueError; NotImplementedError is
    # scipy's answer to a MATLAB v7.3 (HDF5) file
    except (KeyError, ValueError, IndexError, TypeError, OSError, MatReadError,
            NotImplementedError) as err:  # fmt: skip
        raise ValueError(f"{path} is not a BSDS500 ground-truth file: {err}") from err
    segmentations = []
    for number, seg in enumerate(raw, 1):
        if not (np.issubdtype(seg.dtype, np.number) or seg.dtype == np.bool_):
            raise ValueError(f"{path}: annotation {number} is not numeric ({seg.dtype})")
        if np.issubdtype(seg.dtype, np.inexact):  # MATLAB doubles: whole numbers only
            bad = ~np.isfinite(seg) | (seg != np.round(seg))
            if bad.any():
                raise ValueError(
                    f"{path}: annotation {number} holds {int(bad.sum())} non-integer labels "
                    f"(e.g. {float(seg[bad].flat[0])}); labels must be whole numbers, as in .npy "
                    "and PNG label images"
                )
        segmentations.append(seg.astype(np.int64))
    return segmentations


def read_flo(path) -> np.ndarray:
    """Read a Middlebury ``.flo`` optical-flow file.

    Returns
    -------
    flow : (H, W, 2) ndarray of float32
        Horizontal (u) then vertical (v) displacement.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the magic number or the size is wrong.
    """
    path = existing_file(path)
    with open(path, "rb") as fh:
        header = fh.read(12)
        if len(header) < 12 or np.frombuffer(header[:4], "<f4")[0] != FLO_MAGIC:
            raise ValueError(f"{path} is not a .flo file (bad magic number)")
        width, height = (int(v) for v in np.frombuffer(header[4:], "<i4"))
        if width <= 0 or height <= 0 or width * height > 1 << 30:
            raise ValueError(f"{path}: implausible flow size {width}x{height}")
        data = np.fromfile(fh, "<f4")
    if data.size != height * width * 2:
        raise ValueError(
            f"{path}: expected {height * width * 2} flow values for {width}x{height}, "
            f"found {data.size}"
        )
    return data.reshape(height, width, 2)


def write_flo(path, flow: np.ndarray) -> None:
    """Write an ``(H, W, 2)`` flow field as a Middlebury ``.flo`` file."""
    flow = np.asarray(flow, dtype="<f4")
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"flow must have shape (H, W, 2), got {flow.shape}")
    with open(path, "wb") as fh:
        fh.write(FLO_MAGIC.astype("<f4").tobytes())
        fh.write(np.array([flow.shape[1], flow.shape[0]], "<i4").tobytes())
        fh.write(flow.tobytes())
