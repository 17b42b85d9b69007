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
# # 05 · Diffusion models: a VAE with many latents
#
# Companion to section 3 of the article *Principles of diffusion models*. The article stops at
# that section's heading: **diffusion (扩散)** models are named and never explained. This
# notebook writes the missing section, with nothing but what notebooks 03 and 04 built.
#
# **Question.** Notebook 03 derived the ELBO, $\log p(x) \ge \text{ELBO}$ (eq. 2.4), and split it
# into reconstruction and prior matching (eq. 2.5); notebook 04 trained a Gaussian VAE with it.
# What happens if the single latent $z$ becomes a *chain* of latents $x_1, \dots, x_T$, and the
# encoder is not learned at all?
#
# **Learning goals.** After this notebook you can
# 1. say which of notebook 03's objects (latent, encoder, prior, decoder) each part of a
#    diffusion model is;
# 2. sample the **forward process (前向过程)** $q(x_t \mid x_0)$ in one step and check it against
#    the chain;
# 3. derive the diffusion ELBO line by line from eq. 2.4, and see why it becomes a squared error
#    on the noise;
# 4. compute that ELBO exactly for a model whose best denoiser is known, and compare a trained
#    network with it;
# 5. sample with DDPM and DDIM, and measure how many steps they need.
#
# **Map.** §1 the model · §2 forward process (slider $t$) · §3 **noise schedules (噪声调度)** ·
# §4 the ELBO, derived and checked · §5 the best possible ELBO, exactly · §6 learning the noise ·
# §7 sampling (sliders: steps, reverse step) · §8 two moons in 2-D · §9 summary, exercises,
# references. Everything runs on the CPU in well under a minute.

# %%
# Set-up for Colab or any kernel without this project: install its `helpers` package.
# Locally (make lab) and in the tests it is installed already, and this cell does nothing.
import importlib, importlib.metadata, importlib.util, subprocess, sys
PROJECT = "diffusion-principles-notebooks"
try:
    import helpers
except ImportError:
    helpers = None
if getattr(helpers, "PROJECT", None) != PROJECT:  # missing, or another module called helpers
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "git+https://github.com/diffusion-principles/companion-notebooks.git"], check=True)
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

# %%
import math
import time

import numpy as np
import torch

from helpers.data import two_moons
from helpers.denoiser import EpsNet, TrainedEpsModel, train_eps_model
from helpers.diffusion import (GaussianMixture1D, NoiseSchedule, ddim_sample, ddpm_sample,
                               diffusion_elbo, reverse_mean)
from helpers.metrics import mmd, sliced_wasserstein_1, wasserstein_1
from helpers.nets import Adam, frozen
from helpers.plots.diffusion import (plot_elbo_per_step, plot_eps_fit, plot_forward_process,
                                     plot_forward_strip, plot_moons, plot_reverse_step,
                                     plot_sampler_steps, plot_schedules, plot_w1_vs_steps)
from helpers.progress import progress_bar
from helpers.sampling import normal_pdf
from helpers.widgets import int_slider, slider_panel

notebook_start = time.perf_counter()

# %% [markdown]
# ## 1. From notebook 04 to many latents
#
# A VAE has one latent $z$, a learned encoder $q_\phi(z \mid x)$, a prior $p(z) = N(0, I)$ and a
# decoder $p_\theta(x \mid z)$. A diffusion model is the same construction with three
# restrictions (Sohl-Dickstein et al. 2015; Ho et al. 2020; Luo 2022):
#
# 1. **Many latents, each the size of the data.** Write the data as $x_0$ and the latents as
#    $x_1, \dots, x_T$, all in $\mathbb{R}^d$. They form a chain $x_0 \to x_1 \to \dots \to x_T$.
# 2. **The encoder is fixed.** Each step shrinks the previous point a little and adds a little
#    Gaussian noise:
#    $$x_t = \sqrt{\alpha_t}\, x_{t-1} + \sqrt{\beta_t}\, \varepsilon_t, \qquad
#      \varepsilon_t \sim N(0, I), \quad \alpha_t = 1 - \beta_t,$$
#    that is $q(x_t \mid x_{t-1}) = N(\sqrt{\alpha_t}\, x_{t-1}, \beta_t I)$. The variances
#    $\beta_1, \dots, \beta_T$, the *noise schedule*, are chosen, not learned. There is no $\phi$.
# 3. **The last latent is (almost) pure noise.** The schedule is chosen so that $x_T$ ends up
#    distributed as $N(0, I)$, whatever $x_0$ was.
#
# | notebook 03 / 04 | diffusion model |
# |---|---|
# | latent $z$ | the whole chain $x_{1:T} = (x_1, \dots, x_T)$ |
# | encoder $q_\phi(z \mid x)$ | $q(x_{1:T} \mid x_0) = \prod_t q(x_t \mid x_{t-1})$, fixed |
# | prior $p(z) = N(0, I)$ | $p(x_T) = N(0, I)$ |
# | decoder $p_\theta(x \mid z)$ | $p_\theta(x_{0:T-1} \mid x_T) = \prod_t p_\theta(x_{t-1} \mid x_t)$, learned |
# | prior-matching term $\mathrm{KL}(q(z \mid x) \,\|\, p(z))$ | $L_T = \mathrm{KL}(q(x_T \mid x_0) \,\|\, N(0, I))$: no parameters left |
#
# All the learning sits in the decoder, which walks the chain backwards: the **reverse process
# (反向过程)**, one small **denoising (去噪)** step at a time.
#
# Our test beds: a 1-D mixture of three Gaussians, whose every quantity below has an exact
# answer, and 2-D two moons for pictures.

