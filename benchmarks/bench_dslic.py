"""Speed and memory of differentiable SLIC and SSN, against their peers in the same run.

Measures (2 threads by default):

1. SSN_pix inference, image → connected labels (Lab, features, v = 10 iterations, hard
   labels, connectivity) against ``skimage.segmentation.slic`` (same K,
   ``max_num_iter=10``) and, if installed, fast-slic, on BSDS500 test images, for
   K ∈ {100, 200, 400, 800, 1200}. Target: ratio to skimage ≤ 0.35.
2. Training-sized differentiable SLIC, forward + backward (batch 8, 201×201, k = 20,
   v = 5, K = 100): time (target ≤ 300 ms) and peak memory (target ≤ 600 MB).
3. Full-resolution differentiable SLIC, forward + backward (1024×2048, K = 1000,
   k = 20, v = 5): peak memory (target < 2.5 GB).
4. SSN_deep full inference at 481×321.

Section 1 is measured twice: with the machine as it is, then (``--busy``, the default)
while a process this script starts keeps one core busy, at K = 400. Every timing line
names the CPU model, the threads and the CPU share other processes took meanwhile.

Peak memory on the CPU is the growth of the peak resident set size of a fresh child
process over its level just before the measured call (inputs already allocated); on
CUDA it is ``torch.cuda.max_memory_allocated``.

    python benchmarks/bench_dslic.py [--images 20] [--threads 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time

from _common import OtherCPUShare, arguments, median_ms, parse

KS = (100, 200, 400, 800, 1200)


@contextlib.contextmanager
def one_busy_core():
    """A child process spinning on one core for the duration of the block."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # let the scheduler place it
        yield
    finally:
        busy.kill()
        busy.wait()


def bench_inference(images, repeats: int, device, ks=KS) -> list[dict]:
    import torch
    from skimage.segmentation import slic

    import ssn

    try:
        from fast_slic import Slic as FastSlic
    except ImportError:
        FastSlic = None
    rows = []
    for k in ks:
        ssn_ms, sk_ms, fast_ms, counts = [], [], [], []
        for image in images:
            ssn.segment(image, k, device=device)  # warm-up (compilation, caches)
            ssn_ms.append(
                median_ms(lambda im=image, k=k: ssn.segment(im, k, device=device), repeats)
            )
            counts.append(int(ssn.segment(image, k, device=device).max()) + 1)
            sk_ms.append(
                median_ms(
                    lambda im=image, k=k: slic(im, n_segments=k, max_num_iter=10, start_label=0),
                    repeats,
                )
            )
            if FastSlic is not None:
                contiguous = image.copy(order="C")
                fast_ms.append(
                    median_ms(
                        lambda im=contiguous, k=k: FastSlic(
                            num_components=k, compactness=10
                        ).iterate(im),
                        repeats,
                    )
                )
        row = {
            "K": k,
            "ssn_pix_ms": statistics.median(ssn_ms),
            "skimage_slic_ms": statistics.median(sk_ms),
            "ratio_vs_skimage": statistics.median(ssn_ms) / statistics.median(sk_ms),
            "ssn_pix_mean_count": statistics.mean(counts),
            "threads": torch.get_num_threads(),
        }
        if fast_ms:
            row["fast_slic_ms"] = statistics.median(fast_ms)
            row["ratio_vs_fast_slic"] = statistics.median(ssn_ms) / statistics.median(fast_ms)
        rows.append(row)
        print(
            f"K={k:5d}  SSN_pix {row['ssn_pix_ms']:7.1f} ms (count {row['ssn_pix_mean_count']:.0f})"
            f" | skimage slic {row['skimage_slic_ms']:7.1f} ms  ratio {row['ratio_vs_skimage']:.3f}"
            + (
                f" | fast-slic {row['fast_slic_ms']:6.1f} ms  ratio {row['ratio_vs_fast_slic']:.2f}"
                if fast_ms
                else " | fast-slic not installed"
            ),
            flush=True,
        )
    return rows


