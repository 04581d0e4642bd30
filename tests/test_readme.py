"""The README's measured figures are the committed measurements, not numbers typed in.

Each figure the README quotes from a benchmark or a workflow table is read back from the
file that benchmark or table wrote (results/benchmarks/*.json, results/reference/tables/),
so that a rerun that is not copied into the README, or a README edit that no
measurement backs, fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BENCHMARKS = ROOT / "results" / "benchmarks"


def _json(name: str) -> dict:
    return json.loads((BENCHMARKS / name).read_text())


def _table(run: str, name: str) -> pd.DataFrame:
    """A table the workflow wrote into results/<run>/tables/."""
    return pd.read_csv(ROOT / "results" / run / "tables" / name)


def test_bench_dslic_table():
    bench = _json("bench_dslic_cpu.json")
    rows = re.findall(r"^\| (\d+)(, one core kept busy[^|]*)? \| ([\d.]+) ms \| ([\d.]+) ms \| "
                      r"([\d.]+) \|$", README, flags=re.M)  # fmt: skip
    assert len(rows) == 4
    measured = {(r["K"], False): r for r in bench["inference"]}
    measured[(400, True)] = bench["inference_one_busy_core"][0]
    for k, busy, pix, slic, ratio in rows:
        row = measured[(int(k), bool(busy))]
        assert float(pix) == round(row["ssn_pix_ms"], 1)
        assert float(slic) == round(row["skimage_slic_ms"], 1)
        assert float(ratio) == round(row["ratio_vs_skimage"], 2)


def test_deep_inference_figures():
    bench = _json("deep_inference_cpu.json")
    mean = bench["mean"]["400"]
    rows = _rows(r"^\| path \| precision \| ms / image \| / skimage `slic` \| ASA \| BR \| "
                 r"pixels labelled as folded float32 \|$",
                 [r"(\w+)", r"(\d+)", r"([\d.]+)", r"([\d.]+|—)", r"([\d.]+|—)",
                  r"([\d.]+%|—)"])  # fmt: skip
    assert len(rows) == 4
    for path, precision, ms, ratio, asa, br, same in rows:
        key = (
            "slic"
            if path.startswith("skimage")
            else f"{path.split()[0].replace('folded', 'fast')} {precision}"
        )
        assert int(ms) == round(mean[f"{key} ms"]), path
        assert float(ratio) == round(mean[f"{key} ms"] / mean["slic ms"], 2), path
        if key != "slic":
            assert (float(asa), float(br)) == (
                round(mean[f"{key} asa"], 4),
                round(mean[f"{key} br"], 4),
            )
        if f"{key} same label" in mean:  # the share as many digits as the README gives
            digits = len(same.rstrip("%").partition(".")[2])
            assert float(same.rstrip("%")) == round(100 * mean[f"{key} same label"], digits)
        else:
            assert same == "—"
    assert sum(row[-1] != "—" for row in rows) == 2
    cnn = _rows(r"^\| SSN_deep's CNN \| ms / image \| GMAC/s \|$", [r"(\d+)", r"(\d+)"])
    assert sorted(row[0] for row in cnn) == ["bfloat16", "float32"]
    for precision, ms, rate in cnn:
        measured = bench["cnn_ms"][precision]
        assert int(ms) == round(measured) and int(rate) == round(bench["gmac"] / measured * 1000)
    assert bench["native_bf16"] and bench["other_cpu_share"] < 0.05


def test_train_throughput_figures():
    rate = _json("train_throughput_cpu.json")["samples_per_s"]
    rows = _rows(r"^\| SSN_deep's conv7 in a training step \| samples/s \| / concatenated \|$",
                 [r"([\d.]+)", r"([\d.]+)"])  # fmt: skip
    assert [row[0] for row in rows] == ["on the concatenated features", "per input part"]
    for (_, measured, ratio), key in zip(rows, ("concat", "split"), strict=True):
        assert float(measured) == round(rate[key], 2)
        assert float(ratio) == round(rate[key] / rate["concat"], 2)


def test_reproduction_gap_table():
    table = _table("reference", "reproduction_gap.csv")
    rows = re.findall(r"^\| (SSN_\w+) \| (\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| "
                      r"([\d.]+) \|", README, flags=re.M)  # fmt: skip
    assert len(rows) >= 4
    for label, k, asa, g_asa, br, g_br in rows:
        row = table[(table["label"] == label) & (table["k"] == int(k))].iloc[0]
        assert (float(asa), float(br)) == (round(row["asa"], 4), round(row["br"], 4))
        assert float(g_asa) == pytest.approx(round(row["g_asa"], 2))
        assert float(g_br) == pytest.approx(round(row["g_br"], 2))


def test_bf16_train_throughput_figures():
    bench = _json("train_throughput_bf16_cpu.json")
    rate = {row["precision"]: row["samples_per_s"] for row in bench["rows"]}
    rows = _rows(r"^\| training step \| float32 samples/s \| bfloat16 samples/s \| bf16 / float32 \|$",
                 [r"([\d.]+)"] * 3)  # fmt: skip
    assert len(rows) == 1
    label, fp32, bf16, ratio = rows[0]
    assert label.startswith(f"batch {bench['batch']}, {bench['size']}×{bench['size']}")
    assert (float(fp32), float(bf16)) == (round(rate["float32"], 2), round(rate["bfloat16"], 2))
    assert float(ratio) == round(rate["bfloat16"] / rate["float32"], 2)
    assert bench["native_bf16"]
    losses = {row["precision"]: row["losses"] for row in bench["rows"]}
    pairs = zip(losses["bfloat16"], losses["float32"], strict=True)
    assert max(abs(a - b) for a, b in pairs) <= 0.005


def test_cpu_recipe_run_figures():
    """The CPU recipe's run as the README's table gives it: its committed gap evaluation
    and the iteration of its committed checkpoint."""
    import torch

    rows = _rows(r"^\| run \| iterations \| G \(ASA\) \| G \(BR\) \| evaluated on \|$",
                 [r"(\d+)", r"([\d.]+)", r"([\d.]+)", r"(\d+) test images, K = (\d+)"])  # fmt: skip
    assert len(rows) == 1
    name, iterations, g_asa, g_br, images, k = rows[0]
    run = ROOT / "results" / "training" / name.strip("`")
    gap = json.loads((run / f"gap_k{k}_{images}images.json").read_text())
    (model,) = [v for key, v in gap.items() if isinstance(v, dict) and key not in ("pix", "paper")]
    assert int(iterations) == torch.load(run / "resume.pt", weights_only=True)["iter"]
    assert (float(g_asa), float(g_br)) == (round(model["g_asa"], 2), round(model["g_br"], 2))
    assert (gap["k"], gap["images"]) == (int(k), int(images))


def test_bundled_weights_training_cost():
    """The README's account of each bundled model is the one its weight file records."""
    import torch

    rows = _rows(r"^\| bundled weights \| `model=` \| iterations \| training hours \| trained on \|$",
                 [r'`"(\w+)"`', r"(\d+)", r"([\d.]+)", r"([^|]+?)"])  # fmt: skip
    assert sorted(row[1] for row in rows) == ["deep", "linear"]
    for path, feature_net, iterations, hours, device in rows:
        assert path == f"`ssn/weights/ssn_{feature_net}_bsds500.pt`"
        state = torch.load(ROOT / path.strip("`"), weights_only=True)
        assert int(iterations) == state["iter"]
        assert float(hours) == round(state["train_seconds"] / 3600, 1)
        assert device == state["train_device"]


