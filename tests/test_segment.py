"""The public ``ssn.segment`` API and the ``ssn segment`` command."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from reference import asa
from scipy import ndimage as ndi
from skimage.segmentation import slic

from ssn.checkpoint import save_checkpoint
from ssn.cli import main
from ssn.inference import segment
from ssn.io import read_bsds_ground_truth, read_image, read_label_image
from ssn.models import SSN, SSNConfig


def _quadrants(size=32):
    """Four flat-coloured quadrants (uint8 RGB)."""
    img = np.zeros((size, size, 3), np.uint8)
    half = size // 2
    img[:half, half:] = (255, 0, 0)
    img[half:, :half] = (0, 255, 0)
    img[half:, half:] = (0, 0, 255)
    return img


def _assert_partition(labels):
    n = labels.max() + 1
    assert labels.dtype == np.int32
    assert set(np.unique(labels).tolist()) == set(range(n))
    for v in range(n):
        assert ndi.label(labels == v)[1] == 1


def test_quadrants_give_clean_boundaries():
    labels = segment(_quadrants(), n_segments=4, device="cpu")
    assert labels.shape == (32, 32)
    _assert_partition(labels)
    # Each quadrant is one superpixel: exactly four labels, constant on each quadrant.
    assert labels.max() + 1 == 4
    for rows in (slice(0, 16), slice(16, 32)):
        for cols in (slice(0, 16), slice(16, 32)):
            assert len(np.unique(labels[rows, cols])) == 1


@pytest.mark.parametrize(
    "convert",
    [
        lambda im: im,
        lambda im: im.astype(np.float32) / 255,
        lambda im: im.astype(np.float64) / 255,
        lambda im: im.astype(np.uint16) * 257,
        lambda im: np.dstack([im, np.full(im.shape[:2], 255, np.uint8)]),  # RGBA
    ],
    ids=["uint8", "float32", "float64", "uint16", "rgba"],
)
def test_input_dtypes_agree(convert):
    rng = np.random.default_rng(0)
    image = (rng.random((40, 50, 3)) * 255).astype(np.uint8)
    expected = segment(image, 20, device="cpu")
    np.testing.assert_array_equal(segment(convert(image), 20, device="cpu"), expected)


def test_grayscale_and_channel_axis():
    rng = np.random.default_rng(1)
    gray = rng.random((30, 40))
    as_rgb = np.repeat(gray[..., None], 3, axis=-1)
    expected = segment(as_rgb, 12, device="cpu")
    np.testing.assert_array_equal(segment(gray, 12, device="cpu"), expected)
    np.testing.assert_array_equal(segment(gray, 12, channel_axis=None, device="cpu"), expected)
    np.testing.assert_array_equal(
        segment(np.moveaxis(as_rgb, -1, 0), 12, channel_axis=0, device="cpu"), expected
    )


@pytest.mark.parametrize(
    "shape,k", [((1, 1, 3), 1), ((2, 3, 3), 6), ((1, 50, 3), 10), ((3, 3, 3), 2)]
)
def test_tiny_images(shape, k):
    image = np.random.default_rng(2).random(shape)
    labels = segment(image, k, device="cpu")
    assert labels.shape == shape[:2]
    _assert_partition(labels)
    assert 1 <= labels.max() + 1 <= k


def test_connectivity_modes():
    rng = np.random.default_rng(3)
    # Smoothed noise: textured enough to leave stray fragments of every size.
    image = ndi.gaussian_filter(rng.random((60, 80, 3)), (1.5, 1.5, 0))
    image = (image - image.min()) / (image.max() - image.min())
    raw = segment(image, 30, enforce_connectivity=False, device="cpu")
    largest = segment(image, 30, device="cpu")
    official = segment(image, 30, enforce_connectivity="official", device="cpu")
    _assert_partition(largest)
    _assert_partition(official)
    assert largest.max() + 1 <= len(np.unique(raw)) <= official.max() + 1


@pytest.mark.parametrize(
    "image,kwargs,match",
    [
        (np.zeros((10, 10, 3)), {"n_segments": 0}, "at least 1"),
        (np.zeros((10, 10, 3)), {"n_segments": 101}, "exceeds the number of pixels"),
        (np.zeros((10, 10, 3)), {"n_segments": 2.5}, "integer"),
        (np.full((10, 10, 3), np.nan), {}, "NaN"),
        (np.full((10, 10, 3), 2.0), {}, r"\[0, 1\]"),
        (np.zeros((2, 10, 10, 3)), {}, "shape"),
        (np.zeros((10, 10, 2)), {}, "channels"),
        (np.zeros((0, 10, 3)), {}, "empty"),
        (np.zeros((10, 10, 3)), {"n_iter": 0}, "n_iter"),
        (np.zeros((10, 10, 3)), {"enforce_connectivity": "yes"}, "enforce_connectivity"),
        (np.zeros((10, 10, 3)), {"model": 3}, "model must be"),
    ],
)
def test_bad_input_raises_clear_errors(image, kwargs, match):
    kwargs = {"n_segments": 4, "device": "cpu", **kwargs}
    with pytest.raises(ValueError, match=match):
        segment(image, **kwargs)


def test_checkpoint_models(tmp_path):
    image = np.random.default_rng(4).random((30, 30, 3))
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        segment(image, 9, model=tmp_path / "missing.pt", device="cpu")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="checkpoint"):
        segment(image, 9, model=corrupt, device="cpu")
    torch.manual_seed(0)
    net = SSN(SSNConfig(feature_net="deep"))
    path = tmp_path / "deep.pt"
    save_checkpoint(path, net)
    from_file = segment(image, 9, model=path, device="cpu")
    from_module = segment(image, 9, model=net, device="cpu")
    np.testing.assert_array_equal(from_file, from_module)
    _assert_partition(from_file)


def test_cli_segment_writes_labels_and_overlay(tmp_path):
    from PIL import Image

    src = tmp_path / "quad.png"
    Image.fromarray(_quadrants()).save(src)
    out = tmp_path / "labels.png"
    overlay = tmp_path / "overlay.png"
    assert (
        main(
            [
                "segment",
                str(src),
                "-k",
                "4",
                "--out",
                str(out),
                "--overlay",
                str(overlay),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(read_label_image(out), segment(_quadrants(), 4, device="cpu"))
    assert read_image(overlay).shape == (32, 32, 3)
    npy = tmp_path / "labels.npy"
    assert main(["segment", str(src), "-k", "4", "--out", str(npy), "--method", "slic"]) == 0
    assert np.load(npy).shape == (32, 32)


def test_cli_reports_user_errors(tmp_path, capsys):
    assert (
        main(["segment", str(tmp_path / "none.png"), "-k", "4", "--out", str(tmp_path / "x.png")])
        == 2
    )
    assert "no such file" in capsys.readouterr().err


# -- real data -----------------------------------------------------------------------


def _bsds_test_images(bsds_root, n):
    images = sorted((bsds_root / "images" / "test").glob("*.jpg"))[:n]
    return [(p, bsds_root / "groundTruth" / "test" / f"{p.stem}.mat") for p in images]


@pytest.mark.realdata
def test_bsds_counts_and_partitions(bsds_root):
    for path, _ in _bsds_test_images(bsds_root, 3):
        image = read_image(path)
        for k in (100, 200, 400, 800, 1200):
            labels = segment(image, k, device="cpu")
            _assert_partition(labels)
            assert abs(labels.max() + 1 - k) <= 0.15 * k, (path.name, k, labels.max() + 1)


@pytest.mark.realdata
def test_ssn_pix_asa_not_below_slic_at_matched_count(bsds_root):
    """SSN_pix ≈ SLIC in the paper: ASA at K≈400 must not fall below SLIC's ASA curve
    interpolated at SSN_pix's realised count (mean over BSDS500 test images)."""
    ssn_asa, ssn_count, slic_curves = [], [], []
    slic_ks = (250, 400, 550)
    for path, gt_path in _bsds_test_images(bsds_root, 12):
        image = read_image(path)
        gts = read_bsds_ground_truth(gt_path)
        labels = segment(image, 400, device="cpu")
        ssn_count.append(labels.max() + 1)
        ssn_asa.append(np.mean([asa(labels, g) for g in gts]))
        curve = []
        for k in slic_ks:
            sl = slic(image, n_segments=k, max_num_iter=10, start_label=0)
            curve.append((len(np.unique(sl)), np.mean([asa(sl, g) for g in gts])))
        slic_curves.append(curve)
    counts = np.mean([[c for c, _ in curve] for curve in slic_curves], axis=0)
    values = np.mean([[a for _, a in curve] for curve in slic_curves], axis=0)
    slic_at_ssn_count = np.interp(np.mean(ssn_count), counts, values)
    assert np.mean(ssn_asa) >= slic_at_ssn_count - 1e-3, (np.mean(ssn_asa), slic_at_ssn_count)


