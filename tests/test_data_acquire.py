"""Acquisition, offline: download with progress/resume/checksums against a local HTTP
server on 127.0.0.1, safe extraction, and fetch (no-op re-runs, sources, errors)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ssn.data import (
    BSDS500,
    ChecksumError,
    DownloadError,
    LayoutError,
    NoDownloadError,
    UnsafeArchiveError,
    check,
    download,
    fetch,
    load_config,
    safe_extract,
    stamp_path,
)
from ssn.data.config import ArchiveSpec, DatasetSpec
from ssn.data.download import verify_or_record


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


PAYLOAD = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()


# --------------------------------------------------------------------------- download
def test_download_streams_with_progress_and_verifies(server, tmp_path, capsys):
    server.files["/a.bin"] = PAYLOAD
    out = tmp_path / "dl" / "a.bin"
    digest = download(f"{server.url}/a.bin", out, sha256=_sha(PAYLOAD), chunk_size=8192)
    assert digest == _sha(PAYLOAD)
    assert out.read_bytes() == PAYLOAD
    assert not out.with_name("a.bin.part").exists()
    err = capsys.readouterr().err
    assert "a.bin" in err and "100%" in err  # the tqdm bar reached the end


def test_download_resumes_after_a_cut_connection(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    server.drop = 2  # the first two responses are cut short
    out = tmp_path / "a.bin"
    download(f"{server.url}/a.bin", out, sha256=_sha(PAYLOAD), progress=False, backoff=0)
    assert out.read_bytes() == PAYLOAD
    assert len(server.requests) == 3
    assert server.requests[0][1] is None
    first_cut = int(len(PAYLOAD) * server.cut_fraction)
    assert server.requests[1][1] == f"bytes={first_cut}-"  # resumed, not restarted
    assert int(server.requests[2][1][6:-1]) > first_cut


def test_download_keeps_what_arrived_before_the_connection_stalls(server, tmp_path):
    """A 0.9 MB file cut at 40 %: the retry resumes after the bytes that arrived.

    The server holds the cut connection open, so the client times out in the middle of a
    read; bytes held back until a full read (1 MiB) would be lost with it.
    """
    data = np.random.default_rng(1).integers(0, 256, 900_000, dtype=np.uint8).tobytes()
    server.files["/m.bin"] = data
    server.drop, server.stall = 1, 3.0
    out = tmp_path / "m.bin"
    download(f"{server.url}/m.bin", out, sha256=_sha(data), progress=False, timeout=0.5,
             backoff=0)  # fmt: skip
    assert out.read_bytes() == data
    assert [rng for _, rng in server.requests] == [None, f"bytes={int(900_000 * 0.4)}-"]


def test_download_with_no_data_for_the_timeout_says_how_much_is_kept(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    server.drop, server.stall = 1, 3.0
    out = tmp_path / "a.bin"
    with pytest.raises(
        DownloadError,
        match=r"no data from http://127\.0\.0\.1:\d+/a\.bin for 0\.5 s; re-run to resume "
        r"from .*a\.bin\.part \(120000 bytes\)$",
    ):
        download(f"{server.url}/a.bin", out, sha256=_sha(PAYLOAD), progress=False, timeout=0.5,
                 retries=0)  # fmt: skip
    assert out.with_name("a.bin.part").read_bytes() == PAYLOAD[:120_000]


def test_download_of_a_trickle_stops_within_its_window(server, tmp_path):
    """One byte every 50 ms never trips a 1 s socket timeout; the rate check stops it."""
    import time

    server.files["/a.bin"] = PAYLOAD[:10_000]  # 500 s at this rate
    server.trickle = 0.05
    started = time.monotonic()
    with pytest.raises(
        DownloadError, match=r"a\.bin is too slow: \d+ bytes in 1 s, under the minimum of 100 "
        r"bytes/s; re-run to resume from .*a\.bin\.part \(\d+ bytes\)"
    ):  # fmt: skip
        download(f"{server.url}/a.bin", tmp_path / "a.bin", progress=False, timeout=1,
                 min_rate=100, stall_window=1, retries=0)  # fmt: skip
    assert time.monotonic() - started < 5


def test_download_after_a_bad_content_range_says_it_starts_again(server, tmp_path):
    """The server answers a Range request from byte 0: the .part is deleted, and said so."""
    server.files["/a.bin"] = PAYLOAD
    server.bad_range = True
    out = tmp_path / "a.bin"
    out.with_name("a.bin.part").write_bytes(PAYLOAD[:1000])
    with pytest.raises(
        DownloadError, match=r"resumed .* at 0, not 1000; restarting; re-run to download it again$"
    ):
        download(f"{server.url}/a.bin", out, sha256=_sha(PAYLOAD), progress=False, retries=0)
    assert not out.with_name("a.bin.part").exists()


def _interrupt_the_second_read(monkeypatch):
    """Ctrl-C after the first piece of a response body has arrived."""
    import http.client

    real, calls = http.client.HTTPResponse.read1, []

    def read1(self, *args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(http.client.HTTPResponse, "read1", read1)


def test_download_interrupted_keeps_the_part_and_says_its_size(server, tmp_path, monkeypatch):
    from ssn.data import DownloadInterrupted

    server.files["/a.bin"] = PAYLOAD
    _interrupt_the_second_read(monkeypatch)
    part = tmp_path / "a.bin.part"
    with pytest.raises(DownloadInterrupted, match=r"resume from \d+ bytes") as err:
        download(f"{server.url}/a.bin", tmp_path / "a.bin", sha256=_sha(PAYLOAD), progress=False)
    assert 0 < err.value.size == part.stat().st_size < len(PAYLOAD)
    assert part.read_bytes() == PAYLOAD[: err.value.size]


def test_concurrent_downloads_of_one_file_take_turns(server, tmp_path):
    """Two at once: one downloads, the other waits, then finds the file and verifies it."""
    import threading

    data = PAYLOAD[:400]
    server.files["/a.bin"] = data
    server.trickle = 0.001  # about half a second: both start while the first is running
    out, results = tmp_path / "a.bin", []

    def run():
        try:
            results.append(download(f"{server.url}/a.bin", out, sha256=_sha(data), progress=False))
        except Exception as err:  # noqa: BLE001 - reported by the assertion below
            results.append(err)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert results == [_sha(data), _sha(data)]
    assert out.read_bytes() == data and len(server.requests) == 1


def test_download_resumes_a_partial_file_of_an_earlier_run(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    out = tmp_path / "a.bin"
    out.with_name("a.bin.part").write_bytes(PAYLOAD[:123_456])
    download(f"{server.url}/a.bin", out, sha256=_sha(PAYLOAD), progress=False)
    assert server.requests == [("/a.bin", "bytes=123456-")]
    assert out.read_bytes() == PAYLOAD


def test_download_restarts_when_the_server_ignores_range(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    server.ranges = False
    out = tmp_path / "a.bin"
    out.with_name("a.bin.part").write_bytes(b"x" * 1000)  # stale garbage
    download(f"{server.url}/a.bin", out, sha256=_sha(PAYLOAD), progress=False)
    assert out.read_bytes() == PAYLOAD


def test_download_of_a_complete_part_file_gets_416_and_finishes(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    out = tmp_path / "a.bin"
    out.with_name("a.bin.part").write_bytes(PAYLOAD)
    download(f"{server.url}/a.bin", out, sha256=_sha(PAYLOAD), progress=False)
    assert out.read_bytes() == PAYLOAD


def test_download_checksum_mismatch_is_rejected_and_deleted(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    out = tmp_path / "a.bin"
    with pytest.raises(ChecksumError, match=r"sha256 mismatch for a\.bin .*expected 0{64}"):
        download(f"{server.url}/a.bin", out, sha256="0" * 64, progress=False)
    assert not out.exists() and not out.with_name("a.bin.part").exists()


def test_download_size_mismatch_is_rejected(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    with pytest.raises(ChecksumError, match=r"size mismatch for a\.bin"):
        download(f"{server.url}/a.bin", tmp_path / "a.bin", size=12, progress=False)


def test_download_http_error_is_permanent(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{server.url}/missing.bin", tmp_path / "m.bin", progress=False)
    assert len(server.requests) == 1


def test_download_gives_up_after_retries_and_keeps_the_part(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    server.drop = 100
    with pytest.raises(DownloadError, match="incomplete after 3 attempts.*re-run to resume"):
        download(f"{server.url}/a.bin", tmp_path / "a.bin", progress=False, retries=2, backoff=0)
    assert (tmp_path / "a.bin.part").stat().st_size > 0


def test_download_rerun_is_a_noop(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    out = tmp_path / "a.bin"
    download(f"{server.url}/a.bin", out, sha256=_sha(PAYLOAD), progress=False)
    download(f"{server.url}/a.bin", out, sha256=_sha(PAYLOAD), progress=False)
    assert len(server.requests) == 1


def test_download_without_digest_trusts_on_first_use(server, tmp_path, caplog):
    server.files["/a.bin"] = PAYLOAD
    out = tmp_path / "a.bin"
    with caplog.at_level(logging.WARNING, logger="ssn.data"):
        digest = download(f"{server.url}/a.bin", out, progress=False)
    assert digest == _sha(PAYLOAD)
    assert "trusting it on first use" in caplog.text
    assert out.with_name("a.bin.sha256").read_text().split()[0] == digest
    out.write_bytes(PAYLOAD[:-1] + b"\0")  # corrupted later: the record catches it
    with pytest.raises(ChecksumError, match=r"a\.bin.*recorded on first download"):
        verify_or_record(out, None)


# --------------------------------------------------------------------------- extraction
def _tar(path: Path, members: list[tuple[str, str, bytes | str]]) -> Path:
    """members: (kind, name, data-or-linkname) with kind in file/dir/sym/hard."""
    with tarfile.open(path, "w:gz") as tar:
        for kind, name, data in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE}[
                kind
            ]
            if kind == "dir":
                info.mode = 0o755
            else:
                info.linkname = data
            tar.addfile(info)
    return path


def test_safe_extract_tar_and_zip(tmp_path):
    tar = _tar(
        tmp_path / "ok.tgz",
        [("dir", "top", b""), ("file", "top/a.txt", b"hello"), ("sym", "top/link", "a.txt")],
    )
    assert safe_extract(tar, tmp_path / "t") == 3
    assert (tmp_path / "t/top/link").read_bytes() == b"hello"
    zpath = tmp_path / "ok.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("top/b.txt", b"zip")
    assert safe_extract(zpath, tmp_path / "z") == 1
    assert (tmp_path / "z/top/b.txt").read_bytes() == b"zip"


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([("file", "../evil.txt", b"x")], "contains '..'"),
        ([("file", "ok/../../evil.txt", b"x")], "contains '..'"),
        ([("file", "/tmp/evil-ssn-test.txt", b"x")], "absolute path"),
        ([("sym", "link", "../../outside")], "points outside"),
        ([("sym", "link", "/etc/passwd")], "absolute path"),
        ([("dir", "d", b""), ("sym", "d/up", "../..")], "points outside"),
        ([("hard", "hl", "../outside")], "points outside"),
    ],
)
def test_safe_extract_rejects_escaping_tar_members(tmp_path, members, message):
    tar = _tar(tmp_path / "bad.tgz", [("file", "fine.txt", b"ok"), *members])
    dest = tmp_path / "out" / "dest"
    with pytest.raises(UnsafeArchiveError, match=message):
        safe_extract(tar, dest)
    assert not (dest / "fine.txt").exists()  # checked before anything is written
    assert not (tmp_path / "out" / "evil.txt").exists()


def test_safe_extract_rejects_symlink_then_write_through_it(tmp_path):
    tar = _tar(tmp_path / "bad.tgz", [("sym", "esc", ".."), ("file", "esc/evil.txt", b"x")])
    with pytest.raises(UnsafeArchiveError):
        safe_extract(tar, tmp_path / "dest")
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize(
    "name", ["../evil.txt", "/abs/evil.txt", "C:\\evil.txt", "a\\..\\..\\evil.txt"]
)
def test_safe_extract_rejects_escaping_zip_members(tmp_path, name):
    zpath = tmp_path / "bad.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr(zipfile.ZipInfo(name), b"x")
    with pytest.raises(UnsafeArchiveError):
        safe_extract(zpath, tmp_path / "dest")
    assert not (tmp_path / "evil.txt").exists()


def test_safe_extract_rejects_zip_symlink_escape(tmp_path):
    zpath = tmp_path / "bad.zip"
    info = zipfile.ZipInfo("link")
    info.external_attr = 0o120777 << 16  # a symbolic link
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr(info, "../../outside")
    with pytest.raises(UnsafeArchiveError, match="points outside"):
        safe_extract(zpath, tmp_path / "dest")


def test_safe_extract_names_a_corrupt_archive(tmp_path):
    bad = tmp_path / "broken.tgz"
    good = _tar(tmp_path / "good.tgz", [("file", "a.bin", PAYLOAD)])
    bad.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(ValueError, match="broken.tgz"):
        safe_extract(bad, tmp_path / "dest")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not an archive")
    with pytest.raises(ValueError, match="junk.zip is neither a tar nor a zip"):
        safe_extract(junk, tmp_path / "dest2")


# --------------------------------------------------------------------------- fetch
def _fake_bsds_tgz(path: Path, per_split=(2, 1, 1)) -> Path:
    """A tiny archive with the layout of BSR_bsds500.tgz (JPEG images, .mat annotations)."""
    from PIL import Image
    from scipy.io import savemat

    with tarfile.open(path, "w:gz") as tar:
        for split, n in zip(("train", "val", "test"), per_split, strict=True):
            for i in range(n):
                img = io.BytesIO()
                Image.fromarray(np.full((24, 32, 3), 40 * i, np.uint8)).save(img, "JPEG")
                seg = np.ones((24, 32), np.uint16)
                seg[:, 16:] = 2
                cells = np.empty((1, 2 + i), dtype=object)
                for k in range(cells.shape[1]):
                    cells[0, k] = {
                        "Segmentation": seg + k,
                        "Boundaries": np.zeros((24, 32), np.uint8),
                    }
                mat = io.BytesIO()
                savemat(mat, {"groundTruth": cells})
                for name, data in (
                    (f"BSR/BSDS500/data/images/{split}/{100 + i}.jpg", img.getvalue()),
                    (f"BSR/BSDS500/data/groundTruth/{split}/{100 + i}.mat", mat.getvalue()),
                ):
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    return path


EXPECT = {
    "images/train/*.jpg": 2,
    "images/val/*.jpg": 1,
    "images/test/*.jpg": 1,
    "groundTruth/train/*.mat": 2,
}


@pytest.fixture(scope="module")
def bsds_tgz(tmp_path_factory):
    return _fake_bsds_tgz(tmp_path_factory.mktemp("arch") / "BSR_bsds500.tgz")


def _spec(url, sha256, **kw):
    fields = {
        "name": "bsds500",
        "archives": (ArchiveSpec("BSR_bsds500.tgz", url, sha256),),
        "expect": EXPECT,
    }
    fields.update(kw)
    return DatasetSpec(**fields)


def test_fetch_downloads_extracts_checks_and_reruns_as_noop(server, tmp_path, bsds_tgz):
    data = bsds_tgz.read_bytes()
    server.files["/BSR_bsds500.tgz"] = data
    spec = _spec(f"{server.url}/BSR_bsds500.tgz", _sha(data))
    dest = tmp_path / "datasets"
    result = fetch(spec, dest, progress=False)
    assert not result.skipped
    assert result.root == dest / "bsds500" / "BSR" / "BSDS500" / "data"
    assert result.counts == EXPECT
    assert result.digests == {"BSR_bsds500.tgz": _sha(data)}
    stamp = json.loads(stamp_path(dest, "bsds500").read_text())
    assert stamp["root"] == str(result.root.resolve()) and stamp["archives"] == result.digests
    ds = BSDS500(dest / "bsds500", "trainval")  # the loader finds the root below
    assert len(ds) == 3 and len(ds.pairs()) == 2 + 3 + 2
    assert not (dest / "bsds500.partial").exists()
    again = fetch(spec, dest, progress=False)
    assert again.skipped and len(server.requests) == 1  # no second download


def test_fetch_refetches_when_files_went_missing(server, tmp_path, bsds_tgz):
    server.files["/BSR_bsds500.tgz"] = bsds_tgz.read_bytes()
    spec = _spec(f"{server.url}/BSR_bsds500.tgz", None)
    dest = tmp_path / "d"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(logging.getLogger("ssn.data"), "disabled", True)
        root = fetch(spec, dest, progress=False).root
        (root / "images/train/100.jpg").unlink()
        result = fetch(spec, dest, progress=False)
    assert not result.skipped and (root / "images/train/100.jpg").is_file()
    assert len(server.requests) == 1  # the archive is kept: extracted again, not downloaded


def test_fetch_rejects_a_wrong_archive_digest(server, tmp_path, bsds_tgz):
    server.files["/BSR_bsds500.tgz"] = bsds_tgz.read_bytes()
    spec = _spec(f"{server.url}/BSR_bsds500.tgz", "f" * 64)
    with pytest.raises(ChecksumError, match="BSR_bsds500.tgz"):
        fetch(spec, tmp_path, progress=False)
    assert not (tmp_path / "bsds500").exists()


def test_fetch_wrong_counts_show_expected_layout(tmp_path, bsds_tgz):
    spec = _spec(
        None,
        _sha(bsds_tgz.read_bytes()),
        source=(str(bsds_tgz),),
        expect={"images/train/*.jpg": 200},
    )
    with pytest.raises(
        LayoutError, match=r"(?s)images/train/\*\.jpg: expected 200, found 2.*expected layout"
    ):
        fetch(spec, tmp_path, progress=False)


def test_fetch_from_local_archive_records_digest_outside_the_source(tmp_path, bsds_tgz, caplog):
    spec = _spec(None, None, source=(str(bsds_tgz),))
    with caplog.at_level(logging.WARNING, logger="ssn.data"):
        result = fetch(spec, tmp_path / "d", progress=False)
    assert result.source_kind == "archives" and result.counts == EXPECT
    assert "trusting it on first use" in caplog.text
    assert (tmp_path / "d/downloads/BSR_bsds500.tgz.sha256").is_file()
    assert not bsds_tgz.with_name("BSR_bsds500.tgz.sha256").exists()


def test_fetch_from_extracted_folder_links_it(tmp_path, bsds_tgz):
    safe_extract(bsds_tgz, tmp_path / "mine")
    spec = _spec(None, None, source=(str(tmp_path / "mine"),))
    result = fetch(spec, tmp_path / "d", progress=False)
    assert (tmp_path / "d/bsds500").is_symlink()
    assert result.source_kind == "folder" and result.root.name == "data"
    assert fetch(spec, tmp_path / "d", progress=False).skipped


def test_fetch_never_deletes_a_user_folder(tmp_path, bsds_tgz):
    safe_extract(bsds_tgz, tmp_path / "d" / "bsds500")  # the user's own copy, in dest
    in_place = _spec(None, None, source=(str(tmp_path / "d" / "bsds500"),))
    assert fetch(in_place, tmp_path / "d", progress=False).counts == EXPECT
    safe_extract(bsds_tgz, tmp_path / "other")
    elsewhere = _spec(None, None, source=(str(tmp_path / "other"),))
    with pytest.raises(FileExistsError, match="is not a link to the configured source"):
        fetch(elsewhere, tmp_path / "d", progress=False)
    assert (tmp_path / "d/bsds500/BSR/BSDS500/data/images/train/100.jpg").is_file()


def test_fetch_wrong_layout_folder_shows_expected_layout(tmp_path):
    (tmp_path / "wrong" / "images").mkdir(parents=True)
    spec = _spec(None, None, source=(str(tmp_path / "wrong"),))
    with pytest.raises(
        LayoutError, match=r"(?s)does not have the expected layout.*groundTruth/\{train,val,test\}"
    ):
        fetch(spec, tmp_path / "d", progress=False)


def test_manifest_mismatch_names_the_file(tmp_path, bsds_tgz):
    safe_extract(bsds_tgz, tmp_path / "x")
    root = tmp_path / "x/BSR/BSDS500/data"
    manifest = tmp_path / "m.sha256"
    good = hashlib.sha256((root / "images/train/100.jpg").read_bytes()).hexdigest()
    manifest.write_text(
        f"{good}  ./data/images/train/100.jpg\n{'0' * 64}  data/images/val/100.jpg\n"
    )
    spec = _spec(None, None, manifest=manifest, manifest_prefix="data/")
    with pytest.raises(ChecksumError, match=r"images/val/100\.jpg"):
        check(spec, tmp_path / "x")
    manifest.write_text(f"{good}  data/images/train/100.jpg\n{good}  data/images/train/nope.jpg\n")
    with pytest.raises(FileNotFoundError, match=r"nope\.jpg"):
        check(spec, tmp_path / "x")


def test_cityscapes_needs_a_local_source_and_says_where_to_get_it(tmp_path):
    spec = load_config()["cityscapes"]
    with pytest.raises(
        NoDownloadError, match=r"(?s)cityscapes-dataset\.com.*leftImg8bit_trainvaltest\.zip"
    ):
        fetch(spec, tmp_path, progress=False)


def test_cityscapes_from_a_folder_with_the_two_zips(tmp_path):
    from PIL import Image

    zips = tmp_path / "zips"
    zips.mkdir()
    png = io.BytesIO()
    Image.fromarray(np.zeros((4, 8, 3), np.uint8)).save(png, "PNG")
    lab = io.BytesIO()
    Image.fromarray(np.full((4, 8), 7, np.uint8)).save(lab, "PNG")
    with zipfile.ZipFile(zips / "leftImg8bit_trainvaltest.zip", "w") as zf:
        zf.writestr("leftImg8bit/train/ulm/ulm_000000_000019_leftImg8bit.png", png.getvalue())
    with zipfile.ZipFile(zips / "gtFine_trainvaltest.zip", "w") as zf:
        zf.writestr("gtFine/train/ulm/ulm_000000_000019_gtFine_labelIds.png", lab.getvalue())
    spec = load_config()["cityscapes"]
    spec = DatasetSpec(
        **{**vars(spec), "source": (str(zips),), "expect": {"leftImg8bit/train/*/*.png": 1}}
    )
    logging.getLogger("ssn.data").disabled = True
    try:
        result = fetch(spec, tmp_path / "d", progress=False)
    finally:
        logging.getLogger("ssn.data").disabled = False
    assert set(result.digests) == {"leftImg8bit_trainvaltest.zip", "gtFine_trainvaltest.zip"}
    assert (result.root / "gtFine/train/ulm").is_dir()


def test_default_config_is_complete():
    specs = load_config()
    assert set(specs) == {"bsds500", "voc2012", "cityscapes", "sintel"}
    files = {a.file for s in specs.values() for a in s.archives}
    assert files == {
        "BSR_bsds500.tgz",
        "VOCtrainval_11-May-2012.tar",
        "MPI-Sintel-complete.zip",
        "leftImg8bit_trainvaltest.zip",
        "gtFine_trainvaltest.zip",
    }
    assert (
        specs["voc2012"].archives[0].sha256
        == "e14f763270cf193d0b5f74b169f44157a4b0c6efa708f4dd0ff78ee691763bcb"
    )
    assert sum(specs["bsds500"].expect.values()) == 1000
    assert specs["bsds500"].manifest.is_file()


def test_config_override_resolves_paths_and_replaces_expect(tmp_path):
    override = tmp_path / "conf" / "local.yaml"
    override.parent.mkdir()
    override.write_text(
        "datasets:\n  voc2012:\n    source: ../data/VOCdevkit\n    expect: {'JPEGImages/*.jpg': 2}\n"
    )
    spec = load_config([Path(load_config.__globals__["DEFAULT_CONFIG"]), override])["voc2012"]
    assert spec.source == (str(tmp_path / "data" / "VOCdevkit"),)
    assert spec.expect == {"JPEGImages/*.jpg": 2}
    assert spec.archives[0].file == "VOCtrainval_11-May-2012.tar"  # kept from the base
    override.write_text("datasets:\n  voc2013: {}\n")
    with pytest.raises(ValueError, match="unknown dataset 'voc2013'"):
        load_config([override])


# --------------------------------------------------------------------------- issue #12
def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_fetch_archive_never_deletes_a_user_folder_in_dest(tmp_path, bsds_tgz):
    """Issue #12 (1): an archive fetch over ``<dest>/<name>`` holding the user's own files
    refuses, naming the folder, and keeps every file byte for byte."""
    mine = tmp_path / "d" / "bsds500"
    (mine / "notes").mkdir(parents=True)
    (mine / "notes" / "thesis.tex").write_bytes(b"\\section{three years of work}")
    (mine / "labels.npy").write_bytes(PAYLOAD[:1000])
    before = _snapshot(mine)
    spec = _spec(None, None, source=(str(bsds_tgz),))
    with pytest.raises(FileExistsError, match=r"d/bsds500 holds files .*labels\.npy"):
        fetch(spec, tmp_path / "d", progress=False)
    assert _snapshot(mine) == before
    assert not stamp_path(tmp_path / "d", "bsds500").exists()


def test_refetch_keeps_a_file_the_user_added_to_the_extracted_tree(tmp_path, bsds_tgz):
    """Issue #12 (1): after the user adds a file inside the extracted dataset, the count
    check fails and a re-fetch used to delete the whole tree; it now refuses."""
    spec = _spec(None, None, source=(str(bsds_tgz),))
    dest = tmp_path / "d"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(logging.getLogger("ssn.data"), "disabled", True)
        root = fetch(spec, dest, progress=False).root
        (root / "images/train/mine.jpg").write_bytes(b"my own picture")
        before = _snapshot(dest / "bsds500")
        with pytest.raises(FileExistsError, match=r"images/train/mine\.jpg"):
            fetch(spec, dest, progress=False)
    assert _snapshot(dest / "bsds500") == before


def test_refetch_keeps_a_file_the_user_changed(tmp_path, bsds_tgz):
    """Issue #12 (1): a changed file (here one that makes the count check fail too)
    is not the tool's to replace."""
    spec = _spec(None, None, source=(str(bsds_tgz),))
    dest = tmp_path / "d"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(logging.getLogger("ssn.data"), "disabled", True)
        root = fetch(spec, dest, progress=False).root
        (root / "images/train/100.jpg").write_bytes(b"edited")
        (root / "images/val/100.jpg").unlink()  # counts now wrong: a re-fetch is attempted
        before = _snapshot(dest / "bsds500")
        with pytest.raises(FileExistsError, match=r"images/train/100\.jpg"):
            fetch(spec, dest, progress=False)
    assert _snapshot(dest / "bsds500") == before


