# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""The robustness table (CSV, Markdown) against the clean images' scores, and the
perturbations' parameters for the provenance."""

import json

from _jobs import start_job

log = start_job(snakemake)

import pandas as pd  # noqa: E402
import yaml  # noqa: E402
from _tables import markdown, robustness_table  # noqa: E402

from ssn.perturbations import PERTURBATIONS  # noqa: E402

spec = snakemake.params.spec
perturbed = pd.concat(
    [pd.read_csv(f, dtype={"image": str}) for f in snakemake.input.perturbed], ignore_index=True
)
clean = pd.concat(
    [pd.read_csv(f, dtype={"image": str}) for f in snakemake.input.clean], ignore_index=True
)
clean = clean[clean["protocol"] == spec["protocol"]]
table = robustness_table(perturbed, clean, snakemake.params.labels, PERTURBATIONS)
table.to_csv(snakemake.output.csv, index=False, float_format="%.6g")

with open(snakemake.output.md, "w") as fh:
    fh.write(f"Robustness on {spec['dataset']} at K = {spec['k']} ({table['n_images'].max()} "
             f"images, {spec['protocol']} protocol for BR); drop / rise: relative change "
             "from the clean images, positive is worse.\n\n")  # fmt: skip
    for kind, part in table.groupby("perturbation", sort=False):
        fh.write(f"## {kind} ({PERTURBATIONS[kind]})\n\n")
        shown = part[["label", "strength", "asa", "br", "ue", "n_superpixels", "asa_drop",
                      "br_drop", "ue_rise"]]  # fmt: skip
        fh.write(markdown(shown) + "\n\n")

# every parameter of each kind x strength (the per-image seeds follow the rule below)
parameters = {}
for (kind, _strength), part in perturbed.groupby(["perturbation", "strength"], sort=False):
    recorded = json.loads(part["parameters"].iloc[0])
    recorded.pop("seed", None)
    parameters.setdefault(kind, []).append(recorded)
with open(snakemake.output.parameters, "w") as fh:
    yaml.safe_dump({"dataset": spec["dataset"], "k": spec["k"], "protocol": spec["protocol"],
                    "images": sorted(set(perturbed["image"])),
                    "seed": {"base": spec["seed"],
                             "per_image": "zlib.crc32(f'{base}/{image}/{kind}/{strength}')"},
                    "void": "pixels whose source lies outside the frame: valid=False, left "
                            "out of every metric",
                    "perturbations": parameters}, fh, sort_keys=False)  # fmt: skip
log.info("%d rows, %d perturbations", len(table), len(parameters))