def _train_step_child(batch, height, width, n_segments, n_iter, channels, device, repeats):
    """Forward + backward of differentiable SLIC; prints a JSON line (run in a child)."""
    import torch

    from ssn.functional import differentiable_slic, grid_shape

    device = torch.device(device)
    torch.manual_seed(0)
    grid = grid_shape(n_segments, height, width)
    feats = (torch.randn(batch, channels, height, width, device=device) * 2).requires_grad_()
    weights = torch.rand(batch, 9, height, width, device=device)

    def step():
        out = differentiable_slic(feats, grid, n_iter=n_iter)
        ((out.association.weights * weights).sum() + out.centres.sum()).backward()
        feats.grad = None

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step()
        peak_mb = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        step()
        peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    ms = median_ms(step, repeats, device=device)
    print(json.dumps({"ms": ms, "peak_mb": peak_mb}))


def bench_train(args, batch, height, width, n_segments, repeats) -> dict:
    cmd = [
        sys.executable, __file__, "--child-train",
        json.dumps([batch, height, width, n_segments, 5, 20, args.device, repeats]),
        "--threads", str(args.threads),
    ]  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_deep(images, repeats, device) -> float:
    import torch

    import ssn
    from ssn.models import SSN, SSNConfig

    torch.manual_seed(0)
    net = SSN(SSNConfig(feature_net="deep")).to(device).eval()
    image = images[0]
    ssn.segment(image, 400, model=net, device=device)
    return median_ms(lambda: ssn.segment(image, 400, model=net, device=device), repeats)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-busy", dest="busy", action="store_false",
                        help="skip the measurement with one busy core")  # fmt: skip
    parser.add_argument("--child-train", default=None, help=argparse.SUPPRESS)
    args = parse(parser)

    import numba
    import torch

    if args.child_train:
        _train_step_child(*json.loads(args.child_train))
        return

    from ssn.io import read_image

    device = torch.device(args.device)
    paths = sorted((args.data / "BSDS500" / "data" / "images" / "test").glob("*.jpg"))
    if not paths:
        sys.exit(f"no BSDS500 test images under {args.data} (set --data or SSN_DATA)")
    images = [read_image(p) for p in paths[: args.images]]
    from ssn.devices import cpu_model

    print(
        f"{len(images)} BSDS500 test images, {args.threads} threads on {cpu_model()} "
        f"({os.cpu_count()} logical CPUs), device {device}, torch {torch.__version__}, "
        f"numba {numba.__version__} ({os.environ.get('OMP_WAIT_POLICY', 'default')} OpenMP wait)"
    )
    results = {"threads": args.threads, "device": str(device), "images": len(images),
               "cpu": cpu_model(), "logical_cpus": os.cpu_count()}  # fmt: skip

    print("\n1. SSN_pix inference (image -> connected labels), v = 10")
    with OtherCPUShare() as load:
        results["inference"] = bench_inference(images, args.repeats, device)
    print(f"   other processes took {load.share:.0%} of the CPU meanwhile")
    results["inference_other_cpu_share"] = load.share
    if args.busy:
        print("   ... again while one core is kept busy by another process, K = 400:")
        with one_busy_core(), OtherCPUShare() as busy:
            results["inference_one_busy_core"] = bench_inference(
                images, args.repeats, device, ks=(400,)
            )
        print(f"   other processes took {busy.share:.0%} of the CPU meanwhile")
        results["inference_one_busy_core_other_cpu_share"] = busy.share

    # (result key, batch, height, width, K, repeats, target ms, target peak MB)
    train_cases = [
        ("train_step", 8, 201, 201, 100, 5, 300, 600),
        ("full_resolution_step", 1, 1024, 2048, 1000, 1, None, 2560),
    ]
    for number, (key, batch, height, width, k, repeats, ms_target, mb_target) in enumerate(
        train_cases, start=2
    ):
        print(f"\n{number}. Differentiable SLIC forward + backward, "
              f"{f'batch {batch}, ' if batch > 1 else ''}{height}x{width}, k=20, v=5, K={k}")  # fmt: skip
        step = results[key] = bench_train(args, batch, height, width, k, repeats=repeats)
        time_note = (
            f" (target <= {ms_target} ms: {step['ms'] / ms_target:.2f}x)" if ms_target else ""
        )
        print(f"   {step['ms']:.0f} ms{time_note}, peak {step['peak_mb']:.0f} MB "
              f"(target <= {mb_target} MB: {step['peak_mb'] / mb_target:.2f}x)")  # fmt: skip

    print("\n4. SSN_deep inference at 481x321, K = 400 (image -> connected labels)")
    results["ssn_deep_ms"] = bench_deep(images, args.repeats, device)
    print(f"   {results['ssn_deep_ms']:.0f} ms")

    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
