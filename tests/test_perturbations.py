"""Image perturbations (ssn.perturbations): hand-computed tiny cases, seeds, void pixels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from ssn.metrics import evaluate_image
from ssn.perturbations import (
    PERTURBATIONS,
    average_blur,
    gaussian_blur,
    gaussian_noise,
    gaussian_sigma,
    perturb,
    rotate,
    salt_and_pepper,
    shear,
)

GT55 = np.arange(25).reshape(5, 5)


# ---------------------------------------------------------------------------- noise


def test_gaussian_noise_has_the_requested_spread_and_is_seeded():
    grey = np.full((200, 200, 3), 0.5)
    noisy = gaussian_noise(grey, sigma=0.1, seed=3)
    assert noisy.dtype == np.float64 and noisy.shape == grey.shape
    # 120000 draws of N(0, 0.1): the sample std is within 1% of 0.1 (clipping at 5 sigma)
    assert (noisy - grey).std() == pytest.approx(0.1, rel=0.01)
    assert abs((noisy - grey).mean()) < 0.002
    assert np.array_equal(noisy, gaussian_noise(grey, sigma=0.1, seed=3))
    assert not np.array_equal(noisy, gaussian_noise(grey, sigma=0.1, seed=4))


def test_gaussian_noise_in_grey_levels_clips_and_rounds_uint8():
    black = np.zeros((100, 100), np.uint8)
    noisy = gaussian_noise(black, sigma=0.04, channel_axis=None)
    assert noisy.dtype == np.uint8
    # half the draws are negative and clip to 0; the others are whole grey levels
    assert 0.45 < np.mean(noisy == 0) < 0.55
    # sigma 0.04 of 255 = 10.2 levels: the positive half of N(0, 10.2) has mean 8.1
    assert noisy[noisy > 0].mean() == pytest.approx(10.2 * math.sqrt(2 / math.pi), rel=0.1)


def test_float32_stays_float32_and_channel_axis_first():
    image = np.full((3, 8, 9), 0.5, np.float32)
    noisy = gaussian_noise(image, sigma=0.1, channel_axis=0)
    assert noisy.dtype == np.float32 and noisy.shape == (3, 8, 9)
    blurred = average_blur(image, size=3, channel_axis=0)
    assert np.allclose(blurred, 0.5)


def test_salt_and_pepper_replaces_whole_pixels_with_black_or_white():
    grey = np.full((100, 100, 3), 128, np.uint8)
    noisy = salt_and_pepper(grey, amount=0.25, seed=1)
    changed = (noisy != 128).any(axis=-1)
    assert 0.23 < changed.mean() < 0.27
    hit = noisy[changed]
    # every channel of a hit pixel is 0 (pepper) or 255 (salt), about half each
    assert np.all((hit == 0).all(axis=-1) | (hit == 255).all(axis=-1))
    assert 0.45 < (hit[:, 0] == 0).mean() < 0.55
    assert np.all(noisy[~changed] == 128)
    full = salt_and_pepper(grey, amount=1.0)
    assert np.isin(full, [0, 255]).all()


# ----------------------------------------------------------------------------- blur


def test_average_blur_hand_computed_with_mirrored_borders():
    """3 x 3 window on a 3 x 3 impulse of 0.9: the mirror (dcb|abcd|cba) counts the
    centre 4 times in a corner window, twice in an edge window, once in the middle."""
    impulse = np.zeros((3, 3))
    impulse[1, 1] = 0.9
    expected = [[0.4, 0.2, 0.4], [0.2, 0.1, 0.2], [0.4, 0.2, 0.4]]
    assert np.allclose(average_blur(impulse, size=3, channel_axis=None), expected)


def test_gaussian_blur_hand_computed_kernel_and_opencv_sigma():
    """sigma = 1 / sqrt(2 ln 2) makes the 3-tap kernel exp(-x^2 / 2 sigma^2) = [1/2, 1, 1/2],
    normalised [1/4, 1/2, 1/4]; the 2-D kernel is its outer product."""
    impulse = np.zeros((5, 5), np.float32)
    impulse[2, 2] = 0.8
    sigma = 1 / math.sqrt(2 * math.log(2))
    out = gaussian_blur(impulse, size=3, sigma=sigma, channel_axis=None)
    expected = np.zeros((5, 5))
    expected[1:4, 1:4] = 0.8 * np.outer([0.25, 0.5, 0.25], [0.25, 0.5, 0.25])
    assert out.dtype == np.float32
    assert np.allclose(out, expected, atol=1e-7)
    # OpenCV's sigma of a kernel size: 0.3 ((k - 1) / 2 - 1) + 0.8
    assert [gaussian_sigma(k) for k in (3, 5, 9)] == pytest.approx([0.8, 1.1, 1.7])
    assert np.array_equal(gaussian_blur(impulse, size=1, channel_axis=None), impulse)


def test_blur_of_a_constant_uint8_image_is_the_image():
    flat = np.full((7, 9, 3), 77, np.uint8)
    assert np.array_equal(gaussian_blur(flat, size=5), flat)
    assert np.array_equal(average_blur(flat, size=5), flat)


# ------------------------------------------------------------------------ geometric


def test_rotation_by_45_degrees_hand_computed_with_void_corners():
    """Output (r, c) reads the source turned back by 45 degrees about (2, 2):
    x = c - 2, y = 2 - r, source col = 2 + (x + y) / sqrt 2, source row = 2 - (y - x) / sqrt 2,
    rounded to the nearest pixel. (0, 2): x = 0, y = 2 -> (0.59, 3.41) -> (1, 3) = 8;
    (1, 1): (0.59, 2) -> (1, 2) = 7; (2, 0): (0.59, 0.59) -> (1, 1) = 6. The corners'
    sources lie 2.83 px from the centre along an axis, outside the 5 x 5 frame: void."""
    rotated, valid = rotate(GT55, angle=45, order=0)
    expected = [
        [0, 3, 8, 9, 0],
        [1, 7, 8, 13, 19],
        [6, 6, 12, 18, 18],
        [5, 11, 16, 17, 23],
        [0, 15, 16, 21, 0],
    ]
    assert rotated.dtype == GT55.dtype
    assert rotated.tolist() == expected
    corners = np.zeros((5, 5), bool)
    corners[[0, 0, 4, 4], [0, 4, 0, 4]] = True
    assert np.array_equal(valid, ~corners)


def test_rotation_by_multiples_of_90_degrees_is_exact():
    gt = np.arange(12).reshape(3, 4)
    rotated, valid = rotate(gt, angle=180, order=0)
    assert np.array_equal(rotated, gt[::-1, ::-1]) and valid.all()
    same, valid = rotate(gt, angle=0, order=0)
    assert np.array_equal(same, gt) and valid.all()
    # 90 degrees of a 3 x 4 frame: output (r, c) reads (c - 0.5, 2.5 - r); column 3 reads
    # row 2.5, outside; column 0 reads row -0.5, the edge of pixel row 0 (inside)
    rotated, valid = rotate(gt, angle=90, order=0)
    assert valid.all(axis=0).tolist() == [True, True, True, False]
    assert rotated[:, 0].tolist() == [3, 2, 1]  # rows -0.5 -> 0, cols 2.5, 1.5, 0.5 -> 3, 2, 1


def test_rotation_moves_image_and_labels_alike():
    """Bilinear image and nearest labels share the void mask; a quarter turn of a square
    image with one bright pixel moves it where the labels' pixel goes."""
    image = np.zeros((5, 5, 3), np.uint8)
    image[0, 3] = 200
    labels = np.zeros((5, 5), np.int32)
    labels[0, 3] = 1
    out = perturb(image, [labels], kind="rotation", strength=90)
    assert out.valid.all()
    (rows, cols) = np.nonzero(out.ground_truths[0])
    assert (rows.tolist(), cols.tolist()) == ([1], [0])  # top-right quadrant -> top-left
    assert out.image[1, 0].tolist() == [200, 200, 200]
    assert out.image.sum() == 600
    void = perturb(image, [labels], kind="rotation", strength=30)
    assert np.all(void.image[~void.valid] == 0) and np.all(void.ground_truths[0][~void.valid] == 0)


