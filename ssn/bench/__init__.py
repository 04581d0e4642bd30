"""What the benchmark workflow's jobs share (workflow/scripts/ import it from here).

:mod:`ssn.bench.jobs` holds logging, threads, device resolution, datasets as item lists
and the segmenters; :mod:`ssn.bench.plots` the figures' matplotlib style. The workflow's
plan (which jobs run) is ``workflow/plan.py``, which must not import torch.
"""
