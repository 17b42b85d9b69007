"""Figures for notebook 02: the naive estimate of eq. 2.3 and the decoder trained on it.

The maths is in ``helpers.evidence`` (the estimator), ``helpers.linear_gaussian`` (the exact
model the estimates are checked against) and ``helpers.naive_decoder`` (training curves). Each
figure is a plain function, so a slider and a test call the same code.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_float_array, count
from ..evidence import effective_sample_size, running_log_mean_exp
from ..linear_gaussian import LinearGaussian
from ..sampling import normal_pdf
from .figure import new_figure
from .live import live_figure, prepare_figure

__all__ = ["plot_naive_convergence", "plot_samples_needed", "plot_naive_estimate_2d",
           "plot_training_curves", "plot_naive_sweep", "plot_ess_during_training"]


ZOOM_HALF_WIDTH = 5.0  # the zoom's box: the posterior mean +- 5 s (s: its largest sd)
RUN_YLIM = (-25.0, 3.0)  # the running estimate's error, nats: fixed, so a slider moves no axis


def _log_spaced_indices(n, points=300):
    """About ``points`` indices 0..n-1, evenly spread on a log axis (for drawing long curves)."""
    return np.unique(np.round(np.logspace(0, np.log10(n), points)).astype(int) - 1)


def plot_naive_convergence(n_values, log_p_hat, exact, *, relative_variance=None):
    """Eq. 2.3's estimate against L: unbiased for p(x) (left), biased low for log p(x) (right).

    Parameters
    ----------
    n_values : array_like, shape (m,)
        The sample counts L.
    log_p_hat : array_like, shape (runs, m)
        log p_hat for each repeated run at each L.
    exact : float
        The exact log p(x).
    relative_variance : float, optional
        rho - 1 (``LinearGaussian.naive_relative_variance``); draws the large-L predictions
        +-sqrt((rho - 1) / L) (left) and the Jensen bias -(rho - 1) / (2L) (right).
    """
    n_values = np.asarray(n_values, dtype=float)
    err = as_float_array("log_p_hat", log_p_hat, allow_inf=True) - float(exact)
    ratio = np.exp(err)
    fig, (ax_p, ax_log) = new_figure(2, width=4.6)
    for ax, vals, ref, label in ((ax_p, ratio, 1.0, r"$\hat p(x) / p(x)$"),
                                 (ax_log, err, 0.0, r"$\log \hat p(x) - \log p(x)$ (nats)")):
        lo, hi = np.percentile(vals, [10, 90], axis=0)
        ax.fill_between(n_values, lo, hi, color="C0", alpha=0.25, label="10-90 % of runs")
        ax.plot(n_values, vals.mean(axis=0), "o-", color="C0", ms=3, label="mean over runs")
        ax.axhline(ref, color="k", lw=1, label="exact")
        ax.set(xscale="log", xlabel="$L$ (prior samples)", ylabel=label)
    if relative_variance is not None:
        nn = np.logspace(np.log10(n_values.min()), np.log10(n_values.max()), 100)
        ax_p.plot(nn, 1 + np.sqrt(relative_variance / nn), "--", color="C3", lw=1,
                  label=r"$1 \pm \sqrt{(\rho - 1)/L}$")
        ax_p.plot(nn, 1 - np.sqrt(relative_variance / nn), "--", color="C3", lw=1)
        ax_log.plot(nn, -relative_variance / (2 * nn), "--", color="C3", lw=1,
                    label=r"$-(\rho - 1)/(2L)$")
    ax_p.set(ylim=(-0.1, 3.0), title="unbiased for p(x)")
    ax_log.set(ylim=(min(-6.0, np.percentile(err[:, -1], 5) - 0.5), 1.0),
               title="biased low for log p(x) (Jensen)")
    ax_p.legend(fontsize=7)
    ax_log.legend(fontsize=7, loc="lower right")
    return fig


def plot_samples_needed(k_values, c_values, measured, exact, exp_kl, *, budget=None, rel_err=0.1):
    """Prior samples needed for a ``rel_err`` relative error, against the latent dimension k.

    ``measured`` and ``exact`` ((rho - 1) / rel_err^2) are arrays of shape
    (len(c_values), len(k_values)); NaN in ``measured`` means the measurement ran out of
    samples (drawn as a triangle at ``budget``, nudged sideways per c so none hides another).
    ``exp_kl`` (exp(KL(posterior || prior))) is drawn on the same footing as ``exact``, as
    (exp(KL) - 1) / rel_err^2: since rho = exp(Renyi-2 divergence) >= exp(KL), this dotted
    curve is a lower bound on the solid one.
    """
    fig, ax = new_figure(1, width=5.6, height=3.6)
    k_values = np.asarray(k_values)
    exp_kl = np.asarray(exp_kl, dtype=float)
    nudge = 0.12 * (np.arange(len(c_values)) - (len(c_values) - 1) / 2)
    for i, c in enumerate(c_values):
        col = f"C{i}"
        ax.plot(k_values, exact[i], "-", color=col,
                label=f"$c$ = {c:g}: exact $(\\rho - 1)/{rel_err:g}^2$")
        ax.plot(k_values, (exp_kl[i] - 1) / rel_err**2, ":", color=col, lw=2,
                label=f"$c$ = {c:g}: lower bound $(e^{{\\mathrm{{KL}}}} - 1)/{rel_err:g}^2$")
        ok = np.isfinite(measured[i])
        ax.plot(k_values[ok], measured[i][ok], "o", color=col, ms=6, mfc="none")
        if budget is not None and (~ok).any():
            ax.plot(k_values[~ok] + nudge[i], np.full((~ok).sum(), budget), "^", color=col, ms=5)
    ax.plot([], [], "o", color="grey", mfc="none", label="measured")
    if budget is not None:
        ax.axhline(budget, color="grey", lw=0.8, ls="--")
        ax.plot([], [], "^", color="grey", label=f"not measurable with our budget (> {budget:.0f})")
    ax.set_xticks(k_values)  # ticks only where there is data
    ax.set(yscale="log", xlabel="latent dimension k", ylabel=f"samples L for {rel_err:.0%} error",
           title="how many prior samples eq. 2.3 needs")
    ax.legend(fontsize=6, loc="upper left", ncol=1)
    return fig


def _ellipse(mean, cov, radius, n=100):
    t = np.linspace(0, 2 * np.pi, n)
    vals, vecs = np.linalg.eigh(cov)
    circle = np.stack([np.cos(t), np.sin(t)], axis=1) * np.sqrt(np.maximum(vals, 0)) * radius
    return mean + circle @ vecs.T


def plot_naive_estimate_2d(c=0.01, n_samples=1000, k=2, *, W, b, z_true, noise, z_pool):
    """Where eq. 2.3's prior samples land, and the running estimate, for the linear model.

    The observation is x = W[:, :k] z_true[:k] + b + sqrt(c) noise. Left: the first L prior
    samples (first two coordinates) and the posterior p(z | x) (ellipses at 1, 2, 3 sd). Middle:
    a zoom onto the posterior, the small region where p(x | z) is large (the box of half-width
    5 s around the posterior mean m, s the posterior's largest sd), with the samples coloured by
    their weight p(x | z_l) / max_l p(x | z_l); its axes are (z - m) / s, so they stay put while
    c and k move the posterior. For k = 1: prior and posterior densities, and a histogram of the
    weights. Right: the running log p_hat minus the exact log p(x) (printed in the panel), on a
    fixed axis; a red label gives the error when it falls off that axis (k = 8, small c).

    ``z_pool`` (shape (L_max, k_max)) holds the prior samples, drawn once; the sliders pick
    subsets, so a redraw only scores them; in a slider panel the figure is built once per layout
    (k = 1 or k >= 2) and its moving parts updated in place (``helpers.plots.live``).
    """
    k = count("k", k)
    z_pool = np.asarray(z_pool)
    W = np.asarray(W)
    if k > min(W.shape[1], z_pool.shape[1]):
        raise ValueError(f"k must be <= {min(W.shape[1], z_pool.shape[1])}, got {k!r}")
    n_float = float(as_float_array("n_samples", n_samples))  # a log slider gives floats
    if n_float < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples!r}")
    L = min(int(round(n_float)), len(z_pool))
    model = LinearGaussian(W[:, :k], b, c)
    x = model.W @ np.asarray(z_true)[:k] + model.b + np.sqrt(model.c) * np.asarray(noise)
    exact = model.log_evidence(x)
    ll = model.log_likelihood_of_pool(x, z_pool[:, :k])  # log p(x | z_l), fast enough for a slider
    running = running_log_mean_exp(ll)
    mean, cov = model.posterior(x)
    m2, c2 = mean[:2], cov[:2, :2] if k >= 2 else None

    w = np.exp(ll[:L] - ll[:L].max())
    ess = effective_sample_size(ll[:L])
    show = min(L, 3000)
    n_pool = len(z_pool)
    fig, p = live_figure(plot_naive_estimate_2d, (k >= 2, n_pool),
                         lambda: _naive_estimate_frame(k >= 2, n_pool))
    # the k slider switches layouts: the other one is rendered ahead, once per panel
    prepare_figure(plot_naive_estimate_2d, (k < 2, n_pool),
                   lambda: _naive_estimate_frame(k < 2, n_pool))
    ax_prior, ax_zoom, ax_run = fig.axes[:3]  # (a colorbar, if any, comes after)
    if k >= 2:
        sd = np.sqrt(np.max(np.linalg.eigvalsh(c2)))  # s: the zoom's unit
        for r, e1, e2 in zip((1, 2, 3), p["ellipses_prior"], p["ellipses_zoom"]):
            e = _ellipse(m2, c2, r)
            e1.set_data(e[:, 0], e[:, 1])
            e2.set_data((e[:, 0] - m2[0]) / sd, (e[:, 1] - m2[1]) / sd)
        p["prior_points"].set_offsets(z_pool[:show, :2])
        p["post_mean"].set_data(m2[:1], m2[1:2])
        half = ZOOM_HALF_WIDTH * sd
        inside = np.nonzero(np.all(np.abs(z_pool[:L, :2] - m2) < half, axis=1))[0]
        drawn = inside[:2000]
        p["zoom_points"].set_offsets((z_pool[drawn, :2] - m2) / sd)
        p["zoom_points"].set_array(w[drawn])
        p["box"].set_xy(tuple(m2 - half))
        p["box"].set_width(2 * half)
        p["box"].set_height(2 * half)
        p["zoom_title"].set_text(f"zoom, s = {sd:.2g}: {len(inside)} of the {L} samples")
        p["prior_title"].set_text(f"prior samples, posterior (k = {k})")
    else:
        zs = np.linspace(-4, 4, 400)
        post = normal_pdf(zs, mean[0], np.sqrt(cov[0, 0]))  # p(z | x), eq. 1.1
        p["posterior"].set_data(zs, post)
        p["rug"].set_data(z_pool[:show, 0], np.zeros(show))
        ax_prior.set_ylim(0, 1.05 * max(post.max(), normal_pdf(0.0)))  # as autoscaling
        counts, edges = np.histogram(np.log10(np.maximum(w, 1e-300)), bins=40, range=(-20, 0))
        p["weights"].set_data(counts, edges)
        ax_zoom.set_ylim(0, 1.05 * counts.max())
    idx = _log_spaced_indices(len(running))
    p["run_all"].set_data(idx + 1, running[idx] - exact)
    cur = idx[idx < L]
    p["run_now"].set_data(cur + 1, running[cur] - exact)
    p["exact_value"].set_text(f"log p(x) = {exact:.4g}")
    p["L_line"].set_xdata([L, L])
    # short enough for the panel at every L the slider offers (up to 1e5, ESS up to 1e4)
    error = running[L - 1] - exact
    ax_run.set_title(f"L = {L}: error {error:+.2f}, ESS {ess:.0f}", fontsize=10)
    # the axis is fixed (a slider moves no axis): say so when the error leaves it
    low, high = RUN_YLIM
    p["off_scale"].set_text("" if low <= error <= high else
                            f"{'↓' if error < low else '↑'} error {error:.0f}:\noff the scale")
    p["off_scale"].set_y(0.2 if error < low else 0.8)
    return fig


def _naive_estimate_frame(two_d, n_pool):
    """The figure of ``plot_naive_estimate_2d`` with empty artists (the frame a slider keeps)."""
    from matplotlib.ticker import MaxNLocator, NullLocator

    fig, (ax_prior, ax_zoom, ax_run) = new_figure(3, width=3.6, height=3.3)
    if two_d:
        parts = {name: [ax.plot([], [], color="C3", lw=1)[0] for _ in (1, 2, 3)]
                 for name, ax in (("ellipses_prior", ax_prior), ("ellipses_zoom", ax_zoom))}
        parts["prior_points"] = ax_prior.scatter(np.empty(0), np.empty(0), s=3, color="C0",
                                                 alpha=0.4, lw=0)
        parts["zoom_points"] = ax_zoom.scatter(np.empty(0), np.empty(0), s=18, c=np.empty(0),
                                               cmap="viridis", vmin=0, vmax=1, edgecolor="k",
                                               lw=0.3)
        parts["box"] = ax_prior.add_patch(_rectangle((0.0, 0.0), 1.0))
        # at small c the ellipses shrink below a pixel: a marker keeps the posterior visible
        parts["post_mean"], = ax_prior.plot([], [], "+", color="C3", ms=9, mew=1.5)
        handles = [ax_prior.scatter([], [], s=8, color="C0", label="prior samples z_l"),
                   ax_prior.plot([], [], color="C3", lw=1, marker="+",
                                 label="posterior (1, 2, 3 sd)")[0],
                   ax_prior.plot([], [], color="k", lw=0.8, label="zoomed region")[0]]
        # in parts, so it is drawn over the moving samples, as in a full render
        parts["legend_prior"] = ax_prior.legend(handles=handles, fontsize=6.5, loc="lower left",
                                                framealpha=0.9)
        cbar = fig.colorbar(parts["zoom_points"], ax=ax_zoom, fraction=0.06, pad=0.02,
                            ticks=[0, 0.5, 1])
        cbar.ax.tick_params(labelsize=7)
        cbar.set_label("weight / largest weight", fontsize=7, labelpad=2)
        # room for the colour bar's label before the next panel's y-label
        pos, dx = ax_run.get_position(), 0.3 / fig.get_figwidth()
        ax_run.set_position([pos.x0 + dx, pos.y0, pos.width - dx, pos.height])
        ax_zoom.set(xlabel="(z1 - m1) / s   (colour: weight p(x | z_l), over the largest)",
                    ylabel="(z2 - m2) / s", xlim=(-ZOOM_HALF_WIDTH, ZOOM_HALF_WIDTH),
                    ylim=(-ZOOM_HALF_WIDTH, ZOOM_HALF_WIDTH))
        ax_prior.set(xlim=(-4, 4), ylim=(-4, 4), xlabel="z1", ylabel="z2")
        parts.update(prior_title=ax_prior.title, zoom_title=ax_zoom.title)
    else:
        zs = np.linspace(-4, 4, 400)
        prior, = ax_prior.plot(zs, normal_pdf(zs), color="C0",
                               label="p(z)")
        posterior, = ax_prior.plot([], [], color="C3", label="p(z | x)")
        rug, = ax_prior.plot([], [], "|", color="C0", alpha=0.3)
        ax_prior.set(xlim=(-4, 4), xlabel="z", ylabel="density", title="prior and posterior (k = 1)")
        legend = ax_prior.legend(fontsize=7)
        weights = ax_zoom.stairs([0.0], [-20.0, 0.0], fill=True, color="C0")
        ax_zoom.set(xlim=(-20, 0), xlabel="log10(weight / largest weight)", ylabel="samples",
                    title="weights of the L samples")
        parts = dict(prior=prior, posterior=posterior, rug=rug, legend_prior=legend,
                     prior_y=ax_prior.yaxis, weights=weights, zoom_y=ax_zoom.yaxis)
    run_all, = ax_run.plot([], [], color="C0", alpha=0.3)
    run_now, = ax_run.plot([], [], color="C0", label="running log p_hat")
    zero = ax_run.axhline(0.0, color="k", lw=1, label="exact log p(x)")  # over the curves
    exact_value = ax_run.text(0.03, 0.97, "", transform=ax_run.transAxes, ha="left", va="top",
                              fontsize=7)
    L_line = ax_run.axvline(1.0, color="grey", ls=":", lw=1)
    off_scale = ax_run.text(0.03, 0.2, "", transform=ax_run.transAxes, ha="left", va="center",
                            fontsize=8, color="C3", fontweight="bold")
    ax_run.set_xscale("log")
    # Plain-text ticks: minor log ticks and mathtext labels cost most of a redraw.
    decades = 10.0 ** np.arange(0, int(np.log10(n_pool)) + 1)
    ax_run.set_xticks(decades, [f"{v:.0e}".replace("e+0", "e") if v >= 1e3 else f"{v:.0f}"
                                for v in decades])
    ax_run.xaxis.set_minor_locator(NullLocator())
    for ax in (ax_prior, ax_zoom, ax_run):
        ax.yaxis.set_major_locator(MaxNLocator(4))
    for ax in (ax_prior, ax_zoom):
        ax.xaxis.set_major_locator(MaxNLocator(4))
    ax_run.set(xlim=(1, n_pool), ylim=RUN_YLIM, xlabel="L (prior samples)",
               ylabel="log p_hat(x) - log p(x) (nats)")
    legend_run = ax_run.legend(fontsize=7, loc="lower right")  # over the curves: in parts
    parts.update(run_all=run_all, run_now=run_now, zero=zero, exact_value=exact_value,
                 L_line=L_line, legend_run=legend_run, run_title=ax_run.title,
                 off_scale=off_scale)
    return fig, parts


def _rectangle(corner, size):
    from matplotlib.patches import Rectangle

    return Rectangle(tuple(corner), size, size, fill=False, color="k", lw=0.8)


def plot_training_curves(results, *, window=25):
    """The training objective (minibatch mean of log p_hat, eq. 2.3) against the step, per run."""
    fig, ax = new_figure(1, width=5.0, height=3.2)
    for i, r in enumerate(results):
        curve = np.asarray(r.history)
        w = min(window, len(curve))
        smooth = np.convolve(curve, np.ones(w) / w, mode="valid")
        ax.plot(np.arange(len(curve)) + 1, curve, color=f"C{i}", alpha=0.2, lw=0.8)
        ax.plot(np.arange(w, len(curve) + 1), smooth, color=f"C{i}",
                label=f"k = {r.z_dim} (c = {r.c:g}, L = {r.settings['n_samples']})")
    ax.set(xlabel="training step", ylabel=r"naive $\log \hat p(x)$, nats per image",
           title="training on the naive estimate (eq. 2.3)")
    lo = min(np.percentile(r.history, 5) for r in results)
    hi = max(np.max(r.history) for r in results)
    ax.set_ylim(lo, hi + 0.05 * (hi - lo))
    ax.legend(fontsize=8, loc="lower right")
    return fig


def plot_naive_sweep(n_samples, estimates, *, grid=None):
    """A trained decoder's naive estimate of the held-out log-likelihood against L, one panel per k.

    Parameters
    ----------
    n_samples : array_like, shape (m,)
        The sample counts L of the sweep.
    estimates : dict
        k -> the mean naive estimate (nats per image) at each L (``decoder_log_evidence``).
    grid : dict, optional
        k -> a reference value for that k (the grid quadrature of a k = 2 decoder), drawn as a
        line.

    Each point is labelled with its value: these are one training run's numbers, and they move by
    a few tenths of a nat (k = 2) to about a nat (k = 8) between seeds and between CPUs
    (notebook 02, section 6).
    """
    n_samples = np.asarray(n_samples, dtype=float)
    grid = {} if grid is None else grid
    fig, axes = new_figure(len(estimates), width=3.8, height=3.2)
    axes = np.atleast_1d(axes)
    for ax in axes:   # room above the panels' titles for the figure's question
        box = ax.get_position()
        ax.set_position([box.x0, box.y0, box.width, box.height - 0.3 / fig.get_figheight()])
    for ax, (k, values) in zip(axes, estimates.items()):
        values = np.asarray(values, dtype=float)
        ax.plot(n_samples, values, "o-", color="C0", ms=4, label="naive estimate")
        for n, v in zip(n_samples, values):
            ax.annotate(f"{v:.2f}", (n, v), textcoords="offset points", xytext=(0, 7),
                        ha="center", fontsize=7, color="C0")
        lo, hi = values.min(), values.max()
        if k in grid:
            ax.axhline(grid[k], color="k", lw=1, ls="--", label="grid quadrature")
            lo, hi = min(lo, grid[k]), max(hi, grid[k])
        pad = max(0.15 * (hi - lo), 0.3)
        ax.set(xscale="log", xlabel="$L$ (prior samples)", ylim=(lo - pad, hi + 2 * pad),
               xlim=(n_samples.min() / 2.5, n_samples.max() * 2.5), title=f"k = {k}")
        ax.set_xticks(n_samples, [f"$2^{{{int(round(np.log2(n)))}}}$" for n in n_samples])
        ax.minorticks_off()
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("log-likelihood, nats per image")
    fig.suptitle("does the naive estimate settle as L grows?", fontsize=10, y=0.97)
    return fig


def plot_ess_during_training(steps, ess, *, n_samples):
    """The median effective sample size of a decoder's prior samples at points during training.

    Parameters
    ----------
    steps : array_like, shape (m,)
        Training steps at which the decoder was kept.
    ess : dict
        k -> median ESS over a batch of images at each step (``effective_sample_size``).
    n_samples : int
        L, the number of prior samples (the largest possible ESS).
    """
    steps = np.asarray(steps, dtype=float)
    fig, ax = new_figure(1, width=5.0, height=3.0)
    for i, (k, values) in enumerate(ess.items()):
        ax.plot(steps, values, "o-", color=f"C{i}", ms=4, label=f"k = {k}")
    ax.axhline(1, color="k", lw=1, ls=":", label="one sample takes all the weight")
    top = max(max(v) for v in ess.values())
    ax.set(xscale="log", yscale="log", ylim=(0.8, 2 * top), xlabel="training step",
           ylabel=f"median ESS of {n_samples} samples",
           title="a handful of prior samples carry each image's gradient")
    ax.set_xticks(steps, [f"{int(s)}" for s in steps])
    ax.minorticks_off()
    ticks = [t for t in (1, 2, 3, 5, 10, 20, 50, 100, 200) if t <= 2 * top]
    ax.set_yticks(ticks, [str(t) for t in ticks])
    ax.legend(fontsize=8, loc="upper right")
    return fig
