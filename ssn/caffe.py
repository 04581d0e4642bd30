"""Read the paper's released Caffe models without Caffe, and convert them to checkpoints.

A ``.caffemodel`` is a protobuf ``NetParameter``. Only a handful of its fields are
needed to recover the weights, so this module decodes the protobuf wire format itself
(no ``caffe``, no ``protoc``):

- ``NetParameter.layer`` (field 100): the new-style layers;
- ``LayerParameter``: ``name`` (1), ``type`` (2), ``blobs`` (7);
- ``BlobProto``: ``data`` (5, float32, packed or not), ``shape`` (7: ``BlobShape.dim``,
  field 1, int64, packed or not) and the legacy 4-D ``num/channels/height/width``
  (1–4) for blobs written before ``shape`` existed.

Everything else in the file is skipped by wire type. The SSN networks store
``Convolution1…6`` (weight, bias), each followed by ``BatchNorm1…6`` (running mean,
running variance and a one-element scale factor: the statistics are the blobs divided by
that factor, or 0 when it is 0) and ``Convolution7`` (weight, bias). Loss-only layers
after them are ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CaffeLayer", "CaffeFormatError", "caffe_to_state_dict", "convert", "read_caffemodel"]

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5
_NET_LAYER = 100
_LAYER_NAME, _LAYER_TYPE, _LAYER_BLOBS = 1, 2, 7
_BLOB_DATA, _BLOB_SHAPE = 5, 7
_BLOB_LEGACY_DIMS = (1, 2, 3, 4)  # num, channels, height, width
_SHAPE_DIM = 1

N_BN_LAYERS = 6
# Input layouts by conv1 input channels. The Sintel model's network definition, stored in
# its .caffemodel, builds PixelFeature(img), PixelFeature(img2) and their difference
# (Eltwise coefficients 1, -1) and concatenates the three: see ssn.models.SSNConfig.
OFFICIAL_FRAME_PAIR = {5: None, 15: "official"}


class CaffeFormatError(ValueError):
    """The file is not a Caffe model of the SSN network."""


@dataclass(frozen=True)
class CaffeLayer:
    """One layer of a ``.caffemodel``: its name, type and parameter blobs."""

    name: str
    type: str
    blobs: tuple[np.ndarray, ...]


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise CaffeFormatError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise CaffeFormatError("varint longer than 10 bytes")


def _fields(buf: memoryview):
    """Yield ``(field_number, wire_type, value)`` of one protobuf message.

    ``value`` is an int for varints, a memoryview for length-delimited and fixed-size
    fields.
    """
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise CaffeFormatError("field number 0")
        if wire == _VARINT:
            value, pos = _varint(buf, pos)
        elif wire == _BYTES:
            length, pos = _varint(buf, pos)
            end = pos + length
            if end > len(buf):
                raise CaffeFormatError(
                    f"field {field} claims {length} bytes, {len(buf) - pos} remain (truncated)"
                )
            value, pos = buf[pos:end], end
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
            if pos + size > len(buf):
                raise CaffeFormatError("truncated fixed-size field")
            value, pos = buf[pos : pos + size], pos + size
        else:
            raise CaffeFormatError(f"unsupported wire type {wire} (field {field})")
        yield field, wire, value


def _packed_varints(buf: memoryview) -> list[int]:
    values, pos = [], 0
    while pos < len(buf):
        value, pos = _varint(buf, pos)
        values.append(value)
    return values


def _blob(buf: memoryview) -> np.ndarray:
    chunks: list[np.ndarray] = []
    shape: list[int] | None = None
    legacy = dict.fromkeys(_BLOB_LEGACY_DIMS, 1)
    for field, wire, value in _fields(buf):
        if field == _BLOB_DATA:
            if wire == _BYTES:
                if len(value) % 4:
                    raise CaffeFormatError("blob data is not a whole number of float32")
                chunks.append(np.frombuffer(value, dtype="<f4"))
            elif wire == _FIXED32:
                chunks.append(np.frombuffer(value, dtype="<f4"))
            else:
                raise CaffeFormatError(f"blob data has wire type {wire}")
        elif field == _BLOB_SHAPE and wire == _BYTES:
            shape = []
            for dim_field, dim_wire, dim in _fields(value):
                if dim_field != _SHAPE_DIM:
                    continue
                shape.extend(_packed_varints(dim) if dim_wire == _BYTES else [dim])
        elif field in legacy and wire == _VARINT:
            legacy[field] = value
    data = np.concatenate(chunks) if chunks else np.zeros(0, dtype="<f4")
    if shape is None:
        shape = [legacy[f] for f in _BLOB_LEGACY_DIMS]
    # math.prod of Python ints: numpy's int64 product wraps around for huge dims and
    # could match the data's size, leaving reshape to fail without the file's name
    if math.prod(shape) != data.size:
        raise CaffeFormatError(f"blob of shape {tuple(shape)} holds {data.size} values")
    try:  # a zero dim beside one numpy cannot index (>= 2^63) still fails here
        return data.astype(np.float32).reshape(shape)
    except (ValueError, OverflowError) as err:
        raise CaffeFormatError(f"blob of shape {tuple(shape)}: {err}") from None


def _layer(buf: memoryview) -> CaffeLayer:
    name, type_, blobs = "", "", []
    for field, wire, value in _fields(buf):
        if wire != _BYTES:
            continue
        if field == _LAYER_NAME:
            name = _text(value)
        elif field == _LAYER_TYPE:
            type_ = _text(value)
        elif field == _LAYER_BLOBS:
            blobs.append(_blob(value))
    return CaffeLayer(name, type_, tuple(blobs))


def _text(value: memoryview) -> str:
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError as err:
        raise CaffeFormatError("a layer name or type is not UTF-8 text") from err


def read_caffemodel(path, data: bytes | None = None) -> list[CaffeLayer]:
    """The layers of a ``.caffemodel`` file, in file order.

    Parameters
    ----------
    path : str or Path
        The ``.caffemodel`` (binary ``NetParameter`` protobuf).
    data : bytes, optional
        Its content, already read (e.g. to verify its digest): the file is not read again
        and ``path`` only names it in messages.

    Returns
    -------
    layers : list of CaffeLayer
        Every new-style layer with its blobs as float32 arrays.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    CaffeFormatError
        If the file is not a readable Caffe model (truncated, random bytes, or a
        protobuf without layers).
    """
    path = Path(path)
    if data is None:
        if not path.is_file():
            raise FileNotFoundError(f"no such Caffe model: {path}")
        data = path.read_bytes()
    buf = memoryview(data)
    try:
        layers = [
            _layer(value)
            for field, wire, value in _fields(buf)
            if field == _NET_LAYER and wire == _BYTES
        ]
    except CaffeFormatError as err:
        raise CaffeFormatError(f"{path} is not a readable Caffe model: {err}") from None
    if not layers:
        raise CaffeFormatError(f"{path} is not a Caffe model: it holds no layers")
    return layers


def _expect(layers: dict[str, CaffeLayer], name: str, n_blobs: int, path) -> CaffeLayer:
    layer = layers.get(name)
    if layer is None or len(layer.blobs) != n_blobs:
        found = ", ".join(sorted(k for k, v in layers.items() if v.blobs)) or "none"
        raise CaffeFormatError(
            f"{path} is not an SSN_deep Caffe model: no layer {name!r} with {n_blobs} blobs "
            f"(layers with weights: {found})"
        )
    return layer


def _conv_weight(layer: CaffeLayer, path) -> np.ndarray:
    """The weight blob of a convolution layer, which must be 4-D (out, in, kh, kw)."""
    weight = layer.blobs[0]
    if weight.ndim != 4:
        raise CaffeFormatError(
            f"{path}: {layer.name}'s weight blob has shape {weight.shape}, not the 4-D "
            "(out, in, height, width) of a convolution; the file is damaged or another network"
        )
    return weight


def _unscale(statistic: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """A BatchNorm running statistic: the stored sum divided by the stored factor."""
    if factor.item() == 0:
        return np.zeros(statistic.size, dtype=np.float32)
    return statistic.reshape(-1) / factor.reshape(())


def caffe_to_state_dict(layers: list[CaffeLayer], path="<model>") -> tuple[dict, int, int]:
    """Map the SSN_deep layers onto :class:`~ssn.models.SSNDeep`'s state dict.

    Returns
    -------
    state : dict of str to numpy array
        Keys of ``SSN.feature_net`` (``conv1.0.weight``, ``conv1.1.running_mean``, …,
        ``conv7.weight``), prefixed with ``feature_net.`` (the keys of an :class:`~ssn.models.SSN`).
    in_channels : int
        Input channels of the first convolution (5, or 15 for the Sintel model).
    n_features : int
        Features the network outputs, ``in_channels_of_conv7 - 3·width`` carried over
        plus conv7's outputs (20 for every released model).
    """
    by_name = {layer.name: layer for layer in layers}
    state: dict[str, np.ndarray] = {}
    for i in range(1, N_BN_LAYERS + 1):
        conv = _expect(by_name, f"Convolution{i}", 2, path)
        bn = _expect(by_name, f"BatchNorm{i}", 3, path)
        mean, var, factor = bn.blobs
        if factor.size != 1:
            raise CaffeFormatError(f"{path}: BatchNorm{i} scale factor has {factor.size} values")
        prefix = f"feature_net.conv{i}"
        state[f"{prefix}.0.weight"], state[f"{prefix}.0.bias"] = (
            _conv_weight(conv, path),
            conv.blobs[1],
        )
        state[f"{prefix}.1.running_mean"] = _unscale(mean, factor)
        state[f"{prefix}.1.running_var"] = _unscale(var, factor)
    conv7 = _expect(by_name, "Convolution7", 2, path)
    state["feature_net.conv7.weight"], state["feature_net.conv7.bias"] = (
        _conv_weight(conv7, path),
        conv7.blobs[1],
    )
    for key in [k for k in state if k.endswith(".bias")]:
        state[key] = state[key].reshape(-1)
    in_channels = state["feature_net.conv1.0.weight"].shape[1]
    width = state["feature_net.conv2.0.weight"].shape[0]
    carried = state["feature_net.conv7.weight"].shape[1] - 3 * width
    n_features = carried + state["feature_net.conv7.weight"].shape[0]
    return state, int(in_channels), int(n_features)


def convert(source, destination=None, *, data: bytes | None = None, **extra):
    """Convert a released SSN ``.caffemodel`` into this project's checkpoint format.

    The checkpoint has ``model_args`` (an SSN_deep with the official network semantics,
    ``upsample="caffe"``) and ``model`` (the state dict), loadable with
    ``torch.load(..., weights_only=True)`` and :func:`ssn.checkpoint.load_model`.

    Parameters
    ----------
    source : str or Path
        The ``.caffemodel``.
    destination : str or Path, optional
        Where to write the checkpoint; when omitted, nothing is written.
    data : bytes, optional
        The content of ``source``, already read and verified (see :func:`read_caffemodel`).
    **extra
        Further entries stored in the checkpoint (e.g. ``source_sha256``).

    Returns
    -------
    model : ssn.models.SSN
        The converted network, in eval mode on the CPU.
    """
    import torch

    from ssn.checkpoint import check_weights, save_checkpoint
    from ssn.models import SSN, SSNConfig

    state, in_channels, n_features = caffe_to_state_dict(read_caffemodel(source, data), source)
    if in_channels not in OFFICIAL_FRAME_PAIR:
        raise CaffeFormatError(
            f"{source}: the first convolution takes {in_channels} input channels; the "
            f"released SSN models take {' or '.join(map(str, OFFICIAL_FRAME_PAIR))}"
        )
    config = SSNConfig(
        feature_net="deep",
        n_features=n_features,
        in_channels=in_channels,
        carried_channels=n_features - state["feature_net.conv7.weight"].shape[0],
        upsample="caffe",
        frame_pair=OFFICIAL_FRAME_PAIR.get(in_channels),
    )
    model = SSN(config)
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}
    expected = model.state_dict()
    missing = [k for k in expected if k not in tensors and not k.endswith("num_batches_tracked")]
    if missing:
        raise CaffeFormatError(f"{source}: no weights for {', '.join(missing)}")
    for key, tensor in tensors.items():
        if expected[key].shape != tensor.shape:
            raise CaffeFormatError(
                f"{source}: {key} has shape {tuple(tensor.shape)}, the network expects "
                f"{tuple(expected[key].shape)}"
            )
    check_weights(tensors, source)
    model.load_state_dict(tensors, strict=False)
    model.eval()
    if destination is not None:
        save_checkpoint(destination, model, **extra)
    return model
