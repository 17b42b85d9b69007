# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · Scores, SDEs and the probability-flow ODE
#
# Companion to section 3 of the article *Principles of diffusion models*, continued. Notebook 05
# built a diffusion model as a VAE with a chain of latents (ELBO, eqs. 2.4-2.5). Papers since
# 2020 describe it in two more languages, **scores (分数)** and **differential equations**. This
# notebook translates between the three on notebook 05's mixture, where every answer is exact.
#
# **Question.** The network of notebook 05 predicts the noise. What else is it predicting, what
# can be done with it besides running the chain backwards, and what is its likelihood, exactly?
#
# **Learning goals.** After this notebook you can
# 1. convert a noise prediction into a score and into a prediction of $x_0$;
# 2. sample with a score alone (Langevin dynamics), measure its bias, and say why separated
#    modes need annealing;
# 3. write notebook 05's chain as a stochastic differential equation and its deterministic twin,
#    the **probability-flow ODE (概率流常微分方程)**, and check that DDIM is Euler's method on it;
# 4. compute a model's exact log-likelihood with that ODE, and set it beside the ELBO;
# 5. see flow matching as one more member of the family, and say which choices make a sampler
#    good with few network evaluations (NFE).
#
# **Reading time and map.** Core path, about 14 minutes to read and under a minute to run: §1
# three targets · §2 Langevin dynamics (slider) · §4 the probability-flow ODE (slider) · §5 an
# exact likelihood · §6 few-step sampling (slider) · §7 flow matching, where the calls go · §8
# summary, exercises. Optional, about 10 minutes more: §3 from the chain to an SDE, the "Going
# deeper" blocks.

# %%
# Set-up for Colab or any kernel without this project: install its `helpers` package, the
# release these outputs were made with. Locally (make lab) it is installed already: no-op.
import importlib, importlib.metadata, importlib.util, subprocess, sys
PROJECT, VERSION = "diffusion-principles-notebooks", "0.3.0"
REPOSITORY = "git+https://github.com/diffusion-principles/companion-notebooks.git"
try:
    import helpers
except ImportError:
    helpers = None
