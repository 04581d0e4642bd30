"""Confirm the GPU path on a GPU in one command, through the project's real entry points.

Usage::

    python benchmarks/device_check.py                  # a GPU machine: results/gpu/, <= 8 min
    python benchmarks/device_check.py --device cpu --quick --out-dir /tmp/check   # CI size

Each step calls what a user calls, and a failed step is recorded and the others go on:

``tests``
    ``pytest -m cuda`` (the CUDA-marked tests; on a CPU they all skip).
``train``
    ``ssn train`` (``ssn.cli.main``) with SSN_deep and bf16 autocast where the GPU has
    it: a run straight to N iterations, and a run stopped at N/2 and resumed with
    ``--resume``, whose weights must equal the first's bit for bit (``deterministic=true``).
``torchrun``
    ``torchrun --nproc-per-node 1 -m ssn.cli train`` on the device (NCCL on CUDA).
``segment``
    ``ssn.segment`` on the device and on the CPU for SSN_pix, SSN_deep and the paper's
    BSDS500 model (when ``$SSN_WEIGHTS`` or the cache has it): mean ASA and BR (Stutz
    protocol) of each, which must agree to 3 decimals.
``workflow``
    ``snakemake --resources gpu=1 --config device=<device>`` on a 2-image config
    through to the figures.
``runtime``
    ms per image, image to labels, of SSN_pix, SSN_linear, SSN_deep (ours) and SSN_deep
    (the paper's) at BSDS500 (321×481) and Cityscapes (512×1024) sizes, K = 200 / 400 /
    1000: the analogue of the paper's Table 1.
``dslic``
    ``differentiable_slic`` forward + backward at training size (batch 8, 20 channels,
    201×201, K = 100, 5 iterations).

Images are real BSDS500 / Cityscapes files under ``$SSN_DATA`` when there (else
``../shared/datasets``), else a generated BSDS500-like set (:mod:`ssn.data.synthetic`)
and random images of the sizes. ``--quick`` runs every step small (one K, one repeat,
a few iterations, batch 2), which is what CI does on the CPU.

Writes ``device_check.json`` (every figure, the device, what ran) and
``device_check.md`` (the tables) into ``--out-dir``; exits 1 if a step failed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from _common import DEFAULT_DATA, REPO, times_ms

STEPS = ("tests", "train", "torchrun", "segment", "workflow", "runtime", "dslic")
SIZES = {"bsds500": (321, 481), "cityscapes": (512, 1024)}


class Check:
    """What every step needs: the device, the size of the run, where data and files go."""

    def __init__(self, device, quick: bool, work: Path):
        import torch

        self.device, self.quick, self.work = device, quick, work
        self.torch = torch
        bsds = DEFAULT_DATA / "BSDS500" / "data"
        self.real_data = (bsds / "images" / "test").is_dir()
        if self.real_data:
            self.bsds = bsds
        else:
            from ssn.data.synthetic import write_bsds500_like

            counts = (("train", 8), ("val", 2), ("test", 2 if quick else 8))
            self.bsds = write_bsds500_like(work / "BSDS500" / "data", counts, size=(161, 241))
        self.data_root = DEFAULT_DATA

    def timed(self, fn, repeats: int) -> list[float]:
        """Wall times of ``repeats`` calls of ``fn`` on the device after one warm-up, in ms."""
        return times_ms(fn, repeats, warm_up=True, device=self.device)


def _run_cli(args: list[str]) -> str:
    """``ssn <args>`` in this process (the CLI's own ``main``); returns its stdout."""
    from ssn.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    if code:
        raise RuntimeError(f"ssn {args[0]} exited {code}: {err.getvalue()[-2000:]}")
    return out.getvalue()


def _train_settings(check: Check, iterations: int, schedule: int | None = None) -> list[str]:
    """``ssn train`` settings of ``iterations``; ``schedule`` (default: ``iterations``)
    sets the checkpoint and log intervals, which a resumed run must keep."""
    schedule = schedule or iterations
    if check.quick:
        size = ["patch_size=65", "batch_size=2", "n_segments=16", "eval_n_segments=16"]
    else:
        size = ["patch_size=201", "batch_size=8", "n_segments=100", "eval_n_segments=100"]
    return [
        f"data_root={check.bsds}", "feature_net=deep", f"device={check.device}", "amp=true",
        "deterministic=true", f"max_iters={iterations}", "eval_interval=100000", "eval_images=2",
        f"checkpoint_interval={schedule // 2}", f"log_interval={min(10, schedule // 4)}",
        "num_workers=0",
        "progress=false", *size,
    ]  # fmt: skip


def step_tests(check: Check) -> dict:
    command = [sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider"]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    tail = (result.stdout + result.stderr).strip().splitlines()[-1:]
    if result.returncode not in (0, 5):  # 5: all deselected or skipped (no GPU)
        raise RuntimeError(f"pytest -m cuda failed: {tail}")
    return {"command": " ".join(command[2:]), "returncode": result.returncode,
            "summary": tail[0] if tail else "", "seconds": time.perf_counter() - start}  # fmt: skip


def step_train(check: Check) -> dict:
    from ssn.checkpoint import load_checkpoint
    from ssn.devices import autocast_dtype

    n = 8 if check.quick else 300
    straight, resumed = check.work / "train_straight", check.work / "train_resumed"
    start = time.perf_counter()
    _run_cli(["train", *_train_settings(check, n), "--out", str(straight)])
    seconds = time.perf_counter() - start
    _run_cli(["train", *_train_settings(check, n // 2, n), "--out", str(resumed)])
    _run_cli(["train", *_train_settings(check, n), "--out", str(resumed), "--resume"])
    a, b = (load_checkpoint(folder / "last.pt")["model"] for folder in (straight, resumed))
    torch = check.torch
    diff = max(float((a[k].double() - b[k].double()).abs().max()) for k in a)
    rows = (straight / "log.csv").read_text().splitlines()
    losses = [float(row.split(",")[1]) for row in rows[1:]]
    rates = [float(r.split(",")[7]) for r in rows[1:] if r.split(",")[7]]
    # amp=true: bf16 where the GPU computes it, float32 on a CPU (TrainConfig.autocast_dtype)
    dtype = autocast_dtype(check.device) if check.device.type == "cuda" else None
    result = {
        "iterations": n, "seconds_straight_run": seconds,
        "samples_per_second": statistics.median(rates) if rates else None,
        "autocast": str(dtype).replace("torch.", "") if dtype else "float32",
        "loss_first_logged": losses[0], "loss_last_logged": losses[-1],
        "resume_bit_exact": all(torch.equal(a[k], b[k]) for k in a),
        "resume_max_weight_difference": diff,
    }  # fmt: skip
    if not result["resume_bit_exact"]:
        raise RuntimeError(f"resumed weights differ from the straight run's by up to {diff:.3g}")
    return result


def step_torchrun(check: Check) -> dict:
    import torch

    out = check.work / "train_torchrun"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node", "1", "-m", "ssn.cli", "train",
               *_train_settings(check, 4 if check.quick else 20), "--out", str(out)]  # fmt: skip
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    if result.returncode or "done: iteration" not in result.stdout:
        raise RuntimeError(f"torchrun failed ({result.returncode}): {result.stderr[-2000:]}")
    backend = torch.distributed.Backend.default_device_backend_map[check.device.type]
    return {"nproc_per_node": 1, "backend": backend, "summary": result.stdout.strip()[-200:]}


def _bsds_samples(check: Check, n: int) -> list:
    from ssn.data import BSDS500

    return [item.load() for item in BSDS500(check.bsds, "test").evaluation_items()[:n]]


def _paper_model() -> str | None:
    from ssn import official

    try:
        official.locate("official-bsds500")
    except (FileNotFoundError, ValueError):
        return None
    return "official-bsds500"


def step_segment(check: Check) -> dict:
    import numpy as np

    import ssn
    from ssn.metrics import evaluate_image

    k = 100 if check.quick else 400
    samples = _bsds_samples(check, 2 if check.quick else 20)
    models = ["pix", "deep", *filter(None, [_paper_model()])]
    rows, disagree = [], []
    for model in models:
        scores = []
        for where in ("cpu", check.device):
            asa, br, labels = [], [], []
            for sample in samples:
                # float32 on both: the paths compared, not the precisions (test_precision.py)
                lab = ssn.segment(sample.image, k, model=model, device=where, precision="float32")
                result = evaluate_image(lab, sample.annotations, protocol="stutz")
                asa += [row["asa"] for row in result.per_annotation]
                br += [row["br"] for row in result.per_annotation]
                labels.append(lab)
            scores.append((float(np.mean(asa)), float(np.mean(br)), labels))
        (asa_cpu, br_cpu, lab_cpu), (asa_dev, br_dev, lab_dev) = scores
        same = float(np.mean([(a == b).mean() for a, b in zip(lab_cpu, lab_dev, strict=True)]))
        rows.append({"model": model, "k": k, "images": len(samples),
                     "asa_cpu": asa_cpu, "asa_device": asa_dev, "br_cpu": br_cpu,
                     "br_device": br_dev, "identical_labels": same})  # fmt: skip
        if abs(asa_cpu - asa_dev) >= 5e-4 or abs(br_cpu - br_dev) >= 5e-4:
            disagree.append(model)
    if disagree:
        raise RuntimeError(f"ASA/BR on the device differ from the CPU's for {disagree}: {rows}")
    return {"rows": rows, "real_data": check.real_data}


def step_workflow(check: Check) -> dict:
    import yaml

    work = check.work / "workflow"
    (work / "config").mkdir(parents=True)
    local = work / "datasets.local.yaml"
    expect = {  # a subset (the carried kit, a generated set) has fewer files than BSDS500
        f"{kind}/{split}/*{suffix}": len(list((check.bsds / kind / split).glob(f"*{suffix}")))
        for kind, suffix in (("images", ".jpg"), ("groundTruth", ".mat"))
        for split in ("train", "val", "test")
    }
    bsds = {"source": str(check.bsds), "expect": expect, "manifest": None}  # a subset
    local.write_text(yaml.safe_dump({"datasets": {"bsds500": bsds}}))
    config = yaml.safe_load((REPO / ".test" / "config" / "config.yaml").read_text())
    config["data"]["configs"] = [str(REPO / "config" / "datasets.yaml"), str(local)]
    config["datasets"]["bsds500"]["max_images"] = 2
    config["runtime"]["methods"] = ["ssn_pix", "slic"]
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
               "--cores", "2", "--resources", "gpu=1", "--config",
               f"device={check.device.type}"]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=900)
    if result.returncode:
        raise RuntimeError(f"snakemake failed: {result.stderr[-3000:]}")
    figures = sorted(p.name for p in (work / "results" / "figures").glob("*.png"))
    if not figures:
        raise RuntimeError("the workflow wrote no figure")
    runtime = (work / "results" / "tables" / "runtime.csv").read_text().splitlines()
    return {"seconds": time.perf_counter() - start, "figures": figures,
            "runtime_rows": len(runtime) - 1}  # fmt: skip


def _image(check: Check, size: tuple[int, int]):
    """A real image of the size when the data has one, else a generated one: 16-pixel
    blocks of random colours with noise (on pure noise SLIC's clusters fall apart and
    connectivity merges them into a handful of superpixels)."""
    import numpy as np

    from ssn.io import read_image

    height, width = size
    paths = sorted((check.data_root / "BSDS500" / "data" / "images" / "test").glob("*.jpg"))
    paths += sorted((check.data_root / "samples" / "Cityscapes").rglob("*_leftImg8bit.png"))
    for path in paths:
        image = read_image(path)
        if image.shape[0] >= 2 * height and image.shape[1] >= 2 * width:
            image = image[::2, ::2]  # Cityscapes at half resolution
        if image.shape[:2] == (width, height):  # a portrait BSDS500 image
            image = image.transpose(1, 0, 2)
        if image.shape[0] >= height and image.shape[1] >= width:
            return np.ascontiguousarray(image[:height, :width])
    rng = np.random.default_rng(0)
    blocks = rng.integers(0, 256, (height // 16 + 1, width // 16 + 1, 3))
    image = np.kron(blocks, np.ones((16, 16, 1)))[:height, :width]
    return np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)


def step_runtime(check: Check) -> dict:
    import ssn
    from ssn.inference import resolve_model

    models = {"SSN_pix": "pix", "SSN_linear": "linear", "SSN_deep (ours)": "deep"}
    if (paper := _paper_model()) is not None:
        models["SSN_deep (paper)"] = paper
    ks = (400,) if check.quick else (200, 400, 1000)
    repeats = 1 if check.quick else 10
    rows = []
    for size_name, size in SIZES.items():
        image = _image(check, size)
        for method, model in models.items():
            net = resolve_model(model, check.device)
            for k in ks:
                labels = []

                def call(net=net, k=k, image=image, labels=labels):
                    labels[:] = [ssn.segment(image, k, model=net, device=check.device)]

                times = check.timed(call, repeats)
                rows.append({"method": method, "model": model, "size": size_name,
                             "height": size[0], "width": size[1], "k": k,
                             "ms_median": statistics.median(times), "ms_all": times,
                             "n_superpixels": int(labels[0].max()) + 1})  # fmt: skip
    return {"rows": rows, "repeats": repeats}


def step_dslic(check: Check) -> dict:
    from ssn.functional import differentiable_slic, grid_shape

    torch = check.torch
    batch, size = (2, 101) if check.quick else (8, 201)
    torch.manual_seed(0)
    features = torch.rand(batch, 20, size, size, device=check.device, requires_grad=True)
    grid = grid_shape(100, size, size)
    probe = torch.rand(1, 9, 1, 1, device=check.device)

    def forward_backward():
        out = differentiable_slic(features, grid, n_iter=5)
        (out.association.weights * probe).sum().backward()
        features.grad = None

    times = check.timed(forward_backward, 3 if check.quick else 20)
    return {"batch": batch, "channels": 20, "height": size, "width": size, "k": 100,
            "n_iter": 5, "ms_median": statistics.median(times), "ms_all": times}  # fmt: skip


def device_info(device) -> dict:
    import torch

    from ssn.devices import cpu_model, device_name

    return {"type": device.type, "name": device_name(device), "torch": torch.__version__,
            "cuda": torch.version.cuda, "cpu": cpu_model(), "cpu_threads": torch.get_num_threads(),
            "logical_cpus": os.cpu_count()}  # fmt: skip


def markdown(report: dict) -> str:
    device = report["device"]
    lines = [f"# Device check: {device['name']}", "",
             f"torch {device['torch']} (CUDA {device['cuda']}); CPU {device['cpu']}, "
             f"{device['cpu_threads']} threads; quick: {report['quick']}; "
             f"total {report['seconds_total']:.0f} s.", "",
             "| step | status | seconds | detail |", "|---|---|---:|---|"]  # fmt: skip
    for name, step in report["steps"].items():
        detail = step.get("error", "")[:160] if step["status"] != "ok" else {
            "train": lambda s: f"{s['iterations']} it, {s['samples_per_second']} samples/s, "
                               f"autocast {s['autocast']}, resume bit-exact "
                               f"{s['resume_bit_exact']}",
            "torchrun": lambda s: f"backend {s['backend']}",
            "tests": lambda s: s["summary"],
            "workflow": lambda s: f"{len(s['figures'])} figures",
            "dslic": lambda s: f"{s['ms_median']:.1f} ms fwd+bwd",
        }.get(name, lambda s: "")(step)  # fmt: skip
        lines.append(f"| {name} | {step['status']} | {step['seconds']:.1f} | {detail} |")
    segment = report["steps"].get("segment", {})
    if segment.get("status") == "ok":
        lines += ["", "ASA / BR (Stutz) on the CPU and on the device:", "",
                  "| model | K | images | ASA cpu | ASA device | BR cpu | BR device | same labels |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for r in segment["rows"]:
            lines.append(f"| {r['model']} | {r['k']} | {r['images']} | {r['asa_cpu']:.4f} | "
                         f"{r['asa_device']:.4f} | {r['br_cpu']:.4f} | {r['br_device']:.4f} | "
                         f"{r['identical_labels']:.3f} |")  # fmt: skip
    runtime = report["steps"].get("runtime", {})
    if runtime.get("status") == "ok":
        ks = sorted({r["k"] for r in runtime["rows"]})
        lines += ["", f"ms per image, image to labels (median of {runtime['repeats']}):", "",
                  "| method | size | " + " | ".join(f"K={k}" for k in ks) + " |",
                  "|---|---|" + "---:|" * len(ks)]  # fmt: skip
        cells: dict = {}
        for r in runtime["rows"]:
            cells.setdefault((r["method"], f"{r['height']}×{r['width']}"), {})[r["k"]] = r
        for (method, size), by_k in cells.items():
            values = " | ".join(f"{by_k[k]['ms_median']:.1f}" for k in ks)
            lines.append(f"| {method} | {size} | {values} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto (default), cuda, cuda:N or cpu")
    parser.add_argument("--quick", action="store_true", help="every step small (CI)")
    parser.add_argument("--out-dir", type=Path, default=REPO / "results" / "gpu")
    parser.add_argument("--steps", default=",".join(STEPS), help="comma-separated subset")
    args = parser.parse_args(argv)
    steps = args.steps.split(",")
    if unknown := sorted(set(steps) - set(STEPS)):
        parser.error(f"unknown steps {unknown}; choose from {', '.join(STEPS)}")

    from ssn.devices import resolve_device

    device = resolve_device(args.device)
    started = time.perf_counter()
    report = {"schema": 2, "device": device_info(device), "quick": args.quick, "steps": {}}
    print(f"device check on {report['device']['name']} ({device}), quick={args.quick}")
    with tempfile.TemporaryDirectory(prefix="device_check_") as work:
        check = Check(device, args.quick, Path(work))
        report["real_data"] = check.real_data
        for name in steps:
            start = time.perf_counter()
            try:
                step = {"status": "ok", **globals()[f"step_{name}"](check)}
            except Exception as err:  # noqa: BLE001 - recorded; the other steps go on
                step = {"status": "failed", "error": f"{type(err).__name__}: {err}",
                        "traceback": traceback.format_exc()[-4000:]}  # fmt: skip
            step["seconds"] = time.perf_counter() - start
            report["steps"][name] = step
            print(f"{name}: {step['status']} ({step['seconds']:.1f} s)"
                  + (f" {step['error'][:300]}" if step["status"] != "ok" else ""), flush=True)  # fmt: skip
    report["seconds_total"] = time.perf_counter() - started
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "device_check.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out_dir / "device_check.md").write_text(markdown(report))
    print(f"wrote {args.out_dir}/device_check.json and .md ({report['seconds_total']:.0f} s)")
    return 0 if all(s["status"] == "ok" for s in report["steps"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
