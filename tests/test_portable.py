"""``make test-portable`` runs under other CPUs' arithmetic only if its paths really change it.

``tools/portable.py`` steers MKL and ATen through environment variables read when torch starts.
These tests start fresh interpreters and check that the SSE4.2 path changes both layers here, that
the native path is this machine's own (no variable of a path leaks into it), and that the kind of
result notebook 02 printed before the portable fix, a trained decoder's objective, does differ
between the paths. (That what the notebooks print now does not differ is what
``make test-portable`` itself checks.)
"""

import subprocess
import sys

import pytest

import portable  # tools/, on the path through conftest.py

torch = pytest.importorskip("torch")

# 20 steps of notebook 02's k = 8 naive decoder: its final objective, to every digit
TRAINED = r"""
from helpers.data import load_digits
from helpers.naive_decoder import NAIVE_DECODER_SETTINGS, train_naive_decoder
s = dict(NAIVE_DECODER_SETTINGS, steps=20, progress=False)
print(repr(train_naive_decoder(load_digits("train"), 8, **s).history[-1]))
"""


def _run(code, env):
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=portable.PROBE_TIMEOUT_S, check=True).stdout.strip()


@pytest.fixture(scope="module")
def native():
    fp = portable.fingerprint(portable.native_env())
    if fp["capability"] not in ("AVX2", "AVX512"):
        pytest.skip(f"the portable paths are written for x86 CPUs with AVX2 (ATen here: "
                    f"{fp['capability']})")
    return fp


def test_the_sse4_2_path_changes_the_blas_and_the_aten_kernels(native):
    fp = portable.fingerprint(portable.path_env("sse4_2"))
    assert fp["blas"] != native["blas"] and fp["aten"] != native["aten"]


def test_both_paths_change_numpys_own_layer_where_numpy_has_avx512(native):
    # NumPy's float64 exp/log take AVX-512 loops only on such CPUs; elsewhere the AVX2 path is
    # the machine's own for NumPy, and the SSE4.2 one still changes OpenBLAS's kernels
    import numpy as np

    groups = getattr(np._core._multiarray_umath, "__cpu_features__", {}) if hasattr(np, "_core") else {}
    if not groups.get("AVX512F"):
        pytest.skip("NumPy has no AVX-512 loops on this CPU")
    for name in ("avx2", "sse4_2"):
        assert portable.fingerprint(portable.path_env(name))["numpy"] != native["numpy"], name


def test_the_native_path_drops_every_path_variable(monkeypatch):
    for name in portable.PATH_VARIABLES:
        monkeypatch.setenv(name, "x")
    env = portable.native_env()
    assert not set(portable.PATH_VARIABLES) & set(env)
    assert portable.path_env("avx2")["ATEN_CPU_CAPABILITY"] == "avx2"


def test_a_training_run_differs_between_the_paths(native):
    # before the fix, notebook 02 printed such numbers; the paths must be able to show that
    assert _run(TRAINED, portable.native_env()) != _run(TRAINED, portable.path_env("sse4_2"))