if getattr(helpers, "PROJECT", None) != PROJECT:  # missing, or another module called helpers
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    tag = f"{REPOSITORY}@v{VERSION}"  # the release's tag: tools/project.py release_tag()
    if subprocess.run(pip + [tag], capture_output=True, timeout=900).returncode:
        print(f"release v{VERSION} is not published yet: installing the newest helpers instead")
        subprocess.run(pip + [REPOSITORY], check=True, timeout=900)
    importlib.invalidate_caches()
    if "google.colab" in sys.modules:
        from google.colab import output
        output.enable_custom_widget_manager()
    sys.modules.pop("helpers", None)
    import helpers
    if getattr(helpers, "PROJECT", None) != PROJECT:  # a local helpers still comes first
        print(f"{helpers.__file__} hides this project's helpers: using the installed one")
        init = importlib.metadata.distribution(PROJECT).locate_file("helpers/__init__.py")
        spec = importlib.util.spec_from_file_location("helpers", init)
        helpers = sys.modules["helpers"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(helpers)
if helpers.__version__ != VERSION:
    print(f"These outputs were made with helpers {VERSION}; {helpers.__version__} is installed.")

# %%
import math
import time

import numpy as np

from helpers.bits import mean_and_se
from helpers.data import two_moons
from helpers.denoiser import train_eps_fn
from helpers.diffusion import (GaussianMixture1D, NoiseSchedule, ddim_trajectory, diffusion_elbo,
                               reverse_mean, timesteps)
from helpers.flow_matching import (euler_in_time, flow_clock_sample, flow_clock_times,
                                    midpoint_in_time, sigma_from_time, time_from_sigma,
                                    train_velocity, velocity_from_eps)
from helpers.metrics import prepare_reference, sliced_wasserstein_1, wasserstein_1
from helpers.noise_schedule import alpha_bar_from_sigma, cosine_alpha_bar, sigma_from_alpha_bar
from helpers.plots.diffusion import plot_moons
from helpers.plots.score import (plot_call_levels, plot_few_step, plot_langevin, plot_nfe_curves,
                                 plot_pf_ode)
from helpers.score import (karras_sigmas, langevin_sample, pf_ode_log_likelihood, pf_ode_sample,
                           pf_ode_velocity, score_from_eps)
from helpers.widgets import float_slider, int_slider, log_slider, slider_panel

notebook_start = time.perf_counter()

mixture = GaussianMixture1D(weights=[0.4, 0.3, 0.3], means=[-1.5, 0.5, 2.0], stds=[0.25, 0.25, 0.5])
x_train = mixture.sample(4000, rng=0)      # notebook 05's data and split
x_test = mixture.sample(4000, rng=1)
test_ref = prepare_reference(x_test)  # x_test sorted once: every W1 below compares with it

# %% [markdown]
# ## 1. Three things a network can predict
#
# **A noise prediction, a clean-point prediction and a score are one quantity in three units.**
# Write a noisy point at a continuous noise level $\bar\alpha \in (0, 1]$ as
# $x = \sqrt{\bar\alpha}\, x_0 + \sqrt{1 - \bar\alpha}\, \varepsilon$. Notebook 05's network
# predicted $\varepsilon$. Two other targets carry the same information (Luo 2022, §§ 3-4):
#
# - the clean point, $\mathbb{E}[x_0 \mid x]$;
# - the **score**, $\nabla_x \log p_{\bar\alpha}(x)$: the slope of the log-density of the noisy
#   data, pointing towards where they are denser.
#
# **Tweedie's formula** ties them together: for Gaussian noise,
#
# $$\mathbb{E}[\varepsilon \mid x] = -\sqrt{1 - \bar\alpha}\; \nabla_x \log p_{\bar\alpha}(x),
# \qquad \mathbb{E}[x_0 \mid x] = \frac{x + (1 - \bar\alpha)\, \nabla_x \log p_{\bar\alpha}(x)}{\sqrt{\bar\alpha}}.$$
#
# On the mixture everything is exact: `mixture.score(x, alpha_bar)` is the closed-form score,
# `mixture.eps_at(x, alpha_bar)` the best
# noise prediction. Check the score against a central difference, the noise prediction against
# `score_from_eps`, and the clean-point prediction against notebook 05's posterior mean:

# %%
grid = np.linspace(-4, 4, 801)[:, None]
print(f"{'alpha_bar':>9} {'max |score - finite difference|':>33} {'max |eps - Tweedie|':>21}")
for ab in (1.0, 0.9, 0.5, 0.1, 0.01):
    h = 1e-5
    log_p = mixture.marginal(ab).log_prob
    fd = (log_p(grid + h) - log_p(grid - h)) / (2 * h)
    score = mixture.score(grid, ab)
    tweedie = "" if ab == 1.0 else f"{np.abs(score_from_eps(mixture.eps_at(grid, ab), ab) - score).max():21.1e}"
    print(f"{ab:9.2f} {np.abs(score - fd).max():33.1e} {tweedie}")
schedule = NoiseSchedule.cosine(100)       # notebook 05's schedule
t = 50
ab_t = schedule.alpha_bar[t - 1]
x0_mean = mixture.posterior_x0(grid, t, schedule).mean
x0_tweedie = (grid + (1 - ab_t) * mixture.score(grid, ab_t)) / np.sqrt(ab_t)
print(f"t = {t} (alpha_bar = {ab_t:.3f}): max |E[x_0 | x] - Tweedie| = {np.abs(x0_mean - x0_tweedie).max():.1e}")

# %% [markdown]
# The differences are rounding and the finite difference's own error: the three targets agree.
# A network may be trained on any of them, and its output converted.
#
# ## 2. Sampling with a score alone: Langevin dynamics
#
# **A score alone is enough to sample, but a finite step biases the result and far-apart modes
# need annealing.** With the data's score $\nabla_x \log p(x)$, **Langevin dynamics
# (朗之万动力学)** takes a step of size $h$ uphill in log-density and adds noise,
#
# $$x \leftarrow x + \tfrac{h}{2}\, \nabla_x \log p(x) + \sqrt{h}\, z, \qquad z \sim N(0, I).$$
#
# As $h \to 0$ and the number of steps grows, $x$ is distributed as $p$. With a finite $h$ the
# chain is slightly wrong. For one Gaussian $N(\mu, s^2)$ the score is $-(x - \mu)/s^2$, the
# chain is linear, and its stationary law is $N\big(\mu,\ s^2 / (1 - h / (4 s^2))\big)$: too
# wide, by a factor that grows with $h$. Measure it with 20000 chains of 250 steps:

# %%
mu, s = 1.0, 0.5
print(f"target N({mu}, {s}^2): variance {s**2:.4f}")
print(f"{'h':>6} {'measured variance':>20} {'predicted s^2 / (1 - h / 4s^2)':>32}")
for h in (0.02, 0.1, 0.4):
    x = langevin_sample(lambda z: -(z - mu) / s**2, np.zeros(20000), step_size=h, steps=250, rng=3)
    se = x.var() * math.sqrt(2 / (x.size - 1))  # standard error of a normal sample's variance
    print(f"{h:6.2f} {x.var():13.4f} ± {se:.4f} {s**2 / (1 - h / (4 * s**2)):32.4f}")

# %% [markdown]
# At $h = 0.1$ and $0.4$ the measured variances match the prediction within two standard
# errors and miss the target, by 12 % and 69 %. A smaller step cures the bias, at the price of
# more steps.
#
# <details><summary>Going deeper: the smallest step</summary>
#
# At $h = 0.02$ the predicted 2 % is only two standard errors. The 250 steps are enough at every
# $h$ here: the chain forgets its start as $(1 - h / (2 s^2))^k$, below $10^{-4}$ after 226
# steps at $h = 0.02$.
# </details>
#
# A worse problem appears with separated modes. Start 2000 chains from a broad $N(0, 3^2)$ on
# the data's own score and let them run with $h = 0.01$. The share of chains nearest each mode
# should tend to the data's shares (`mixture.mode_shares()`). Do it on notebook 05's mixture,
# and on the same mixture with its modes pulled apart, to $-4, 0, 4$ (chains started twice as
# wide):
#
# <details><summary>Going deeper: what the shares measure</summary>
#
# A mode's share is the mass nearest its component's mean. With 2000 chains a share has a
# standard error of about 0.011. On notebook 05's mixture, after a thousand steps, the shares
# are within about two standard errors of the data's, but $W_1$ (0.050) is still above its floor
# (0.029): close, not there yet.
# </details>

# %%
far = GaussianMixture1D(weights=[0.4, 0.3, 0.3], means=[-4.0, 0.0, 4.0], stds=[0.25, 0.25, 0.5])
x_init = np.random.default_rng(4).normal(0.0, 3.0, size=(2000, 1))
for name, mix, start, totals in (("notebook 05's mixture", mixture, x_init, (100, 1000)),
                                 ("modes at -4, 0, 4", far, 2 * x_init, (100, 1000, 2000))):
    print(f"{name}: the data's shares {np.round(mix.mode_shares(), 3)}")
    x, done = start, 0
    for total in totals:
        x = langevin_sample(lambda z, mix=mix: mix.score(z, 1.0), x, step_size=0.01,
                            steps=total - done, rng=total)
        done = total  # the same chains, continued
        print(f"  after {total:>5} steps: shares {np.round(mix.mode_shares(x), 3)}, "
              f"W1 to the data {wasserstein_1(x, mix.sample(4000, rng=1)):.3f}")
    if mix is far:
        plain_far = x
print(f"W1 floor (2000 against 4000 data points): {wasserstein_1(mixture.sample(2000, rng=5), test_ref):.3f}")

# %% [markdown]
# On notebook 05's mixture plain Langevin is getting there: after a thousand steps the shares
# are close to the data's. Pull the modes apart and the chains stay where they first fell, for two
# thousand steps: to cross, a chain must climb through a region of tiny density, against the
# score. The shares then say where the chains started.
#
# **Annealing** (Song & Ermon 2019) fixes this. Blur the data with noise of level $\sigma$: the
# blurred density $p_\sigma$ has no gaps. Run a hundred Langevin steps at $\sigma = 10$, then
# at smaller and smaller levels (20 from 10 to 0.01), with the step size $h = 0.2\sigma^2$
# shrinking with the level:
#
# <details><summary>Going deeper: the start, and the variable the cell works in</summary>
#
# The blurred density's score is exact here too. The chains start from the blurred data's own
# spread at $\sigma = 10$ (the data's variance plus $\sigma^2$). In the variable
# $\bar x = x / \sqrt{\bar\alpha}$, the blurred data are $x_0 + \sigma \varepsilon$ with
# $\bar\alpha = 1 / (1 + \sigma^2)$, and their score is $\sqrt{\bar\alpha}$ times the score of
# $x$.
# </details>

# %%
sigmas = np.geomspace(10.0, 0.01, 20)
far_var = np.sum(far.weights * (far.means**2 + far.stds**2)) - np.sum(far.weights * far.means) ** 2
xbar = np.random.default_rng(4).standard_normal((2000, 1)) * math.sqrt(sigmas[0] ** 2 + far_var)
for i, sigma in enumerate(sigmas):
    ab = alpha_bar_from_sigma(sigma)
    blurred_score = lambda z, ab=ab: np.sqrt(ab) * far.score(np.sqrt(ab) * z, ab)  # noqa: E731
    xbar = langevin_sample(blurred_score, xbar, step_size=0.2 * sigma**2, steps=100, rng=100 + i)
print(f"modes at -4, 0, 4: the data's shares {np.round(far.mode_shares(), 3)}")
print(f"  annealed, 20 levels x 100 steps: shares {np.round(far.mode_shares(xbar), 3)}, "
      f"W1 {wasserstein_1(xbar, far.sample(4000, rng=1)):.3f}")
print(f"  plain, 2000 steps:                shares {np.round(far.mode_shares(plain_far), 3)}, "
      f"W1 {wasserstein_1(plain_far, far.sample(4000, rng=1)):.3f}")
print(f"  floor (2000 against 4000 points of this mixture): "
      f"W1 {wasserstein_1(far.sample(2000, rng=5), far.sample(4000, rng=1)):.3f}")

# %% [markdown]
# Annealed through twenty levels, the chains find the modes in the right proportions: at large
# $\sigma$ the modes overlap and chains move freely between them. This is the bridge to diffusion: noise levels from large to
# small, and at each a model of the score. Diffusion replaces the Langevin steps at each level
# by one step of a reverse process.
#
# Move the step size and the steps of *plain* Langevin on notebook 05's mixture (1000 chains
# from the broad start; the title gives the shares). Look for, after 400 steps: with
# $h = 0.001$ the chains have not yet settled (shares 0.44, 0.21, 0.35); with $h = 0.1$ the
# shares, 0.39, 0.30, 0.31, are close to the data's (0.40, 0.32, 0.28), but every mode is too wide.

# %%
plot_langevin(0.01, 200, mixture=mixture, x_init=x_init[:1000], rng=0)

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_langevin, log_slider("step_size", 0.01, 1e-3, 0.1),
             int_slider("steps", 200, 10, 400, 10), mixture=mixture, x_init=x_init[:1000], rng=0)

