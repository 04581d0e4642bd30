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

Prints the CPU model, the threads and the CPU share other processes took meanwhile.

    python benchmarks/deep_inference.py [--images 20] [--threads 2] [--repeats 3]
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
    parser.add_argument("--k", type=int, default=400)
    args = parse(parser, argv)

    import numpy as np
    import torch
    from skimage.segmentation import slic

    from ssn import official
    from ssn.checkpoint import load_model, pretrained_path
    from ssn.devices import cpu_model
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
    print(f"model {name}; {len(paths)} BSDS500 test images, K = {args.k}, {args.threads} "
          f"threads on {cpu_model()} ({os.cpu_count()} logical CPUs)")  # fmt: skip

    with OtherCPUShare() as load:
        rows = []
        for path in paths:
            image = read_image(path)
            truths = read_bsds_ground_truth(bsds / "groundTruth" / "test" / f"{path.stem}.mat")
            labels = {}
            for key, model in (("fast", fast), ("plain", plain)):
                labels[key] = segment(image, args.k, model=model, device="cpu")
            row = {
                "same_label": float((labels["fast"] == labels["plain"]).mean()),
                "fast_ms": median_ms(
                    lambda im=image: segment(im, args.k, model=fast, device="cpu"), args.repeats
                ),  # fmt: skip
                "plain_ms": median_ms(
                    lambda im=image: segment(im, args.k, model=plain, device="cpu"), args.repeats
                ),  # fmt: skip
                "slic_ms": median_ms(
                    lambda im=image: slic(im, n_segments=args.k, max_num_iter=10, start_label=0),
                    args.repeats,
                ),  # fmt: skip
            }
            for key in ("fast", "plain"):
                mean = evaluate_image(labels[key], truths, protocol="stutz").mean()
                row[f"{key}_asa"], row[f"{key}_br"] = mean["asa"], mean["br"]
            rows.append(row)
    share = load.share

    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    macs = conv_macs(fast.feature_net, 321, 481)
    cnn_ms = median_ms(lambda: fast.feature_net(torch.rand(1, 5, 321, 481)), args.repeats)
    print(f"time per image: fast {mean['fast_ms']:.0f} ms, plain {mean['plain_ms']:.0f} ms, "
          f"skimage slic {mean['slic_ms']:.0f} ms")  # fmt: skip
    print(f"ratio fast / slic {mean['fast_ms'] / mean['slic_ms']:.2f}, plain / slic "
          f"{mean['plain_ms'] / mean['slic_ms']:.2f}, fast / plain "
          f"{mean['fast_ms'] / mean['plain_ms']:.2f}")  # fmt: skip
    print(f"same label: {mean['same_label']:.4%} of pixels (min over images "
          f"{min(r['same_label'] for r in rows):.4%})")  # fmt: skip
    print(f"ASA fast {mean['fast_asa']:.4f} plain {mean['plain_asa']:.4f}; "
          f"BR fast {mean['fast_br']:.4f} plain {mean['plain_br']:.4f}")  # fmt: skip
    print(f"feature CNN: {macs / 1e9:.1f} GMAC per image, {cnn_ms:.0f} ms "
          f"({macs / cnn_ms / 1e6:.1f} GMAC/s)")  # fmt: skip
    print(f"other processes took {share:.0%} of the CPU meanwhile")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_model(), "threads": args.threads,
                                         "other_cpu_share": share, "mean": mean,
                                         "gmac": macs / 1e9, "images": rows}, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