def test_flow_model_takes_the_next_frame():
    """A model trained on frame pairs (8 inputs) sees image + next frame, as in training."""
    torch.manual_seed(0)
    net = SSN(SSNConfig(feature_net="linear", frame_pair="lab")).eval()
    rng = np.random.default_rng(5)
    image = ndi.gaussian_filter(rng.random((48, 64, 3)), (3, 3, 0))
    image = (image - image.min()) / (image.max() - image.min())
    shifted = np.roll(image, 2, axis=1)
    with torch.no_grad():
        as_t = lambda a: torch.from_numpy(a.astype(np.float32)).permute(2, 0, 1)[None]  # noqa: E731
        ref = net(as_t(image), 30, n_iter=10, next_frame=as_t(shifted))
    labels = segment(image, 30, model=net, next_frame=shifted, enforce_connectivity=False,
                     device="cpu")  # fmt: skip
    # the fused CPU kernel against the torch module: float32 ties may flip a few pixels
    assert (labels != ref.labels[0].numpy()).mean() < 2e-3
    # the second frame matters: another next frame, other superpixels
    other = segment(image, 30, model=net, next_frame=image[::-1], enforce_connectivity=False,
                    device="cpu")  # fmt: skip
    assert (other != labels).any()
    _assert_partition(segment(image, 30, model=net, next_frame=shifted, device="cpu"))
    with pytest.raises(ValueError, match="frame pair"):
        segment(image, 30, model=net, device="cpu")
    with pytest.raises(ValueError, match="next_frame is 64x40"):
        segment(image, 30, model=net, next_frame=shifted[:40], device="cpu")
    with pytest.raises(ValueError, match="only for flow models"):
        segment(image, 30, model="pix", next_frame=shifted, device="cpu")