def test_refetch_replaces_an_untouched_tree_after_a_config_change(tmp_path, bsds_tgz):
    """Issue #12 (1): the tree the tool made and still owns is swapped (no leftovers)."""
    dest = tmp_path / "d"
    first = _spec(None, None, source=(str(bsds_tgz),))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(logging.getLogger("ssn.data"), "disabled", True)
        root = fetch(first, dest, progress=False).root
        (root / "images/test/100.jpg").unlink()  # the tool's file went missing: re-extract
        second = _spec(None, None, source=(str(bsds_tgz),), expect={"images/test/*.jpg": 1})
        result = fetch(second, dest, progress=False)
    assert not result.skipped and (root / "images/test/100.jpg").is_file()
    assert sorted(p.name for p in dest.iterdir()) == ["bsds500", "bsds500.json", "downloads"]


HTML = b"<!DOCTYPE html><html><body>Service temporarily unavailable</body></html>\n"


def test_a_bad_first_download_is_never_pinned(server, tmp_path, bsds_tgz):
    """Issue #12 (4): an HTML page served as the archive is not trusted on first use;
    the error names the file to delete, and after deleting it the fetch succeeds."""
    server.files["/BSR_bsds500.tgz"] = HTML
    spec = _spec(f"{server.url}/BSR_bsds500.tgz", None)
    dest = tmp_path / "d"
    archive = dest / "downloads" / "BSR_bsds500.tgz"
    with pytest.raises(
        ValueError, match=r"neither a tar nor a zip.*no digest was recorded; delete"
    ):
        fetch(spec, dest, progress=False)
    assert not archive.with_name("BSR_bsds500.tgz.sha256").exists()
    server.files["/BSR_bsds500.tgz"] = bsds_tgz.read_bytes()  # the server recovers
    with pytest.raises(ValueError, match=f"delete {re.escape(str(archive))} and run again"):
        fetch(spec, dest, progress=False)  # the bad file is still there: same advice
    archive.unlink()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(logging.getLogger("ssn.data"), "disabled", True)
        assert fetch(spec, dest, progress=False).counts == EXPECT