# %%
mixture = GaussianMixture1D(weights=[0.4, 0.3, 0.3], means=[-1.5, 0.5, 2.0], stds=[0.25, 0.25, 0.5])
x_train = mixture.sample(4000, rng=0)      # shape (n, 1): data are rows
x_test = mixture.sample(4000, rng=1)       # held out: every score below is on these
moons_train, moons_test = two_moons(8000, rng=0), two_moons(2000, rng=1)
print(f"mixture: {len(x_train)} training and {len(x_test)} held-out points; "
      f"exact mean log p(x) on the held-out points = {mixture.log_prob(x_test).mean():.3f} nats")
print(f"two moons: {len(moons_train)} training and {len(moons_test)} held-out points in 2-D")

# %% [markdown]
# ## 2. The forward process, one step or many
#
# Iterating the chain is a product of Gaussians, and a linear map of a Gaussian is Gaussian, so
# $x_t$ given $x_0$ has a closed form. With $\bar\alpha_t = \prod_{s \le t} \alpha_s$,
# $$q(x_t \mid x_0) = N\big(\sqrt{\bar\alpha_t}\, x_0,\ (1 - \bar\alpha_t) I\big), \qquad
#   x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \varepsilon .$$
# (Induction: if $x_{t-1} = \sqrt{\bar\alpha_{t-1}}\,x_0 + \sqrt{1-\bar\alpha_{t-1}}\,\varepsilon'$,
# then $x_t$ has mean $\sqrt{\alpha_t \bar\alpha_{t-1}}\,x_0$ and noise variance
# $\alpha_t(1 - \bar\alpha_{t-1}) + \beta_t = 1 - \bar\alpha_t$.) So we never need to run the
# chain to get $x_t$: `NoiseSchedule.q_sample` jumps there. We check the jump against the chain
# itself, iterated step by step on the mixture's samples. Three statistics have exact values:
# the mean $\sqrt{\bar\alpha_t}\,\mathbb{E}[x_0]$, the variance $\bar\alpha_t \mathrm{Var}(x_0) +
# 1 - \bar\alpha_t$, and the correlation of the residual $x_t - \sqrt{\bar\alpha_t}\,x_0$ with
# $x_0$, which is 0.

# %%
schedule = NoiseSchedule.cosine(100)     # the schedule of §§ 4-7; § 3 says why
rng = np.random.default_rng(2)
x0 = x_train[:, 0]
mean0, var0 = x0.mean(), x0.var()
x = x0.copy()
print(f"{'t':>4} {'statistic':<24} {'chain':>8} {'exact':>8} {'s.e.':>7}  {'off by':>10}")
for t in range(1, schedule.T + 1):
    # one step of the chain: x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) eps_t
    x = np.sqrt(schedule.alphas[t - 1]) * x + np.sqrt(schedule.betas[t - 1]) * rng.standard_normal(x.size)
    if t in (10, 50, 100):
        ab = schedule.alpha_bar[t - 1]
        resid = x - np.sqrt(ab) * x0          # the noise the chain added, in total
        n, s2 = x.size, 1 - ab                # s2: its exact variance
        # standard errors given x_0 (only the noise is random): mean s/sqrt(n); sample variance
        # of the Gaussian residual s2 sqrt(2/n); of x_t, that plus its covariance with x_0
        rows = [("mean", x.mean(), np.sqrt(ab) * mean0, np.sqrt(s2 / n)),
                ("variance", x.var(), ab * var0 + s2, np.sqrt((2 * s2**2 + 4 * ab * var0 * s2) / n)),
                ("corr(residual, x_0)", np.corrcoef(resid, x0)[0, 1], 0.0, 1 / np.sqrt(n)),
                ("variance of residual", resid.var(), s2, s2 * np.sqrt(2 / n))]
        for name, got, exact, se in rows:
            print(f"{t:>4} {name:<24} {got:8.4f} {exact:8.4f} {se:7.4f}  {(got - exact) / se:+5.1f} s.e.")

# %% [markdown]
# All twelve chain statistics agree with the closed form: the largest deviation is 2.3
# standard errors, and one in twelve beyond 2 is what chance alone gives. (The exact column uses
# the sample's own mean and variance of $x_0$, so it compares the chain with the formula, not
# the sample with the population.) The picture below uses the closed form with
# one fixed draw of $\varepsilon$ per point, so as $t$ grows the same points fade into
# $N(0, 1)$: first the gaps between the mixture's bumps fill in, then the bumps merge. The red
# curve is the exact density of $x_t$: a mixture again, because the noised mixture is still a
# mixture (`GaussianMixture1D.marginal`).