def test_shear_hand_computed():
    """Factor 1 on 3 rows: row 0 reads one column to the right, row 2 one to the left."""
    gt = np.arange(1, 13).reshape(3, 4)
    sheared, valid = shear(gt, factor=1.0, order=0)
    assert sheared.tolist() == [[2, 3, 4, 0], [5, 6, 7, 8], [0, 9, 10, 11]]
    assert (~valid).sum() == 2 and not valid[0, 3] and not valid[2, 0]
    image = np.linspace(0, 1, 12).reshape(3, 4)
    out, same_valid = shear(image, factor=0.5, channel_axis=None)
    # half a column: bilinear between neighbours; row 1 stays
    assert out[0, 0] == pytest.approx((image[0, 0] + image[0, 1]) / 2)
    assert np.allclose(out[1], image[1])
    assert not same_valid[0, 3] and same_valid[0, 2]  # col 3 reads col 3.5: outside


# ------------------------------------------------------------------------- dispatch


@pytest.mark.parametrize(
    "kind, strength",
    [("gaussian_noise", 0.05), ("salt_and_pepper", 0.1), ("gaussian_blur", 5),
     ("average_blur", 5), ("rotation", 15), ("shear", 0.1)],
)  # fmt: skip
def test_perturb_records_its_parameters_and_is_deterministic(kind, strength):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    gts = [rng.integers(1, 5, (20, 30)).astype(np.uint16)]
    first = perturb(image, gts, kind=kind, strength=strength, seed=7)
    again = perturb(image, gts, kind=kind, strength=strength, seed=7)
    assert np.array_equal(first.image, again.image)
    assert first.image.dtype == np.uint8 and first.image.shape == image.shape
    assert first.ground_truths[0].dtype == np.uint16
    assert first.parameters["kind"] == kind and first.parameters["seed"] == 7
    assert first.parameters[PERTURBATIONS[kind]] == strength
    if kind in ("rotation", "shear"):
        assert not first.valid.all()
        assert first.parameters["labels_interpolation"] == "nearest"
    else:
        assert first.valid.all() and np.array_equal(first.ground_truths[0], gts[0])


