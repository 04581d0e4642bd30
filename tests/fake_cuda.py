"""CUDA's C level played by the CPU, so that the CUDA branches run on a CPU-only machine.

Only what the CUDA runtime, the driver, NVML and NCCL would answer is replaced:

- ``torch._C``'s CUDA entry points (device count, init, ``setDevice`` / ``getDevice``,
  synchronize, memory statistics) and the module attributes ``torch.cuda`` binds to
  them at import (``_exchange_device``, ``_cudart``, ``_get_device_properties``,
  ``default_generators``, one CPU generator per fake GPU);
- NVML's device count (absent: -1, torch's documented fallback to the runtime's count);
- the tensor moves: a tensor sent to ``cuda:N`` (``.to``, ``.cuda``, ``pin_memory``,
  ``device=`` of a factory) stays on the CPU, once torch has parsed the arguments and
  the index has been checked against the fake device count, as the runtime would;
- NCCL: a process group asked for ``nccl`` gets ``gloo``.

Everything written in Python inside torch still runs: ``torch.cuda.set_device``'s
argument check, ``_lazy_init`` and its queued calls, ``get_rng_state`` / ``set_rng_state``,
``torch.autocast``'s device and dtype checks, DistributedDataParallel's. So a CUDA
branch that passes torch a wrong argument fails here as on a GPU.

Use it as a context manager (``with fake_cuda(2): ...``), or in child processes with
:func:`subprocess_env` (``fake_cuda_site/sitecustomize.py`` installs it at start-up).
"""

from __future__ import annotations

import contextlib
import os
import time
import types
from pathlib import Path

import torch
import torch._dynamo  # noqa: F401 - bound to the CPU build at import, before any patch
from torch.overrides import TorchFunctionMode

_MISSING = object()


def _cuda_index(device) -> int | None:
    """The CUDA index a device argument names (None: not CUDA; -1: CUDA, no index)."""
    if isinstance(device, (str, torch.device)):
        device = torch.device(device)
        if device.type == "cuda":
            return -1 if device.index is None else device.index
    return None


class _TensorsStayOnCpu(TorchFunctionMode):
    """Tensor moves and factories aimed at ``cuda:N`` run on the CPU instead."""

    def __init__(self, fake):
        super().__init__()
        self.fake = fake

    def _check(self, index: int) -> None:
        torch.cuda._lazy_init()  # as the C++ side does on a tensor's first move
        index = self.fake.current if index == -1 else index
        if not 0 <= index < self.fake.n_devices:
            raise RuntimeError("CUDA error: invalid device ordinal")

    def _on_cpu(self, value):
        index = _cuda_index(value)
        if index is None:
            return value
        self._check(index)
        return torch.device("cpu")

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        name = getattr(func, "__name__", "")
        if name == "to" and args and isinstance(args[0], torch.Tensor):
            # torch's own parsing first: a wrong argument fails as it would on a GPU
            device, *_ = torch._C._nn._parse_to(*args[1:], **kwargs)
            if device is not None and device.type == "cuda":
                self._check(-1 if device.index is None else device.index)
                args = tuple(self._on_cpu(a) for a in args)
                kwargs = {k: self._on_cpu(v) for k, v in kwargs.items()}
        elif name == "cuda" and args and isinstance(args[0], torch.Tensor):
            device = kwargs.get("device", args[1] if len(args) > 1 else None)
            if isinstance(device, int):
                device = torch.device("cuda", device)
            self._check(-1 if device is None else _cuda_index(device))
            return args[0]
        elif name == "pin_memory" and args and isinstance(args[0], torch.Tensor):
            torch.cuda._lazy_init()
            return args[0]
        elif "device" in kwargs:
            kwargs["device"] = self._on_cpu(kwargs["device"])
        return func(*args, **kwargs)


