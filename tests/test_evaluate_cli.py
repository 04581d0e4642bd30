"""The ``ssn evaluate`` command: file formats, output, protocol record, clean errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

import ssn.cli as cli
from ssn.io import write_flo, write_label_image

SP4 = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])
GT4 = np.array([[0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1], [1, 1, 1, 1]])


@pytest.fixture(autouse=True)
def only_evaluate(monkeypatch):
    """Run the dispatcher with just this command, whatever else is registered."""
    monkeypatch.setattr(cli, "COMMANDS", {"evaluate": "evaluate"})


def run_cli(capsys, *args):
    code = cli.main(["evaluate", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def write_bsds_mat(path, annotations):
    """A ground-truth file in the BSDS500 layout: a 1xK cell array of structs."""
    from scipy.io import savemat

    cells = np.empty((1, len(annotations)), dtype=object)
    for k, seg in enumerate(annotations):
        cells[0, k] = {"Segmentation": seg.astype(np.uint16), "Boundaries": np.zeros_like(seg)}
    savemat(path, {"groundTruth": cells})


@pytest.fixture
def files(tmp_path):
    write_label_image(tmp_path / "sp.png", SP4)
    np.save(tmp_path / "sp.npy", SP4 + 1000)  # other ids, same partition
    write_label_image(tmp_path / "gt.png", GT4)
    write_bsds_mat(tmp_path / "gt.mat", [GT4 + 1, SP4 + 1, np.ones((4, 4), int)])
    return tmp_path


def test_text_output_has_protocol_rows_and_hand_computed_values(capsys, files):
    code, out, err = run_cli(
        capsys, "--pred", files / "sp.png", "--gt", files / "gt.png", "--tolerance", "0"
    )
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("protocol: stutz") and "tolerance r = 0" in lines[0]
    assert "superpixels: 4" in lines[1] and "EV: n/a" in lines[1]
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in lines[3:]}
    assert set(rows) == {"1", "mean", "best", "worst"}
    # ASA 11/16, BR 9/11, BP 9/12, UE 10/16 (worked out in tests/test_metrics.py)
    assert rows["1"] == pytest.approx([11 / 16, 9 / 11, 9 / 12, 10 / 16], abs=5e-5)


def test_json_bsds_mat_every_annotation(capsys, files):
    code, out, _ = run_cli(
        capsys, "--pred", files / "sp.npy", "--gt", files / "gt.mat", "--protocol", "ssn", "--json"
    )
    assert code == 0
    result = json.loads(out)
    assert result["protocol"]["name"] == "ssn" and result["protocol"]["tolerance"] == 1
    assert result["n_annotations"] == 3 and result["n_superpixels"] == 4
    asa = [row["asa"] for row in result["per_annotation"]]
    # GT4: 11/16; the superpixels themselves: 1; a single segment: 1.
    assert asa == pytest.approx([11 / 16, 1.0, 1.0])
    assert result["mean"]["asa"] == pytest.approx((11 / 16 + 2) / 3)
    assert result["worst"]["asa"] == pytest.approx(11 / 16)
    # ssn protocol, r = 1 on GT4: BR 1 (see tests/test_metrics.py); no GT boundary in
    # the single-segment annotation: SEAL reports 1.
    assert [row["br"] for row in result["per_annotation"]] == [1.0, 1.0, 1.0]


def test_image_gives_ev_and_ignore_label(capsys, files):
    image = np.array([[0, 0, 2, 2], [0, 0, 2, 2], [4, 0, 6, 6], [4, 0, 6, 6]], np.uint8)
    Image.fromarray(image).save(files / "image.png")
    gt = GT4.copy()
    gt[0, :2] = 255
    write_label_image(files / "void.png", gt)
    code, out, _ = run_cli(
        capsys,
        "--pred",
        files / "sp.png",
        "--gt",
        files / "void.png",
        "--image",
        files / "image.png",
        "--ignore-label",
        "255",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    assert result["ev"] == pytest.approx(76 / 92)  # hand-computed in test_metrics.py
    assert result["per_annotation"][0]["asa"] == pytest.approx(9 / 14)


def test_void_boundaries_fill(capsys, files):
    # the hand case of tests/test_metrics.py: a 2-pixel void band split by the superpixels
    write_label_image(files / "band_sp.png", np.array([[0, 0, 0, 1, 1, 1]] * 4))
    write_label_image(files / "band_gt.png", np.array([[3, 3, 255, 255, 7, 7]] * 4))
    common = ["--pred", files / "band_sp.png", "--gt", files / "band_gt.png", "--protocol",
              "ssn", "--tolerance", "0", "--ignore-label", "255", "--json"]  # fmt: skip
    brs = {}
    for mode in ("keep", "fill"):
        code, out, _ = run_cli(capsys, *common, "--void-boundaries", mode)
        assert code == 0
        brs[mode] = json.loads(out)["per_annotation"][0]["br"]
    assert brs == {"keep": 0.0, "fill": 1.0}


def test_flo_ground_truth_gives_epe(capsys, files):
    flow = np.zeros((4, 4, 2), np.float32)
    flow[2:4, 0, 0] = 4  # S2: u = 4, 0, 4, 0 -> errors 2 each; EPE = 8 / 16
    flow[3, 3] = (100, 100)  # marked invalid below
    write_flo(files / "gt.flo", flow)
    invalid = np.zeros((4, 4), np.uint8)
    invalid[3, 3] = 255
    Image.fromarray(invalid).save(files / "invalid.png")
    code, out, _ = run_cli(
        capsys,
        "--pred",
        files / "sp.png",
        "--gt",
        files / "gt.flo",
        "--invalid",
        files / "invalid.png",
    )
    assert code == 0
    assert out.splitlines()[0].startswith("protocol: stutz")
    assert "EPE: 0.5333" in out  # 8 / 15 valid pixels
    code, out, _ = run_cli(capsys, "--pred", files / "sp.png", "--gt", files / "gt.flo", "--json")
    result = json.loads(out)
    # without the mask S3 has flows (0,0) x3 and (100,100): mean (25, 25);
    # errors 3 * 25*sqrt(2) + 75*sqrt(2) = 150 sqrt(2); EPE = (8 + 150 sqrt(2)) / 16
    assert result["epe"] == pytest.approx((8 + 150 * np.sqrt(2)) / 16, rel=1e-6)
    assert result["protocol"]["name"] == "stutz"


def test_real_bsds_file(capsys, bsds_root, tmp_path):
    from ssn.io import read_bsds_ground_truth
    from ssn.metrics import evaluate_image

    mat = sorted((bsds_root / "groundTruth" / "test").glob("*.mat"))[0]
    annotations = read_bsds_ground_truth(mat)
    write_label_image(tmp_path / "pred.png", annotations[0])
    code, out, _ = run_cli(capsys, "--pred", tmp_path / "pred.png", "--gt", mat, "--json")
    assert code == 0
    result = json.loads(out)
    assert result["protocol"] == {
        "name": "stutz",
        "boundary": result["protocol"]["boundary"],
        "tolerance": 1,
    }
    assert result["per_annotation"][0] == {"asa": 1.0, "br": 1.0, "bp": 1.0, "ue": 0.0}
    expected = evaluate_image(annotations[0], annotations).per_annotation
    # Compared dict by dict: pytest >= 9.1 refuses approx() on nested structures.
    assert len(result["per_annotation"]) == len(expected)
    for got, want in zip(result["per_annotation"], expected, strict=True):
        assert got == pytest.approx(want)


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda d: ["--pred", d / "sp.png", "--gt", d / "small.png"], "must match"),
        (lambda d: ["--pred", d / "missing.png", "--gt", d / "gt.png"], "no such file"),
        (lambda d: ["--pred", d / "sp.png", "--gt", d / "broken.png"], "cannot read"),
        (lambda d: ["--pred", d / "empty.npy", "--gt", d / "gt.png"], "empty"),
        (
            lambda d: ["--pred", d / "sp.png", "--gt", d / "gt.png", "--tolerance", "-2"],
            "non-negative",
        ),
        (lambda d: ["--pred", d / "sp.png", "--gt", d / "small.mat"], "must match"),
    ],
)
def test_user_errors_end_in_one_clean_line(capsys, files, make_args, message):
    write_label_image(files / "small.png", GT4[:3])
    write_bsds_mat(files / "small.mat", [GT4[:, :3]])
    (files / "broken.png").write_bytes(b"not a png")
    np.save(files / "empty.npy", np.zeros((0, 0), np.int64))
    code, out, err = run_cli(capsys, *make_args(files))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("ssn evaluate: error:") and message in err


def test_bad_protocol_is_rejected_by_argparse(capsys, files):
    with pytest.raises(SystemExit) as exc:
        cli.main(
            [
                "evaluate",
                "--pred",
                str(files / "sp.png"),
                "--gt",
                str(files / "gt.png"),
                "--protocol",
                "seal",
            ]
        )
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def _float_mat(path, seg):
    from scipy.io import savemat

    cells = np.empty((1, 1), dtype=object)
    cells[0, 0] = {"Segmentation": seg.astype(np.float64), "Boundaries": np.zeros_like(seg)}
    savemat(path, {"groundTruth": cells})


@pytest.mark.parametrize(
    ("value", "message"),
    [(np.nan, "non-integer labels \\(e.g. nan\\)"), (2.5, "non-integer labels \\(e.g. 2.5\\)")],
)
def test_mat_with_nan_or_fractional_labels_is_refused(capsys, files, value, message):
    """Issue #12 (10): NaN became one segment with id int64-min and was scored."""
    seg = (GT4 + 1).astype(np.float64)
    seg[0, 0] = value
    _float_mat(files / "bad.mat", seg)
    code, out, err = run_cli(capsys, "--pred", files / "sp.png", "--gt", files / "bad.mat")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "annotation 1 holds 1 " in err and re.search(message, err)