# %%
noise_1d = np.random.default_rng(3).standard_normal(x_train.shape)
noise_2d = np.random.default_rng(4).standard_normal((2000, 2))
forward = dict(schedule=schedule, x0_1d=x_train, noise_1d=noise_1d, x0_2d=moons_train[:2000],
               noise_2d=noise_2d, mixture=mixture)
plot_forward_strip([1, 25, 50, 75, 100], **forward)

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_forward_process, int_slider("t", 30, 1, schedule.T), **forward)

# %% [markdown]
# ## 3. Schedules, and the term nobody trains
#
# Restriction 3 asks for $q(x_T \mid x_0) \approx N(0, I)$. How close it gets is a number,
# the prior-matching term of eq. 2.5 for the last latent:
# $$L_T = \mathrm{KL}\big(q(x_T \mid x_0) \,\|\, N(0, I)\big),$$
# a KL between two Gaussians (notebook 04's closed form). No parameter touches it, so whatever
# the schedule leaves here is lost from every ELBO. We compare DDPM's **linear** schedule
# ($\beta_t$ from $10^{-4}$ to $0.02$; Ho et al. 2020) with the **cosine** schedule of Nichol &
# Dhariwal (2021), $\bar\alpha_t = f(t)/f(0)$ with $f(t) = \cos^2\!\big(\tfrac{t/T + s}{1 + s}
# \tfrac{\pi}{2}\big)$, $s = 0.008$.

# %%
print(f"{'T':>4} {'schedule':<8} {'alpha_bar_T':>12} {'L_T (nats, mean over data)':>28}")
for T in (10, 50, 100):
    for name, s in (("linear", NoiseSchedule.linear(T)), ("cosine", NoiseSchedule.cosine(T))):
        print(f"{T:>4} {name:<8} {s.alpha_bar[-1]:12.4f} {s.prior_kl(x_test).mean():28.4f}")

plot_schedules({"linear, T = 50": NoiseSchedule.linear(50),
                "linear, T = 1000": NoiseSchedule.linear(1000),
                "cosine, T = 50": NoiseSchedule.cosine(50),
                "cosine, T = 100": NoiseSchedule.cosine(100)})

# %% [markdown]
# The linear schedule was designed for $T = 1000$: its $\beta_t$ are so small that with $T = 50$
# steps $\bar\alpha_T$ is still far from 0. Then $x_T$ still remembers $x_0$, starting the
# reverse process from $N(0, I)$ is wrong, and $L_T$ is a visible part of the loss. The cosine
# schedule reaches $\bar\alpha_T \approx 0$ for any $T$ (its last $\beta_T$ is clipped at 0.999),
# so $L_T$ is essentially 0. **We use the cosine schedule with $T = 100$ from here on.**
#
# ## 4. The ELBO of a diffusion model
#
# Take eq. 2.4 with the latent $z = x_{1:T}$ and the encoder $q(x_{1:T} \mid x_0)$:
# $$
# \begin{aligned}
# \log p_\theta(x_0) &\ge \mathbb{E}_{q}\Big[\log \frac{p_\theta(x_{0:T})}{q(x_{1:T} \mid x_0)}\Big] && (1)\\
# &= \mathbb{E}_{q}\Big[\log p(x_T) + \sum_{t=1}^{T} \log p_\theta(x_{t-1} \mid x_t)
#    - \sum_{t=1}^{T} \log q(x_t \mid x_{t-1})\Big] && (2)\\
# &= \mathbb{E}_{q}\Big[\log p(x_T) + \sum_{t=1}^{T} \log p_\theta(x_{t-1} \mid x_t)
#    - \log q(x_1 \mid x_0) - \sum_{t=2}^{T} \log \frac{q(x_{t-1} \mid x_t, x_0)\, q(x_t \mid x_0)}{q(x_{t-1} \mid x_0)}\Big] && (3)\\
# &= \mathbb{E}_{q}\Big[\log p_\theta(x_0 \mid x_1) + \log \frac{p(x_T)}{q(x_T \mid x_0)}
#    + \sum_{t=2}^{T} \log \frac{p_\theta(x_{t-1} \mid x_t)}{q(x_{t-1} \mid x_t, x_0)}\Big] && (4)\\
# &= \underbrace{\mathbb{E}_{q}[\log p_\theta(x_0 \mid x_1)]}_{\text{reconstruction}}
#    - \underbrace{\sum_{t=2}^{T} \mathbb{E}_{q}\,\mathrm{KL}\big(q(x_{t-1} \mid x_t, x_0) \,\|\, p_\theta(x_{t-1} \mid x_t)\big)}_{\text{denoising matching}}
#    - \underbrace{\mathrm{KL}\big(q(x_T \mid x_0) \,\|\, p(x_T)\big)}_{L_T,\ \text{prior matching}} && (5)
# \end{aligned}
# $$
# Line 2 writes both joints as products along the chain. Line 3 uses that the chain is Markov,
# so $q(x_t \mid x_{t-1}) = q(x_t \mid x_{t-1}, x_0)$, and then Bayes' rule to turn that step
# around. In line 4 the ratios $q(x_t \mid x_0) / q(x_{t-1} \mid x_0)$ telescope: only
# $q(x_T \mid x_0)/q(x_1 \mid x_0)$ survives, and the $q(x_1 \mid x_0)$ cancels. Line 5 names the
# expectations of log-ratios as KL divergences. It is eq. 2.5 again, reconstruction minus prior
# matching, with a new middle term: each reverse step must match the **posterior** of the
# forward step, *given $x_0$*. That posterior is Gaussian,
# $$q(x_{t-1} \mid x_t, x_0) = N\big(\tilde\mu_t,\ \tilde\beta_t I\big),\quad
#   \tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1 - \bar\alpha_t}\,x_0
#   + \frac{\sqrt{\alpha_t}\,(1 - \bar\alpha_{t-1})}{1 - \bar\alpha_t}\,x_t,\quad
#   \tilde\beta_t = \frac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t}\,\beta_t .$$
#
# **Check 1: Bayes' rule, numerically.** On a fine grid of $x_{t-1}$ we multiply
# $q(x_{t-1} \mid x_0)$ by $q(x_t \mid x_{t-1})$ (both Gaussian densities, eq. 1.1's
# `normal_pdf` from notebook 01), normalise, and read off the mean and variance by quadrature;
# `q_posterior` has the formula.

