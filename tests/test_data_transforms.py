"""Training patches: crops aligned between image and labels (an image whose colour encodes
the label proves it), flips, the official scale distribution, one-hot capping, seeding
with DataLoader workers, and the torch datasets on real data."""

from __future__ import annotations

import numpy as np
import pytest
import reference
import torch
from torch.utils.data import DataLoader, Subset

from ssn.data import (
    BSDS500,
    OFFICIAL_SCALE,
    VOC2012,
    Cityscapes,
    PatchSampler,
    ScaleDistribution,
    Sintel,
    segment_indices,
)
from ssn.data.torch_datasets import FlowPatches, SegmentationPatches, sample_rng


def _coded(h=240, w=330, seed=0, block=10):
    """Blocky labels and an RGB image whose (R, G) encode the label exactly."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 3000, size=(h // block + 1, w // block + 1))
    labels = np.kron(coarse, np.ones((block, block), np.int64))[:h, :w]
    image = np.stack([labels % 256, labels // 256, np.full_like(labels, 7)], axis=-1).astype(
        np.uint8
    )
    return image, labels


def _decode(image):
    return image[..., 0].astype(np.int64) + 256 * image[..., 1].astype(np.int64)


@pytest.mark.parametrize("seed", range(6))
def test_crops_are_201_and_aligned_without_scaling(seed):
    image, labels = _coded()
    out = PatchSampler(patch_size=201, scale=None)(
        np.random.default_rng(seed), images=[image], labels=[labels]
    )
    crop_image, crop_labels = out["images"][0], out["labels"][0]
    assert crop_image.shape == (201, 201, 3) and crop_labels.shape == (201, 201)
    np.testing.assert_array_equal(_decode(crop_image), crop_labels)
    top, left = out["offset"]
    source = labels[:, ::-1] if out["flipped"] else labels
    np.testing.assert_array_equal(crop_labels, source[top : top + 201, left : left + 201])
    assert out["valid"].all()


@pytest.mark.parametrize("seed", range(8))
def test_crops_stay_aligned_with_random_scaling(seed):
    image, labels = _coded(block=16)
    out = PatchSampler(scale=OFFICIAL_SCALE)(
        np.random.default_rng(seed), images=[image], labels=[labels]
    )
    crop_image, crop_labels = out["images"][0], out["labels"][0]
    assert crop_image.shape[:2] == crop_labels.shape == (201, 201)
    # away from label edges (by more than one source pixel) bilinear values are exact, so
    # the colour decodes to the label; a shift of the labels would break this everywhere
    from scipy.ndimage import maximum_filter, minimum_filter

    size = 2 * int(np.ceil(out["scale"])) + 3
    interior = minimum_filter(crop_labels, size) == maximum_filter(crop_labels, size)
    interior &= out["valid"]  # at scales < 0.84 the 240-pixel side is padded to 201
    assert interior.mean() > 0.2
    np.testing.assert_array_equal(_decode(crop_image)[interior], crop_labels[interior])


@pytest.mark.parametrize("factor", [0.75, 1.5, 2.37])
def test_scaled_labels_sample_pixel_centres_like_the_image(factor):
    """Nearest-neighbour labels must use the pixel-centre convention of bilinear images."""
    _, labels = _coded(40, 60, block=1)
    h, w = round(40 * factor), round(60 * factor)
    sampler = PatchSampler(
        patch_size=(h, w), flip=False, scale=ScaleDistribution(factor, 0.0, factor, factor)
    )
    out = sampler(np.random.default_rng(0), labels=[labels])
    got = out["labels"][0]
    ok = np.zeros_like(got, bool)
    for ey in (-1e-6, 1e-6):  # exact ties between two source pixels may go either way
        for ex in (-1e-6, 1e-6):
            ys = np.clip(np.floor((np.arange(h) + 0.5) * 40 / h + ey).astype(int), 0, 39)
            xs = np.clip(np.floor((np.arange(w) + 0.5) * 60 / w + ex).astype(int), 0, 59)
            ok |= got == labels[ys][:, xs]
    assert ok.all()


def test_flips_flip_image_labels_masks_and_flow():
    image, labels = _coded(60, 80)
    mask = np.zeros((60, 80), bool)
    mask[:, :5] = True
    flow = np.stack([np.full((60, 80), 2.0), np.full((60, 80), -3.0)], -1).astype(np.float32)
    seen = set()
    for seed in range(20):
        out = PatchSampler(patch_size=(60, 80))(
            np.random.default_rng(seed), images=[image], labels=[labels], masks=[mask], flow=flow
        )
        flipped = out["flipped"]
        seen.add(flipped)
        ref = (lambda a: a[:, ::-1]) if flipped else (lambda a: a)
        np.testing.assert_array_equal(out["images"][0], ref(image))
        np.testing.assert_array_equal(out["labels"][0], ref(labels))
        np.testing.assert_array_equal(out["masks"][0], ref(mask))
        np.testing.assert_array_equal(out["flow"][..., 0], -2.0 if flipped else 2.0)
        np.testing.assert_array_equal(out["flow"][..., 1], -3.0)
    assert seen == {True, False}
    out = PatchSampler(patch_size=(60, 80), flip=False)(np.random.default_rng(0), images=[image])
    assert not out["flipped"]


def test_scale_distribution_is_the_official_one():
    rng = np.random.default_rng(0)
    s = np.array([OFFICIAL_SCALE.sample(rng) for _ in range(20000)])
    assert s.min() == 0.75 and s.max() == 3.0
    assert abs((s == 0.75).mean() - 0.3694) < 0.015  # P(N(1, 0.75) < 0.75)
    assert abs((s == 3.0).mean() - 0.0038) < 0.002  # P(N(1, 0.75) > 3)
    assert OFFICIAL_SCALE == ScaleDistribution(1.0, 0.75, 0.75, 3.0)


def test_scaling_resizes_and_scales_flow():
    image = np.zeros((100, 120, 3), np.uint8)
    flow = np.ones((100, 120, 2), np.float32)
    sampler = PatchSampler(patch_size=50, flip=False, scale=ScaleDistribution(2.0, 0.0, 2.0, 2.0))
    out = sampler(np.random.default_rng(0), images=[image], flow=flow)
    assert out["scale"] == 2.0
    np.testing.assert_allclose(out["flow"], 2.0)


def test_small_inputs_are_padded_and_marked_invalid():
    image, labels = _coded(150, 180)
    out = PatchSampler(scale=None, flip=False)(
        np.random.default_rng(0), images=[image], labels=[labels]
    )
    assert out["images"][0].shape == (201, 201, 3) and out["offset"] == (0, 0)
    assert (
        out["valid"][:150, :180].all()
        and not out["valid"][150:].any()
        and not out["valid"][:, 180:].any()
    )
    assert (out["labels"][0][150:] == -1).all() and (out["images"][0][150:] == 0).all()


def test_sampler_validates_inputs():
    with pytest.raises(ValueError, match="patch_size"):
        PatchSampler(patch_size=0)
    with pytest.raises(ValueError, match="differ in size"):
        PatchSampler()(
            np.random.default_rng(0),
            images=[np.zeros((10, 10, 3))],
            labels=[np.zeros((9, 10), int)],
        )


# --------------------------------------------------------------------------- one-hot
def test_onehot_caps_at_50_segments_like_the_official_code():
    labels = np.arange(60).repeat(10).reshape(20, 30) + 1  # 60 segments, ids 1..60
    segments = segment_indices(labels)
    onehot = reference.onehot(segments)
    assert onehot.shape == (50, 20, 30) and onehot.dtype == np.float32
    assert segments.dtype == np.int64
    np.testing.assert_array_equal(segments[labels <= 50], labels[labels <= 50] - 1)
    assert (segments[labels > 50] == -1).all()
    np.testing.assert_array_equal(onehot.sum(0), (labels <= 50).astype(np.float32))
    np.testing.assert_array_equal(onehot.argmax(0)[labels <= 50], segments[labels <= 50])


def test_onehot_largest_policy_void_and_padding():
    labels = np.zeros((10, 10), np.int64)
    labels[:, 5:] = 9  # big
    labels[0, :3] = 4  # small
    labels[9, :5] = 255  # void
    labels[5, 0] = -1  # padding
    segments = segment_indices(labels, max_segments=2, void=255, policy="largest")
    onehot = reference.onehot(segments, 2)
    assert set(np.unique(segments).tolist()) == {-1, 0, 1}
    assert (segments[labels == 9] == 1).all() and (segments[labels == 0] == 0).all()
    assert (segments[labels == 4] == -1).all() and (segments[labels == 255] == -1).all()
    assert onehot[:, 5, 0].sum() == 0
    first = segment_indices(labels, max_segments=2, void=255)
    assert (first[labels == 4] == 1).all() and (first[labels == 9] == -1).all()
    with pytest.raises(ValueError, match="policy"):
        segment_indices(labels, policy="random")
    with pytest.raises(ValueError, match="2-D integer"):
        segment_indices(labels.astype(float))


# --------------------------------------------------------------------------- torch datasets
def test_sample_rng_streams_are_independent_and_reproducible():
    a = sample_rng(0, 0, 5).random(4)
    np.testing.assert_array_equal(a, sample_rng(0, 0, 5).random(4))
    for other in (sample_rng(1, 0, 5), sample_rng(0, 1, 5), sample_rng(0, 0, 6)):
        assert not np.array_equal(a, other.random(4))


@pytest.fixture(scope="module")
def bsds_patches(bsds_root):
    return SegmentationPatches(BSDS500(bsds_root, "train"), scale="official", seed=3)


@pytest.mark.realdata
def test_bsds_patches_shapes_and_labels(bsds_patches):
    item = bsds_patches[7]
    assert item["image"].shape == (3, 201, 201) and item["image"].dtype == torch.float32
    assert 0 <= item["image"].min() and item["image"].max() <= 1
    assert item["labels"].shape == (201, 201) and item["labels"].dtype == torch.int64
    onehot = reference.onehot(item["labels"])  # what the loss computes from the indices
    assert onehot.shape == (50, 201, 201) and onehot.dtype == torch.float32
    assert item["labels"].min() >= -1 and item["labels"].max() < 50
    kept = item["labels"] >= 0
    assert torch.equal(onehot.sum(0), kept.float())
    assert torch.equal(onehot.argmax(0)[kept], item["labels"][kept])
    assert item["valid"].all()  # BSDS images are larger than 201 even at scale 0.75
    assert "onehot" not in item  # no 8 MB tensor per sample on the data path
    batch = torch.stack([item["labels"], item["labels"]])
    assert torch.equal(reference.onehot(batch)[1], onehot)


@pytest.mark.realdata
def test_patches_are_deterministic_across_workers_and_epochs(bsds_patches):
    subset = Subset(bsds_patches, [0, 1, 2, 3, 4, 5])
    single = next(iter(DataLoader(subset, batch_size=6, num_workers=0)))
    workers = next(iter(DataLoader(subset, batch_size=6, num_workers=2)))
    for key in ("image", "labels", "valid"):
        assert torch.equal(single[key], workers[key])
    other = bsds_patches[1, 0]  # (epoch, index)
    assert not torch.equal(other["image"], single["image"][0])
    assert torch.equal(bsds_patches[0]["image"], single["image"][0])


@pytest.mark.realdata
def test_bsds_one_annotation_is_drawn_per_sample(bsds_root):
    source = BSDS500(bsds_root, "val")
    full = source.load(0)
    h, w = full["image"].shape[:2]
    # a patch as large as the image: no crop, so the patch labels are one whole annotation
    ds = SegmentationPatches(source, patch_size=(h, w), flip=False)
    candidates = [segment_indices(seg) for seg in full["segmentations"]]
    drawn = []
    for epoch in range(10):
        labels = ds[epoch, 0]["labels"].numpy()
        matches = [k for k, c in enumerate(candidates) if np.array_equal(labels, c)]
        assert len(matches) >= 1
        drawn.append(matches[0])
    assert len(set(drawn)) > 1


@pytest.mark.realdata
def test_voc_and_cityscapes_patches_ignore_void(samples_root):
    voc = SegmentationPatches(VOC2012(samples_root / "VOCdevkit", "trainval"), seed=0)
    cs = SegmentationPatches(Cityscapes(samples_root / "Cityscapes"), seed=0)
    for ds in (voc, cs):
        for index in range(len(ds)):
            item = ds[index]
            assert item["image"].shape == (3, 201, 201)
            assert item["labels"].max() < 21
    image, labels, void = voc.source.segmentation_example(0, sample_rng(0, 0, 0))
    assert void == 255 and (labels == 255).any()


@pytest.mark.realdata
def test_flow_patches(samples_root):
    ds = FlowPatches(Sintel(samples_root / "MPI-Sintel", "all", pass_=("clean", "final")), seed=2)
    assert len(ds) == 4
    item = ds[1]
    assert item["image1"].shape == item["image2"].shape == (3, 201, 201)
    assert item["flow"].shape == (2, 201, 201) and item["flow"].dtype == torch.float32
    assert item["valid"].dtype == torch.bool and item["valid"].float().mean() > 0.9
    # the patch is the crop of the full-size flow (u negated when flipped)
    rng = sample_rng(2, 0, 1)
    full = ds.source.load(1)
    out = ds.sampler(
        rng, images=[full["image1"], full["image2"]], masks=[~full["invalid"]], flow=full["flow"]
    )
    np.testing.assert_array_equal(item["flow"].numpy(), out["flow"].transpose(2, 0, 1))
    top, left = out["offset"]
    src = full["flow"][:, ::-1] * np.array([-1, 1], np.float32) if out["flipped"] else full["flow"]
    np.testing.assert_array_equal(out["flow"], src[top : top + 201, left : left + 201])