# %% [markdown]
# ## 3. From notebook 05's chain to an SDE
#
# **As its steps shrink, notebook 05's chain becomes a stochastic differential equation, and its
# sampler becomes that equation's reverse-time twin.** The forward chain adds noise in $T$
# small steps, $x_t = \sqrt{1 - \beta_t}\, x_{t-1} + \sqrt{\beta_t}\, \varepsilon_t$. As $T$
# grows and each $\beta_t$ shrinks like $1/T$, it becomes the **variance-preserving stochastic
# differential equation (随机微分方程)**, or
# SDE (Song et al. 2021), $W$ being Brownian motion,
#
# $$dx = -\tfrac{1}{2} \beta(\tau)\, x\, d\tau + \sqrt{\beta(\tau)}\, dW.$$
#
# <details><summary>Going deeper: the chain's step as an SDE step</summary>
#
# Let $T$ grow with the schedule's shape fixed, so that each $\beta_t$ shrinks like $1/T$. To
# first order in $\beta_t$ a step is
# $x_t - x_{t-1} \approx -\tfrac{1}{2} \beta_t x_{t-1} + \sqrt{\beta_t}\, \varepsilon_t$: the
# Euler–Maruyama step of this SDE, with time $\tau$ counting steps and
# $\beta(\tau)\,d\tau = \beta_t$ for one step.
# </details>
#
# Run backwards in time, an SDE has a reverse-time twin (Anderson 1982) that needs one thing the
# forward one does not, the score:
#
# $$dx = \big[-\tfrac{1}{2} \beta(\tau)\, x - \beta(\tau)\, \nabla_x \log p_\tau(x)\big]\, d\tau
# + \sqrt{\beta(\tau)}\, d\bar W.$$
#
# Its Euler–Maruyama step and notebook 05's ancestral step with $\sigma_t^2 = \beta_t$ have the
# same noise, and means that differ at order $\beta_t^2$. Measure it with the exact score over
# $x \in [-4, 4]$, as $T$ grows: the largest difference in one step, and the sum over the chain
# of each step's largest difference, up to $t = 0.9\,T$.
#
# <details><summary>Going deeper: the two steps, side by side</summary>
#
# Here time runs backwards ($d\tau = -1$ per step) and $\bar W$ is a Brownian motion that runs
# backwards too. Its Euler–Maruyama step, from $t$ to $t - 1$, is
# $x_{t-1} = x_t + \beta_t \big(\tfrac{1}{2} x_t + \nabla \log p_t(x_t)\big) + \sqrt{\beta_t}\, z$.
# Notebook 05's ancestral step with $\sigma_t^2 = \beta_t$ has the same noise, and the mean
# $\big(x_t + \beta_t \nabla \log p_t(x_t)\big) / \sqrt{1 - \beta_t}$ (its $\mu$ with the score
# for $\varepsilon$).
# </details>
#
# <details><summary>Going deeper: why the comparison stops at 0.9 T</summary>
#
# The cosine schedule's last steps keep a large $\beta_t$ whatever $T$ is
# ($\beta_{T-1} \approx 0.75$): there the chain ends with a jump that no SDE describes.
# </details>

# %%
x_grid = np.linspace(-4, 4, 101)[:, None]
print(f"{'T':>6} {'max beta_t':>11} {'largest difference in a step':>30} {'summed over the steps':>23}")
for T in (100, 1000, 10000):
    sched = NoiseSchedule.cosine(T)
    t = np.arange(2, int(0.9 * T) + 1)
    b, ab = sched.betas[t - 1], sched.alpha_bar[t - 1]
    eps = mixture.eps_at(x_grid, ab)                                    # (x, step) table
    ddpm = reverse_mean(sched, x_grid, t, eps)
    sde = x_grid + b * (x_grid / 2 + score_from_eps(eps, ab))           # the exact score, by Tweedie
    diff = np.abs(ddpm - sde).max(axis=0)                               # per step
    print(f"{T:6d} {b.max():11.2e} {diff.max():30.2e} {diff.sum():23.2e}")

# %% [markdown]
# Ten times more steps: each step's difference a hundred times smaller, and the whole chain's
# ten times smaller. In the limit, notebook 05's sampler with $\sigma_t^2 = \beta_t$ *is* the
# reverse SDE, and its noise is the SDE's own noise.
#
# ## 4. The probability-flow ODE
#
# An ordinary differential equation with no noise at all has the *same marginal laws*
# $p_\tau$ as the SDE at every time (Song et al. 2021): the **probability-flow ODE**.
# It is simplest in the variables of Karras et al. (2022): $\bar x = x / \sqrt{\bar\alpha}$,
# which is $x_0 + \sigma \varepsilon$ with $\sigma = \sqrt{(1 - \bar\alpha) / \bar\alpha}$, and
# $\sigma$ itself as time. Then
#
# $$\frac{d\bar x}{d\sigma} = \hat\varepsilon\Big(\frac{\bar x}{\sqrt{1 + \sigma^2}},\
# \frac{1}{1 + \sigma^2}\Big),$$
#
# the noise prediction at that level: lowering $\sigma$ by $d\sigma$ removes
# $\hat\varepsilon\, d\sigma$ of noise. Started from $\bar x \sim N(0, 1 + \sigma_{\max}^2)$ at a
# large $\sigma_{\max}$ and integrated down to $\sigma \approx 0$, it maps noise to data,
# deterministically.
#
# <details><summary>Going deeper: from the SDE to the ODE in $(\bar x, \sigma)$</summary>
#
# The reverse SDE mixes drift and fresh noise; the ODE has none. Write the forward SDE as $dx = f\, d\tau + g\, dW$, with $f = -\tfrac{1}{2}\beta x$ and
# $g = \sqrt{\beta}$. Its marginals obey the Fokker-Planck equation
# $\partial_\tau p = -\nabla \cdot (f p) + \tfrac{1}{2} g^2 \nabla^2 p$. Since
# $\nabla^2 p = \nabla \cdot (p \nabla \log p)$, the noise term is a drift as well:
# $\partial_\tau p = -\nabla \cdot \big[(f - \tfrac{1}{2} g^2 \nabla \log p)\, p\big]$. So the
# flow $dx/d\tau = -\tfrac{1}{2}\beta\,(x + \nabla \log p_\tau(x))$ carries the same $p_\tau$
# along, with no noise.
#
# Change variables. With $d\bar\alpha/d\tau = -\beta \bar\alpha$, $\bar x = x / \sqrt{\bar\alpha}$
# and $\sigma^2 = 1/\bar\alpha - 1$: $d\bar x/d\tau = -\tfrac{1}{2}\beta \nabla \log p / \sqrt{\bar\alpha}
# = \tfrac{1}{2}\beta \hat\varepsilon / \sqrt{\bar\alpha (1 - \bar\alpha)}$ (§1:
# $\nabla \log p = -\hat\varepsilon / \sqrt{1 - \bar\alpha}$), and
# $d\sigma/d\tau = \beta / \big(2\sqrt{\bar\alpha (1 - \bar\alpha)}\big)$. Their ratio is
# $d\bar x / d\sigma = \hat\varepsilon$. In these variables $\bar x = x_0 + \sigma\varepsilon$:
# the variance-exploding SDE, whose levels §2's annealed Langevin already walked. The next cell
# integrates both forms from the same points: the largest gap between their ends is 0.007, the two
# Euler discretisations' own difference (twice the steps halve it).
# </details>

