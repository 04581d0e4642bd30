"""Start every Python process with fake GPUs when ``SSN_FAKE_CUDA`` is set (see
``tests/fake_cuda.py``'s ``subprocess_env``): torchrun's ranks and Snakemake's jobs
inherit the variable and this folder on ``PYTHONPATH``."""

import os
import sys

if os.environ.get("SSN_FAKE_CUDA"):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from fake_cuda import FakeCuda

    FakeCuda(int(os.environ["SSN_FAKE_CUDA"])).install()
