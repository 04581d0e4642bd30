"""Shared fixtures: where the real datasets are, and skipping cleanly without them."""

from __future__ import annotations

import http.server
import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """``$SSN_DATA`` if set, else ``../shared/datasets`` next to the repository."""
    return Path(os.environ.get("SSN_DATA", REPO_ROOT.parent / "shared" / "datasets"))


@pytest.fixture(scope="session")
def bsds_root() -> Path:
    """The BSDS500 ``data/`` folder (images/ and groundTruth/); skips when absent."""
    root = data_root() / "BSDS500" / "data"
    if not (root / "images" / "test").is_dir():
        pytest.skip(f"BSDS500 not found under {root} (set SSN_DATA)")
    return root


@pytest.fixture(scope="session")
def samples_root() -> Path:
    """The real samples of VOC, Cityscapes and Sintel; skips when absent."""
    root = data_root() / "samples"
    if not root.is_dir():
        pytest.skip(f"dataset samples not found under {root} (set SSN_DATA)")
    return root


# ------------------------------------------------- a local HTTP server for downloads
class _State:
    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.ranges = True  # honour Range requests
        self.drop = 0  # number of responses to cut short
        self.cut_fraction = 0.4
        self.stall = 0.0  # cut responses: hold the connection this long (s) instead of closing
        self.trickle = 0.0  # send the body one byte per this many seconds
        self.bad_range = False  # answer every Range request from byte 0 (a wrong Content-Range)
        self.requests: list[tuple[str, str | None]] = []


def _handler(state: _State):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep pytest output clean
            pass

        def do_GET(self):
            rng = self.headers.get("Range")
            state.requests.append((self.path, rng))
            data = state.files.get(self.path)
            if data is None:
                self.send_error(404)
                return
            start = 0
            if rng and state.ranges:
                start = 0 if state.bad_range else int(re.match(r"bytes=(\d+)-", rng).group(1))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self._send(body)
            except OSError:  # the client gave up (a timeout under test): nothing to do
                self.close_connection = True

        def _send(self, body: bytes):
            if state.drop > 0:  # send part of the body, then stall and/or cut the connection
                state.drop -= 1
                self.wfile.write(body[: int(len(body) * state.cut_fraction)])
                self.wfile.flush()
                time.sleep(state.stall)
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            if state.trickle:
                for i in range(len(body)):
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(state.trickle)
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture
def server():
    state = _State()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()


def weights_root(file: str = "ssn_bsds_model.caffemodel", shared: str = "ssn_official") -> Path:
    """The folder of ``file``: the first entry of ``$SSN_WEIGHTS`` (one folder, or several
    separated by ``os.pathsep``) holding it, else its first entry; when unset,
    ``../shared/weights/<shared>`` next to the repository."""
    entries = [e for e in os.environ.get("SSN_WEIGHTS", "").split(os.pathsep) if e]
    if not entries:
        return REPO_ROOT.parent / "shared" / "weights" / shared
    return next((Path(e) for e in entries if (Path(e) / file).is_file()), Path(entries[0]))


@pytest.fixture(scope="session")
def official_weights() -> Path:
    """The folder of the paper's released .caffemodel files; skips when absent."""
    root = weights_root()
    if not (root / "ssn_bsds_model.caffemodel").is_file():
        pytest.skip(f"the paper's released models are not under {root} (set SSN_WEIGHTS)")
    return root


@pytest.fixture(scope="session")
def successor_weights() -> Path:
    """The folder of SEAL's and LNSNet's released weights (``seal_bsds500.pkl``, ...):
    from ``$SSN_WEIGHTS``, else ``../shared/weights/successors``; skips when absent."""
    root = weights_root("seal_bsds500.pkl", "successors")
    if not (root / "seal_bsds500.pkl").is_file():
        pytest.skip(f"SEAL's released models are not under {root} (set SSN_WEIGHTS)")
    return root


def merged_config(*names: str) -> dict:
    """config/config.yaml merged with the given config files, as `--configfile` does."""
    import yaml

    def merge(base, extra):
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = value

    config = yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text())
    for name in names:
        merge(config, yaml.safe_load((REPO_ROOT / name).read_text()))
    return config


# ------------------------------------------------- a tiny BSDS500 for training runs
@pytest.fixture
def tiny_bsds(tmp_path):
    """A 4 / 2 / 1-image dataset in BSDS500's layout (:mod:`ssn.data.synthetic`)."""
    from ssn.data.synthetic import write_bsds500_like

    return write_bsds500_like(tmp_path / "BSDS500" / "data")
