"""SSN_deep training throughput on this machine: today's step against the previous one.

One training iteration as ``ssn train`` runs it (batch 8, 201×201 patches, k = 20,
v = 5, K = 100: feature CNN, differentiable SLIC, reconstruction + compactness loss,
backward, Adam step), timed for two implementations of the network in the same process,
alternating so that both see the same machine load:

* ``concat`` -- the step before this benchmark existed: conv7 runs on the
  197-channel concatenation ``[input, conv2, up(conv4), up(conv6)]``;
* ``split`` -- the library's step: conv7 as one convolution per part, summed
  (``SSNDeep._conv7``), the same function without the concatenation.

Both start from the same weights and see the same batches, so their losses must agree
to float32 rounding step after step: the benchmark prints the largest difference.

* ``split bfloat16`` -- the library's step with the CNN under bf16 autocast (issue #29:
  ``amp: auto`` picks it on a CPU that computes bf16 natively); ``--precisions float32``
  leaves it out.

Prints samples/s of each, their ratios, the precision of each row, the CPU model and
whether it computes bf16 natively, the threads and the CPU share other processes took
meanwhile.

    python benchmarks/train_throughput.py [--steps 4] [--threads 2] [--json out.json]
        [--precisions float32 bfloat16]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def concat_conv7(self, parts):
    """conv7 on the materialised concatenation (the previous implementation)."""
    import torch

    return self.conv7(torch.cat(parts, dim=1))


def make_batch(generator, batch: int, size: int) -> dict:
    """A batch of smooth random images with blocky ground-truth segments."""
    import torch
    import torch.nn.functional as F

    image = F.interpolate(torch.rand(batch, 3, 13, 13, generator=generator), size=(size, size),
                          mode="bilinear", align_corners=False)  # fmt: skip
    coarse = torch.randint(0, 12, (batch, 1, 7, 7), generator=generator).float()
    labels = F.interpolate(coarse, size=(size, size), mode="nearest")[:, 0].long()
    return {"image": image, "labels": labels, "valid": torch.ones_like(labels, dtype=torch.bool)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="timed steps per path")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=201)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"],
                        choices=["float32", "bfloat16"], help="of the library's step")  # fmt: skip
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    import torch

    from ssn.bench.jobs import OtherCPUShare
    from ssn.devices import cpu_has_native_bf16, cpu_model
    from ssn.models import SSN, SSNConfig, SSNDeep
    from ssn.train import TrainConfig, compute_loss

    torch.set_num_threads(args.threads)
    config = TrainConfig(feature_net="deep", task="bsds500", batch_size=args.batch)
    torch.manual_seed(0)
    model = SSN(SSNConfig(feature_net="deep")).train()
    split = SSNDeep._conv7
    # name -> (conv7, autocast dtype): the previous step, the library's in each precision
    paths = {"concat": (concat_conv7, None), "split": (split, None)}
    if "bfloat16" in args.precisions:
        paths["split bfloat16"] = (split, torch.bfloat16)
    if "float32" not in args.precisions:
        del paths["split"]
    runs = {}
    for name in paths:
        net = copy.deepcopy(model)
        runs[name] = (net, torch.optim.Adam(net.parameters(), lr=config.learning_rate))
    generator = torch.Generator().manual_seed(0)
    batches = [make_batch(generator, args.batch, args.size) for _ in range(args.steps + 1)]

    def step(name: str, batch: dict) -> tuple[float, float]:
        net, optimizer = runs[name]
        SSNDeep._conv7, dtype = paths[name]
        start = time.perf_counter()
        loss = compute_loss(net, batch, config, dtype)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return time.perf_counter() - start, loss.item()

    try:
        for name in paths:  # warm-up: allocator, oneDNN primitives
            step(name, batches[0])
        seconds = {name: [] for name in paths}
        losses = {name: [] for name in paths}
        with OtherCPUShare() as load:
            for batch in batches[1:]:
                for name in paths:
                    elapsed, loss = step(name, batch)
                    seconds[name].append(elapsed)
                    losses[name].append(loss)
    finally:
        SSNDeep._conv7 = split

    rate = {name: args.batch / statistics.median(seconds[name]) for name in paths}
    native = cpu_has_native_bf16()
    print(f"SSN_deep training step, batch {args.batch}, {args.size}x{args.size}, k=20, v=5, "
          f"K=100; {args.threads} threads on {cpu_model()} ({os.cpu_count()} logical CPUs); "
          f"native bf16 (AVX512-BF16 or AMX): {'yes' if native else 'no'}")  # fmt: skip
    for name, (_, dtype) in paths.items():
        precision = "bfloat16" if dtype is not None else "float32"
        print(f"  {name.split()[0]:6s} {precision:8s} {statistics.median(seconds[name]):6.2f} "
              f"s/step  {rate[name]:.2f} samples/s")  # fmt: skip
    gap = bf16_gap = float("nan")
    if "split" in paths:
        print(f"ratio split / concat samples/s: {rate['split'] / rate['concat']:.2f}")
        gap = max(abs(a - b) / abs(b)
                  for a, b in zip(losses["concat"], losses["split"], strict=True))  # fmt: skip
        print(f"losses of the two paths over {args.steps} steps differ by at most {gap:.1e} "
              "(relative)")  # fmt: skip
    if "split" in paths and "split bfloat16" in paths:
        bf16_gap = max(abs(a - b) / abs(b) for a, b in
                       zip(losses["split bfloat16"], losses["split"], strict=True))  # fmt: skip
        print(f"ratio bfloat16 / float32 samples/s: {rate['split bfloat16'] / rate['split']:.2f}"
              f" (losses differ by at most {bf16_gap:.1e}, relative; the runs drift apart)")  # fmt: skip
    print(f"other processes took {load.share:.0%} of the CPU meanwhile")
    if args.json:
        args.json.write_text(json.dumps({
            "cpu": cpu_model(), "logical_cpus": os.cpu_count(), "threads": args.threads,
            "batch": args.batch, "size": args.size, "seconds": seconds, "losses": losses,
            "samples_per_s": rate, "native_bf16": native, "loss_gap": gap,
            "ratio": rate["split"] / rate["concat"] if "split" in rate else None,
            "bf16_loss_gap": bf16_gap, "other_cpu_share": load.share,
        }, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
