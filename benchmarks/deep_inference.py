"""SSN_deep inference on the CPU: the folded fast path against the plain float32 model.

On BSDS500 test images (481×321) at K = 400, with the paper's released BSDS500 model
(``$SSN_WEIGHTS`` or ``ssn models fetch``; the bundled CPU-trained weights otherwise):

* time per image, image → connected labels, of the model as ``ssn.segment`` runs it
  (BatchNorm folded into the convolutions, channels-last; ``SSN.fold_for_inference``)
  and of the plain model, and of scikit-image's ``slic`` (``max_num_iter=10``), all in
  this run: the ratios are what the README quotes;
* agreement of the two paths: the share of pixels with the same label, and mean ASA and
  BR (Stutz protocol) of each over all annotations;
* the feature CNN's multiply-accumulates per image and the rate the fast path reaches.
* the fast path in each ``--precisions`` (issue #29): bf16 against float32, its time and
  the differences of mean ASA, BR and the realised counts (limits: 0.001, 0.003, 1%).

Prints the CPU model, whether it computes bf16 natively (what ``precision="auto"``
picks), the precision of each row, the threads and the CPU share other processes took.

    python benchmarks/deep_inference.py [--images 20] [--threads 2] [--repeats 3]
        [--k 200 400 800] [--precisions float32 bfloat16] [--no-plain]
"""

from __future__ import annotations

import json
import os
import sys

from _common import OtherCPUShare, arguments, median_ms, parse