# %%
# Going deeper (optional): the probability-flow ODE in (x, t) and in (xbar, sigma), each with
# 1000 Euler steps from the same points, on notebook 05's cosine schedule in continuous time
abar = cosine_alpha_bar                         # alpha_bar(t) for t in [0, 1]
beta = lambda t, h=1e-6: (math.log(abar(t - h)) - math.log(abar(t + h))) / (2 * h)  # -d log abar/dt
t_fine = np.linspace(0.9, 0.1, 1001)            # from much noise to little
x_vp = np.random.default_rng(11).standard_normal((500, 1))
xbar = xbar_start = x_vp / math.sqrt(abar(t_fine[0]))
for t0, t1 in zip(t_fine[:-1], t_fine[1:]):
    # dx/dt = -beta/2 (x + score), and dxbar/dsigma = eps_hat
    x_vp = x_vp + (t1 - t0) * -0.5 * beta(t0) * (x_vp + mixture.score(x_vp, abar(t0)))
    s0, s1 = (math.sqrt(1 / abar(t) - 1) for t in (t0, t1))
    xbar = xbar + (s1 - s0) * pf_ode_velocity(mixture.eps_at, xbar, s0)
gap = np.abs(x_vp / math.sqrt(abar(t_fine[-1])) - xbar).max()
print(f"largest gap between the two ends, in xbar: {gap:.3f}; "
      f"mean distance each point travels: {np.abs(xbar - xbar_start).mean():.1f}")

# %% [markdown]
# **DDIM is Euler's method on this ODE.** Take DDIM's timesteps in notebook 05's schedule, their
# levels $\sigma_\tau$, and one Euler step from each level to the next (the last one to
# $\sigma = 0$). From the same start the result should be DDIM's samples:

# %%
steps = 10
ddim = ddim_trajectory(lambda x, t: mixture.eps_star(x, t, schedule), schedule, 2000, steps=steps, rng=6)
levels = np.append(sigma_from_alpha_bar(schedule.alpha_bar[timesteps(schedule, steps) - 1]), 0.0)
xbar = ddim.states[0] * np.sqrt(1 + levels[0] ** 2)   # DDIM's own x_T, in the variable xbar
for sigma, sigma_next in zip(levels[:-1], levels[1:]):
    xbar = xbar + (sigma_next - sigma) * pf_ode_velocity(mixture.eps_at, xbar, sigma)  # Euler
print(f"{steps} steps: max |Euler on the ODE - DDIM| = {np.abs(xbar - ddim.samples).max():.1e}")

# %% [markdown]
# They agree to rounding: notebook 05's deterministic sampler was an ODE solver all along.
#
# Move $\sigma$: the left panel is the exact density of $\bar x$ at that level, the right panel
# the velocity $d\bar x / d\sigma$ (the exact $\hat\varepsilon$). As $\sigma$ falls, each point
# moves against the velocity, towards the nearest bump; the bumps only appear at small
# $\sigma$. In the figure, at $\sigma = 0.3$, look for the bumps where the velocity crosses zero
# going up: points on both sides move towards them.
#
# <details><summary>Going deeper: the left panel's density</summary>
#
# It is the mixture with every variance grown by $\sigma^2$.
# </details>

# %%
plot_pf_ode(0.3, mixture=mixture)     # the slider starts at 1, before the bumps appear

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_pf_ode, log_slider("sigma", 1.0, 0.01, 10.0), mixture=mixture)

# %% [markdown]
# ## 5. An exact likelihood
#
# An ODE is an invertible map, so the change of variables gives the density it produces
# exactly: along a path, $\frac{d}{d\sigma} \log p_\sigma(\bar x(\sigma)) = -\nabla \cdot v$,
# with $v$ the velocity. Integrating from the data ($\sigma_{\min} = 0.002$) up to
# $\sigma_{\max} = 80$, where the law is almost $N(0, 1 + \sigma_{\max}^2)$,
#
# $$\log p(x_0) = \log N\big(\bar x(\sigma_{\max});\ 0,\ (1 + \sigma_{\max}^2) I\big)
# + \int_{\sigma_{\min}}^{\sigma_{\max}} \nabla \cdot v\big(\bar x(\sigma), \sigma\big)\, d\sigma$$
#
# (Song et al. 2021, Chen et al. 2018). `pf_ode_log_likelihood` integrates both with Heun's
# method, the divergence by central differences. With the exact $\hat\varepsilon$ the result
# should be the data's log-density, blurred by $\sigma_{\min}$; the error comes from the solver and,
# at many evaluations, about as much from the top law:
#
# <details><summary>Going deeper: how exact the two other parts are</summary>
#
# The top law's mismatch with $N(0, 1 + \sigma_{\max}^2)$ averages about $10^{-6}$ nats over the
# data, but reaches 0.007 nats at single points in the tails. The central differences are
# deterministic, and accurate to about $10^{-7}$ nats here in one or two dimensions; large models
# use a random estimate of the divergence.
# </details>

# %%
x_eval = np.linspace(-2.5, 3.5, 61)[:, None]
exact_log_p = mixture.log_prob_xbar(x_eval[:, 0], 0.002)   # at sigma_min = 0.002, the default
print(f"{'NFE':>5} {'max |ODE log-likelihood - log p|':>34}   (61 points in -2.5..3.5, Heun, nats)")
for nfe in (8, 32, 128, 512):
    err = np.abs(pf_ode_log_likelihood(mixture.eps_at, x_eval, nfe=nfe) - exact_log_p).max()
    print(f"{nfe:5d} {err:34.4f}")

