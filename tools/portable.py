"""Run the notebooks as other CPUs would: ``make test-portable``.

A learner's machine computes the same PyTorch code along other numerical paths than this one.
Two layers decide the last bits of a result, and each can be steered by an environment variable
read when torch starts:

* the BLAS (matrix products): MKL picks a kernel from the CPU. ``MKL_ENABLE_INSTRUCTIONS`` caps
  the instruction set, but MKL obeys it only on Intel CPUs (on AMD it keeps its own kernels, as
  on the machine this was written on); ``MKL_CBWR=COMPATIBLE`` forces MKL's portable kernels on
  any x86 CPU;
* ATen's own kernels (random normals, exp, tanh, sums): torch dispatches them by CPU capability,
  ``ATEN_CPU_CAPABILITY`` = avx512, avx2 or default (no AVX2: an old laptop, and the kind of code
  an ARM machine runs);
* NumPy's own: its float64 exp, log and log1p take AVX-512 loops where the CPU has them, and
  other loops elsewhere, with other last bits (``NPY_DISABLE_CPU_FEATURES`` turns the AVX-512 or
  AVX2 groups off; unknown names, as an older NumPy's, are ignored); its matrix products come
  from OpenBLAS, whose kernel ``OPENBLAS_CORETYPE`` picks (Haswell: AVX2; Nehalem: SSE4.2).

    python tools/portable.py check           # which layers each path really changes here
    python tools/portable.py run [PYTEST ARGS]   # pytest under each path in turn

``check`` fails when no path changes both layers, so the stage can never pass by testing the
native path twice. ``run`` runs pytest once per path that changes anything here, with a deadline
each, and fails when any run fails. On the AMD machine this was written on, MKL ignores
``MKL_ENABLE_INSTRUCTIONS`` and ATen's avx2 kernels give the bits of its avx512 ones, so the avx2
path is this machine's own; on an Intel CPU with AVX-512 it changes the BLAS.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time

# Each path: the environment a kind of learner's machine would give.
_NO_AVX512 = "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR X86_V4"
PATHS = {
    # a laptop with AVX2 and no AVX-512
    "avx2": {"MKL_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2",
             "NPY_DISABLE_CPU_FEATURES": _NO_AVX512, "OPENBLAS_CORETYPE": "Haswell"},
    # an older CPU (SSE4.2 only): MKL's portable kernels, ATen's plain (non-AVX) kernels
    "sse4_2": {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "MKL_CBWR": "COMPATIBLE",
               "ATEN_CPU_CAPABILITY": "default",
               "NPY_DISABLE_CPU_FEATURES": "AVX AVX2 FMA3 F16C X86_V3 " + _NO_AVX512,
               "OPENBLAS_CORETYPE": "Nehalem"},
}
# Variables that the native run must not inherit, so that "native" means this machine's defaults.
PATH_VARIABLES = sorted({name for env in PATHS.values() for name in env})
PROBE_TIMEOUT_S = 120
RUN_TIMEOUT_S = 700

# Fingerprints of each layer: a float32 matrix product of fixed inputs (the BLAS), and a few ATen
# kernels (seeded normals, exp, tanh and a long sum). Inputs come from NumPy, whose own results do
# not depend on torch's paths.
PROBE = r"""
import hashlib, json
import numpy as np
import torch
h = lambda t: hashlib.sha1(t.numpy().tobytes()).hexdigest()[:12]
r = np.random.default_rng(0)
a = torch.as_tensor(r.standard_normal((128, 256)), dtype=torch.float32)
b = torch.as_tensor(r.standard_normal((256, 64)), dtype=torch.float32)
x = torch.as_tensor(r.standard_normal(100_003), dtype=torch.float32)
aten = [torch.randn(1000, generator=torch.Generator().manual_seed(0)), torch.exp(x[:4096]),
        torch.tanh(x[:4096]), x.sum().reshape(1)]
try:
    capability = torch.backends.cpu.get_cpu_capability()
except AttributeError:  # torch < 2.1: only the build summary says it
    line = [l for l in torch.__config__.show().splitlines() if "CPU capability usage" in l]
    capability = line[0].split(":")[-1].strip() if line else "unknown"
u = r.standard_normal(4096) * 3
c = r.standard_normal((64, 64))
numpy_layer = [np.exp(u), np.log(np.abs(u) + 1e-3), np.log1p(np.abs(u)), np.tanh(u), c @ c]
print(json.dumps({"blas": h(a @ b), "aten": "-".join(h(t) for t in aten),
                  "numpy": "-".join(hashlib.sha1(v.tobytes()).hexdigest()[:12] for v in numpy_layer),
                  "threads": torch.get_num_threads(), "capability": capability}))
"""


def describe(name):
    """A path's variables, as they would be typed before a command."""
    return " ".join(f"{k}={shlex.quote(v)}" for k, v in PATHS[name].items())


def native_env():
    return {k: v for k, v in os.environ.items() if k not in PATH_VARIABLES}


def path_env(name):
    return {**native_env(), **PATHS[name]}


def fingerprint(env):
    """The probe's fingerprints in a fresh interpreter with ``env``."""
    try:
        out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                             text=True, timeout=PROBE_TIMEOUT_S, check=True).stdout
    except subprocess.TimeoutExpired:
        raise SystemExit(f"portable: the fingerprint probe (import torch, a few kernels) did not "
                         f"finish within {PROBE_TIMEOUT_S} s") from None
    return json.loads(out.strip().splitlines()[-1])


def check():
    """Print which layers each path changes against the native path; fail if none changes both.

    Returns the paths that change anything: a path that computes as this machine does is left
    out of ``run``, since ``make test`` covers it already.
    """
    native = fingerprint(native_env())
    print(f"portable: native path: ATen capability {native['capability']}, "
          f"{native['threads']} torch threads")
    both, changing = [], []
    for name in PATHS:
        fp = fingerprint(path_env(name))
        changed = [layer for layer in ("blas", "aten", "numpy") if fp[layer] != native[layer]]
        print(f"portable: path {name} ({describe(name)}): ATen capability {fp['capability']}, "
              f"{fp['threads']} torch threads; changes "
              f"{', '.join(changed) if changed else 'none of the BLAS, ATen or NumPy layers'}")
        if changed:
            changing.append(name)
        if {"blas", "aten"} <= set(changed):
            both.append(name)
    if not both:
        raise SystemExit("portable: no path changes both the BLAS and the ATen kernels on this "
                         "machine, so running under them would test nothing new")
    return changing


def run(pytest_args):
    changing = check()
    failed = []
    for name in PATHS:
        if name not in changing:
            print(f"\nportable: path {name} computes as this machine does here: make test "
                  f"covers it", flush=True)
            continue
        print(f"\nportable: pytest under path {name}: {describe(name)}", flush=True)
        start = time.monotonic()
        try:
            rc = subprocess.run([sys.executable, "-m", "pytest", *pytest_args],
                                env=path_env(name), timeout=RUN_TIMEOUT_S).returncode
        except subprocess.TimeoutExpired:
            print(f"portable: pytest under path {name} did not finish within {RUN_TIMEOUT_S} s "
                  f"and was stopped", flush=True)
            rc = "timeout"
        print(f"portable: path {name}: exit {rc} after {time.monotonic() - start:.0f} s",
              flush=True)
        if rc != 0:
            failed.append(name)
    if failed:
        raise SystemExit(f"portable: failed under path(s) {', '.join(failed)}")


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("check", "run"):
        raise SystemExit(__doc__)
    if sys.argv[1] == "check":
        check()
    else:
        run(sys.argv[2:])
