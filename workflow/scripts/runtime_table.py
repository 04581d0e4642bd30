# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""The runtime table (ms per image, method x K, per image size) as CSV, Markdown, LaTeX."""

from _jobs import start_job

log = start_job(snakemake)

import pandas as pd  # noqa: E402

table = pd.concat([pd.read_csv(f) for f in snakemake.input.times], ignore_index=True)
table.insert(
    table.columns.get_loc("method") + 1, "label", table["method"].map(snakemake.params.labels)
)
table.to_csv(snakemake.output.csv, index=False, float_format="%.4g")

md, tex = [], []
for size, part in table.groupby("size", sort=False):
    h, w = int(part["height"].iloc[0]), int(part["width"].iloc[0])
    devices = "; ".join(sorted(set(part["device"])))
    threads = ", ".join(str(t) for t in sorted(set(part["threads"])))
    wide = part.pivot_table(index="label", columns="k", values="ms_per_image", sort=False)
    ks = list(wide.columns)
    md.append(f"### {size}: {h}×{w} px, ms per image\n")
    others = part["other_cpu_share"].max() if "other_cpu_share" in part else float("nan")
    networks = part.dropna(subset=["precision"]) if "precision" in part else part.iloc[:0]
    networks = networks.drop_duplicates("label")  # SSN's; a baseline's is blank
    precisions = ", ".join(
        f"{label} {p}" for label, p in zip(networks["label"], networks["precision"], strict=True)
    )
    md.append(f"Device: {devices}; threads: {threads}; median of "
              f"{int(part['repeats'].iloc[0])} runs per image, mean over "
              f"{int(part['n_images'].iloc[0])} images. Other processes took at most "
              f"{100 * others:.0f}% of the machine's CPU while a cell was timed."
              + (f" Network precision: {precisions}." if precisions else "") + "\n")  # fmt: skip
    md.append("| method | " + " | ".join(f"K={k}" for k in ks) + " |")
    md.append("|---|" + "---:|" * len(ks))
    for label, row in wide.iterrows():
        md.append(f"| {label} | " + " | ".join(f"{row[k]:.1f}" for k in ks) + " |")
    md.append("")
    esc = devices.replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")
    tex.append(r"\begin{table}[t]")
    tex.append(r"\centering")
    tex.append(
        rf"\caption{{Runtime in ms per image at {h}$\times${w} ({esc}, {threads} threads).}}"
    )
    tex.append(r"\begin{tabular}{l" + "r" * len(ks) + "}")
    tex.append(r"\toprule")
    tex.append("Method & " + " & ".join(f"K={k}" for k in ks) + r" \\")
    tex.append(r"\midrule")
    for label, row in wide.iterrows():
        tex.append(
            label.replace("_", r"\_") + " & " + " & ".join(f"{row[k]:.1f}" for k in ks) + r" \\"
        )
    tex.append(r"\bottomrule")
    tex.append(r"\end{tabular}")
    tex.append(r"\end{table}")
    tex.append("")

with open(snakemake.output.md, "w") as fh:
    fh.write("\n".join(md) + "\n")
with open(snakemake.output.tex, "w") as fh:
    fh.write("\n".join(tex) + "\n")
log.info("%d rows", len(table))