# %% [markdown]
# The worst point's error is 0.08 nats at 128 evaluations and 0.011 at 512. The likelihood
# needs more evaluations than sampling does (§6): every point must be carried accurately, not
# just the distribution as a whole.
#
# <details><summary>Going deeper: the rate, and the top law's share</summary>
#
# The worst point's error falls 14-fold from 32 to 128 evaluations and 7-fold from 128 to 512
# (a second-order solver's ideal is 16). Of the 0.011 at 512, about 0.006 is the mismatch of the
# top law and 0.005 the solver's.
# </details>
#
# Now a learned model: `train_eps_fn` trains notebook 05's network (here 32 units wide) on
# *continuous* noise levels (every $\sigma$ from 0.002 to 80) and returns it as an `eps_fn`. On
# notebook 05's chain, the same network gives an ELBO for both reverse variances. All on the same
# 1000 held-out points, in nats per point; the ODE at 256 evaluations:

# %%
eps_fn = train_eps_fn(x_train, steps=1250, hidden=32, seed=0, dtype="float32",
                      desc="eps_theta(x, sigma), continuous levels")
held_out = x_test[:1000]
ode_ll = pf_ode_log_likelihood(eps_fn.in_float64(), held_out, nfe=256)  # finite differences: float64
ode_exact = pf_ode_log_likelihood(mixture.eps_at, held_out, nfe=256)
eps_on_chain = lambda x, t: eps_fn(x, schedule.alpha_bar[t - 1])   # noqa: E731 - at 05's levels
elbo_tilde = diffusion_elbo(held_out, eps_on_chain, schedule, rng=7).elbo
elbo_beta = diffusion_elbo(held_out, eps_on_chain, schedule, rng=7, reverse_var="beta").elbo
log_p = mixture.log_prob(held_out[:, 0])
print(f"log p(x), the data's own density           {mean_and_se(log_p): .3f}")
print(f"ODE log-likelihood, exact eps (256 NFE)    {mean_and_se(ode_exact): .3f}")
print(f"ODE log-likelihood, learned eps_fn         {mean_and_se(ode_ll): .3f}")
print(f"ELBO on notebook 05's chain, beta_tilde    {mean_and_se(elbo_tilde): .3f}")
print(f"ELBO on notebook 05's chain, beta          {mean_and_se(elbo_beta): .3f}")
print("paired differences, point by point:")
print(f"  log p - ODE (exact)                      {mean_and_se(log_p - ode_exact): .3f}")
print(f"  log p - ODE (learned)                    {mean_and_se(log_p - ode_ll): .3f}")
print(f"  log p - ELBO (beta_tilde)                {mean_and_se(log_p - elbo_tilde): .3f}")
print(f"  log p - ELBO (beta)                      {mean_and_se(log_p - elbo_beta): .3f}")

# %% [markdown]
# Read the *paired* differences: for the ODE rows their standard errors are
# far smaller than the means'.
#
# - The ODE with the exact $\hat\varepsilon$ reproduces $\log p$ to 0.002 nats; the learned one
#   sits 0.020 ± 0.006 nats below it, this network's cost.
# - The chain's ELBO is 0.725 ± 0.056 nats below $\log p$ with $\tilde\beta_t$, and within its
#   noise of it with $\beta_t$ ($-0.015 \pm 0.034$).
# - One network, three models: the deterministic flow, whose likelihood the ODE gives, and the
#   *discrete* chain with each reverse variance, whose likelihood an ELBO bounds. Papers
#   reporting one cannot be compared directly with papers reporting another.
#
# <details><summary>Going deeper: a bound above log p? And is the 0.73 the network?</summary>
#
# An ELBO cannot exceed its model's log-likelihood, and no model beats the data's own density
# on average (a KL divergence is never negative), so the true gap with $\beta_t$ is at least 0:
# $-0.015$ is the noise of 1000 points and one draw per step. On all 4000 test points, averaged
# over three draws, it is $+0.058 \pm 0.010$. Driving the same chain with the exact
# $\varepsilon^*$ (same draws) raises its ELBO by only $0.036 \pm 0.010$ nats with
# $\tilde\beta_t$ and $0.023 \pm 0.007$ with $\beta_t$, about what the network costs the ODE.
# So nearly all of $\tilde\beta_t$'s 0.73 nats is the reverse variance (notebook 05 §5 showed
# why $\tilde\beta_t$ is too narrow), not the network.
#
# The network's own cost depends on the training run: seeds 1 and 2 of the same recipe lose
# 0.039 ± 0.010 and 0.075 ± 0.013 nats to $\log p$ on the ODE, against seed 0's 0.020.
# </details>
#
# ## 6. Few-step sampling
#
# **Every sampler here is an ODE solver, paid for in network evaluations (NFE), and with few of
# them the higher-order solver can lose.** **Euler** (= DDIM) uses one evaluation per step.
# **Heun** (Karras et al. 2022) takes an Euler
# step, evaluates the velocity at its end, and steps again with the average of the two slopes:
# two evaluations per step, and an error that falls as the square of the step. Both walk the
# levels of Karras et al.'s grid with $\rho = 7$, dense at small $\sigma$. Five sampling seeds
# each, 2000 samples against the 4000 held-out points:
#
# <details><summary>Going deeper: the grid</summary>
#
# $\sigma_i = \big(\sigma_{\max}^{1/\rho} + \tfrac{i}{N}
# (\sigma_{\min}^{1/\rho} - \sigma_{\max}^{1/\rho})\big)^\rho$, for $i = 0, \dots, N$.
# </details>

# %%
nfe_list = [4, 8, 16, 32, 64]
seeds = (9, 19, 29, 39, 49)
floor = mean_and_se([wasserstein_1(mixture.sample(2000, rng=100 + i), test_ref) for i in range(30)])
print(f"floor (2000 data points against the 4000, 30 draws): W1 = {floor:.3f}")
print(f"{'solver, eps':<24}" + "".join(f"{k:>14}" for k in nfe_list) + "   <- NFE")
curves, runs = {}, {}
for eps_name, fn in (("exact", mixture.eps_at), ("learned", eps_fn)):
    for solver in ("euler", "heun"):
        w = np.array([[wasserstein_1(pf_ode_sample(fn, 2000, nfe=k, solver=solver, rng=seed), test_ref)
                       for k in nfe_list] for seed in seeds])          # (seeds, NFE)
        label = f"{solver.capitalize()}, {eps_name}"
        runs[label] = w
        by_nfe = [mean_and_se(column) for column in w.T]
        curves[label] = (np.array([m.mean for m in by_nfe]), np.array([m.se for m in by_nfe]))
        print(f"{label:<24}" + "".join(f"{m:8.3f} ±{e:.3f}" for m, e in zip(*curves[label])))
for eps_name in ("exact", "learned"):  # same seeds, same starting points: a paired comparison
    d = runs[f"Euler, {eps_name}"] - runs[f"Heun, {eps_name}"]
    print(f"{'Euler - Heun, ' + eps_name:<24}" + "".join(
        f"{m.mean:8.3f} ±{m.se:.3f}" for m in map(mean_and_se, d.T)))
plot_nfe_curves(nfe_list, curves, floor=floor.mean)

