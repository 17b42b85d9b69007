"""Figures for notebook 05 (diffusion as a chain of latents; maths in ``helpers.diffusion``).

Each is a plain function returning a Figure. The three slider figures (``plot_forward_process``,
``plot_sampler_steps``, ``plot_reverse_step``) build their frame once per panel through
``helpers.plots.live`` and then only move their data.
"""

from __future__ import annotations

import numpy as np

from .._checks import count
from .._deprecated import keyword_only
from ..diffusion import ddim_sample, ddpm_sample
from ..metrics import wasserstein_1
from ..sampling import normal_pdf
from .figure import new_figure
from .live import live_figure

__all__ = ["plot_forward_process", "plot_forward_strip", "plot_schedules", "plot_elbo_per_step",
           "plot_eps_fit", "plot_w1_vs_steps", "plot_sampler_steps", "plot_reverse_step",
           "plot_moons"]

X_RANGE = (-4.0, 4.0)  # the 1-D mixture and N(0, 1) both live well inside this window
MOONS_LIM = (-4.0, 4.0)  # the moons span about -2.4..3.6; N(0, I) stays inside too


def _step(name, t, T):
    t = count(name, t)
    if t > T:
        raise ValueError(f"{name} must lie in 1..{T}, got {t!r}")
    return t


def _density(x, bins=80, range_=X_RANGE):
    """Histogram heights normalised by every sample (so the area outside the window is lost)."""
    counts, edges = np.histogram(np.ravel(x), bins=bins, range=range_)
    return counts / (np.size(x) * np.diff(edges)), edges


def _forward_frame():
    fig, (ax1, ax2) = new_figure(2, width=4.0, height=3.0)
    hist = ax1.stairs(np.zeros(80), np.linspace(*X_RANGE, 81), fill=True, color="C0", alpha=0.45,
                      label="$x_t$ samples (chain)")
    exact, = ax1.plot([], [], color="C3", label="exact q(x_t)")
    # drawn above the histogram, so it moves with it (a static line would end up beneath)
    normal, = ax1.plot([], [], color="k", ls=":", lw=1, label="N(0, 1)")
    ax1.set(xlim=X_RANGE, ylim=(0, 1.0), xlabel="$x_t$", ylabel="density")
    legend = ax1.legend(loc="upper right", fontsize=7)
    dots = ax2.scatter(np.zeros(1), np.zeros(1), s=3, alpha=0.5, color="C0", label="$x_t$")
    ax2.set(xlim=MOONS_LIM, ylim=MOONS_LIM, xlabel="first coordinate", ylabel="second coordinate",
            aspect="equal", title="two moons")
    return fig, dict(hist=hist, exact=exact, normal=normal, legend=legend, dots=dots,
                     title=ax1.title)


def plot_forward_process(t=1, *, schedule, x0_1d, noise_1d, x0_2d, noise_2d, mixture):
    """The forward chain at step t, by the closed form x_t = sqrt(alpha_bar_t) x_0 +
    sqrt(1 - alpha_bar_t) eps with fixed noise eps, so a t slider moves the same points.

    Left: the 1-D mixture's x_t as a histogram over its exact density ``mixture.marginal``.
    Right: two-moons points at the same t.
    """
    t = _step("t", t, schedule.T)
    ab = schedule.alpha_bar[t - 1]
    x1, x2 = schedule.noised(x0_1d, t, noise_1d), schedule.noised(x0_2d, t, noise_2d)
    fig, p = live_figure(plot_forward_process, (), _forward_frame)
    heights, edges = _density(x1)
    p["hist"].set_data(heights, edges)
    grid = np.linspace(*X_RANGE, 400)
    p["exact"].set_data(grid, np.exp(mixture.marginal(ab).log_prob(grid)))
    p["normal"].set_data(grid, normal_pdf(grid))
    p["dots"].set_offsets(x2)
    p["title"].set_text(f"t = {t} of {schedule.T}:  ᾱ = {ab:.3f}")  # plain text: quick to redraw
    return fig