# %%
x0_point, t = np.array([[0.7]]), 40
x_t_point, _ = schedule.q_sample(x0_point, t, rng=5)
ab_prev, ab, alpha, beta = (schedule.alpha_bar[t - 2], schedule.alpha_bar[t - 1],
                            schedule.alphas[t - 1], schedule.betas[t - 1])
grid = np.linspace(-6, 6, 200_001)
dx = grid[1] - grid[0]  # the densities vanish at +-6, so sums times dx are the integrals
bayes = (normal_pdf(grid, np.sqrt(ab_prev) * 0.7, np.sqrt(1 - ab_prev))        # q(x_{t-1}|x_0)
         * normal_pdf(x_t_point[0, 0], np.sqrt(alpha) * grid, np.sqrt(beta)))  # q(x_t|x_{t-1})
bayes /= bayes.sum() * dx
mean_grid = (grid * bayes).sum() * dx
var_grid = ((grid - mean_grid) ** 2 * bayes).sum() * dx
mean_formula, var_formula = schedule.q_posterior(x0_point, x_t_point, t)
print(f"t = {t}: posterior mean  quadrature {mean_grid:.8f}   formula {mean_formula[0, 0]:.8f}")
print(f"        posterior var   quadrature {var_grid:.8f}   formula {var_formula:.8f}")

# %% [markdown]
# **From KL to a squared error on the noise.** Give the reverse step the posterior's own
# variance, $p_\theta(x_{t-1} \mid x_t) = N(\mu_\theta(x_t, t), \tilde\beta_t I)$. Between two
# Gaussians of equal variance the KL is the squared distance of the means over twice the
# variance, $\|\tilde\mu_t - \mu_\theta\|^2 / (2\tilde\beta_t)$. Now substitute
# $x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\varepsilon)/\sqrt{\bar\alpha_t}$ into $\tilde\mu_t$: it
# becomes $\tilde\mu_t = \big(x_t - \tfrac{\beta_t}{\sqrt{1 - \bar\alpha_t}}\,\varepsilon\big)/\sqrt{\alpha_t}$.
# So let the network predict the noise, $\varepsilon_\theta(x_t, t)$, and use the same form
# (`reverse_mean`, Ho et al. 2020 eq. 11):
# $$\mu_\theta(x_t, t) = \frac{1}{\sqrt{\alpha_t}}\Big(x_t - \frac{\beta_t}{\sqrt{1 - \bar\alpha_t}}\,\varepsilon_\theta(x_t, t)\Big)
# \quad\Longrightarrow\quad
# \mathrm{KL}_t = \underbrace{\frac{\beta_t^2}{2\tilde\beta_t\,\alpha_t\,(1 - \bar\alpha_t)}}_{\lambda_t}
#   \,\|\varepsilon - \varepsilon_\theta(x_t, t)\|^2 .$$
# Each denoising term is a weighted regression of the noise that was added. Dropping the
# weights $\lambda_t$ gives the "simple" loss that DDPM trains with, $\mathbb{E}\,\|\varepsilon -
# \varepsilon_\theta(x_t, t)\|^2$ over random $t$. It has the same minimiser at every $t$:
# $\varepsilon_\theta(x_t, t) = \mathbb{E}[\varepsilon \mid x_t]$.
#
# **Check 2: the KL equals the weighted noise error**, for an arbitrary (wrong) prediction:

# %%
x0_rows = x_test[:5]
for t in (2, 30, 90):
    x_t_rows, eps = schedule.q_sample(x0_rows, t, rng=t)
    eps_guess = 0.5 * eps + 0.3                         # any prediction will do
    mu_tilde, beta_tilde = schedule.q_posterior(x0_rows, x_t_rows, t)
    kl = ((mu_tilde - reverse_mean(schedule, x_t_rows, t, eps_guess)) ** 2).sum(1) / (2 * beta_tilde)
    b, a, ab = schedule.betas[t - 1], schedule.alphas[t - 1], schedule.alpha_bar[t - 1]
    lam = b**2 / (2 * beta_tilde * a * (1 - ab))
    noise_form = lam * ((eps - eps_guess) ** 2).sum(1)
    print(f"t = {t:>2}: lambda_t = {lam:8.3f};  KL {np.round(kl, 5)}  vs  weighted error "
          f"{np.round(noise_form, 5)}")

# %% [markdown]
# ## 5. Exact answers first: the best possible denoiser
#
# The minimiser $\mathbb{E}[\varepsilon \mid x_t]$ has a formula when the density $q_t$ of $x_t$
# is known. By Tweedie's formula, $\mathbb{E}[\varepsilon \mid x_t] = -\sqrt{1 - \bar\alpha_t}\,
# \nabla \log q_t(x_t)$: the noise points down the slope of the log-density, the
# **score (分数)**. For our mixture $q_t$ is a mixture too, so `mixture.eps_star` is exact.
#
# Plugged into the ELBO of §4, it gives the **best ELBO any model with these Gaussian reverse
# steps can reach**. It is still below $\log p$: a reverse step $p(x_{t-1} \mid x_t)$ that is
# Gaussian cannot be the true reverse step of the chain, which is not Gaussian where $q_t$ has
# several bumps. Smaller steps make each true reverse step more nearly Gaussian, so the gap
# should shrink as $T$ grows. `diffusion_elbo` draws one $x_t$ per step and data point, so each
# number comes with a standard error over the held-out points.

# %%
log_p = mixture.log_prob(x_test)[:, 0]
print(f"exact mean log p(x) = {log_p.mean():.3f} nats")
print(f"{'T':>4} {'ELBO with eps*':>16} {'gap log p - ELBO':>18}")
ideal = {}
for T in (10, 50, 100):
    s = NoiseSchedule.cosine(T)
    ideal[T] = diffusion_elbo(x_test, lambda x, t, s=s: mixture.eps_star(x, t, s), s, rng=6)
    gap = log_p - ideal[T].elbo
    print(f"{T:>4} {ideal[T].elbo.mean():16.3f} {gap.mean():10.3f} ± {gap.std() / np.sqrt(gap.size):.3f}")

# %% [markdown]
# The gap is positive and shrinks as the chain gets longer (Kingma et al. 2021 show that it
# vanishes as $T \to \infty$ in continuous time). Where does the loss sit along the chain? The
# bars are the mean denoising terms $L_{t-1}$ with $\varepsilon^*$ at $T = 100$; the legend
# holds $L_0$ (a negative log-density, which can be below 0 for a density above 1) and $L_T$.

# %%
e100 = ideal[100]
plot_elbo_per_step({"exact eps*": e100.per_step.mean(axis=1)}, {"exact eps*": e100.prior.mean()},
                   title="where -ELBO sits along the chain (T = 100, cosine, exact eps*)")