# %% [markdown]
# What the standard errors allow us to say:
#
# - At 32 and 64 evaluations Heun is ahead of Euler with the exact $\hat\varepsilon$, but by
#   only about two standard errors of the paired difference; with the learned network the two
#   are within them.
# - At 8 and 16 evaluations Euler is *ahead* of Heun here. With $\rho = 7$ a budget of 8
#   evaluations buys Heun only 4 steps (levels 80, 17.5, 2.52, 0.17, 0.002), and its third step
#   jumps from $\sigma = 2.5$ to 0.17, across the whole range where the density grows from one
#   bump to three. There Heun *undershoots* and Euler overshoots (measured below). Heun's
#   advantage appears only once each step is small next to the scale on which the velocity
#   changes.
#
# <details><summary>Going deeper: what is left at 64 evaluations</summary>
#
# By 64, Heun (0.049 ± 0.009) matches the exact ODE from the same starting points (0.048, with
# 2000 evaluations): what remains above the floor is the noise of five seeds, not the solver's
# error.
# </details>
#
# <details><summary>Going deeper: Heun's third step, taken apart</summary>
#
# Euler's predictor, $\bar x + (\sigma' - \sigma)\, \hat\varepsilon = \hat x_0 + \sigma'
# \hat\varepsilon$, lands near $\hat x_0$, the blurred guess between the bumps. The slope there,
# at $\sigma' = 0.17$, points to the nearest bump: about zero, and for half the points
# backwards. Averaging it with the first slope halves the step, so Heun undershoots.
#
# The next cell (optional) starts from Heun's own points at $\sigma = 2.52$ (8 evaluations, exact
# $\hat\varepsilon$), takes the step to 0.17 three ways (Euler, Heun, and 200 small steps as
# the exact ODE) and compares how far each moves the points: Heun 0.61 times the exact move
# (median), Euler 1.33 times. Then it runs Heun with only that
# step done by Euler: 7 evaluations give $W_1 = 0.269$, better than Euler's 0.304 with 8. The
# corrector hurts only where one step spans the whole change of the velocity.
# </details>

# %%
# Going deeper (optional): Heun's step from sigma = 2.52 to 0.17 at 8 evaluations, exact eps
levels = karras_sigmas(4)                        # Heun's four steps at 8 evaluations

def heun_step(xbar, sigma, sigma_next):
    """Euler's predictor, Heun's corrected step, and the ratio of the slopes at both ends."""
    slope = pf_ode_velocity(mixture.eps_at, xbar, sigma)
    euler = xbar + (sigma_next - sigma) * slope
    slope_next = pf_ode_velocity(mixture.eps_at, euler, sigma_next)
    return euler, xbar + (sigma_next - sigma) * (slope + slope_next) / 2, slope_next / slope

def heun_start(seed):                            # Heun's first two steps, 80 -> 17.5 -> 2.52
    xbar = np.random.default_rng(seed).standard_normal((2000, 1)) * math.sqrt(1 + levels[0] ** 2)
    for sigma, sigma_next in zip(levels[:2], levels[1:3]):
        xbar = heun_step(xbar, sigma, sigma_next)[1]
    return xbar

xbar = heun_start(seeds[0])
euler, heun, slope_ratio = heun_step(xbar, levels[2], levels[3])
exact, fine = xbar, np.geomspace(levels[2], levels[3], 201)
for sigma, sigma_next in zip(fine[:-1], fine[1:]):
    exact = heun_step(exact, sigma, sigma_next)[1]   # 200 small steps: the exact ODE
print(f"step sigma = {levels[2]:.2f} -> {levels[3]:.2f}, seed {seeds[0]}: the slope at Euler's end "
      f"points backwards for {np.mean(slope_ratio < 0):.0%} of the points")
for name, x in (("exact ODE", exact), ("Euler", euler), ("Heun", heun)):
    move = "" if x is exact else f", median {np.median((x - xbar) / (exact - xbar)):.2f} x the exact move"
    print(f"  {name:<10} sd of the points {x.std():.1f}{move}")
w = [wasserstein_1(heun_step(heun_step(heun_start(seed), levels[2], levels[3])[0],
                             levels[3], levels[4])[1], test_ref) for seed in seeds]
print(f"Heun, but Euler for this one step (7 NFE): W1 = {mean_and_se(w):.3f}")

# %% [markdown]
# The grid's shape matters as much as the solver. Euler with 8 evaluations on the same range,
# once on the $\rho = 7$ grid and once on a grid even in $\sigma$ ($\rho = 1$):

# %%
for rho in (1.0, 7.0):
    levels = karras_sigmas(8, rho=rho)
    w = []
    for seed in seeds:
        xbar = np.random.default_rng(seed).standard_normal((2000, 1)) * math.sqrt(1 + levels[0] ** 2)
        for sigma, sigma_next in zip(levels[:-1], levels[1:]):
            xbar = xbar + (sigma_next - sigma) * pf_ode_velocity(mixture.eps_at, xbar, sigma)
        w.append(wasserstein_1(xbar, test_ref))
    print(f"Euler, 8 NFE, rho = {rho:.0f}: W1 = {mean_and_se(w):.3f}"
          f"   (levels {', '.join(f'{v:.3g}' for v in levels)})")

# %% [markdown]
# An even grid spends seven of its eight steps above $\sigma = 10$, where nothing happens, and
# jumps from 10 to 0.002 in one step. The $\rho = 7$ grid puts its steps where the velocity
# changes. Move the NFE and compare the two solvers from the same starting points (exact
# $\hat\varepsilon$, 1000 samples, one seed: trust the table's means). At 8
# evaluations, look for Heun's samples left too far out, a pile near $-3$ and a tenth beyond the
# axis (the title counts them): the undershoot above.

# %%
plot_few_step(8, eps_fn=mixture.eps_at, mixture=mixture, held_out=test_ref, n=1000, rng=0)

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_few_step, int_slider("nfe", 8, 1, 64), eps_fn=mixture.eps_at,
             mixture=mixture, held_out=test_ref, n=1000, rng=0)

# %% [markdown]
# ## 7. Flow matching is a member of the family
#
# **Flow matching (流匹配) is the probability-flow ODE on another clock.** It comes from Lipman
# et al. (2023) and Liu et al. (2023, rectified flow) and is written without noise levels or
# scores. It picks a straight path between a data point and a noise draw,
# $x_t = (1 - t)\, x_0 + t\, \varepsilon$ for $t \in [0, 1]$, and trains a velocity field
# $v_\theta(x_t, t)$ to match the path's own velocity $\varepsilon - x_0$. Sampling integrates
# $dx/dt = v_\theta$ from $t = 1$ (noise) down to $t = 0$. (Lipman et al. run time the other
# way; we keep the diffusion convention.)
#
# Divided by $1 - t$, $x_t / (1 - t) = x_0 + \frac{t}{1 - t}\, \varepsilon$ is $\bar x$ at
# $\sigma = t / (1 - t)$: the same ODE, with time $t$ in place of $\sigma$. The cell checks it
# on the mixture, with 10 Euler steps in each clock from the same start on matching grids:
#
# <details><summary>Going deeper: from the velocity to the noise prediction</summary>
#
# On a path, $x_t + (1 - t)(\varepsilon - x_0) = \varepsilon$; taking the expectation given
# $x_t$, the best velocity $v = \mathbb{E}[\varepsilon - x_0 \mid x_t]$ and the best noise
# prediction are related by $\hat\varepsilon = x_t + (1 - t)\, v$, and with
# $\bar x = x_t / (1 - t)$ the chain rule turns $dx_t / dt = v$ into
# $d\bar x / d\sigma = \hat\varepsilon$.
# </details>