def test_metrics_of_a_rotated_ground_truth_skip_the_void_corners():
    """Superpixels equal to the rotated annotation inside the frame, whose corners a
    method gives to the nearest superpixel, score ASA = BR = BP = 1 and UE = 0: the
    void corners hold 0 (another id) in the annotation, and count nowhere."""
    gt = np.repeat(np.repeat(np.arange(1, 5).reshape(2, 2), 10, axis=0), 10, axis=1)
    out = perturb(np.zeros((20, 20, 3), np.uint8), [gt], kind="rotation", strength=30)
    _, (rows, cols) = ndimage.distance_transform_edt(~out.valid, return_indices=True)
    labels = out.ground_truths[0][rows, cols]  # void pixels join their nearest superpixel
    result = evaluate_image(labels, out.ground_truths, protocol="ssn", tolerance=0,
                            valid=out.valid).per_annotation[0]  # fmt: skip
    assert result == {"asa": 1.0, "br": 1.0, "bp": 1.0, "ue": 0.0}
    # without the mask the corners are a segment of their own, cut by no superpixel
    plain = evaluate_image(labels, out.ground_truths, protocol="ssn", tolerance=0)
    assert plain.per_annotation[0]["asa"] < 1.0 and plain.per_annotation[0]["br"] < 1.0


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: perturb(np.zeros((4, 4, 3)), kind="snow", strength=1), "unknown perturbation"),
        (lambda: gaussian_noise(np.zeros((4, 4, 3)), sigma=0), "sigma must be above 0"),
        (lambda: salt_and_pepper(np.zeros((4, 4, 3)), amount=1.5), "amount must be above 0"),
        (lambda: average_blur(np.zeros((4, 4, 3)), size=4), "size must be odd"),
        (lambda: gaussian_blur(np.zeros((4, 4, 3)), size=0), "positive odd integer"),
        (lambda: rotate(np.zeros((4, 4, 3)), angle=float("nan")), "angle must be a finite"),
        (lambda: rotate(np.zeros((4, 4)), angle=10, order=0), "integer label images"),
        (lambda: rotate(np.zeros((4, 4), np.int32), angle=10, order=3), "order must be 0"),
        (lambda: gaussian_noise(np.zeros((4, 4)), sigma=0.1), "pass channel_axis=None"),
        (lambda: gaussian_noise(np.zeros((4, 4, 3), np.int32), sigma=0.1), "uint8, uint16"),
        (lambda: average_blur(np.full((4, 4), np.nan), size=3, channel_axis=None), "NaN"),
    ],
)
def test_errors_name_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()