# -- issue #12 -------------------------------------------------------------------------


def test_cmyk_jpeg_is_read_as_rgb(tmp_path):
    """Issue #12 (7): C, M, Y were taken as R, G, B and K dropped."""
    from PIL import Image

    cmyk = np.zeros((16, 16, 4), np.uint8)
    cmyk[:, :8] = (0, 255, 255, 0)  # red
    cmyk[:, 8:] = (255, 255, 0, 0)  # blue
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(cmyk, "CMYK").save(path, quality=100)
    rgb = read_image(path)
    assert rgb.shape == (16, 16, 3)
    np.testing.assert_allclose(rgb[4, 2], (255, 0, 0), atol=8)
    np.testing.assert_allclose(rgb[4, 13], (0, 0, 255), atol=8)


@pytest.mark.parametrize(
    ("dtype", "scale"),
    [(np.int32, 1), (np.int64, 1), (np.int16, 1), (np.uint32, 1), (np.int32, 257), (np.int64, 257)],
)
def test_wide_integer_images_are_read_by_their_range(dtype, scale):
    """Issue #12 (8): int32/int64 images were divided by the dtype maximum, so the
    labels were a blank image's. Values in [0, 255] are 8-bit, in [0, 65535] 16-bit."""
    import baselines

    image = (np.random.default_rng(0).random((40, 50, 3)) * 255).astype(np.uint8)
    reference = image if scale == 1 else image.astype(np.uint16) * 257
    wide = image.astype(dtype) * scale
    expected = segment(reference, 20, device="cpu")
    blank = segment(np.zeros_like(image), 20, device="cpu")
    assert (expected != blank).any()  # the test can fail
    np.testing.assert_array_equal(segment(wide, 20, device="cpu"), expected)
    np.testing.assert_array_equal(
        baselines.segment(wide, 20, method="slic"), baselines.segment(reference, 20, method="slic")
    )