# %% [markdown]
# ## 6. Learning the noise
#
# Now forget the formula and learn $\varepsilon_\theta$ with a small network.
#
# The network (`EpsNet`) is an MLP with 4 hidden layers of 64 units that reads $x_t$ and
# sinusoidal features of $t/T$. One detail matters for sampling: the cosine schedule ends at
# $\bar\alpha_T \approx 2 \times 10^{-7}$, where $x_T$ is pure noise and the best prediction is
# $\varepsilon^* \approx x_T$. Both samplers divide by $\sqrt{\bar\alpha_t}$ or $\sqrt{\alpha_t}$
# there, which would blow up any small error of the network. So the network's output is written
# as $\varepsilon_\theta = \sqrt{1 - \bar\alpha_t}\, x_t + \sqrt{\bar\alpha_t}\, F_\theta(x_t, t)$:
# exact at $t = T$ by construction, and the MLP $F_\theta$ only has to learn the rest (it
# learns the "v" target of Salimans & Ho 2022).
#
# This is the whole training loop. Sample $t$ uniformly, sample the noise, jump to $x_t$ in
# closed form, regress the noise: one Adam step per batch, with the learning rate decaying to 0
# along a half cosine. It trains on the 4000 mixture points. `train_eps_model(x_train, schedule,
# seed=0)` runs the same lines (a test checks that both give the same losses, bit for bit), and
# section 8 calls it for two moons. This cell is yours to edit and re-run: try `skip=False` in
# `EpsNet`, a constant learning rate, or fewer steps, and watch the numbers below move.
# %%
torch.set_num_threads(1)  # a small network: one thread is faster here, and bit-for-bit repeatable
steps, batch_size, lr = 1500, 256, 5e-3
torch.manual_seed(0)
net = EpsNet(d=1, alpha_bar=schedule.alpha_bar)              # 4 hidden layers of 64 units
opt = Adam(net.parameters(), lr=lr)
gen = torch.Generator().manual_seed(1)
x0_all = torch.tensor(x_train, dtype=torch.float32)
alpha_bar = torch.tensor(schedule.alpha_bar, dtype=torch.float32)
history, start = [], time.perf_counter()
for step in progress_bar(range(steps), desc="training eps_theta"):
    x0 = x0_all[torch.randint(len(x0_all), (batch_size,), generator=gen)]  # x_0 ~ data
    t = torch.randint(1, schedule.T + 1, (batch_size,), generator=gen)   # t ~ U{1, ..., T}
    eps = torch.randn(x0.shape, generator=gen)                           # eps ~ N(0, I)
    ab = alpha_bar[t - 1, None]                                          # alpha_bar_t, per row
    x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * eps                         # x_t ~ q(x_t | x_0)
    loss = ((eps - net(x_t, t)) ** 2).sum(1).mean()                      # L_simple (Ho et al. eq. 14)
    opt.lr = lr * 0.5 * (1 + math.cos(math.pi * step / steps))           # cosine decay
    opt.zero_grad()
    loss.backward()
    opt.step()
    history.append(loss.item())
eps_theta = TrainedEpsModel(frozen(net), schedule, np.array(history), time.perf_counter() - start)
print(f"final loss {np.mean(eps_theta.history[-100:]):.3f} (mean of the last 100 steps)")

# %% [markdown]
# How close is $\varepsilon_\theta$ to $\varepsilon^*$? Where $x_t$ has little mass, the network
# has seen no data, so we measure the difference where the data are: the RMS over the held-out
# points noised to step $t$.

# %%
print(f"{'t':>4} {'RMS(eps_theta - eps*) at x_t ~ q_t':>36} {'RMS(eps*)':>10}")
for t in (1, 10, 50, 90):
    x_t, _ = schedule.q_sample(x_test, t, rng=7)
    exact = mixture.eps_star(x_t, t, schedule)
    print(f"{t:>4} {np.sqrt(np.mean((eps_theta(x_t, t) - exact) ** 2)):36.3f} "
          f"{np.sqrt(np.mean(exact ** 2)):10.3f}")
plot_eps_fit(eps_theta, mixture, schedule, [1, 10, 50, 90])

# %% [markdown]
# The learned ELBO is computed with the same random draws as the ideal one (`rng=6`), so their
# difference has a small standard error. The ordering must be learned ≤ ideal ≤ $\log p$:

# %%
learned = diffusion_elbo(x_test, eps_theta, schedule, rng=6)
se = lambda v: v.std() / np.sqrt(v.size)  # noqa: E731
rows = [("learned eps_theta", learned.elbo), ("ideal eps*", ideal[100].elbo), ("exact log p", log_p)]
for name, v in rows:
    print(f"{name:<18} {v.mean():8.3f} ± {se(v):.3f} nats")
print(f"ideal - learned  = {(ideal[100].elbo - learned.elbo).mean():.3f} ± "
      f"{se(ideal[100].elbo - learned.elbo):.3f} nats (same draws)")
print(f"log p - ideal    = {(log_p - ideal[100].elbo).mean():.3f} ± {se(log_p - ideal[100].elbo):.3f} nats")
plot_elbo_per_step({"exact eps*": ideal[100].per_step.mean(axis=1),
                    "learned eps_theta": learned.per_step.mean(axis=1)},
                   {"exact eps*": ideal[100].prior.mean(), "learned eps_theta": learned.prior.mean()},
                   title="-ELBO per step: learned against exact")

# %% [markdown]
# ## 7. Sampling: DDPM and DDIM
#
# **DDPM** (Ho et al. 2020) samples the model's own chain: start at $x_T \sim N(0, I)$ and draw
# $x_{t-1} \sim N(\mu_\theta(x_t, t), \tilde\beta_t I)$ down to $x_0$. With fewer steps it walks
# a sub-chain through evenly spaced timesteps, whose $\bar\alpha$ are the full chain's. **DDIM**
# (Song et al. 2021) uses the same network but no fresh noise: at each step it predicts $x_0$,
# then moves to the next timestep along the predicted noise. Only $x_T$ is random.
#
# We score samples by the 1-D Wasserstein distance $W_1$ to the held-out data. Even two samples
# of the data itself are not at distance 0: that **floor** is the best any sampler can show.

