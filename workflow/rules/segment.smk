# Segment every test image of a dataset with one method at one requested count K:
# labels as 16-bit PNGs (gitignored work folder) and a per-image timing TSV.


rule segment:
    input:
        data=dataset_ready,
        stamp=dataset_stamp,
        model=segment_model_input,
        reused=segment_reused_input,
    output:
        labels=directory(f"{WORK}/labels/{{dataset}}/{{method}}/k{{k}}"),
        timing=f"{WORK}/timing/{{dataset}}/{{method}}/k{{k}}.tsv",
    log:
        "logs/segment/{dataset}/{method}/k{k}.log",
    benchmark:
        "benchmarks/segment/{dataset}/{method}/k{k}.tsv"
    conda:
        SSN_CONDA_ENV
    threads: config["threads"]["segment"]
    resources:
        gpu=segment_gpus,
        mem_mb=4000,
        runtime=60,
    params:
        dataset=image_options,
        segment=segment_params,
    script:
        "../scripts/segment.py"
