"""The notebooks' slider panels, found by parsing, for the tests that exercise them.

``PANELS`` lists every ``slider_panel(plot_fn, *sliders, **fixed)`` call in ``notebooks/*.py``
with each slider's kind, name, start value and range (ranges computed in the notebook from its
simple constants, such as ``C_GRID[0]``, are evaluated too). ``fixed_kwargs(name)`` builds small
stand-ins for the notebook's fixed arguments (data, a trained model), so a test can call the
plot function as the panel does without running the notebook. A panel whose stand-ins are not
here yet is skipped by those tests, with a message saying what to add (``missing``).
"""

from __future__ import annotations

import ast
import importlib
import math
from pathlib import Path

import numpy as np
from project import notebook_paths  # tools/project.py (tests/conftest.py puts tools/ on the path)

ROOT = Path(__file__).resolve().parent.parent
PLOT_MODULES = ("sampling", "evidence", "elbo", "vae", "diffusion", "score", "guidance")  # helpers.plots.<topic>


def _cheap_constants(tree):
    """Top-level assignments built from literals, numpy and earlier such names (e.g. C_GRID)."""
    ns = {"np": np, "math": math}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        names = ([target] if isinstance(target, ast.Name) else
                 list(target.elts) if isinstance(target, ast.Tuple) else [])
        if not names or not all(isinstance(n, ast.Name) for n in names):
            continue
        if not all(n.id in ns for n in ast.walk(node.value) if isinstance(n, ast.Name)):
            continue
        try:
            value = eval(compile(ast.Expression(node.value), "<nb>", "eval"), ns)
        except Exception:  # not a constant after all
            continue
        values = [value] if isinstance(target, ast.Name) else list(value)
        for n, v in zip(names, values):
            ns[n.id] = v
    return ns


def _slider_panels():
    """(notebook, plot function name, [(kind, name, start, lo, hi)]) for every panel, parsed.

    start, lo and hi are None where the notebook computes them from more than constants.
    """
    panels = []
    for py in notebook_paths(".py"):
        tree = ast.parse(py.read_text())
        ns = None
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "slider_panel":
                ns = ns if ns is not None else _cheap_constants(tree)
                sliders = []
                for arg in node.args[1:]:
                    if isinstance(arg, ast.Call) and getattr(arg.func, "id", "").endswith("_slider"):
                        name = ast.literal_eval(arg.args[0])
                        try:
                            start, lo, hi = (float(eval(compile(ast.Expression(a), "<nb>", "eval"),
                                                        dict(ns))) for a in arg.args[1:4])
                        except Exception:  # computed in the notebook
                            start = lo = hi = None
                        sliders.append((arg.func.id, name, start, lo, hi))
                panels.append((py.name, ast.unparse(node.args[0]), sliders))
    return panels


PANELS = _slider_panels()
PANEL_IDS = [f"{p[0][:2]}-{p[1]}" for p in PANELS]


def plot_function(name):
    """The plot function a panel calls, from ``helpers.plots``."""
    for topic in PLOT_MODULES:
        try:
            module = importlib.import_module(f"helpers.plots.{topic}")
        except ModuleNotFoundError:  # a topic not written yet
            continue
        if hasattr(module, name):
            return getattr(module, name)
    raise LookupError(f"{name} is in no helpers.plots module {PLOT_MODULES}")


def _elbo_gap():
    from helpers.linear_gaussian import LinearGaussian

    model = LinearGaussian(np.array([[1.5]]), np.array([0.5]), 0.3)
    return {"model": model, "x": np.array([1.2])}


def _c_tradeoff():
    from helpers.data import load_digits
    from helpers.vae import train_vae
    from helpers.vae_analysis import c_grid_summary

    x = load_digits("test")[:40]
    c_grid = 10 ** (-2.5 + 0.5 * np.arange(7))  # notebook 04's grid
    res = train_vae(x, None, c=c_grid, steps=5, hidden=8, z_dim=3, progress=False)
    return {"summary": c_grid_summary(res.models, res.c, x, rng=0)}


def _naive_estimate_2d():
    rng = np.random.default_rng(0)
    d, k_max = 20, 8  # notebook 02's sizes, a smaller pool
    return {"W": rng.standard_normal((d, k_max)), "b": rng.standard_normal(d),
            "z_true": rng.standard_normal(k_max), "noise": rng.standard_normal(d),
            "z_pool": rng.standard_normal((5000, k_max))}


_MIXTURE = dict(weights=[0.4, 0.3, 0.3], means=[-1.5, 0.5, 2.0], stds=[0.25, 0.25, 0.5])
_T = 20  # a shorter chain than notebook 05's T = 100; the panels only index it