@pytest.mark.parametrize(
    ("values", "match"),
    [((-1, 5), "must not hold negative values.*\\[-1, 5\\]"), ((0, 70000), "values up to 70000")],
)
def test_wide_integer_images_out_of_range_are_refused(values, match):
    image = np.array([[values[0], values[1]], [0, 0]], np.int32)
    with pytest.raises(ValueError, match=match):
        segment(image, 2, device="cpu")


def test_32_bit_pillow_image_file(tmp_path):
    """Issue #12 (8): Pillow mode I (32-bit) files, as read by ssn segment."""
    from PIL import Image

    gray = (np.random.default_rng(1).random((40, 50)) * 255).astype(np.int32)
    path = tmp_path / "i32.tif"
    Image.fromarray(gray, "I").save(path)
    read = read_image(path)
    assert read.dtype == np.int32
    expected = segment(gray.astype(np.uint8), 20, device="cpu")
    assert (expected != segment(np.zeros((40, 50)), 20, device="cpu")).any()
    np.testing.assert_array_equal(segment(read, 20, device="cpu"), expected)


def _png(tmp_path, name="in.png"):
    from PIL import Image

    path = tmp_path / name
    Image.fromarray(_quadrants()).save(path)
    return path


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (
            lambda d, src: ["--out", d / "x.png", "--overlay", d / "x.png"],
            "--out and --overlay are the same file",
        ),
        (
            lambda d, src: ["--out", d / "x.png", "--overlay", d / "." / "x.png"],
            "--out and --overlay are the same file",
        ),
        (lambda d, src: ["--out", src], "is the input image"),
        (lambda d, src: ["--out", d / "x.png", "--overlay", src], "is the input image"),
        (
            lambda d, src: ["--out", d / "labels.jpg"],
            "--out must end in .png or .npy, got 'labels.jpg'",
        ),
        (lambda d, src: ["--out", d / "nope" / "x.png"], "the folder .*nope does not exist"),
        (
            lambda d, src: ["--out", d / "x.png", "--overlay", d / "o.xyz"],
            "--overlay 'o.xyz' has no image suffix",
        ),
        (
            lambda d, src: ["--out", d / "x.png", "--device", "tpu"],
            "device='tpu' is not a torch device; available here: cpu",
        ),
    ],
)
def test_cli_output_paths_and_device_are_checked_before_segmenting(
    tmp_path, capsys, monkeypatch, make_args, message
):
    """Issue #12 (9, 11, 14): --out equal to --overlay lost the labels; --out equal to
    the input overwrote it; a bad --out failed only after segmenting; --device tpu
    raised a traceback. Nothing is segmented and nothing written."""
    import re

    import ssn.commands.segment as command

    src = _png(tmp_path)
    before = src.read_bytes()
    if "--device" not in make_args(tmp_path, src):

        def fail(*args, **kwargs):
            raise AssertionError("segmented before checking the outputs")

        monkeypatch.setattr(command, "load_segmenter", fail)
    args = ["segment", str(src), "-k", "4", *map(str, make_args(tmp_path, src))]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(message, err), err
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]


