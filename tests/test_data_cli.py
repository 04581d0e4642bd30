"""`ssn data` command: fetch (and its no-op re-run), check, list, and clear errors."""

from __future__ import annotations

import argparse

import pytest

from ssn.commands import data as data_command
from ssn.data.config import DEFAULT_CONFIG


def _run(argv):
    parser = argparse.ArgumentParser()
    data_command.add_arguments(parser)
    return data_command.run(parser.parse_args(argv))


@pytest.fixture
def local_config(tmp_path, bsds_root, samples_root):
    """An override like config/datasets.local.yaml, pointing at the fixtures' folders."""
    path = tmp_path / "local.yaml"
    path.write_text(
        f"""datasets:
  bsds500:
    source: {bsds_root}
  voc2012:
    source: {samples_root / "VOCdevkit"}
    manifest: {samples_root / "SHA256SUMS"}
    manifest_prefix: VOCdevkit/VOC2012/
    expect: {{"JPEGImages/*.jpg": 2, "SegmentationClass/*.png": 2}}
  cityscapes:
    source: {samples_root / "Cityscapes"}
    expect: {{"leftImg8bit/train/*/*_leftImg8bit.png": 3}}
  sintel:
    source: {samples_root / "MPI-Sintel"}
    expect: {{"training/flow/*/frame_*.flo": 2}}
"""
    )
    return ["--config", str(DEFAULT_CONFIG), "--config", str(path)]


@pytest.mark.realdata
def test_fetch_then_check_all_from_local_copies(tmp_path, local_config, capsys):
    dest = ["--dest", str(tmp_path / "ds"), "--no-progress"]
    assert _run(["fetch", "all", *local_config, *dest]) == 0
    out = capsys.readouterr().out
    assert "bsds500: fetched" in out and "1000 verified by manifest" in out
    assert _run(["fetch", "all", *local_config, *dest]) == 0
    out = capsys.readouterr().out
    assert out.count("already present") == 4
    assert _run(["check", "all", *local_config, *dest]) == 0
    out = capsys.readouterr().out
    assert "bsds500: OK" in out and "1087 (image, annotation) pairs" in out
    assert "546 (image, annotation) pairs" in out and "1063 (image, annotation) pairs" in out
    assert "voc2012: OK" in out and "7 files match the manifest" in out


def test_check_reports_unfetched_and_wrong_folders(tmp_path, capsys):
    assert _run(["check", "voc2012", "--dest", str(tmp_path)]) == 1
    assert "not fetched" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert _run(["check", "sintel", "--root", str(tmp_path / "empty")]) == 1
    assert "expected layout" in capsys.readouterr().err


def test_unknown_dataset_and_list(capsys):
    with pytest.raises(ValueError, match="unknown dataset"):
        _run(["fetch", "imagenet", "--dest", "x"])
    assert _run(["list"]) == 0
    out = capsys.readouterr().out
    assert "VOCtrainval_11-May-2012.tar" in out and "trust-on-first-use" in out


def test_registered_in_the_ssn_cli(tmp_path, capsys):
    from ssn.cli import main

    assert main(["data", "fetch", "cityscapes", "--dest", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "ssn data: error:" in err and "cityscapes-dataset.com" in err


def test_fetch_interrupted_is_one_line_and_exit_130(server, tmp_path, monkeypatch, capsys):
    """Ctrl-C mid-download: one line saying how to resume, exit 130, the .part kept."""
    import http.client

    from ssn.cli import main

    server.files["/s.zip"] = bytes(range(256)) * 1000
    override = tmp_path / "o.yaml"
    override.write_text(
        f"datasets:\n  sintel:\n    archives:\n      - file: s.zip\n"
        f"        url: {server.url}/s.zip\n        sha256: null\n        size: null\n"
    )
    real, calls = http.client.HTTPResponse.read1, []

    def read1(self, *args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(http.client.HTTPResponse, "read1", read1)
    argv = ["data", "fetch", "sintel", "--config", str(DEFAULT_CONFIG), "--config",
            str(override), "--dest", str(tmp_path / "ds"), "--no-progress"]  # fmt: skip
    assert main(argv) == 130
    err = capsys.readouterr().err
    part = tmp_path / "ds" / "downloads" / "s.zip.part"
    size = part.stat().st_size
    assert err == (
        f"ssn data: interrupted; run the same command again to resume from {size} bytes ({part})\n"
    )
    assert 0 < size < 256_000
