"""Loaders on the real data in ../shared/datasets (skipped when absent): shapes, dtypes,
label ranges, the Cityscapes id -> train-id table, .flo values, invalid masks, BSDS pair
counts, and errors for corrupt or missing files and wrong layouts."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ssn.data import BSDS500, VOC2012, Cityscapes, LayoutError, Sintel, find_root, load_config
from ssn.data.cityscapes import LABELS, TRAIN_CLASSES, label_ids_to_train_ids
from ssn.data.sintel import SPLITS, TRAINING_SCENES
from ssn.io import FLO_MAGIC

pytestmark = pytest.mark.realdata


# --------------------------------------------------------------------------- BSDS500
@pytest.fixture(scope="module")
def bsds_trainval(bsds_root):
    return BSDS500(bsds_root, "trainval")


def test_bsds_pair_counts_match_the_paper(bsds_root, bsds_trainval):
    assert len(bsds_trainval) == 300
    assert len(bsds_trainval.pairs()) == 1633
    test = BSDS500(bsds_root, "test")
    assert len(test) == 200 and len(test.pairs()) == 1063
    assert [len(BSDS500(bsds_root, s)) for s in ("train", "val", "test")] == [200, 100, 200]


def test_bsds_sample_shapes_dtypes_and_labels(bsds_trainval):
    for index in (0, len(bsds_trainval) - 1):
        sample = bsds_trainval.load(index)
        image = sample["image"]
        assert image.dtype == np.uint8 and image.shape in ((321, 481, 3), (481, 321, 3))
        segs = sample["segmentations"]
        assert len(segs) == bsds_trainval.annotation_count(index)
        assert 4 <= len(segs) <= 9
        for seg in segs:
            assert seg.dtype == np.int64 and seg.shape == image.shape[:2]
            assert seg.min() >= 1
    pair = bsds_trainval.load_pair(len(bsds_trainval.pairs()) - 1)
    assert pair["labels"].shape == pair["image"].shape[:2]
    assert pair["annotation"] == bsds_trainval.annotation_count(len(bsds_trainval) - 1) - 1


def test_bsds_accepts_folders_above_the_data_folder(bsds_root):
    assert find_root("bsds500", bsds_root.parent) == bsds_root
    with pytest.raises(ValueError, match="split must be one of"):
        BSDS500(bsds_root, "training")


def _mini_bsds(src: Path, dst: Path) -> Path:
    """Copy one image + annotation per split of the real data into a temporary tree."""
    for split in ("train", "val", "test"):
        image = sorted((src / "images" / split).glob("*.jpg"))[0]
        for kind, path in (
            ("images", image),
            ("groundTruth", src / "groundTruth" / split / f"{image.stem}.mat"),
        ):
            (dst / kind / split).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, dst / kind / split / path.name)
    return dst


def test_bsds_corrupt_and_missing_files_are_named(bsds_root, tmp_path):
    root = _mini_bsds(bsds_root, tmp_path / "data")
    mat = next((root / "groundTruth" / "train").glob("*.mat"))
    mat.write_bytes(mat.read_bytes()[:200])
    ds = BSDS500(root, "train")
    with pytest.raises(ValueError, match=mat.name):
        ds.load(0)
    image = next((root / "images" / "val").glob("*.jpg"))
    image.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(ValueError, match=image.name):
        BSDS500(root, "val").load(0)
    next((root / "groundTruth" / "test").glob("*.mat")).unlink()
    with pytest.raises(FileNotFoundError, match=r"no ground truth .*groundTruth/test/\d+\.mat"):
        BSDS500(root, "test")


def test_bsds_wrong_layout_shows_the_expected_one(tmp_path):
    (tmp_path / "images" / "train").mkdir(parents=True)
    with pytest.raises(
        LayoutError, match=r"(?s)missing .*groundTruth/train.*expected layout:.*<id>\.mat"
    ):
        BSDS500(tmp_path)


# --------------------------------------------------------------------------- VOC 2012
@pytest.fixture(scope="module")
def voc_root(samples_root):
    return samples_root / "VOCdevkit"


def test_voc_official_lists_and_samples(voc_root):
    train, val = VOC2012(voc_root, "train"), VOC2012(voc_root, "val")
    assert train.ids == ["2007_000032"] and val.ids == ["2007_000033"]
    assert len(VOC2012(voc_root, "trainval")) == 2
    for ds in (train, val):
        sample = ds.load(0)
        image, labels = sample["image"], sample["labels"]
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert labels.dtype == np.int64 and labels.shape == image.shape[:2]
        values = set(np.unique(labels).tolist())
        assert values <= set(range(21)) | {255}
        assert 255 in values and 0 in values and len(values - {0, 255}) >= 1
    # palette indices, not colours: 2007_000032 shows aeroplanes (1) and people (15)
    assert {1, 15} <= set(np.unique(train.load(0)["labels"]).tolist())


def test_voc_errors_name_files(voc_root, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"ImageSets/Segmentation/test\.txt"):
        VOC2012(voc_root, "test")
    root = tmp_path / "VOC2012"
    shutil.copytree(find_root("voc2012", voc_root), root)
    label = root / "SegmentationClass" / "2007_000032.png"
    label.write_bytes(label.read_bytes()[:100])
    with pytest.raises(ValueError, match="2007_000032.png"):
        VOC2012(root, "train").load(0)
    (root / "JPEGImages" / "2007_000033.jpg").unlink()
    with pytest.raises(FileNotFoundError, match="2007_000033.jpg"):
        VOC2012(root, "val").load(0)
    shutil.rmtree(root / "SegmentationClass")
    with pytest.raises(LayoutError, match="(?s)SegmentationClass.*palette PNG"):
        VOC2012(root)


# --------------------------------------------------------------------------- Cityscapes
def test_cityscapes_official_train_id_table():
    table = {label_id: train_id for _, label_id, train_id in LABELS}
    assert sorted(table) == list(range(34))
    train_ids = [t for t in table.values() if t != 255]
    assert sorted(train_ids) == list(range(19))  # 19 classes, each from exactly one id
    assert (
        TRAIN_CLASSES[0] == "road" and TRAIN_CLASSES[18] == "bicycle" and len(TRAIN_CLASSES) == 19
    )
    expected = {7: 0, 8: 1, 11: 2, 17: 5, 23: 10, 24: 11, 26: 13, 31: 16, 33: 18}
    ids = np.array(list(expected) + [0, 1, 4, 6, 9, 14, 18, 29, 30])
    np.testing.assert_array_equal(label_ids_to_train_ids(ids), list(expected.values()) + [255] * 9)
    with pytest.raises(ValueError, match="0-255"):
        label_ids_to_train_ids(np.array([-1]))


@pytest.fixture(scope="module")
def cityscapes_root(samples_root):
    return samples_root / "Cityscapes"


def test_cityscapes_half_resolution_samples(cityscapes_root):
    ds = Cityscapes(cityscapes_root, "train")
    assert len(ds) == 3
    sample = ds.load(0)
    assert sample["id"] == "aachen_000000_000019"
    assert sample["image"].shape == (512, 1024, 3) and sample["image"].dtype == np.uint8
    ids, train = sample["label_ids"], sample["train_ids"]
    assert ids.shape == train.shape == (512, 1024) and train.dtype == np.int64
    assert ids.min() >= 0 and ids.max() <= 33
    assert set(np.unique(train).tolist()) <= set(range(19)) | {255}
    lut = dict((i, t) for _, i, t in LABELS)
    for label_id in np.unique(ids):
        assert np.all(train[ids == label_id] == lut[int(label_id)])
    assert (train == 0).mean() > 0.2  # road is a large part of a street scene


def test_cityscapes_full_resolution_matches_half(cityscapes_root):
    full = Cityscapes(cityscapes_root, "train", scale=1.0).load(1)
    half = Cityscapes(cityscapes_root, "train").load(1)
    assert full["image"].shape == (1024, 2048, 3)
    # nearest-neighbour halving keeps one pixel of each 2x2 block
    np.testing.assert_array_equal(half["label_ids"], full["label_ids"][1::2, 1::2])
    area = full["image"].reshape(512, 2, 1024, 2, 3).astype(float).mean(axis=(1, 3))
    assert np.abs(half["image"] - area).max() <= 1


def test_cityscapes_missing_label_is_named(cityscapes_root, tmp_path):
    shutil.copytree(cityscapes_root, tmp_path / "cs")
    label = next((tmp_path / "cs/gtFine/train/aachen").glob("*_labelIds.png"))
    label.unlink()
    with pytest.raises(FileNotFoundError, match=label.name):
        Cityscapes(tmp_path / "cs")
    with pytest.raises(FileNotFoundError, match="no .*_leftImg8bit.png images"):
        Cityscapes(cityscapes_root, "val")


# --------------------------------------------------------------------------- Sintel
@pytest.fixture(scope="module")
def sintel_root(samples_root):
    return samples_root / "MPI-Sintel"


def test_sintel_split_is_stated_in_the_config_and_partitions_23_scenes():
    config = load_config()["sintel"].splits
    assert tuple(config["train"]) == SPLITS["train"] and tuple(config["val"]) == SPLITS["val"]
    assert len(SPLITS["train"]) == 18 and len(SPLITS["val"]) == 5
    assert set(SPLITS["train"]) | set(SPLITS["val"]) == set(TRAINING_SCENES)
    assert not set(SPLITS["train"]) & set(SPLITS["val"])
    # frames per scene of MPI-Sintel training (50 except four shorter scenes) -> pairs
    frames = dict.fromkeys(TRAINING_SCENES, 50) | {
        "ambush_2": 21,
        "ambush_4": 33,
        "ambush_6": 20,
        "market_6": 40,
    }
    assert sum(frames.values()) == 1064
    assert sum(frames[s] - 1 for s in SPLITS["train"]) == 836  # the paper's counts
    assert sum(frames[s] - 1 for s in SPLITS["val"]) == 205


def test_sintel_pairs_flow_and_masks(sintel_root):
    ds = Sintel(sintel_root, ["alley_1", "cave_2"], pass_=("clean", "final"))
    assert len(ds) == 4
    for index in range(len(ds)):
        sample = ds.load(index)
        for key in ("image1", "image2"):
            assert sample[key].shape == (436, 1024, 3) and sample[key].dtype == np.uint8
        flow = sample["flow"]
        assert flow.shape == (436, 1024, 2) and flow.dtype == np.float32
        assert np.isfinite(flow).all() and 0.1 < np.abs(flow).mean() < 100
        assert sample["invalid"].dtype == np.bool_ and sample["invalid"].shape == (436, 1024)
        assert sample["occlusion"].dtype == np.bool_
        assert 0 < sample["occlusion"].mean() < 0.5
    assert ds.load(0)["invalid"].any()  # alley_1 frame 2 has a few invalid pixels
    clean, final = ds.load(0), ds.load(2)
    assert clean["pass"] == "clean" and final["pass"] == "final"
    np.testing.assert_array_equal(clean["flow"], final["flow"])  # same ground truth
    assert not np.array_equal(clean["image1"], final["image1"])


def test_sintel_flo_file_format(sintel_root):
    ds = Sintel(sintel_root, "all")
    raw = ds.flow_path(0).read_bytes()
    assert np.frombuffer(raw[:4], "<f4")[0] == FLO_MAGIC == np.float32(202021.25)
    width, height = np.frombuffer(raw[4:12], "<i4")
    assert (width, height) == (1024, 436) and len(raw) == 12 + 436 * 1024 * 2 * 4
    values = np.frombuffer(raw[12:], "<f4").reshape(436, 1024, 2)
    np.testing.assert_array_equal(ds.load(0)["flow"], values)


def test_sintel_split_with_missing_scenes(sintel_root):
    with pytest.raises(FileNotFoundError, match=r"scenes \[.*'alley_2'"):
        Sintel(sintel_root, "train")
    ds = Sintel(sintel_root, "train", missing="skip")
    assert ds.scenes == ("alley_1", "cave_2") and len(ds) == 2
    assert len(Sintel(sintel_root, "val", missing="skip")) == 0
    with pytest.raises(ValueError, match="pass_"):
        Sintel(sintel_root, "all", pass_="albedo")


def test_sintel_corrupt_flo_and_missing_mask_are_named(sintel_root, tmp_path):
    root = tmp_path / "MPI-Sintel"
    shutil.copytree(sintel_root, root)
    flo = root / "training/flow/alley_1/frame_0002.flo"
    flo.write_bytes(b"HEIP" + flo.read_bytes()[4:])  # "PIEH" is the magic
    with pytest.raises(ValueError, match=r"frame_0002\.flo is not a \.flo file"):
        Sintel(root, ["alley_1"]).load(0)
    (root / "training/invalid/cave_2/frame_0002.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"invalid/cave_2/frame_0002\.png"):
        Sintel(root, ["cave_2"])
    with pytest.raises(LayoutError, match=r"(?s)training/flow.*frame_%04d\.flo"):
        Sintel(root / "training")


# -- issue #14 (2): one evaluation view ------------------------------------------------


@pytest.mark.realdata
def test_every_loader_gives_the_same_evaluation_view(bsds_root, voc_root, cityscapes_root,
                                                      sintel_root):  # fmt: skip
    """evaluation_items(): stable ids, the dataset's ignore labels and void boundaries
    defined once, flow with the next frame for Sintel."""
    bsds = BSDS500(bsds_root, "val")
    items = bsds.evaluation_items()
    assert [item.id for item in items] == [stem for _, stem in bsds.items]
    sample = items[0].load()
    assert len(sample.annotations) == len(bsds.load(0)["segmentations"]) >= 4
    assert (sample.ignore_labels, sample.void_boundaries, sample.is_flow) == ((), "keep", False)

    voc = VOC2012(voc_root, "trainval")
    sample = voc.evaluation_items()[0].load()
    assert voc.evaluation_items()[0].id == voc.ids[0]
    assert sample.ignore_labels == VOC2012.IGNORE_LABELS == (255,)
    assert sample.void_boundaries == "fill"
    np.testing.assert_array_equal(sample.annotations[0], voc.load(0)["labels"])

    city = Cityscapes(cityscapes_root, "train")
    item = city.evaluation_items()[0]
    assert item.id + "_leftImg8bit.png" == city.images[0].name
    sample = item.load()
    assert sample.ignore_labels == (255,) and sample.annotations[0].max() <= 255
    np.testing.assert_array_equal(sample.annotations[0], city.load(0)["train_ids"])

    sintel = Sintel(sintel_root, "all")
    item = sintel.evaluation_items()[0]
    p, scene, frame = sintel.pairs[0]
    assert item.id == f"{p}_{scene}_{frame:04d}"
    sample = item.load()
    raw = sintel.load(0)
    assert sample.is_flow and sample.annotations == []
    np.testing.assert_array_equal(sample.next_frame, raw["image2"])
    np.testing.assert_array_equal(sample.valid, ~raw["invalid"])
