"""Figures for notebook 06: Langevin dynamics, the probability-flow ODE, few-step samplers.

The maths is in ``helpers.score`` (samplers, the ODE, its likelihood) and ``helpers.mixture``
(the exact scores). The three slider figures (``plot_langevin``, ``plot_pf_ode``,
``plot_few_step``) build their frame once per panel through ``helpers.plots.live`` and then only
move their data; their axes are fixed, so a move draws no tick.
"""

from __future__ import annotations

import weakref

import numpy as np

from .._checks import count, positive_scalar
from .._deprecated import keyword_only
from ..metrics import wasserstein_1
from ..noise_schedule import alpha_bar_from_sigma
from ..score import LangevinRuns, pf_ode_sample
from .figure import new_figure
from .live import live_figure

__all__ = ["plot_langevin", "plot_pf_ode", "plot_few_step", "plot_nfe_curves", "plot_call_levels"]

# plot_langevin's chains, one store per mixture: a slider that moves ``steps`` continues them
_LANGEVIN_RUNS = weakref.WeakKeyDictionary()
X_RANGE = (-4.0, 4.0)  # the 1-D mixture and N(0, 1) live well inside this window
N_BINS = 80


def _density(x, bins=N_BINS, range_=X_RANGE):
    """Histogram heights normalised by every sample (so the area outside the window is lost)."""
    counts, edges = np.histogram(np.ravel(x), bins=bins, range=range_)
    return counts / (np.size(x) * np.diff(edges)), edges


def _hist_frame(title_right=None, ylim=1.0):
    fig, ax = new_figure(1, width=5.4, height=3.0)
    edges = np.linspace(*X_RANGE, N_BINS + 1)
    hist = ax.stairs(np.zeros(N_BINS), edges, fill=True, color="C0", alpha=0.45, label="samples")
    target, = ax.plot([], [], color="k", lw=1, label="target density")
    ax.set(xlim=X_RANGE, ylim=(0, ylim), xlabel="x", ylabel="density")
    legend = ax.legend(fontsize=7, loc="upper left")
    ax.title.set_fontsize(9)  # the longest title (shares of three modes) fits the panel
    return fig, dict(hist=hist, target=target, legend=legend, title=ax.title)


def plot_langevin(step_size=0.05, steps=200, *, mixture, x_init, rng=None):
    """Unadjusted Langevin dynamics on the data score of ``mixture`` (alpha_bar = 1), from
    ``x_init``: a histogram of the chains after ``steps`` steps of size ``step_size`` over the
    mixture's density. The title gives the share of chains nearest each component's mean
    against the data's own shares (``GaussianMixture1D.mode_shares``). In a slider panel with an
    int ``rng``, chains already run are continued, not rerun (``helpers.score.LangevinRuns``).
    """
    step_size = positive_scalar("step_size", step_size)
    steps = count("steps", steps)
    # Near a narrow mode the chain is x <- (1 - h / 2s^2) x + noise, which diverges from h = 4s^2
    h_max = 4 * float(np.min(mixture.stds)) ** 2
    if step_size >= h_max:
        raise ValueError(f"step_size must be below 4 s_min^2 = {h_max:.3g} for this mixture (the "
                         f"chains diverge beyond it), got {step_size!r}")
    fig, p = live_figure(plot_langevin, (), lambda: _hist_frame(ylim=1.0))
    runs = _LANGEVIN_RUNS.setdefault(mixture, LangevinRuns())
    x = runs.sample(lambda z: mixture.score(z, 1.0), x_init, step_size=step_size, steps=steps,
                    rng=rng)
    heights, edges = _density(x)
    p["hist"].set_data(heights, edges)
    grid = np.linspace(*X_RANGE, 400)
    p["target"].set_data(grid, np.exp(mixture.log_prob(grid)))
    found = ", ".join(f"{w:.2f}" for w in mixture.mode_shares(x))
    truth = ", ".join(f"{w:.2f}" for w in mixture.mode_shares())
    p["title"].set_text(f"h = {step_size:.3g}, {steps} steps: shares {found} (data {truth})")
    return fig