class FakeCuda:
    """``n_devices`` fake GPUs: their state, and the patches that install them."""

    def __init__(self, n_devices: int = 1, name: str = "Fake GPU (CPU stand-in)",
                 capability: tuple[int, int] = (9, 0)):  # fmt: skip
        self.n_devices = n_devices
        self.name = name
        self.capability = capability
        self.current = 0
        self.synchronized = 0  # torch.cuda.synchronize calls
        self._saved: list[tuple[object, str, object]] = []

    # -- the C entry points ---------------------------------------------------------
    def _init(self) -> None:
        if self.n_devices == 0:
            raise RuntimeError("No CUDA GPUs are available")
        torch.cuda.default_generators = tuple(torch.Generator() for _ in range(self.n_devices))

    def _properties(self, index: int):
        return types.SimpleNamespace(
            name=self.name, major=self.capability[0], minor=self.capability[1],
            total_memory=80 * 2**30,
            multi_processor_count=132, is_integrated=False, uuid="fake",
        )  # fmt: skip

    def _set_device(self, index: int) -> None:
        if not isinstance(index, int):
            raise TypeError(f"_cuda_setDevice takes an int, got {type(index).__name__}")
        if not 0 <= index < self.n_devices:
            raise RuntimeError("CUDA error: invalid device ordinal")
        self.current = index

    def _exchange(self, index: int) -> int:
        if index < 0:
            return -1
        previous = self.current
        self._set_device(index)
        return previous

    def _synchronize(self) -> None:
        self.synchronized += 1

    # -- installing ------------------------------------------------------------------
    def _patch(self, owner, name: str, value) -> None:
        self._saved.append((owner, name, getattr(owner, name, _MISSING)))
        setattr(owner, name, value)

    def install(self) -> None:
        c, cuda = torch._C, torch.cuda
        self._patch(c, "_cuda_getDeviceCount", lambda: self.n_devices)
        self._patch(c, "_cuda_init", self._init)
        self._patch(c, "_cuda_setDevice", self._set_device)
        self._patch(c, "_cuda_getDevice", lambda: self.current)
        self._patch(c, "_cuda_synchronize", self._synchronize)
        self._patch(c, "_cuda_getArchFlags", lambda: "sm_90")
        self._patch(c, "_cuda_memoryStats", lambda device: {})
        self._patch(c, "_cuda_resetPeakMemoryStats", lambda device: None)
        self._patch(c, "_cuda_emptyCache", lambda: None)
        self._patch(cuda, "_exchange_device", self._exchange)
        self._patch(cuda, "_maybe_exchange_device", self._exchange)
        self._patch(cuda, "_cudart", types.SimpleNamespace())
        self._patch(cuda, "_device_count_nvml", lambda: -1)
        self._patch(cuda, "_initialized", False)
        self._patch(cuda, "_cached_device_count", None)
        self._patch(cuda, "_queued_calls", [])
        self._patch(cuda, "default_generators", ())
        self._patch(cuda, "_get_device_properties", self._properties)
        self._patch(torch.version, "cuda", "12.8")
        real_init = torch.distributed.init_process_group

        def init_process_group(backend=None, *args, **kwargs):
            if backend is not None and str(backend).lower() == "nccl":
                if self.n_devices == 0:
                    raise RuntimeError("NCCL needs a CUDA device")
                backend = "gloo"  # NCCL is CUDA's C library: gloo plays it on the CPU
            return real_init(backend, *args, **kwargs)

        self._patch(torch.distributed, "init_process_group", init_process_group)
        real_destroy = torch.distributed.destroy_process_group

        def destroy_process_group(*args, **kwargs):
            # The tensor-move mode below is a Python object that every gloo work captures
            # in its thread-local state; a gloo worker thread dropping its last work needs
            # the GIL, and ~ProcessGroupGloo (run when DDP's Reducer is freed, GIL held)
            # joins that thread: a deadlock of this harness, about 1 run in 8, that NCCL
            # on a GPU cannot have. Let every worker drop its works before teardown.
            torch.distributed.barrier()
            time.sleep(0.2)  # the GIL released: the workers take it to drop the works
            return real_destroy(*args, **kwargs)

        self._patch(torch.distributed, "destroy_process_group", destroy_process_group)
        self._mode = _TensorsStayOnCpu(self)
        self._mode.__enter__()

    def uninstall(self) -> None:
        self._mode.__exit__(None, None, None)
        for owner, name, value in reversed(self._saved):
            if value is _MISSING:
                if hasattr(owner, name):
                    delattr(owner, name)
            else:
                setattr(owner, name, value)
        self._saved.clear()


@contextlib.contextmanager
def fake_cuda(n_devices: int = 1, **options):
    """``n_devices`` fake GPUs while the block runs (see the module notes)."""
    fake = FakeCuda(n_devices, **options)
    fake.install()
    try:
        yield fake
    finally:
        fake.uninstall()


def subprocess_env(n_devices: int = 1, env=None) -> dict:
    """The environment of a child process (and of its children: torchrun's ranks,
    Snakemake's jobs) that starts with ``n_devices`` fake GPUs (``fake_cuda_site/``)."""
    env = dict(os.environ if env is None else env)
    site = Path(__file__).with_name("fake_cuda_site")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    env["SSN_FAKE_CUDA"] = str(n_devices)
    return env