def test_cuda_on_a_cpu_only_torch_is_one_line(tmp_path, capsys):
    """Issue #12 (11): the API raised AssertionError ("Torch not compiled with CUDA")."""
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="device='cuda' is not available.*available here: cpu"):
        segment(_quadrants(), 4, device="cuda")
    src = _png(tmp_path)
    assert (
        main(["segment", str(src), "-k", "4", "--out", str(tmp_path / "l.png"), "--device", "cuda"])
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "available here: cpu" in err


def test_decompression_bomb_is_one_line(tmp_path, capsys, monkeypatch):
    """Issue #12 (13): Pillow's DecompressionBombError escaped as a traceback."""
    from PIL import Image

    src = _png(tmp_path)  # 32 x 32 = 1024 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # refused above 2 x 100
    assert main(["segment", str(src), "-k", "4", "--out", str(tmp_path / "l.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read image" in err and "decompression bomb" in err
    assert not (tmp_path / "l.png").exists()


def test_list_methods_exists(capsys):
    """Issue #12 (13): advertised in --help, it did not exist."""
    import baselines

    with pytest.raises(SystemExit) as exc:
        main(["segment", "--list-methods"])
    assert exc.value.code == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == ["ssn", *baselines.available_methods()]
    assert len(listed) > 1  # the baselines joined through the ssn.methods entry point


# -- issue #14 (1): one method layer ------------------------------------------------------


def test_one_registry_for_ssn_and_the_baselines():
    """ssn.methods lists SSN and the baselines; a segmenter equals the direct call."""
    import baselines
    from ssn.methods import available_methods, load_segmenter

    assert available_methods() == ["ssn", *baselines.available_methods()]
    image = _quadrants()
    np.testing.assert_array_equal(
        load_segmenter("slic")(image, 4), baselines.segment(image, 4, method="slic")
    )
    ssn_segmenter = load_segmenter("ssn", model="pix", n_iter=5, connectivity="none", device="cpu")
    np.testing.assert_array_equal(
        ssn_segmenter(image, 4),
        segment(image, 4, n_iter=5, enforce_connectivity=False, device="cpu"),
    )
    with pytest.raises(
        ValueError, match="unknown parameter.*seed.*valid parameters: connectivity, device"
    ):
        load_segmenter("ssn", seed=1)
    with pytest.raises(ValueError, match="unknown method 'slic2'; valid methods: ssn, ers"):
        load_segmenter("slic2")
    with pytest.raises(ValueError, match="n_iter must be an integer >= 1"):
        load_segmenter("ssn", n_iter=0)
    with pytest.raises(ValueError, match="method 'slic' segments one image"):
        load_segmenter("slic")(image, 4, image)
    assert not ssn_segmenter.takes_frame_pair


def test_models_from_files_are_loaded_once(tmp_path, monkeypatch):
    """Issue #13/#14: segment(model=<file>) read the checkpoint on every call; now the
    loaded model is kept until the file changes."""
    import ssn.inference
    from ssn.checkpoint import save_checkpoint

    path = tmp_path / "m.pt"
    save_checkpoint(path, SSN(SSNConfig(feature_net="linear")))
    reads = []
    real = ssn.inference.load_model
    monkeypatch.setattr(
        ssn.inference, "load_model", lambda *a, **k: reads.append(a) or real(*a, **k)
    )
    image = _quadrants()
    first = segment(image, 4, model=path, device="cpu")
    np.testing.assert_array_equal(segment(image, 4, model=str(path), device="cpu"), first)
    assert len(reads) == 1
    save_checkpoint(path, SSN(SSNConfig(feature_net="linear")))  # a new file version
    segment(image, 4, model=path, device="cpu")
    assert len(reads) == 2


# -- issue #25 (9) -------------------------------------------------------------------------


def test_exif_rotated_jpeg_is_segmented_as_shown(tmp_path):
    """A phone's JPEG stored 100 x 160 with EXIF orientation 6 (turn 90 degrees clockwise)
    is shown 160 x 100: labels of the stored orientation did not fit the image shown."""
    from PIL import Image

    stored = np.zeros((100, 160, 3), np.uint8)
    stored[:, :80] = (255, 0, 0)  # left half red: shown on top after the clockwise turn
    stored[:, 80:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    Image.fromarray(stored).save(path, quality=100, exif=exif)
    shown = read_image(path)
    assert shown.shape == (160, 100, 3)
    np.testing.assert_allclose(shown[10, 50], (255, 0, 0), atol=8)
    np.testing.assert_allclose(shown[150, 50], (0, 0, 255), atol=8)
    out = tmp_path / "labels.npy"
    assert main(["segment", str(path), "-k", "2", "--out", str(out), "--method", "snic"]) == 0
    labels = np.load(out)
    assert labels.shape == (160, 100)
    assert labels[:80].max() == labels[:80].min() != labels[80:].max() == labels[80:].min()


def test_multi_frame_gif_is_refused_with_the_fix(tmp_path, capsys):
    """Only the first frame of an animated GIF was segmented, silently."""
    from PIL import Image

    frames = [Image.new("RGB", (24, 16), colour) for colour in ("red", "green", "blue")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with pytest.raises(ValueError, match=r"anim\.gif holds 3 frames \(GIF\); .*save the frame"):
        read_image(path)
    out = tmp_path / "labels.png"
    assert main(["segment", str(path), "-k", "4", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds 3 frames" in err and not out.exists()
    frames[0].save(tmp_path / "still.gif")  # one frame: read as before
    assert read_image(tmp_path / "still.gif").shape == (16, 24, 3)


class TestMemoryLimit:
    """Issue #25 (4): a 12000x12000 image ended in a raw MemoryError after minutes."""

    def test_an_image_over_the_limit_is_refused_naming_size_estimate_and_limit(self, monkeypatch):
        from ssn.memory import BYTES_PER_PIXEL, MemoryLimitError

        monkeypatch.setenv("SSN_MAX_MEMORY", "1M")
        image = np.zeros((200, 150, 3), np.uint8)  # 30000 pixels: 2.4 MiB estimated for pix
        assert 200 * 150 * BYTES_PER_PIXEL["pix"] / 2**20 == pytest.approx(2.43, abs=0.005)
        with pytest.raises(
            MemoryLimitError,
            match=r"a 150x200 image needs about 2\.4 MiB to segment with the pix network on "
            r"the CPU, more than the 1\.0 MiB of SSN_MAX_MEMORY; downscale",
        ):
            segment(image, 10, device="cpu")
        monkeypatch.setenv("SSN_MAX_MEMORY", "2.5M")  # just above the estimate
        assert segment(image, 10, device="cpu").shape == (200, 150)

    def test_the_deep_network_needs_more(self, monkeypatch):
        from ssn.memory import MemoryLimitError

        monkeypatch.setenv("SSN_MAX_MEMORY", "2.5M")
        with pytest.raises(MemoryLimitError, match=r"about 42\.9 MiB .* deep network"):
            segment(np.zeros((200, 150, 3), np.uint8), 10, model="deep", device="cpu")

    def test_a_bad_limit_setting_is_one_clear_error(self, monkeypatch):
        monkeypatch.setenv("SSN_MAX_MEMORY", "lots")
        with pytest.raises(ValueError, match="SSN_MAX_MEMORY='lots' is not a memory size"):
            segment(np.zeros((20, 20, 3), np.uint8), 4, device="cpu")

    def test_the_default_limit_is_the_memory_this_process_can_have(self, monkeypatch):
        from ssn import memory

        monkeypatch.delenv("SSN_MAX_MEMORY", raising=False)
        limit, source = memory.memory_limit()
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        assert 0 < limit <= physical and source

    def test_cli_refuses_in_one_line_and_writes_nothing(self, monkeypatch, tmp_path, capsys):
        from PIL import Image

        monkeypatch.setenv("SSN_MAX_MEMORY", "100K")
        src = tmp_path / "big.png"
        Image.fromarray(np.zeros((120, 100, 3), np.uint8)).save(src)
        out = tmp_path / "labels.png"
        assert main(["segment", str(src), "-k", "10", "--out", str(out), "--device", "cpu"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "a 100x120 image needs about 996.1 KiB" in err
        assert not out.exists()