# %%
n_samples = 4000
floor = wasserstein_1(mixture.sample(n_samples, rng=8), x_test)
exact_eps = lambda x, t: mixture.eps_star(x, t, schedule)  # noqa: E731
steps_list = [5, 10, 20, 50, 100]
curves = {}
for label, model in (("exact eps*", exact_eps), ("learned eps_theta", eps_theta)):
    curves[f"DDPM, {label}"] = [wasserstein_1(ddpm_sample(model, schedule, n_samples, steps=k, rng=9), x_test)
                                for k in steps_list]
    curves[f"DDIM, {label}"] = [wasserstein_1(ddim_sample(model, schedule, n_samples, steps=k, rng=9), x_test)
                                for k in steps_list]
print(f"floor (two data samples of {n_samples}): W1 = {floor:.3f}")
print(f"{'sampler':<28}" + "".join(f"{k:>8}" for k in steps_list) + "   <- steps")
for label, w in curves.items():
    print(f"{label:<28}" + "".join(f"{v:8.3f}" for v in w))
plot_w1_vs_steps(steps_list, curves, floor)

# %% [markdown]
# Three things to read off the table. With all 100 steps every sampler is within about 0.01 of
# the floor. With few steps the samplers, not the network, set the error: at 5 and 10 steps the
# learned model does as well as the exact $\varepsilon^*$. And DDIM degrades more gracefully than
# DDPM: with $\varepsilon^*$ it is at the floor from 50 steps on (0.038 against DDPM's 0.065),
# and at 5 or 10 steps it is ahead of DDPM for both models. Coarse random jumps of DDPM add
# noise of the wrong size; DDIM's deterministic steps follow a smooth path (the
# probability-flow ODE, Song et al. 2021) that a coarse grid tracks better.
#
# Move the number of steps and watch both samplers, here with the exact $\varepsilon^*$ and 1000
# samples so that every redraw is quick (the title gives their $W_1$, whose floor at this size
# is a little higher than the table's):

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_sampler_steps, int_slider("steps", 10, 1, schedule.T), eps_model=exact_eps,
             schedule=schedule, mixture=mixture, held_out=x_test, n=1000, rng=0)

# %% [markdown]
# And scrub one DDPM run of the learned model, computed once: the slider only picks a stored
# state. Watch the three bumps appear out of $N(0, 1)$, late in the chain.

# %%
_, trajectory = ddpm_sample(eps_theta, schedule, 2000, rng=10, return_trajectory=True)
plot_reverse_step(70, trajectory=trajectory, mixture=mixture)

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_reverse_step, int_slider("step", 70, 0, schedule.T), trajectory=trajectory,
             mixture=mixture)

# %% [markdown]
# ## 8. Two moons in 2-D
#
# The same network, loss and schedule on two moons, trained for 800 steps instead of 1500 to
# keep this notebook quick. In 2-D we compare point clouds with two distances:
# the **sliced** Wasserstein-1 (the mean $W_1$ over 256 random directions of projection) and the
# squared MMD with a Gaussian kernel (its unbiased estimate, which can dip just below 0 when two
# samples agree). Beside them: the floor (two draws of the data) and the ceiling (no model at
# all: $N(0, I)$).

# %%
eps_moons = train_eps_model(moons_train, schedule, steps=800, seed=1, desc="training on moons")
moons_ddpm = ddpm_sample(eps_moons, schedule, 2000, d=2, rng=11)
moons_floor = two_moons(2000, rng=12)
gauss = np.random.default_rng(13).standard_normal((2000, 2))
print(f"{'2000 points against held-out':<30} {'sliced W1':>10} {'MMD':>10}")
for name, pts in (("floor: another data draw", moons_floor), ("DDPM, learned (T = 100)", moons_ddpm),
                  ("ceiling: N(0, I)", gauss)):
    print(f"{name:<30} {sliced_wasserstein_1(pts, moons_test, rng=14):10.4f} "
          f"{mmd(pts, moons_test):10.1e}")
plot_moons({"held-out data": moons_test, "DDPM samples": moons_ddpm, "N(0, I)": gauss})

# %% [markdown]
# The samples' sliced $W_1$ is about 1.6 times the floor and a small fraction of the ceiling; the
# picture shows where the rest is: a few points strung between the moons' tips, where the data
# have none. At this bandwidth (the median distance between points) the MMD cannot tell the
# samples from data, both being within noise of 0, while it flags $N(0, I)$ at once: a reminder
# to report more than one distance.

