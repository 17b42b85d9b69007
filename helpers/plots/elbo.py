"""Figures for notebook 03: the model drawn, eq. 2.4's gap, eq. 2.5's two terms, mean field.

The maths is in ``helpers.elbo`` and ``helpers.linear_gaussian`` (every curve here is a closed
form of the exact linear-Gaussian model). Each figure is a plain function returning a Figure;
``plot_elbo_gap`` is fast enough for a slider.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_float_array, positive, positive_scalar
from ..gaussian import diag_gaussian_log_pdf, gaussian_kl, gaussian_log_pdf
from ..sampling import normal_pdf
from .figure import new_figure
from .live import live_figure

__all__ = ["plot_graphical_model", "plot_elbo_gap", "plot_elbo_terms", "plot_mean_field",
           "plot_subgoals"]


def plot_graphical_model():
    """Our drawing of the latent-variable model (replaces the article's borrowed Figure 1).

    z ~ p(z) = N(0, I) generates x through the decoder p_theta(x|z); the encoder q_phi(z|x)
    goes back from x to z and approximates the exact posterior p_theta(z|x).
    """
    from matplotlib.patches import Circle, FancyArrowPatch

    fig, ax = new_figure(width=7.0, height=3.5)
    ax.set_position([0.0, 0.0, 1.0, 1.0])  # a drawing, not a chart: use the whole figure
    ax.set(xlim=(0, 10), ylim=(0, 5), aspect="equal")
    ax.axis("off")
    z_xy, x_xy, r = (2.3, 2.6), (7.7, 2.6), 0.62
    ax.add_patch(Circle(z_xy, r, fc="white", ec="black", lw=1.6))
    ax.add_patch(Circle(x_xy, r, fc="0.8", ec="black", lw=1.6))
    ax.text(*z_xy, "z", ha="center", va="center", fontsize=20, style="italic")
    ax.text(*x_xy, "x", ha="center", va="center", fontsize=20, style="italic")
    ax.text(z_xy[0], z_xy[1] + 1.05, "latent\n$p(z) = N(0, I)$", ha="center", va="bottom",
            fontsize=10)
    ax.text(x_xy[0], x_xy[1] + 1.05, "observed (shaded)", ha="center", va="bottom",
            fontsize=10)

    def arrow(start, end, rad, style, color, label, label_xy):
        ax.add_patch(FancyArrowPatch(start, end, connectionstyle=f"arc3,rad={rad}",
                                     arrowstyle="-|>", mutation_scale=18, lw=1.8,
                                     linestyle=style, color=color))
        ax.text(*label_xy, label, ha="center", va="center", fontsize=10, color=color)

    arrow((z_xy[0] + r, z_xy[1] + 0.15), (x_xy[0] - r, x_xy[1] + 0.15), -0.25, "-", "C0",
          "decoder $p_\\theta(x \\mid z)$\n(generative model, parameters $\\theta$)", (5.0, 4.05))
    arrow((x_xy[0] - r, x_xy[1] - 0.15), (z_xy[0] + r, z_xy[1] - 0.15), -0.25, "--", "C3",
          "encoder $q_\\phi(z \\mid x)$  (parameters $\\phi$)", (5.0, 1.55))
    arrow((x_xy[0] - 0.3, x_xy[1] - r), (z_xy[0] + 0.3, z_xy[1] - r), -0.45, ":", "0.35",
          "exact posterior $p_\\theta(z \\mid x)$: $q_\\phi$ approximates it", (5.0, 0.35))
    return fig


def _q_grid_check_k1(model):
    if model.z_dim != 1:
        raise ValueError(f"this plot needs a model with k = 1 latent dimension, got k = {model.z_dim}")


def plot_elbo_gap(mu=0.0, sigma=1.0, *, model, x, mu_lim=(-3.0, 3.0), sigma_lim=(0.02, 2.0)):
    """Eq. 2.4 as a picture, for a k = 1 model and one x, with q = N(mu, sigma^2).

    Left: log p(x) (flat in q), the ELBO as a function of q's mean at the current sigma, and the
    gap between them, which is KL(q || p(z|x)); the current q is marked. Right: the density of q
    over the exact posterior p(z|x). Closed forms only, and in a slider panel the figure is built
    once and its moving parts updated in place (``helpers.plots.live``).
    """
    _q_grid_check_k1(model)
    mu = float(as_float_array("mu", mu))
    sigma = positive_scalar("sigma", sigma)
    x = model.as_x(x)
    log_px = float(model.log_evidence(x))
    post_mean, post_cov = model.posterior(x)
    pm, ps = float(post_mean[0]), float(np.sqrt(post_cov[0, 0]))

    mus = np.linspace(*mu_lim, 241)
    elbo_curve = model.elbo(x, mus[:, None], np.full((mus.size, 1), sigma))
    elbo_now = float(model.elbo(x, [mu], [sigma]))
    gap = log_px - elbo_now
    zs = np.linspace(*mu_lim, 600)
    post, q = normal_pdf(zs, pm, ps), normal_pdf(zs, mu, sigma)  # eq. 1.1

    fig, p = live_figure(plot_elbo_gap, (), _elbo_gap_frame)
    ax_b, ax_q = fig.axes
    p["log_px"].set_ydata([log_px, log_px])
    p["elbo"].set_data(mus, elbo_curve)
    p["gap_fill"].set_data(mus, elbo_curve, log_px)
    p["gap_bar"].set_data([mu, mu], [elbo_now, log_px])
    p["q_mark"].set_data([mu], [elbo_now])
    p["legend_b"].get_texts()[1].set_text(f"ELBO, q's sigma = {sigma:.2g}")
    # a band above the flat log p(x) holds the key, clear of the ELBO at every q
    ax_b.set(xlim=mu_lim, ylim=(log_px - 12.0, log_px + 4.0),
             title=f"ELBO {elbo_now:.3g}, gap {gap:.3g}")
    p["post"].set_data(zs, post, 0)
    p["q"].set_data(zs, q)
    ax_q.set(xlim=mu_lim, ylim=(0, 1.15 * max(post.max(), min(q.max(), 3 * post.max()))),
             title=f"q = N({mu:.2g}, {sigma:.2g}$^2$), posterior N({pm:.2g}, {ps:.2g}$^2$)")
    return fig


def _elbo_gap_frame():
    """The figure of ``plot_elbo_gap`` with empty curves (the frame a slider keeps)."""
    fig, (ax_b, ax_q) = new_figure(2)
    log_px = ax_b.axhline(0.0, color="black", lw=1.6, label="log p(x), flat in q")
    elbo, = ax_b.plot([], [], color="C0", label="ELBO")
    gap_fill = ax_b.fill_between([0.0, 0.0], 0.0, 0.0, color="C3", alpha=0.15,
                                 label="gap = KL(q || p(z|x))")
    gap_bar, = ax_b.plot([], [], color="C3", lw=2.5)
    q_mark, = ax_b.plot([], [], "o", color="C0")
    ax_b.set(xlabel=r"$q$'s mean $\mu$", ylabel="nats")
    legend_b = ax_b.legend(loc="upper center", fontsize=7, framealpha=0.9, ncol=2)
    post = ax_q.fill_between([0.0, 0.0], 0.0, color="0.6", alpha=0.5, label="exact posterior p(z|x)")
    q, = ax_q.plot([], [], color="C3", label="q(z|x)")
    ax_q.set(xlabel="$z$", ylabel="density")
    legend_q = ax_q.legend(loc="upper left", fontsize=8)
    parts = dict(log_px=log_px, elbo=elbo, gap_fill=gap_fill, gap_bar=gap_bar, q_mark=q_mark,
                 legend_b=legend_b, title_b=ax_b.title, post=post, q=q, legend_q=legend_q,
                 title_q=ax_q.title, density_axis=ax_q.yaxis)
    return fig, parts


def plot_elbo_terms(model, x, *, sigma_lim=(0.02, 2.0)):
    """Eq. 2.5: reconstruction and prior matching as q changes (k = 1 model, one x).

    Left: moving q's mean at the posterior's sigma, zoomed on the three peaks, each curve drawn
    relative to its own maximum: prior matching peaks at 0, reconstruction at the least-squares
    z_LS = W^T (x - b) / W^T W, and the ELBO at the posterior mean, a weighted average of the two.
    Right: moving q's sigma at the posterior mean (log scale), in nats. The ELBO is the
    reconstruction minus the prior matching; its maximum is the posterior.
    """
    _q_grid_check_k1(model)
    x = model.as_x(x)
    post_mean, post_cov = model.posterior(x)
    pm, ps = float(post_mean[0]), float(np.sqrt(post_cov[0, 0]))
    log_px = float(model.log_evidence(x))
    w = np.asarray(model.W, dtype=float)[:, 0]
    z_ls = float(w @ (x - np.asarray(model.b, dtype=float))) / float(w @ w)

    def terms(m, s):
        elbo = model.elbo(x, m[:, None], s[:, None])
        kl = gaussian_kl(m[:, None], s[:, None])
        return elbo + kl, kl, elbo

    fig, (ax_m, ax_s) = new_figure(2)
    # left: a window around 0 and z_LS, wide enough to show each parabola bend
    lo, hi = min(0.0, z_ls, pm), max(0.0, z_ls, pm)
    pad = 0.6 * max(hi - lo, 0.1)
    mus = np.linspace(lo - pad, hi + pad, 241)
    rec, kl, elbo = terms(mus, np.full(mus.size, ps))
    curves = [(rec, "C0", 1.5, f"reconstruction: peak at $z_{{LS}}$ = {z_ls:.3f}"),
              (-kl, "C2", 1.5, "$-$KL$(q\\,\\|\\,p(z))$: peak at 0"),
              (elbo, "black", 2.0, f"ELBO: peak at the posterior mean {pm:.3f}")]
    for (curve, color, lw, label), peak in zip(curves, (z_ls, 0.0, pm)):
        ax_m.plot(mus, curve - curve.max(), color=color, lw=lw, label=label)
        ax_m.axvline(peak, color=color, ls="--", lw=1)
    # down far enough to show where each curve sits at the other two peaks, and room for the key
    drop = max(float(c.max() - np.interp(p, mus, c)) for c, *_ in curves for p in (z_ls, 0.0, pm))
    ax_m.get_gridspec().update(left=0.8 / fig.get_figwidth())  # room for ticks like -0.05
    for ax in (ax_m, ax_s):
        ax.set_position(ax.get_subplotspec().get_position(fig))
    ax_m.set(xlim=(mus[0], mus[-1]), ylim=(-1.35 * drop, 0.55 * drop),
             xlabel=r"$q$'s mean $\mu$  ($\sigma$ at the posterior's)",
             ylabel="nats below each curve's peak", title="moving the mean: where each term peaks")
    ax_m.legend(loc="upper center", fontsize=6.5, framealpha=0.9)

    sigmas = np.geomspace(*sigma_lim, 241)
    rec, kl, elbo = terms(np.full(sigmas.size, pm), sigmas)
    ax_s.plot(sigmas, rec, color="C0", label=r"reconstruction $E_q[\log p(x|z)]$")
    ax_s.plot(sigmas, -kl, color="C2", label=r"minus prior matching $-\mathrm{KL}(q\,\|\,p(z))$")
    ax_s.plot(sigmas, elbo, color="black", lw=2, label="ELBO = sum")
    ax_s.axhline(log_px, color="black", ls=":", lw=1, label=r"$\log p(x)$")
    ax_s.axvline(ps, color="0.5", ls="--", lw=1)
    ax_s.set(xscale="log", ylim=(log_px - 10.0, max(float(rec.max()), float(-kl.min()), log_px) + 1.0),
             ylabel="nats", xlabel=r"$q$'s $\sigma$  (mean at the posterior's)",
             title=r"moving $\sigma$")
    ax_s.legend(loc="lower left", fontsize=6.5)
    return fig


def plot_mean_field(model, x, q_mean, q_std, *, path=None, title=None):
    """A k = 2 posterior's contours with q's contours over them (and a gradient-ascent path)."""
    if model.z_dim != 2:
        raise ValueError(f"this plot needs a model with k = 2, got k = {model.z_dim}")
    x = model.as_x(x)
    q_mean, q_std = as_float_array("q_mean", q_mean), positive("q_std", q_std)
    mean, cov = model.posterior(x)
    half = 3.5 * np.sqrt(np.max(np.diag(cov)))
    g1 = np.linspace(mean[0] - half, mean[0] + half, 161)
    g2 = np.linspace(mean[1] - half, mean[1] + half, 161)
    zz = np.stack(np.meshgrid(g1, g2), axis=-1)
    log_post = gaussian_log_pdf(zz, mean, cov)
    log_q = diag_gaussian_log_pdf(zz, q_mean, q_std)
    levels = np.array([-4.5, -2.0, -0.5])  # 3, 2 and 1 standard-deviation ellipses
    fig, ax = new_figure(width=4.4, height=4.0)
    ax.contourf(g1, g2, log_post - log_post.max(), levels=np.r_[levels, 0.01], cmap="Greys",
                alpha=0.6)
    ax.contour(g1, g2, log_q - log_q.max(), levels=levels, colors="C3", linewidths=1.4,
               linestyles="solid")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color="0.55", alpha=0.6, label="exact posterior p(z|x)"),
               Line2D([], [], color="C3", lw=1.4, label="diagonal q(z|x)")]
    if path is not None:
        path = np.asarray(path)
        handles += ax.plot(path[:, 0], path[:, 1], ".-", color="C0", ms=3, lw=1,
                           label="gradient ascent on q's mean")
    ax.plot(*mean, "k+", ms=10)
    ax.legend(handles=handles, loc="upper right", fontsize=7,
              title="contours: 1, 2, 3 sd ellipses", title_fontsize=7)
    ax.set(aspect="equal", xlabel="$z_1$", ylabel="$z_2$",
           title=title or "exact posterior and a diagonal q")
    return fig


def plot_subgoals(history):
    """The two sub-goals over alternating phi and theta steps (from ``alternate_phi_theta``)."""
    ev, el, phase = history.evidence, history.elbo, history.phase
    steps = np.arange(ev.size)
    fig, (ax, ax_gap) = new_figure(2, width=4.6)
    for a in (ax, ax_gap):
        start = None
        for i in range(1, steps.size + 1):
            is_theta = i < steps.size and phase[i] == "theta"
            if is_theta and start is None:
                start = i - 1
            if not is_theta and start is not None:
                a.axvspan(start, i - 1, color="C1", alpha=0.12, lw=0)
                start = None
    ax.plot(steps, ev, color="black", lw=2, label="exact log p(x) (mean over data)")
    ax.plot(steps, el, color="C0", label="ELBO (mean over data)")
    # room below the lowest evidence for the end of the first phi phase; the ELBO's very first
    # values (far below) are cut off, and the figure says so
    span = ev.max() - ev.min()
    lo = ev.min() - 0.25 * span
    if el.min() < lo:
        ax.annotate(f"ELBO starts at {el[0]:.3g} (below the axis)", (0, lo), xytext=(3, 4),
                    textcoords="offset points", fontsize=7, color="C0")
    ax.set(ylim=(lo, ev.max() + 0.1 * span), xlabel="step",
           ylabel="nats per data point", title="white: phi steps, orange: theta steps")
    ax.legend(loc="lower right", fontsize=8)
    ax_gap.semilogy(steps, np.maximum(ev - el, 1e-12), color="C3")
    ax_gap.set(xlabel="step", ylabel="gap = log p(x) - ELBO (nats)",
               title="phi steps close the gap, theta steps reopen it")
    return fig
