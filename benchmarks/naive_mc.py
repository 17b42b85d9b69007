"""Throughput and peak memory of ``helpers.evidence.naive_mc_log_evidence`` at L = 1e7 samples.

The model is a ``LinearGaussian`` shaped like the digits (d = 64 pixels, k = 2 latents), scored
at one observed x, so each prior sample costs one decoder evaluation of a 64-pixel image. Peak
memory is Python's traced allocation peak (``tracemalloc``; numpy reports its buffers to it);
time is measured in a separate, untraced run, because tracing slows allocation down.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

N_SAMPLES = 10_000_000
D, K = 64, 2


def _model():
    from helpers.evidence import LinearGaussian

    rng = np.random.default_rng(0)
    model = LinearGaussian(0.3 * rng.standard_normal((D, K)), 0.5 * np.ones(D), c=0.05)
    x, _ = model.sample(1, rng=1)
    return model, x[0]


def run(n_samples=N_SAMPLES):
    from helpers.evidence import naive_mc_log_evidence

    model, x = _model()
    naive_mc_log_evidence(model.log_likelihood, x, 100_000, K, rng=0)  # warm-up
    t0 = time.perf_counter()
    c0 = time.process_time()
    estimate = naive_mc_log_evidence(model.log_likelihood, x, n_samples, K, rng=0)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0

    tracemalloc.start()
    naive_mc_log_evidence(model.log_likelihood, x, n_samples, K, rng=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"n_samples": n_samples, "d": D, "k": K, "wall_s": wall, "cpu_s": cpu,
            "samples_per_s": n_samples / wall, "peak_traced_bytes": peak,
            "estimate": float(estimate), "exact": float(model.log_evidence(x))}