def _pf_frame():
    fig, (ax_d, ax_v) = new_figure(2, width=4.2, height=3.0)
    density, = ax_d.plot([], [], color="C3", label="exact density of xbar")
    ax_d.set(xlim=(-6, 6), ylim=(0, 1.0), xlabel="xbar = x / sqrt(alpha_bar)", ylabel="density")
    legend = ax_d.legend(fontsize=7, loc="upper left")
    ax_v.axhline(0.0, color="0.7", lw=0.8)  # first: beneath the moving curve in every render
    velocity, = ax_v.plot([], [], color="C0", label="velocity d xbar / d sigma")
    ax_v.set(xlim=(-6, 6), ylim=(-3.5, 3.5), xlabel="xbar", ylabel="d xbar / d sigma")
    legend_v = ax_v.legend(fontsize=7, loc="upper left")
    ax_v.set_title("points move against it as sigma falls", fontsize=10)
    return fig, dict(density=density, legend=legend, velocity=velocity, legend_v=legend_v,
                     title=ax_d.title)


def plot_pf_ode(sigma=1.0, *, mixture, eps_fn=None):
    """The probability-flow ODE on the 1-D mixture at noise level ``sigma``.

    Left: the exact density of xbar = x_0 + sigma eps (the mixture with each variance grown by
    sigma^2). Right: the ODE's velocity d xbar / d sigma = eps(xbar / sqrt(1 + sigma^2),
    1 / (1 + sigma^2)), with the exact eps (``mixture.eps_at``) unless ``eps_fn`` is given.
    Integrating down from large sigma moves every point against this velocity.
    """
    sigma = positive_scalar("sigma", sigma)
    ab = alpha_bar_from_sigma(sigma)
    fig, p = live_figure(plot_pf_ode, (), _pf_frame)
    grid = np.linspace(-6, 6, 400)
    p["density"].set_data(grid, np.exp(mixture.log_prob_xbar(grid, sigma)))
    x = np.sqrt(ab) * grid[:, None]
    eps = mixture.eps_at(x, ab) if eps_fn is None else eps_fn(x, ab)
    p["velocity"].set_data(grid, np.ravel(eps))
    p["title"].set_text(f"sigma = {sigma:.3g}  (alpha_bar = {ab:.3g})")
    return fig


def _few_step_frame():
    fig, ax = new_figure(1, width=5.4, height=3.2)
    box = ax.get_position()                          # room for a two-line title
    ax.set_position([box.x0, box.y0, box.width, 1 - 0.55 / 3.2 - box.y0])
    edges = np.linspace(*X_RANGE, 61)
    # the colours of plot_nfe_curves' first two curves: Euler C0, Heun C1
    euler = ax.stairs(np.zeros(60), edges, color="C0", lw=1.4, label="Euler (= DDIM)")
    heun = ax.stairs(np.zeros(60), edges, color="C1", lw=1.4, label="Heun")
    data, = ax.plot([], [], color="k", lw=1, label="data density")
    ax.set(xlim=X_RANGE, ylim=(0, 1.1), xlabel="$x_0$", ylabel="density")
    legend = ax.legend(fontsize=7, loc="upper left")
    return fig, dict(euler=euler, heun=heun, data=data, legend=legend, title=ax.title)