# %%
start = np.random.default_rng(10).standard_normal((2000, 1))        # x at t = 1, noise
t_grid = np.linspace(80 / 81, 0.002 / 1.002, 11)                     # sigma from 80 to 0.002
v_exact = velocity_from_eps(mixture.eps_at)                          # v = (eps_hat - x_t) / (1 - t)
x_t = euler_in_time(v_exact, start * (1 - t_grid[0]) * math.sqrt(1 + 80**2), t_grid)  # same start
xbar = start * math.sqrt(1 + 80**2)
sigma_grid = sigma_from_time(t_grid)                                 # sigma = t / (1 - t)
for s0, s1 in zip(sigma_grid[:-1], sigma_grid[1:]):
    xbar = xbar + (s1 - s0) * pf_ode_velocity(mixture.eps_at, xbar, s0)
print(f"max |flow matching end / (1 - t) - probability-flow end| = "
      f"{np.abs(x_t / (1 - t_grid[-1]) - xbar).max():.1e};  "
      f"W1 of each to held-out: {wasserstein_1(x_t / (1 - t_grid[-1]), test_ref):.3f}, "
      f"{wasserstein_1(xbar, test_ref):.3f}")

# %% [markdown]
# They agree to rounding: an Euler step in $t$ on the flow-matching ODE *is* an Euler step in
# $\sigma$ on the probability-flow ODE. One ODE, two clocks.
#
# <details><summary>Going deeper: why the steps match, and where they do not</summary>
#
# The steps match only under three conditions: the path's two coefficients, $1 - t$ and $t$,
# are affine in $t$; the state is rescaled, $\bar x = x_t / (1 - t)$; and the grids
# correspond. Then they match since $(t_1 - t_0) / \big((1 - t_0)(1 - t_1)\big) = \sigma_1 - \sigma_0$. On
# notebook 05's cosine path, whose coefficients are not affine, Euler in $t$ is not DDIM; and
# higher-order solvers differ between the two clocks. (Ten steps are too few for good samples,
# as both distances show.)
# </details>
#
# Now train both on two moons for the same steps (`train_eps_fn`, `train_velocity`) and sample
# each with Heun and with the midpoint rule in $t$, the flow-matching network converted by
# $\hat\varepsilon = x_t + (1 - t)\, v$ (`fm.eps_fn`):

# %%
moons_train, moons_test = two_moons(8000, rng=0), two_moons(2000, rng=1)
moons_ref = prepare_reference(moons_test, n_projections=64, rng=14)  # directions drawn once
eps_moons = train_eps_fn(moons_train, steps=1000, seed=1, dtype="float32", desc="eps_theta on moons")
# flow matching: the straight path x_t = (1 - t) x_0 + t eps, loss || v_theta(x_t, t) - (eps - x_0) ||^2
fm = train_velocity(moons_train, steps=1000, batch_size=256, lr=5e-3, seed=1, desc="v_theta on moons")
print(f"training wall time {eps_moons.train_s:.1f} s (ours), wall time {fm.train_s:.1f} s (flow matching)")
moons_floor, gauss = two_moons(2000, rng=12), np.random.default_rng(13).standard_normal((2000, 2))
print(f"{'2000 points against held-out':<42} {'sliced W1':>10}")
rows = [("floor: another data draw", moons_floor), ("N(0, I)", gauss)]
for nfe in (8, 16, 32):
    rows += [(f"ours, Heun, {nfe} NFE", pf_ode_sample(eps_moons, 2000, nfe=nfe, d=2, rng=11)),
             (f"flow matching, Heun, {nfe} NFE", pf_ode_sample(fm.eps_fn, 2000, nfe=nfe, d=2, rng=11))]
for nfe in (8, 16, 32):   # the midpoint rule on flow matching's uniform clock t = sigma / (1 + sigma)
    rows += [(f"ours, midpoint in t, {nfe} NFE", flow_clock_sample(eps_moons, 2000, nfe=nfe, d=2, rng=11)),
             (f"flow matching, midpoint in t, {nfe} NFE",
              flow_clock_sample(fm.eps_fn, 2000, nfe=nfe, d=2, rng=11))]
for name, pts in rows:
    print(f"{name:<42} {sliced_wasserstein_1(pts, moons_ref):10.4f}")
plot_moons({"held-out data": moons_test, "ours, Heun 8 NFE": rows[2][1],
            "ours, midpoint in t, 8 NFE": rows[8][1]})

# %% [markdown]
# **At few evaluations the sampler matters more than the network.** With Heun on the
# $\rho = 7$ grid both networks fail at 8 evaluations (sliced $W_1$ above 1: points fill the square). The midpoint rule,
# $x' = x + h\, v(x + \tfrac{h}{2} v(x, t), t + \tfrac{h}{2})$, on flow matching's clock, uniform
# in $t = \sigma / (1 + \sigma)$ (`flow_clock_sample`), brings our network to 0.082 with the same
# 8 calls (the floor is 0.033). Two things changed, the rule and the grid. Try each rule on
# each grid:

# %%
v_moons = velocity_from_eps(eps_moons)                  # dx_t / dt on flow matching's clock
start = np.sqrt(1 + 80**2) * np.random.default_rng(11).standard_normal((2000, 2))  # xbar at 80
grids = {"rho = 7": lambda steps: time_from_sigma(karras_sigmas(steps)),
         "flow clock": lambda steps: flow_clock_times(steps)}
print(f"{'8 calls, ours':<30} {'rho = 7 grid':>13} {'flow clock':>11}")
for rule, integrate, steps in (("Euler (8 steps)", euler_in_time, 8),
                               ("midpoint (4 steps)", midpoint_in_time, 4)):
    ends = []
    for grid in grids.values():
        t = grid(steps)
        x = integrate(v_moons, (1 - t[0]) * start, t) / (1 - t[-1])   # back to xbar
        ends.append(sliced_wasserstein_1(x, moons_ref))
    print(f"{rule:<30} {ends[0]:13.3f} {ends[1]:11.3f}")

# %% [markdown]
# The rule matters most: on the same grid Heun (1.22) is nearly ten times worse than the
# midpoint rule. Heun takes its second slope at the far end of a long step, near $\hat x_0$,
# where §6 found the slope small; the midpoint rule takes it half-way. Euler and the grid each
# cost a factor under 2.5. Where do its calls go?

# %%
def call_levels(sample):
    """The noise level sigma of every network call a sampler makes, in order."""
    seen = []
    def recording(x, alpha_bar):
        seen.append(sigma_from_alpha_bar(alpha_bar))
        return eps_moons(x, alpha_bar)
    sample(recording)
    return seen

calls = {"Heun, rho = 7 grid": call_levels(lambda f: pf_ode_sample(f, 10, nfe=8, d=2, rng=11)),
         "Euler, rho = 7 grid": call_levels(
             lambda f: pf_ode_sample(f, 10, nfe=8, d=2, rng=11, solver="euler")),
         "midpoint in t, flow clock": call_levels(
             lambda f: flow_clock_sample(f, 10, nfe=8, d=2, rng=11))}
