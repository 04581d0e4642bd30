"""One prepared check of a machine's accelerator: tests, runtime rows, training speed.

Usage::

    python benchmarks/device_check.py --out device_check.json          # CUDA when visible
    python benchmarks/device_check.py --device cpu --reduced --out x.json   # CI-size form

On a CUDA machine it runs, within about 8 minutes:

1. the CUDA-marked tests (``pytest -m cuda``);
2. the runtime rows of the README's table on the device: SSN_pix and SSN_deep (the
   paper's BSDS500 weights when ``$SSN_WEIGHTS`` or the cache has them, else the bundled
   CPU-trained weights), image → labels, at BSDS500 (321×481) and Cityscapes-half
   (512×1024) sizes, K = 400 and 1000, median of ``--repeats`` calls after a warm-up;
3. SSN_deep training iterations per second (batch 8, 201×201, k = 20, v = 5, K = 100,
   label reconstruction + compactness, Adam) on random data for ``--train-seconds``.

On a CPU, ``--reduced`` runs the same steps smaller (one K, 2 repeats, batch 2, a few
iterations) so that CI exercises the script. Images are real BSDS500 / Cityscapes
sample files when ``$SSN_DATA`` has them, else random images of the same size.

JSON written to ``--out`` (all times in milliseconds)::

    {
      "schema": 1,
      "device": {"type": "cuda", "name": "NVIDIA H200", "torch": "2.x", "cuda": "12.x",
                 "cpu": "AMD EPYC", "threads": 16},
      "reduced": false,
      "tests": {"command": "...", "returncode": 0, "passed": 12, "failed": 0,
                "skipped": 0, "seconds": 41.2},
      "runtime": [{"method": "SSN_pix", "model": "pix", "size": "bsds500",
                   "height": 321, "width": 481, "k": 400, "ms_median": 3.1,
                   "ms_all": [...], "n_superpixels": 384}, ...],
      "training": {"batch_size": 8, "patch": 201, "iterations": 120, "seconds": 30.1,
                   "iters_per_second": 3.99, "samples_per_second": 31.9,
                   "loss_first": 3.9, "loss_last": 3.7},
      "seconds_total": 250.3
    }
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ssn.devices import cpu_model  # noqa: E402

SIZES = {"bsds500": (321, 481), "cityscapes_half": (512, 1024)}


def device_info(device) -> dict:
    import torch

    info = {
        "type": device.type,
        "name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cpu": cpu_model(),
        "threads": torch.get_num_threads(),
    }
    return info


def run_tests(device, timeout: float) -> dict:
    """The CUDA-marked tests (on a CPU they all skip: the run shows they are collected)."""
    command = [sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider"]
    start = time.perf_counter()
    try:
        result = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
        output, code = result.stdout + result.stderr, result.returncode
    except subprocess.TimeoutExpired as err:
        output, code = str(err.stdout or ""), -1
    counts = {
        kind: int(m.group(1)) if (m := re.search(rf"(\d+) {kind}", output)) else 0
        for kind in ("passed", "failed", "skipped", "error", "deselected")
    }
    return {
        "command": " ".join(command[1:]),
        "returncode": code,
        **counts,
        "seconds": round(time.perf_counter() - start, 1),
        "tail": output.strip().splitlines()[-3:],
    }


def test_images(size: tuple[int, int]) -> np.ndarray:
    """A real image of the size when the local data has one, else a random image."""
    from ssn.io import read_image

    data = Path(os.environ.get("SSN_DATA", ROOT.parent / "shared" / "datasets"))
    height, width = size
    candidates = sorted((data / "BSDS500" / "data" / "images" / "test").glob("*.jpg"))
    candidates += sorted((data / "samples" / "Cityscapes").rglob("*_leftImg8bit.png"))
    for path in candidates:
        image = read_image(path)
        if image.shape[0] >= height and image.shape[1] >= width:
            if image.shape[0] >= 2 * height:  # Cityscapes at half resolution
                image = image[::2, ::2]
            return np.ascontiguousarray(image[:height, :width])
        if image.shape[:2] == (width, height):  # a portrait BSDS500 image
            return np.ascontiguousarray(image.transpose(1, 0, 2))
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


def deep_model_name() -> str:
    from ssn import official

    try:
        official.locate("official-bsds500")
        return "official-bsds500"
    except (FileNotFoundError, ValueError):
        return "deep"


def runtime_rows(device, ks, repeats: int) -> list[dict]:
    import torch

    import ssn
    from ssn.inference import resolve_model

    rows = []
    models = {"SSN_pix": "pix", "SSN_deep": deep_model_name()}
    loaded = {name: resolve_model(model, device) for name, model in models.items()}
    for size_name, size in SIZES.items():
        image = test_images(size)
        for method, net in loaded.items():
            for k in ks:

                def call(net=net, k=k, image=image):
                    labels = ssn.segment(image, k, model=net, device=device)
                    if device.type == "cuda":
                        torch.cuda.synchronize()
                    return labels

                labels = call()  # warm-up: compilation, cuDNN autotuning, allocator
                times = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    call()
                    times.append((time.perf_counter() - start) * 1e3)
                rows.append({
                    "method": method, "model": models[method], "size": size_name,
                    "height": size[0], "width": size[1], "k": k,
                    "ms_median": round(statistics.median(times), 2),
                    "ms_all": [round(t, 2) for t in times],
                    "n_superpixels": int(labels.max()) + 1,
                })  # fmt: skip
                print(f"{method:9s} {size_name:15s} K={k:5d}: {rows[-1]['ms_median']:.1f} ms")
    return rows


def training_speed(device, batch_size: int, patch: int, seconds: float, max_iters: int) -> dict:
    """SSN_deep training iterations per second on random images and labels."""
    import torch

    from ssn.functional import position_features
    from ssn.losses import compactness_loss, label_reconstruction_loss
    from ssn.models import SSN, SSNConfig

    torch.manual_seed(0)
    model = SSN(SSNConfig(feature_net="deep")).to(device).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)
    images = torch.rand(batch_size, 3, patch, patch, device=device)
    labels = torch.randint(0, 50, (batch_size, patch, patch), device=device)
    # smooth labels: 8x8 blocks, so the task has structure
    labels = labels[:, ::8, ::8].repeat_interleave(8, 1).repeat_interleave(8, 2)
    labels = labels[:, :patch, :patch].contiguous()
    valid = torch.ones(batch_size, patch, patch, dtype=torch.bool, device=device)

    def step() -> float:
        out = model(images, 100, n_iter=model.config.n_iter_train, eta=model.config.train_eta)
        recon = label_reconstruction_loss(labels, out.association, 50, valid=valid)
        positions = position_features(images, out.grid, eta=model.config.train_eta)
        compact = compactness_loss(positions, out.association, out.labels,
                                   reduction="official")  # fmt: skip
        loss = recon + 1e-5 * compact
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        return float(loss.detach())

    first = step()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start, iters, last = time.perf_counter(), 0, first
    while iters < max_iters and time.perf_counter() - start < seconds:
        last = step()
        iters += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    return {
        "batch_size": batch_size, "patch": patch, "iterations": iters,
        "seconds": round(elapsed, 2), "iters_per_second": round(iters / elapsed, 3),
        "samples_per_second": round(iters * batch_size / elapsed, 2),
        "loss_first": round(first, 5), "loss_last": round(last, 5),
    }  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the JSON to write")
    parser.add_argument("--device", default=None, help="default: cuda when visible, else cpu")
    parser.add_argument("--reduced", action="store_true", help="CI-size run (implied on a CPU)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--train-seconds", type=float, default=60.0)
    parser.add_argument("--skip-tests", action="store_true", help="do not run pytest -m cuda")
    args = parser.parse_args(argv)

    import torch

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    reduced = args.reduced or device.type == "cpu"
    start = time.perf_counter()
    report = {"schema": 1, "device": device_info(device), "reduced": reduced}
    print(f"device: {report['device']['name']} ({device}); reduced: {reduced}")
    if not args.skip_tests:
        report["tests"] = run_tests(device, timeout=180 if reduced else 240)
        print(f"tests: {report['tests']['tail'][-1:]}")
    ks = (400,) if reduced else (400, 1000)
    report["runtime"] = runtime_rows(device, ks, 2 if reduced else args.repeats)
    report["training"] = training_speed(
        device,
        batch_size=2 if reduced else 8,
        patch=201,
        seconds=5.0 if reduced else args.train_seconds,
        max_iters=3 if reduced else 10**9,
    )
    print(f"training: {report['training']['iters_per_second']} it/s")
    report["seconds_total"] = round(time.perf_counter() - start, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out} ({report['seconds_total']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
