"""SSN_deep training throughput on this machine, in samples per second.

One training iteration as ``ssn train`` runs it (batch 8, 201×201 patches, k = 20,
v = 5, K = 100: feature CNN, differentiable SLIC, reconstruction + compactness loss,
backward, Adam step) on batches of smooth random images with blocky segments, timed
``--steps`` times after one warm-up step. Prints the time per step, samples/s, the loss
of each step, the CPU model, the threads and the CPU share other processes took
meanwhile.

``results/benchmarks/train_throughput_cpu.json``, which the README quotes, was written
by an earlier version of this script that also timed the network before conv7 ran per
input part, in the same run (``samples_per_s`` of ``concat`` and of ``split``, today's).

    python benchmarks/train_throughput.py [--steps 4] [--threads 2] [--json out.json]
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
    args = parse(parser, argv)

    import torch

    from ssn.devices import cpu_model
    from ssn.models import SSN, SSNConfig
    from ssn.train import TrainConfig, compute_loss

    config = TrainConfig(feature_net="deep", task="bsds500", batch_size=args.batch)
    torch.manual_seed(0)
    model = SSN(SSNConfig(feature_net="deep")).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(0)
    batches = iter([make_batch(generator, args.batch, args.size) for _ in range(args.steps + 1)])
    losses = []

    def step() -> None:
        loss = compute_loss(model, next(batches), config)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

    with OtherCPUShare() as load:
        seconds = [ms / 1e3 for ms in times_ms(step, args.steps, warm_up=True)]
    rate = args.batch / statistics.median(seconds)
    print(f"SSN_deep training step, batch {args.batch}, {args.size}x{args.size}, k=20, v=5, "
          f"K=100; {args.threads} threads on {cpu_model()} ({os.cpu_count()} logical CPUs)")  # fmt: skip
    print(f"  {statistics.median(seconds):.2f} s/step, {rate:.2f} samples/s; losses "
          + ", ".join(f"{loss:.4f}" for loss in losses[1:]))  # fmt: skip
    print(f"other processes took {load.share:.0%} of the CPU meanwhile")
    if args.json:
        args.json.write_text(json.dumps({
            "cpu": cpu_model(), "logical_cpus": os.cpu_count(), "threads": args.threads,
            "batch": args.batch, "size": args.size, "seconds": seconds, "losses": losses[1:],
            "samples_per_s": rate, "other_cpu_share": load.share,
        }, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
