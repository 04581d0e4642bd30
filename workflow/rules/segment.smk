# Segment every test image of a dataset with one method at one requested count K:
# labels as 16-bit PNGs (gitignored work folder) and a per-image timing TSV.


rule segment:
    input:
        data=lambda wildcards: dataset_ready(wildcards.dataset),
        stamp=lambda wildcards: dataset_stamp(wildcards.dataset),
        model=segment_model_input,
    output:
        labels=directory(f"{WORK}/labels/{{dataset}}/{{method}}/k{{k}}"),
        timing=f"{WORK}/timing/{{dataset}}/{{method}}/k{{k}}.tsv",
    params:
        dataset=lambda wildcards: dataset_options(wildcards.dataset, IMAGE_OPTIONS),
        segment=segment_params,
    log:
        "logs/segment/{dataset}/{method}/k{k}.log",
    benchmark:
        "benchmarks/segment/{dataset}/{method}/k{k}.tsv"
    threads: config["threads"]["segment"]
    resources:
        gpu=lambda wildcards: 1 if is_gpu_job(wildcards.method) else 0,
        mem_mb=4000,
        runtime=60,
    conda:
        SSN_CONDA_ENV
    script:
        "../scripts/segment.py"