def test_an_already_pinned_bad_download_names_both_files(server, tmp_path):
    """Issue #12 (4): a bad archive pinned by an earlier version: say what to delete."""
    server.files["/BSR_bsds500.tgz"] = HTML
    archive = tmp_path / "downloads" / "BSR_bsds500.tgz"
    archive.parent.mkdir()
    archive.write_bytes(HTML)
    record = archive.with_name("BSR_bsds500.tgz.sha256")
    record.write_text(f"{_sha(HTML)}  BSR_bsds500.tgz\n")
    spec = _spec(f"{server.url}/BSR_bsds500.tgz", None)
    with pytest.raises(
        ValueError, match=f"delete {re.escape(str(archive))} and {re.escape(str(record))}"
    ):
        fetch(spec, tmp_path, progress=False)


def test_a_bad_local_archive_is_not_pinned_and_not_for_deletion(tmp_path):
    """Issue #12 (4): the user's own file is never suggested for deletion."""
    source = tmp_path / "mine" / "BSR_bsds500.tgz"
    source.parent.mkdir()
    source.write_bytes(HTML)
    spec = _spec(None, None, source=(str(source),))
    with pytest.raises(ValueError, match="neither a tar nor a zip.*replace .*configured source"):
        fetch(spec, tmp_path / "d", progress=False)
    assert source.read_bytes() == HTML
    assert not (tmp_path / "d" / "downloads" / "BSR_bsds500.tgz.sha256").exists()


@pytest.mark.parametrize(
    "value,match",
    [
        ("123", "must be a quoted string of 64 hex digits, got the int 123"),
        ("0" * 64, "must be a quoted string of 64 hex digits, got the int 0"),
        ("1.5e+3", "got the float 1500.0"),
        ("'abc'", "archives\\[0\\].sha256: not a sha256 hex digest: 'abc'"),
    ],
)
def test_config_rejects_digests_that_are_not_strings(tmp_path, value, match):
    """Issue #12 (4): ``sha256: 123`` crashed and 64 zeros (int 0) were silently ignored."""
    path = tmp_path / "datasets.yaml"
    path.write_text(
        "datasets:\n  bsds500:\n    archives:\n"
        f"      - file: BSR_bsds500.tgz\n        url: http://x/BSR_bsds500.tgz\n"
        f"        sha256: {value}\n"
    )
    with pytest.raises(ValueError, match=match):
        load_config([path])
    path.write_text(path.read_text().replace(f"sha256: {value}", f"sha256: '{'0' * 64}'"))
    assert load_config([path])["bsds500"].archives[0].sha256 == "0" * 64