spread, width = moons_train.std(0).max(), 0.1    # the data's spread (larger sd); a moon's width
for name, sigmas in calls.items():
    print(f"{name:<28} calls inside [{width}, {spread:.1f}]: "
          f"{sum(width <= s <= spread for s in sigmas)} of {len(sigmas)}")
plot_call_levels(calls, band=(width, spread), band_label="from a moon's width to the data's spread")

# %% [markdown]
# Look at the shaded band, where the moons take their shape: above it noise hides the layout,
# below it the moons are sharp. Heun's $\rho = 7$ grid crosses it in one step, from 2.5 to 0.17
# (each inner dot two calls); the flow clock puts five of its eight calls inside.
#
# <details><summary>Going deeper: one training run, and the race over five</summary>
#
# This notebook's table is one training run of each network, with the same steps, so it ranks
# little: the flow-matching network has no skip connection and samples $t$ uniformly, and with
# Euler (`solver="euler"`) its order at 16 evaluations reverses (sliced $W_1$ 0.14 for flow
# matching against 0.17 for ours). `benchmarks/flow_matching_seeds.py` trains both over five seeds at equal
# training time (flow matching with its published recipe) and tries every sampler on both: with
# the midpoint rule on the flow clock our median sliced $W_1$ is 0.035, 0.030 and 0.031 at 8, 16
# and 32 evaluations, against 0.121, 0.122 and 0.124 for flow matching with its best sampler.
# There two independent draws of the data lie 0.041 apart on average, so ours is at that floor.
# </details>
#
# ## 8. What we have seen
#
# - A noise prediction, a clean-point prediction and a score are one quantity in three units
#   (Tweedie's formula).
# - Langevin dynamics samples with a score alone, with a bias that grows with its step. With
#   separated modes it needs annealing through noise levels, the idea diffusion builds on.
# - Notebook 05's chain tends to the variance-preserving SDE. The probability-flow ODE has the
#   same marginals with no noise, and DDIM is Euler's method on it.
# - The ODE gives an exact log-likelihood (this network loses 0.020 ± 0.006 nats); an
#   ELBO bounds another model, the discrete chain.
# - Few-step sampling is ODE solving, and the step rule matters most: Heun's long steps
#   undershoot, and the midpoint rule on flow matching's clock draws both moons with 8 calls,
#   where Heun fails.
#
# ## Exercises (predict, then check)
#
# 1. **The Langevin bias at another step.** For the Gaussian of §2 ($s = 0.5$), predict the
#    variance Langevin settles at with $h = 0.2$.
#    <details><summary>Check, then the solution</summary>
#    Change `(0.02, 0.1, 0.4)` to `(0.2,)`. $s^2 / (1 - h/(4s^2)) = 0.25 / (1 - 0.2) = 0.3125$, a quarter too large. The cell prints
#    0.3162 ± 0.0032.</details>
# 2. **Evaluations for a likelihood.** From §5's table (0.084 nats at 128 evaluations, 0.011 at
#    512), predict the worst error at 256 and at 64.
#    <details><summary>Check, then the solution</summary>
#    Change the NFE list to `(64, 256)`. Halfway in log-NFE, about 0.03 at 256; and 0.3 at 64 if the factor of about 4 per
#    doubling holds. The cell prints 0.0261 at 256 and 0.3027 at 64.</details>
# 3. **The grid's shape.** Predict Euler's $W_1$ with 8 evaluations on a grid with $\rho = 3$,
#    between §6's 1.154 ($\rho = 1$) and 0.304 ($\rho = 7$). Closer to which?
#    <details><summary>Check, then the solution</summary>
#    Change `(1.0, 7.0)` to `(3.0,)`. Closer to $\rho = 7$: 0.364 ± 0.007 ($\rho = 5$ gives 0.308). Once a few of the eight
#    levels fall below $\sigma \approx 1$, where the modes separate, the rest matters little.
#    </details>
# 4. **Heun's turn.** §6 found Euler ahead at 8 and 16 evaluations and Heun slightly ahead at
#    32. Predict both at 128 evaluations (exact $\hat\varepsilon$, seed 9).
#    <details><summary>Check, then the solution</summary>
#    Run
#    `[wasserstein_1(pf_ode_sample(mixture.eps_at, 2000, nfe=128, solver=s, rng=9), x_test) for s in ("euler", "heun")]`.
#    Both 0.049 for this seed: with small enough steps the solver no longer matters. That is
#    0.010 above the floor's mean (0.039 ± 0.003 over 30 draws), well within how much single
#    draws of the floor spread (about 0.017).</details>
#
# ## References
#
# <details><summary>References</summary>
#
# - A. Hyvärinen (2005). *Estimation of non-normalized statistical models by score matching.*
#   JMLR. (Learning a score without the normaliser, §1.)
# - P. Vincent (2011). *A connection between score matching and denoising autoencoders.* Neural
#   Computation. (Denoising is score matching: the noise target of §1.)
# - Y. Song, S. Ermon (2019). *Generative modeling by estimating gradients of the data
#   distribution.* NeurIPS. (Annealed Langevin dynamics, §2.)
# - B. D. O. Anderson (1982). *Reverse-time diffusion equation models.* Stochastic Processes and
#   their Applications. (The reverse SDE, §3.)
# - Y. Song, J. Sohl-Dickstein, D. P. Kingma, A. Kumar, S. Ermon, B. Poole (2021). *Score-based
#   generative modeling through stochastic differential equations.* ICLR. (The VP-SDE, the
#   probability-flow ODE and its likelihood, §§3-5.)
# - R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud (2018). *Neural ordinary
#   differential equations.* NeurIPS. (The instantaneous change of variables, §5.)
# - T. Karras, M. Aittala, T. Aila, S. Laine (2022). *Elucidating the design space of
#   diffusion-based generative models.* NeurIPS. (The variables $\bar x, \sigma$, Heun, the
#   $\rho$ grid, §§4, 6.)
# - C. Lu, Y. Zhou, F. Bao, J. Chen, C. Li, J. Zhu (2022). *DPM-Solver: a fast ODE solver for
#   diffusion probabilistic model sampling in around 10 steps.* NeurIPS. (Solvers built for
#   this ODE, §6.)
# - Y. Lipman, R. T. Q. Chen, H. Ben-Hamu, M. Nickel, M. Le (2023). *Flow matching for
#   generative modeling.* ICLR. (§7.)
# - X. Liu, C. Gong, Q. Liu (2023). *Flow straight and fast: learning to generate and transfer
#   data with rectified flow.* ICLR. (§7.)
# - C. Luo (2022). *Understanding diffusion models: a unified perspective.* arXiv:2208.11970.
#   (The three equivalent targets, §1.)
#
# **Glossary.** score 分数 · Langevin dynamics 朗之万动力学 · stochastic differential equation
# 随机微分方程 (SDE) · probability-flow ODE 概率流常微分方程 · diffusion 扩散 · denoising 去噪 ·
# evidence lower bound 证据下界 (ELBO) · likelihood 似然 · sampling 采样 · noise schedule 噪声调度 ·
# flow matching 流匹配.
# </details>

# %%
print(f"wall time: {time.perf_counter() - notebook_start:.2f} s")