def _forward_process():
    from helpers.diffusion import GaussianMixture1D, NoiseSchedule

    rng = np.random.default_rng(0)
    return {"schedule": NoiseSchedule.cosine(_T), "mixture": GaussianMixture1D(**_MIXTURE),
            "x0_1d": rng.standard_normal((300, 1)), "noise_1d": rng.standard_normal((300, 1)),
            "x0_2d": rng.standard_normal((200, 2)), "noise_2d": rng.standard_normal((200, 2))}


def _sampler_steps():
    from helpers.diffusion import GaussianMixture1D, NoiseSchedule

    schedule, mixture = NoiseSchedule.cosine(_T), GaussianMixture1D(**_MIXTURE)
    return {"schedule": schedule, "mixture": mixture, "n": 300, "rng": 0,
            "eps_model": lambda x, t: mixture.eps_star(x, t, schedule),
            "held_out": mixture.sample(300, rng=1)}


def _reverse_step():
    from helpers.diffusion import GaussianMixture1D, NoiseSchedule, ddpm_trajectory

    schedule, mixture = NoiseSchedule.cosine(_T), GaussianMixture1D(**_MIXTURE)
    trajectory = ddpm_trajectory(lambda x, t: mixture.eps_star(x, t, schedule), schedule, 300,
                                 rng=2).states
    return {"trajectory": trajectory, "mixture": mixture, "schedule": schedule}


def _langevin():
    from helpers.diffusion import GaussianMixture1D

    return {"mixture": GaussianMixture1D(**_MIXTURE), "rng": 0,
            "x_init": np.random.default_rng(4).normal(0.0, 3.0, size=(300, 1))}


def _pf_ode():
    from helpers.diffusion import GaussianMixture1D

    return {"mixture": GaussianMixture1D(**_MIXTURE)}


def _few_step():
    from helpers.diffusion import GaussianMixture1D

    mixture = GaussianMixture1D(**_MIXTURE)
    return {"eps_fn": mixture.eps_at, "mixture": mixture, "held_out": mixture.sample(300, rng=1),
            "n": 300, "rng": 0}


def _sample_mosaic():
    # notebook 07's sampler, with the exact eps of a 64-D standard normal (eps = sqrt(1 - ab) x)
    from helpers.score import pf_ode_sample

    def sample(nfe):
        x = pf_ode_sample(lambda x, ab: np.sqrt(1 - ab) * x, 30, nfe=nfe, d=64, sigma_min=0.01, rng=4)
        return np.clip((x + 1) / 2, 0, 1)
    return {"sample": sample}


def _guided():
    rng = np.random.default_rng(0)
    ws = range(7)
    return {"samples": {w: rng.random((10, 6, 64)) for w in ws},
            "accuracy": {w: 0.8 + 0.03 * w for w in ws}, "diversity": {w: 1 - 0.05 * w for w in ws}}


FIXED = {"plot_inverse_cdf": lambda: {"rng": 0}, "plot_elbo_gap": _elbo_gap,
         "plot_langevin": _langevin, "plot_pf_ode": _pf_ode, "plot_few_step": _few_step,
         "plot_c_tradeoff": _c_tradeoff, "plot_naive_estimate_2d": _naive_estimate_2d,
         "plot_forward_process": _forward_process, "plot_sampler_steps": _sampler_steps,
         "plot_reverse_step": _reverse_step, "plot_sample_mosaic": _sample_mosaic,
         "plot_guided": _guided}


# Slider ranges the notebook computes (e.g. from a schedule's length), for the stand-ins above:
# (plot function, slider name) -> (start, lo, hi).
RANGES = {("plot_forward_process", "t"): (5, 1, _T), ("plot_sampler_steps", "steps"): (5, 1, _T),
          ("plot_reverse_step", "step"): (5, 0, _T)}


def missing(fn_name, sliders):
    """Why the panel cannot be exercised from here (None if it can): a FIXED or RANGES entry."""
    if fn_name not in FIXED:
        return f"add small fixed arguments for {fn_name} to FIXED in tests/panels.py"
    unknown = [name for _, name, start, _, _ in sliders
               if start is None and (fn_name, name) not in RANGES]
    if unknown:
        return f"add the range of {fn_name}'s sliders {unknown} to RANGES in tests/panels.py"
    return None


def resolved(fn_name, sliders):
    """``sliders`` with every (start, lo, hi) filled in from RANGES where the notebook computes it."""
    return [(kind, name, *RANGES.get((fn_name, name), (start, lo, hi)))
            for kind, name, start, lo, hi in sliders]


def fixed_kwargs(fn_name):
    """Small stand-ins for the fixed arguments the notebook passes to ``fn_name``'s panel."""
    return FIXED[fn_name]()


def sweep(kind, lo, hi, n):
    """``n`` values across a slider's range, as the slider holds them (log-even for a log slider)."""
    if kind == "log_slider":
        return [float(v) for v in np.geomspace(lo, hi, n)]
    if kind == "int_slider":
        return sorted({int(round(v)) for v in np.linspace(lo, hi, n)})
    return [float(v) for v in np.linspace(lo, hi, n)]
