"""The training loss's two terms for SSN_pix, trained models and the paper's model.

On the same BSDS500 training batches (the run order of ``ssn train``: seed 0, flips and
scale augmentation, one annotation per sample), the reconstruction loss and the
compactness loss of each model in eval mode, and the total at the compactness weight
given. It tells whether a training setting's loss prefers the paper's model to ours:
if the paper's model has the higher total, training with that setting moves away from
it (issue 16: at train_eta 2.5 and lambda 1e-5 the paper's model pays for its lower
reconstruction loss with less compact superpixels than SSN_pix).

    python benchmarks/loss_terms.py results/training/run/weights.pt [...] \\
        [--patch 101] [--segments 25] [--train-eta 2.5] [--batches 20] [--json out.json]
"""

from __future__ import annotations

import json

from _common import arguments, parse


def main(argv=None) -> int:
    parser = arguments(__doc__)
    parser.add_argument("models", nargs="*", help="checkpoints or model names besides pix/paper")
    parser.add_argument("--patch", type=int, default=101)
    parser.add_argument("--segments", type=int, default=25)
    parser.add_argument("--train-eta", type=float, default=2.5)
    parser.add_argument("--weight", type=float, default=1e-5, help="compactness weight")
    parser.add_argument("--batches", type=int, default=20)
    args = parse(parser, argv)

    import torch

    from ssn.inference import resolve_model
    from ssn.train import TrainConfig, compute_loss
    from ssn.train.data import build_patches, training_batches

    config = TrainConfig(
        data_root=str(args.data / "BSDS500" / "data"), task="bsds500", feature_net="deep",
        patch_size=args.patch, n_segments=args.segments, train_eta=args.train_eta,
        compactness_weight=args.weight, num_workers=0,
    )  # fmt: skip
    batches = training_batches(config, build_patches(config), start=0)
    batches = [next(batches) for _ in range(args.batches)]
    names = ["pix", *args.models, "official-bsds500"]
    terms = {}
    for name in names:
        model = resolve_model(name, device="cpu")
        sums = {"reconstruction": 0.0, "compactness": 0.0, "loss": 0.0}
        with torch.no_grad():
            for batch in batches:
                for key, value in compute_loss(model, batch, config).items():
                    sums[key] += float(value) / len(batches)
        terms[name] = sums

    print(f"{args.batches} training batches of {config.batch_size}, {args.patch}x{args.patch}, "
          f"K = {args.segments}, train_eta {args.train_eta}, compactness weight {args.weight:g}")  # fmt: skip
    for name, sums in terms.items():
        print(f"  {name:>40s}  reconstruction {sums['reconstruction']:.4f}  "
              f"compactness {sums['compactness']:8.0f}  total {sums['loss']:.4f}")  # fmt: skip
    if args.json:
        settings = {"patch": args.patch, "segments": args.segments, "train_eta": args.train_eta,
                    "weight": args.weight, "batches": args.batches}  # fmt: skip
        args.json.write_text(json.dumps({**settings, "terms": terms}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