def plot_forward_strip(ts, *, schedule, x0_1d, noise_1d, x0_2d, noise_2d, mixture):
    """A strip of the forward process at the steps ``ts``: the mixture (top), two moons (bottom)."""
    ts = [_step("ts", t, schedule.T) for t in ts]
    fig, axes = new_figure(len(ts), 2, width=2.3, height=2.2)
    grid = np.linspace(*X_RANGE, 300)
    for j, t in enumerate(ts):
        ab = schedule.alpha_bar[t - 1]
        x1, x2 = schedule.noised(x0_1d, t, noise_1d), schedule.noised(x0_2d, t, noise_2d)
        heights, edges = _density(x1, bins=60)
        top, bottom = axes[0, j], axes[1, j]
        top.stairs(heights, edges, fill=True, color="C0", alpha=0.45, label="samples")
        top.plot(grid, np.exp(mixture.marginal(ab).log_prob(grid)), color="C3", lw=1,
                 label="exact")
        top.set(xlim=X_RANGE, ylim=(0, 1.0))
        top.set_title(rf"$t$ = {t}, $\bar\alpha_t$ = {ab:.2f}", fontsize=9)
        bottom.scatter(x2[:, 0], x2[:, 1], s=1, alpha=0.4, color="C0")
        bottom.set(xlim=MOONS_LIM, ylim=MOONS_LIM, aspect="equal", xlabel="first coordinate")
        if j:
            top.set_yticklabels([])
            bottom.set_yticklabels([])
    axes[0, 0].set_ylabel("density")
    axes[0, 0].legend(loc="upper left", fontsize=7)
    axes[1, 0].set_ylabel("second coordinate")
    return fig


def plot_schedules(schedules):
    """alpha_bar_t against t / T (left) and beta_t on a log axis (right), one line a schedule.

    ``schedules`` maps a label to a ``NoiseSchedule``. Every other line is dashed and drawn
    thinner on top, so that two schedules that coincide (the cosine one at two T, say) both show.
    """
    fig, (ax1, ax2) = new_figure(2, width=4.2, height=3.0)
    for i, (label, s) in enumerate(schedules.items()):
        frac = np.arange(1, s.T + 1) / s.T
        style = dict(color=f"C{i}", lw=2.4 if i % 2 == 0 else 1.2, ls="-" if i % 2 == 0 else "--",
                     label=label)
        ax1.plot(frac, s.alpha_bar, **style)
        ax2.plot(frac, s.betas, **style)
    ax1.set(xlabel="$t / T$", ylabel=r"$\bar\alpha_t$", ylim=(0, 1.02), title="signal kept")
    ax2.set(xlabel="$t / T$", ylabel=r"$\beta_t$", yscale="log", title="noise added per step")
    ax1.legend(fontsize=7, loc="lower left")
    return fig