def test_results_table():
    """BSDS500 ASA / BR (stutz) / BR (ssn) (realised count) per method and K."""
    summary = _table("reference", "summary.csv")
    summary = summary[summary["dataset"] == "bsds500"]
    header = re.search(r"^\| method \| K = (\d+) \| K = (\d+) \| K = (\d+) \| K = (\d+) \|$",
                       README, flags=re.M)  # fmt: skip
    ks = [int(k) for k in header.groups()]
    cell = r"\*{0,2}([\d.]+)\*{0,2} / \*{0,2}([\d.]+)\*{0,2} / ([\d.]+) \((\d+)\)"
    rows = re.findall(rf"^\| ([^|]+?) \| {cell} \| {cell} \| {cell} \| {cell} \|$", README,
                      flags=re.M)  # fmt: skip
    assert len(rows) >= 10
    for label, *cells in rows:
        for i, k in enumerate(ks):
            asa, br_stutz, br_ssn, count = cells[4 * i : 4 * i + 4]
            at_k = summary[(summary["label"] == label) & (summary["k"] == k)]
            stutz = at_k[at_k["protocol"] == "stutz"].iloc[0]
            ssn = at_k[at_k["protocol"] == "ssn"].iloc[0]
            assert (float(asa), float(br_stutz), float(br_ssn), int(count)) == (
                round(stutz["asa"], 4), round(stutz["br"], 4), round(ssn["br"], 4),
                round(stutz["n_superpixels"])), (label, k)  # fmt: skip


def test_stutz_averages_table():
    averages = _table("reference", "stutz_averages.csv")
    averages = averages[(averages["dataset"] == "bsds500") & (averages["protocol"] == "stutz")]
    header = r"^\| method \| AMR \(100 − recall\) \| AUE \(undersegmentation\) \| AUV \(unexplained variation\) \|$"
    rows = _rows(header, [r"\*{0,2}([\d.]+)\*{0,2}"] * 3)
    assert len(rows) >= 10
    for label, amr, aue, auv in rows:
        row = averages[averages["label"] == label].iloc[0]
        for quoted, value in ((amr, row["amr"]), (aue, row["aue"]), (auv, row["auv"])):
            assert float(quoted) == pytest.approx(float(f"{value:.3g}")), (label, quoted)