# %% [markdown]
# ## 9. What we have seen
#
# - A diffusion model is a VAE whose latents $x_1..x_T$ have the data's size, whose encoder is a
#   fixed noising chain, and whose prior matching $L_T$ has nothing left to learn; the cosine
#   schedule makes $L_T \approx 0$ for any $T$, the linear one only for long chains.
# - $q(x_t \mid x_0)$ has a closed form, so training never runs the chain (§2 checked it
#   against the chain).
# - Eq. 2.4 with $z = x_{1:T}$ gives reconstruction − denoising matching − prior matching; with a
#   Gaussian reverse step of the posterior's variance, each denoising term is a weighted squared
#   error on the noise, and dropping the weights gives DDPM's simple loss.
# - With the exact $\varepsilon^*$ the ELBO is still below $\log p$, by less for longer chains;
#   a small trained network sits just below that ideal.
# - DDPM needs many steps; DDIM, deterministic given $x_T$, gets close with far fewer.
#
# ## Exercises (predict, then check)
#
# 1. **A short linear chain.** Predict $L_T$ for the linear schedule at $T = 10$, then its ELBO
#    gap with $\varepsilon^*$. Check: change `NoiseSchedule.cosine(T)` to `.linear(T)` in §5.
#    <details><summary>Solution</summary>
#    $\bar\alpha_{10} = 0.90$, so $x_T$ is mostly signal; §3's table gives $L_T = 1.76$ nats,
#    and all of it adds to the gap (the reverse process starts from the wrong distribution), on
#    top of what the ten coarse denoising steps lose.</details>
# 2. **How few DDIM steps?** Before moving the `steps` slider of §7, guess the smallest number
#    at which DDIM's $W_1$ is within twice the floor. Check with the slider (exact
#    $\varepsilon^*$), then in the table's rows for the learned model.
#    <details><summary>Solution</summary>
#    Twice the floor is about 0.07. With $\varepsilon^*$, §7's table shows DDIM at 0.060 and
#    DDPM at 0.071 after 20 steps, and both far off at 10 (0.12 and 0.15). DDIM's lead shows
#    at fewer steps, and at 50 steps, where it reaches the floor and DDPM does not. DDIM's
#    steps follow the smooth path of the probability-flow ODE, which a coarse grid
#    tracks better than a chain of coarse random jumps.</details>
# 3. **Predict $x_0$ instead of $\varepsilon$.** Rewrite the network's target as $x_0$
#    (then $\varepsilon_\theta = (x_t - \sqrt{\bar\alpha_t}\,\hat x_0)/\sqrt{1 - \bar\alpha_t}$).
#    Which steps $t$ does this make harder to learn?
#    <details><summary>Solution</summary>
#    Near $t = T$ the noise is almost all of $x_t$ and $x_0$ is almost unpredictable, so an
#    $x_0$-predictor's error is multiplied by $\sqrt{\bar\alpha_t}/\sqrt{1-\bar\alpha_t}$, small
#    there; near $t = 1$ the factor is large, and small errors in $\hat x_0$ become large errors
#    in $\varepsilon$. The two targets weight the steps differently, which is why the simple
#    loss on $\varepsilon$ works well out of the box (Ho et al. 2020, sec. 3.2).</details>
# 4. **Beyond the text: the ELBO weights.** Train with the true ELBO weights $\lambda_t$ of §4
#    instead of the simple loss (multiply each example's squared error by $\lambda_t$). Predict
#    whether the learned ELBO goes up or down, and whether the samples improve.
#    <details><summary>Solution</summary>
#    $\lambda_t$ is much larger at small $t$ (print it in §4), so the weighted loss concentrates
#    on the last denoising steps: the ELBO (what it optimises) can improve, while the
#    high-noise steps that shape the samples get less attention and the gradient is noisier.
#    This is the trade-off Ho et al. (2020) and Kingma et al. (2021) discuss.</details>
#
# ## References
#
# - J. Sohl-Dickstein, E. Weiss, N. Maheswaranathan, S. Ganguli (2015). *Deep unsupervised
#   learning using nonequilibrium thermodynamics.* ICML. (The chain and its ELBO, §§1, 4.)
# - J. Ho, A. Jain, P. Abbeel (2020). *Denoising diffusion probabilistic models.* NeurIPS.
#   (Linear schedule, eps-parametrisation, simple loss, DDPM sampling; §§3, 4, 6, 7.)
# - J. Song, C. Meng, S. Ermon (2021). *Denoising diffusion implicit models.* ICLR. (DDIM, §7.)
# - A. Nichol, P. Dhariwal (2021). *Improved denoising diffusion probabilistic models.* ICML.
#   (Cosine schedule and fewer sampling steps, §§3, 7.)
# - C. Luo (2022). *Understanding diffusion models: a unified perspective.* arXiv:2208.11970.
#   (Diffusion as a hierarchical VAE, the derivation of §4.)
# - D. P. Kingma, T. Salimans, B. Poole, J. Ho (2021). *Variational diffusion models.* NeurIPS.
#   (The ELBO's dependence on $T$ and on the weighting, §§5, 9.)
# - T. Salimans, J. Ho (2022). *Progressive distillation for fast sampling of diffusion models.*
#   ICLR. (The "v" parametrisation behind our network's output, §6.)
#
# **Glossary.** diffusion 扩散 · forward / reverse process 前向 / 反向过程 · noise schedule
# 噪声调度 · denoising 去噪 · score 分数 · evidence lower bound 证据下界 (ELBO) · prior matching
# 先验匹配项 · reconstruction 重建项 · KL divergence KL散度 · sampling 采样.

# %%
print(f"wall time: {time.perf_counter() - notebook_start:.2f} s")