@keyword_only(2, ("title",))
def plot_elbo_per_step(per_step, prior, *, title="the ELBO's terms per step"):
    """Each step's share of -ELBO, averaged over the data, one line per series on log-log axes;
    with two or more series, a second panel shows where they differ.

    ``per_step`` maps a label to an array (T,) of mean terms: entry 0 is L_0 = -log p(x_0|x_1)
    (which can be negative, shown in the legend), entries t-1 >= 1 the KL terms L_{t-1}.
    ``prior`` maps the same labels to L_T. The second panel is the running sum over steps
    1..t of each later series minus the first: the curve's end is their whole difference in
    -ELBO (but for L_T), and where it rises is where that difference comes from. Both panels
    share a log step axis, which spreads out the first steps, where series usually differ.
    Labels and the title may use the plain names "eps*", "eps_theta", "beta_tilde".
    """
    labels = list(per_step)
    n_panels = 1 if len(labels) == 1 else 2
    height = 3.3
    fig, axes = new_figure(n_panels, width=7.0 if n_panels == 1 else 4.6, height=height)
    axes = np.atleast_1d(axes)
    ax = axes[0]
    n_steps = np.asarray(per_step[labels[0]]).size
    styles = ("-", "--", ":", "-.")
    for i, label in enumerate(labels):
        terms = np.asarray(per_step[label])
        t = np.arange(2, terms.size + 1)
        # lines, not bars: T bars side by side hide the few steps where the series part
        ax.plot(t, terms[1:], color=f"C{i}", lw=2.2 - 0.6 * i, ls=styles[i % 4],
                label=f"{_math_label(label)}: $L_0$ = {terms[0]:.2f}, $L_T$ = {prior[label]:.3f}")
    ax.set(xscale="log", yscale="log", xlabel="step $t$ (log scale)",
           ylabel="$L_{t-1}$ (nats, mean over data)", xlim=(1, n_steps * 1.1))
    ax.legend(fontsize=8, loc="lower left")
    if n_panels == 1:
        ax.set_title(_math_label(title))
        return fig
    ax.set_title("each step's term $L_{t-1}$", fontsize=10)
    ax = axes[1]
    first = np.asarray(per_step[labels[0]])
    for i, label in enumerate(labels[1:], start=1):
        diff = np.cumsum(np.asarray(per_step[label]) - first)  # sum over steps 1..t
        ax.plot(np.arange(1, diff.size + 1), diff, color=f"C{i}", lw=2,
                label=f"{_math_label(label)} minus {_math_label(labels[0])}: {diff[-1]:+.3f} in all")
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set(xscale="log", xlabel="step $t$ (log scale)", xlim=(1, n_steps * 1.1),
           ylabel="running sum of the difference (nats)")
    ax.set_title("where the difference builds up: steps 1..$t$", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    # the title over both panels, with room for it above theirs
    axes[0].get_gridspec().update(top=1 - 0.62 / height)
    for ax in axes:
        ax.set_position(ax.get_subplotspec().get_position(fig))
    fig.suptitle(_math_label(title), y=1 - 0.06 / height, va="top", fontsize=12)
    return fig


@keyword_only(4, ("grid",))
def plot_eps_fit(eps_model, mixture, schedule, ts, *, grid=None):
    """The learned eps_theta(x, t) against the exact eps*(x, t), one panel per step in ``ts``.

    The grey band is the density of x_t (scaled to the panel): where the data put their weight,
    the network is trained; far from it, it is not.
    """
    ts = [_step("ts", t, schedule.T) for t in ts]
    grid = np.linspace(*X_RANGE, 300) if grid is None else np.asarray(grid, dtype=float)
    fig, axes = new_figure(len(ts), width=2.6, height=2.6)
    for j, (ax, t) in enumerate(zip(np.atleast_1d(axes), ts)):
        ab = schedule.alpha_bar[t - 1]
        exact = mixture.eps_star(grid, t, schedule)
        learned = np.asarray(eps_model(grid[:, None], t))[:, 0]
        dens = np.exp(mixture.marginal(ab).log_prob(grid))
        ax.fill_between(grid, -3, -3 + 1.5 * dens / dens.max(), color="0.85", label="q(x_t)")
        ax.plot(grid, exact, color="k", lw=1.6, label=r"exact $\varepsilon^*$")
        ax.plot(grid, learned, color="C1", lw=1.2, ls="--", label=r"learned $\varepsilon_\theta$")
        ax.set(xlim=X_RANGE, ylim=(-3, 3), xlabel="$x_t$", title=f"$t$ = {t}")
        if j == 0:
            ax.set_ylabel("predicted noise")
            ax.legend(fontsize=7, loc="upper right")
        else:
            ax.set_yticklabels([])
    return fig


# The notebooks' plain-text names, as mathtext in legends: a label printed in a table reads
# "DDPM (beta_tilde), exact eps*"; the same label in a figure shows the symbols.
_SYMBOLS = (("eps_theta", r"$\varepsilon_\theta$"), ("eps*", r"$\varepsilon^*$"),
            ("beta_tilde", r"$\tilde\beta_t$"), ("(beta)", r"($\beta_t$)"))


def _math_label(text):
    for plain, math in _SYMBOLS:
        text = text.replace(plain, math)
    return text


def plot_w1_vs_steps(steps, curves, floor):
    """Wasserstein-1 distance to held-out data against the number of sampling steps (log-log).

    ``curves`` maps a label to an array of distances, one per entry of ``steps``; ``floor`` is
    the distance between two data samples of the same size (the best any sampler can show).
    """
    fig, ax = new_figure(1, width=5.0, height=3.2)
    markers = "osD^"
    for i, (label, w) in enumerate(curves.items()):
        ax.plot(steps, w, marker=markers[i % 4], ms=4, color=f"C{i}", label=_math_label(label))
    ax.axhline(floor, color="0.4", ls=":", label="floor: two data samples")
    ax.set(xscale="log", yscale="log", xlabel="sampling steps", ylabel="$W_1$ to held-out data")
    ax.set_xlim(steps[0] / 1.2, steps[-1] * 1.2)
    ax.minorticks_off()
    ax.set_xticks(list(steps), [str(s) for s in steps])  # ticks only where there are data
    lo, hi = ax.get_ylim()
    yt = [v for v in (0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0) if lo <= v <= hi]
    ax.set_yticks(yt, [f"{v:g}" for v in yt])
    ax.legend(fontsize=7, loc="upper right")
    return fig


def _sampler_frame(n_bins):
    fig, ax = new_figure(1, width=5.0, height=3.0)
    edges = np.linspace(*X_RANGE, n_bins + 1)
    ddpm = ax.stairs(np.zeros(n_bins), edges, color="C0", lw=1.4,
                     label=r"DDPM ($\sigma_t^2 = \tilde\beta_t$) samples")
    ddim = ax.stairs(np.zeros(n_bins), edges, color="C1", lw=1.4, label="DDIM samples")
    data, = ax.plot([], [], color="k", lw=1, label="data density")
    ax.set(xlim=X_RANGE, ylim=(0, 1.1), xlabel="$x_0$", ylabel="density")
    legend = ax.legend(fontsize=7, loc="upper left")
    return fig, dict(ddpm=ddpm, ddim=ddim, data=data, legend=legend, title=ax.title)


def plot_sampler_steps(steps=10, *, eps_model, schedule, mixture, held_out, n=2000, rng=None):
    """DDPM and DDIM samples after ``steps`` denoising steps, over the data density.

    The title gives each sampler's Wasserstein-1 distance to ``held_out`` (shape (m, 1)). DDPM
    uses ``ddpm_sample``'s default reverse variance, beta-tilde. One run: a single ``rng``.
    """
    steps = _step("steps", steps, schedule.T)
    fig, p = live_figure(plot_sampler_steps, (), lambda: _sampler_frame(60))
    grid = np.linspace(*X_RANGE, 400)
    p["data"].set_data(grid, np.exp(mixture.log_prob(grid)))
    samples = {"ddpm": ddpm_sample(eps_model, schedule, n, steps=steps, rng=rng),
               "ddim": ddim_sample(eps_model, schedule, n, steps=steps, rng=rng)}
    w = {}
    for name, x in samples.items():
        heights, edges = _density(x, bins=60)
        p[name].set_data(heights, edges)
        w[name] = wasserstein_1(x, held_out)
    p["title"].set_text(f"{steps} steps:  W₁ DDPM {w['ddpm']:.3f},  DDIM {w['ddim']:.3f}")
    return fig


def _reverse_frame(trajectory, n_paths):
    n_states = trajectory.shape[0]
    fig, (ax1, ax2) = new_figure(2, width=4.0, height=3.0)
    x_axis = np.arange(n_states)
    ax1.plot(x_axis, trajectory[:, :n_paths, 0], color="C0", lw=0.5, alpha=0.6)
    marker = ax1.axvline(0, color="C3", lw=1.2)
    ax1.set(xlim=(0, n_states - 1), ylim=X_RANGE, xlabel="denoising steps taken",
            ylabel="x", title=f"{n_paths} sample paths, $x_T$ to $x_0$")
    hist = ax2.stairs(np.zeros(60), np.linspace(*X_RANGE, 61), fill=True, color="C0",
                      alpha=0.45, label="samples now")
    data, = ax2.plot([], [], color="C3", lw=1, label="exact density of $x_t$ there")
    ax2.set(xlim=X_RANGE, ylim=(0, 1.1), xlabel="x", ylabel="density")
    legend = ax2.legend(fontsize=7, loc="upper left")
    return fig, dict(marker=marker, hist=hist, data=data, legend=legend, title=ax2.title)


def plot_reverse_step(step=0, *, trajectory, mixture, schedule, n_paths=40):
    """One state of a precomputed reverse trajectory (shape (T + 1, n, 1), x_T first, from all T
    steps of ``ddpm_sample``), over the exact density of the forward chain at the same step:
    after ``step`` denoising steps the samples should follow q(x_t), t = T - step.

    It only indexes ``trajectory``, so a slider over ``step`` never re-runs the sampler.
    """
    trajectory = np.asarray(trajectory)
    step = int(step)
    if not 0 <= step < trajectory.shape[0]:
        raise ValueError(f"step must lie in 0..{trajectory.shape[0] - 1}, got {step!r}")
    fig, p = live_figure(plot_reverse_step, (),
                         lambda: _reverse_frame(trajectory, min(n_paths, trajectory.shape[1])))
    p["marker"].set_xdata([step, step])
    heights, edges = _density(trajectory[step], bins=60)
    p["hist"].set_data(heights, edges)
    if trajectory.shape[0] != schedule.T + 1:
        raise ValueError(f"trajectory must hold the T + 1 = {schedule.T + 1} states of a full "
                         f"ddpm_sample run, got {trajectory.shape[0]}")
    t = schedule.T - step
    ab = 1.0 if t == 0 else schedule.alpha_bar[t - 1]  # x_0: the data themselves
    grid = np.linspace(*X_RANGE, 400)
    p["data"].set_data(grid, np.exp(mixture.marginal(ab).log_prob(grid)))
    p["title"].set_text(f"after {step} of {schedule.T} steps: $x_{{{t}}}$")
    return fig


def plot_moons(panels):
    """Scatter plots of 2-D point sets side by side; ``panels`` maps a title to an (n, 2) array."""
    fig, axes = new_figure(len(panels), width=3.0, height=3.0)
    for i, (ax, (title, x)) in enumerate(zip(np.atleast_1d(axes), panels.items())):
        x = np.asarray(x)
        ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.5, color=f"C{i}")
        ax.set(xlim=MOONS_LIM, ylim=MOONS_LIM, aspect="equal", title=title,
               xlabel="first coordinate")
        if i == 0:
            ax.set_ylabel("second coordinate")
        else:
            ax.set_yticklabels([])
    return fig