def plot_few_step(nfe=8, *, eps_fn, mixture, held_out, n=1000, rng=None):
    """Samples of the probability-flow ODE with ``nfe`` network evaluations, Euler against Heun
    from the same starting points, over the data density; the title gives each one's
    Wasserstein-1 distance to ``held_out`` (shape (m, 1), or its
    ``helpers.metrics.prepare_reference``), and the share of each solver's samples that fall
    outside the axis."""
    nfe = count("nfe", nfe)
    fig, p = live_figure(plot_few_step, (), _few_step_frame)
    grid = np.linspace(*X_RANGE, 400)
    p["data"].set_data(grid, np.exp(mixture.log_prob(grid)))
    w, off = {}, {}
    for solver in ("euler", "heun"):
        x = pf_ode_sample(eps_fn, n, nfe=nfe, solver=solver, rng=rng)
        heights, edges = _density(x, bins=60)
        p[solver].set_data(heights, edges)
        w[solver] = wasserstein_1(x, held_out)
        off[solver] = np.mean((x < X_RANGE[0]) | (x > X_RANGE[1]))
    p["title"].set_text(f"{nfe} evaluations:  W1 Euler {w['euler']:.3f},  Heun {w['heun']:.3f}\n"
                        f"outside the axis: Euler {off['euler']:.1%},  Heun {off['heun']:.1%}")
    return fig


@keyword_only(2, ("floor", "ylabel", "yscale"))
def plot_nfe_curves(nfe, curves, *, floor=None, ylabel="$W_1$ to held-out data", yscale="log"):
    """Curves against the number of network evaluations (log axis), e.g. W1 or a likelihood
    error; ``curves`` maps a label to (values, standard errors or None)."""
    fig, ax = new_figure(1, width=5.0, height=3.2)
    markers = "osD^v"
    for i, (label, (values, errors)) in enumerate(curves.items()):
        ax.errorbar(nfe, values, yerr=errors, marker=markers[i % 5], ms=4, color=f"C{i}",
                    capsize=2, label=label)
    if floor is not None:
        ax.axhline(floor, color="0.4", ls=":", label="floor: two data samples")
    ax.set(xscale="log", yscale=yscale, xlabel="network evaluations (NFE)", ylabel=ylabel)
    ax.minorticks_off()
    ax.set_xticks(list(nfe), [str(v) for v in nfe])
    ax.legend(fontsize=7, loc="upper right")
    return fig


def plot_call_levels(calls, *, band=None, band_label=None):
    """Where each sampler spends its network calls: one row per sampler, one dot per call, at
    the noise level sigma of that call (log axis; sigma = 0 drawn at the left edge).

    ``calls`` maps a label to the sigmas of its calls, in order; ``band`` = (lo, hi) shades the
    range of sigma where the data take their shape, named by ``band_label``.
    """
    if not calls:
        raise ValueError("calls must map at least one sampler's label to its sigmas, got {}")
    levels = {}
    for label, sigmas in calls.items():
        s = np.asarray(sigmas, dtype=np.float64).ravel()
        if s.size == 0 or not np.isfinite(s).all() or (s < 0).any():
            raise ValueError(f"calls[{label!r}] must be finite sigmas >= 0, got {sigmas!r}")
        levels[label] = s
    top = max(s.max() for s in levels.values())
    floor = min([s[s > 0].min() for s in levels.values() if (s > 0).any()] + [top]) / 3
    fig, ax = new_figure(1, width=6.4, height=0.5 * len(levels) + 1.3)
    if band is not None:
        lo, hi = (positive_scalar("band", b) for b in band)
        ax.axvspan(lo, hi, color="C2", alpha=0.15, label=band_label)
    for row, (label, s) in enumerate(levels.items()):
        y = len(levels) - 1 - row
        ax.plot(np.maximum(s, floor), np.full(s.size, y), "o", color=f"C{row}", ms=5, alpha=0.7)
        ax.annotate(f"{s.size} calls", (top * 1.3, y), va="center", fontsize=8)
    ax.set(xscale="log", xlim=(floor / 1.5, top * 4), ylim=(-0.7, len(levels) - 0.3),
           xlabel="noise level $\\sigma$ of each network call (log scale)",
           title="where the calls go")
    ax.set_yticks(range(len(levels))[::-1], list(levels), fontsize=8)
    if band is not None:
        ax.legend(fontsize=7, loc="lower left")
    box, left = ax.get_position(), 2.3 / fig.get_figwidth()    # room for the row labels
    ax.set_position([left, box.y0, 0.97 - left, box.height])
    return fig
