"""SSN_deep training throughput on this machine, in samples per second.

One training iteration as ``ssn train`` runs it (batch 8, 201×201 patches, k = 20,
v = 5, K = 100: feature CNN, differentiable SLIC, reconstruction + compactness loss,
backward, Adam step) on batches of smooth random images with blocky segments, timed
``--steps`` times after one warm-up step. Prints the time per step, samples/s, the loss
of each step, the CPU model, the threads and the CPU share other processes took
meanwhile; with ``--precisions float32 bfloat16`` (the default) the step in each, the
CNN under bf16 autocast in the second (what ``amp: auto`` picks on a CPU with native bf16,
issue #29), from the same weights and batches.

``results/benchmarks/train_throughput_cpu.json``, which the README quotes, was written
by an earlier version of this script that also timed the network before conv7 ran per
input part, in the same run (``samples_per_s`` of ``concat`` and of ``split``, today's).

    python benchmarks/train_throughput.py [--steps 4] [--threads 2] [--json out.json]
        [--precisions float32 bfloat16]
"""

from __future__ import annotations

import json
import os
import statistics

from _common import OtherCPUShare, arguments, parse, times_ms


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
    parser = arguments(__doc__, data=False)
    parser.add_argument("--steps", type=int, default=4, help="timed steps")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=201)
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"],
                        choices=["float32", "bfloat16"], help="bf16: the CNN under autocast")  # fmt: skip
    args = parse(parser, argv)

    import torch

    from ssn.devices import cpu_has_native_bf16, cpu_model
    from ssn.models import SSN, SSNConfig
    from ssn.train import TrainConfig, compute_loss

    config = TrainConfig(feature_net="deep", task="bsds500", batch_size=args.batch)
    native = cpu_has_native_bf16()
    print(f"SSN_deep training step, batch {args.batch}, {args.size}x{args.size}, k=20, v=5, "
          f"K=100; {args.threads} threads on {cpu_model()} ({os.cpu_count()} logical CPUs, "
          f"native bf16: {native})")  # fmt: skip
    rows = []
    for precision in args.precisions:  # the same weights and batches in each precision
        dtype = torch.bfloat16 if precision == "bfloat16" else None
        torch.manual_seed(0)
        model = SSN(SSNConfig(feature_net="deep")).train()
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        generator = torch.Generator().manual_seed(0)
        batches = iter([make_batch(generator, args.batch, args.size)
                        for _ in range(args.steps + 1)])  # fmt: skip
        losses = []

        def step(model=model, optimizer=optimizer, batches=batches, losses=losses, dtype=dtype):
            loss = compute_loss(model, next(batches), config, autocast_dtype=dtype)["loss"]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())

        with OtherCPUShare() as load:
            seconds = [ms / 1e3 for ms in times_ms(step, args.steps, warm_up=True)]
        rate = args.batch / statistics.median(seconds)
        rows.append({"precision": precision, "seconds": seconds, "losses": losses[1:],
                     "samples_per_s": rate, "other_cpu_share": load.share})  # fmt: skip
        print(f"  {precision:9s} {statistics.median(seconds):.2f} s/step, {rate:.2f} samples/s"
              f" (other processes {load.share:.0%} of the CPU); losses "
              + ", ".join(f"{loss:.4f}" for loss in losses[1:]))  # fmt: skip
    if len(rows) == 2:
        print(
            f"bfloat16 / float32 samples/s: {rows[1]['samples_per_s'] / rows[0]['samples_per_s']:.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps({
            "cpu": cpu_model(), "logical_cpus": os.cpu_count(), "threads": args.threads,
            "native_bf16": native, "batch": args.batch, "size": args.size, "rows": rows,
        }, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