def test_mat_with_whole_number_doubles_is_scored_like_integers(capsys, files):
    """MATLAB saves doubles by default: whole numbers are labels."""
    _float_mat(files / "double.mat", GT4 + 1)
    _, out_double, _ = run_cli(
        capsys, "--pred", files / "sp.png", "--gt", files / "double.mat", "--json"
    )
    _, out_int, _ = run_cli(capsys, "--pred", files / "sp.png", "--gt", files / "gt.png", "--json")
    double, integer = json.loads(out_double), json.loads(out_int)
    assert double["mean"] == integer["mean"]


def test_zero_byte_npy_is_one_line(capsys, files):
    """Issue #12 (13): a 0-byte .npy raised EOFError with a traceback."""
    (files / "zero.npy").write_bytes(b"")
    code, out, err = run_cli(capsys, "--pred", files / "zero.npy", "--gt", files / "gt.png")
    assert code == 2 and err.count("\n") == 1 and "cannot read label array" in err
    code, out, err = run_cli(capsys, "--pred", files / "sp.png", "--gt", files / "zero.npy")
    assert code == 2 and err.count("\n") == 1 and "cannot read label array" in err


@pytest.mark.parametrize("data", [b"", b"MATLAB 5.0 MAT-file"], ids=["zero-byte", "truncated"])
def test_empty_or_truncated_mat_is_one_line(capsys, files, data):
    """Issue #25 (5): scipy's MatReadError is no ValueError: it ended in a traceback."""
    (files / "zero.mat").write_bytes(data)
    code, out, err = run_cli(capsys, "--pred", files / "sp.png", "--gt", files / "zero.mat")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert re.search(r"zero\.mat is not a BSDS500 ground-truth file: .*truncated", err)