def conv_macs(model, height: int, width: int) -> float:
    """Multiply-accumulates of the feature CNN's convolutions on one image (torch's
    FLOP counter, which sees every convolution, module or functional)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(torch.rand(1, model.conv1[0].in_channels, height, width))
    counts = counter.get_flop_counts()["Global"]
    flops = sum(n for op, n in counts.items() if op is torch.ops.aten.convolution)
    return flops / 2


def main(argv=None) -> int:
    parser = arguments(__doc__)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--k", type=int, nargs="+", default=[400])
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"],
                        choices=["float32", "bfloat16"], help="of the folded fast path")  # fmt: skip
    parser.add_argument("--no-plain", action="store_true", help="leave out the plain model")
    args = parse(parser, argv)

    import numpy as np
    import torch
    from skimage.segmentation import slic

    from ssn import official
    from ssn.checkpoint import load_model, pretrained_path
    from ssn.devices import cpu_has_native_bf16, cpu_model, resolve_precision
    from ssn.inference import resolve_model, segment
    from ssn.io import read_bsds_ground_truth, read_image
    from ssn.metrics import evaluate_image

    name = "official-bsds500"
    try:
        official.locate(name)
    except FileNotFoundError:
        name = str(pretrained_path("deep"))
    fast = resolve_model(name, "cpu")  # as ssn.segment keeps it: folded
    plain = official.load(name).eval() if official.is_official(name) else load_model(name)
    bsds = args.data / "BSDS500" / "data"
    paths = sorted((bsds / "images" / "test").glob("*.jpg"))[: args.images]
    if not paths:
        sys.exit(f"no BSDS500 test images under {bsds}")
    native = cpu_has_native_bf16()
    print(f"model {name}; {len(paths)} BSDS500 test images, K = {args.k}, {args.threads} "
          f"threads on {cpu_model()} ({os.cpu_count()} logical CPUs)")  # fmt: skip
    print(f"native bf16 (AVX512-BF16 or AMX): {'yes' if native else 'no'}; precision='auto' "
          f"runs the CNN in {resolve_precision('auto', 'cpu')} here")  # fmt: skip

    # the rows: (name, model, precision); each timed image -> connected labels
    paths_run = [(f"fast {p}", fast, p) for p in args.precisions]
    if not args.no_plain:
        paths_run.append(("plain float32", plain, "float32"))

    def timed(fn, repeats):
        """The result of the first of ``repeats`` calls and the median time of all."""
        out = []
        ms = median_ms(lambda: out.append(fn()), repeats)
        return out[0], ms

    with OtherCPUShare() as load:
        rows = []
        for path in paths:
            image = read_image(path)
            truths = read_bsds_ground_truth(bsds / "groundTruth" / "test" / f"{path.stem}.mat")
            for k in args.k:
                row = {"image": path.stem, "k": k}
                labels = {}
                for key, model, precision in paths_run:
                    labels[key], row[f"{key} ms"] = timed(
                        lambda im=image, k=k, m=model, p=precision: segment(
                            im, k, model=m, device="cpu", precision=p),
                        args.repeats,
                    )  # fmt: skip
                    mean = evaluate_image(labels[key], truths, protocol="stutz").mean()
                    row[f"{key} asa"], row[f"{key} br"] = mean["asa"], mean["br"]
                    row[f"{key} count"] = int(labels[key].max()) + 1
                row["slic ms"] = median_ms(
                    lambda im=image, k=k: slic(im, n_segments=k, max_num_iter=10, start_label=0),
                    args.repeats,
                )  # fmt: skip
                keys = [key for key, *_ in paths_run]
                for key in keys[1:]:
                    row[f"{key} same label"] = float((labels[key] == labels[keys[0]]).mean())
                rows.append(row)
            print(f"  {path.stem} done", flush=True)
    share = load.share

    macs = conv_macs(fast.feature_net, 321, 481)
    x = torch.rand(1, 5, 321, 481)
    cnn_ms = {}
    for precision in args.precisions:
        dtype = torch.bfloat16 if precision == "bfloat16" else None
        with torch.inference_mode(), torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
            fast.feature_net(x)  # warm-up: oneDNN primitives of this dtype
            cnn_ms[precision] = median_ms(lambda: fast.feature_net(x), args.repeats)
    summary = {}
    for k in args.k:
        part = [r for r in rows if r["k"] == k]
        mean = {c: float(np.mean([r[c] for r in part])) for c in part[0] if c not in ("image", "k")}
        summary[k] = mean
        print(f"K = {k}: {'path':16s} {'precision':9s} {'ms/image':>8s} {'/ slic':>6s} "
              f"{'ASA':>7s} {'BR':>7s} {'count':>7s}")  # fmt: skip
        print(f"         {'skimage slic':16s} {'float64':9s} {mean['slic ms']:8.0f} {1:6.2f}")
        for key, _, precision in paths_run:
            print(f"         {key.split()[0]:16s} {precision:9s} {mean[f'{key} ms']:8.0f} "
                  f"{mean[f'{key} ms'] / mean['slic ms']:6.2f} {mean[f'{key} asa']:7.4f} "
                  f"{mean[f'{key} br']:7.4f} {mean[f'{key} count']:7.1f}")  # fmt: skip
        keys = [key for key, *_ in paths_run]
        if keys[0] == "fast float32" and "fast bfloat16" in keys:
            a, b = "fast float32", "fast bfloat16"
            counts = max(abs(r[f"{b} count"] / r[f"{a} count"] - 1) for r in part)
            print(f"         bf16 - float32: ASA {mean[f'{b} asa'] - mean[f'{a} asa']:+.4f}, "
                  f"BR {mean[f'{b} br'] - mean[f'{a} br']:+.4f}, counts at most {counts:.2%} "
                  f"apart, same label on {mean[f'{b} same label']:.1%} of the pixels")  # fmt: skip
        if keys[0] == "fast float32" and "plain float32" in keys:
            print(f"         fast / plain float32: same label on "
                  f"{mean['plain float32 same label']:.4%} of the pixels")  # fmt: skip
    for precision, ms in cnn_ms.items():
        print(f"feature CNN ({precision}): {macs / 1e9:.1f} GMAC per image, {ms:.0f} ms "
              f"({macs / ms / 1e6:.1f} GMAC/s)")  # fmt: skip
    print(f"other processes took {share:.0%} of the CPU meanwhile")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_model(), "native_bf16": native,
                                         "threads": args.threads, "other_cpu_share": share,
                                         "mean": summary, "gmac": macs / 1e9,
                                         "cnn_ms": cnn_ms, "images": rows}, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