def test_cpu_trained_table():
    """The CPU-trained models' table (ASA / BR stutz per K) is results/cpu_trained's run."""
    summary = _table("cpu_trained", "summary.csv")
    summary = summary[(summary["dataset"] == "bsds500") & (summary["protocol"] == "stutz")]
    header = re.search(r"^\| K \| (\w+) ASA / BR \| (\w+) ASA / BR \| (\w+) ASA / BR \| "
                       r"(\w+) ASA / BR \|$", README, flags=re.M)  # fmt: skip
    labels = header.groups()
    cell = r"\*{0,2}([\d.]+) / ([\d.]+)\*{0,2} \((\d+)(?: sp\.)?\)"
    rows = re.findall(rf"^\| (\d+) \| {cell} \| {cell} \| {cell} \| {cell} \|$", README,
                      flags=re.M)  # fmt: skip
    assert len(rows) == 3
    for k, *cells in rows:
        for i, label in enumerate(labels):
            asa, br, count = cells[3 * i : 3 * i + 3]
            row = summary[(summary["label"] == label) & (summary["k"] == int(k))].iloc[0]
            assert (float(asa), float(br), int(count)) == (
                round(row["asa"], 4),
                round(row["br"], 4),
                round(row["n_superpixels"]),
            ), (label, k)


def _rows(header: str, cells: list[str]) -> list[tuple]:
    """The rows of the README table under ``header`` (a regex of its first line): the
    label, then the groups of each cell's regex in ``cells``."""
    start = re.search(header, README, flags=re.M)
    assert start, header
    body = README[start.end() :].split("\n\n", 1)[0]
    rows = re.findall(r"^\| ([^|]+?) \| " + r" \| ".join(cells) + r" \|$", body, flags=re.M)
    assert len(rows) == body.count("\n") - 1, "a row the pattern does not read"
    return rows


def test_runtime_table():
    """ms per image at K = 400, each size, as the runtime rule measured it."""
    runtime = _table("reference", "runtime.csv")
    runtime = runtime[runtime["k"] == 400]
    rows = _rows(r"^\| method \| BSDS500 321×481, K = 400 \| Cityscapes 512×1024, K = 400 \|$",
                 [r"([\d.]+|—)"] * 2)  # fmt: skip
    assert len(rows) >= 10
    for label, *cells in rows:
        for size, cell in zip(("bsds500", "cityscapes_half"), cells, strict=True):
            row = runtime[(runtime["label"] == label) & (runtime["size"] == size)]
            if cell == "—":
                assert row.empty, (label, size)
            else:
                assert float(cell) == round(row["ms_per_image"].iloc[0], 1), (label, size)


def test_robustness_table():
    """BR at the strongest level of each perturbation, its change and the realised count."""
    table = _table("reference", "robustness.csv")
    header = re.search(r"^\| method \| clean BR \| (.+) \|$", README, flags=re.M)
    columns = [c.rsplit(" ", 1) for c in header.group(1).split(" | ")]
    rows = _rows(
        re.escape(header.group(0)),
        [r"([\d.]+)()()()"] + [r"([\d.]+) \(([−+±])(\d+)%, (\d+)\)"] * len(columns),
    )
    assert len(rows) >= 12
    for label, *cells in rows:
        part = table[table["label"] == label]
        clean = part[part["clean"]].iloc[0]
        assert float(cells[0]) == round(clean["br"], 3), label
        for (kind, strength), i in zip(columns, range(4, 4 * len(columns) + 4, 4), strict=True):
            br, sign, change, count = cells[i : i + 4]
            row = part[(part["perturbation"] == kind) & (part["strength"] == float(strength))]
            row = row.iloc[0]
            assert float(br) == round(row["br"], 3), (label, kind)
            signed = -100 * row["br_drop"]
            assert (int(change), sign) == (abs(round(signed)), "+" if round(signed) > 0 else
                                            "−" if round(signed) < 0 else "±"), (label, kind)  # fmt: skip
            assert int(count) == round(row["n_superpixels"]), (label, kind)


def test_count_control_table():
    """Realised count mean ± std (worst image's relative error) per K; disconnected ids."""
    table = _table("reference", "count_control.csv")
    table = table[table["dataset"] == "bsds500"]
    header = re.search(r"^\| method \| (K = .+) \| not 4-connected \|$", README, flags=re.M)
    ks = [int(k) for k in re.findall(r"K = (\d+)", header.group(1))]
    rows = _rows(
        re.escape(header.group(0)), [r"(\d+) ± (\d+) \(([-+]\d+)%\)"] * len(ks) + [r"(\d+)"]
    )
    assert len(rows) >= 12
    for label, *cells in rows:
        part = table[table["label"] == label]
        disconnected = cells.pop()
        assert int(disconnected) == part["n_disconnected"].sum(), label
        for k, i in zip(ks, range(0, 3 * len(ks), 3), strict=True):
            row = part[part["k"] == k].iloc[0]
            mean, std, worst = cells[i : i + 3]
            assert (int(mean), int(std)) == (round(row["mean"]), round(row["std"])), (label, k)
            assert int(worst) == round(100 * row["worst_relative_error"]), (label, k)
