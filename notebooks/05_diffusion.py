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
# **Question.** Notebook 04 trained a Gaussian VAE on the ELBO (eqs. 2.4-2.5: reconstruction
# minus prior matching). What happens if the single latent $z$ becomes a *chain* of latents
# $x_1, \dots, x_T$, and the encoder is not learned at all?
#
# **Learning goals.** After this notebook you can
# 1. say which of notebook 03's objects (latent, encoder, prior, decoder) each part of a
#    diffusion model is;
# 2. sample the **forward process (前向过程)** $q(x_t \mid x_0)$ in one step;
# 3. derive the diffusion ELBO from eq. 2.4, and see why it becomes a squared error on the
#    noise;
# 4. estimate that ELBO for a model whose best denoiser is known, explain why it stays below
#    $\log p$ (the reverse step's variance), close the gap, and compare a trained network;
# 5. sample with DDPM and DDIM, and measure how many steps they need.
#
# **Reading time and map.** Core path, about 15 minutes to read (under a minute to run): §1
# the model · §2 forward process (slider) · §3 **noise schedules (噪声调度)** · §4 the ELBO ·
# §5 the exact denoiser's ELBO · §6 learning the noise · §7 sampling (sliders) · §9 summary.
# Optional, about 17 minutes more: §8 two moons, exercises, "Going deeper" blocks.

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
import torch

from helpers.data import two_moons
from helpers.denoiser import EpsNet, TrainedEpsModel, train_eps_model
from helpers.diffusion import (GaussianMixture1D, NoiseSchedule, ddim_sample, ddpm_sample,
                               ddpm_trajectory, diffusion_elbo, reverse_mean)
from helpers.bits import mean_and_se
from helpers.metrics import (mean_pairwise_distance, mmd, prepare_reference,
                             sliced_wasserstein_1, wasserstein_1)
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
# A diffusion model is notebook 04's VAE (latent, encoder, prior, decoder) with three
# restrictions (Sohl-Dickstein et al. 2015; Ho et al. 2020; Luo 2022):
#
# 1. **Many latents, each the size of the data**: $x_1, \dots, x_T \in \mathbb{R}^d$, a chain
#    $x_0 \to x_1 \to \dots \to x_T$ from the data $x_0$.
# 2. **The encoder is fixed.** Each step shrinks the previous point a little and adds a little
#    Gaussian noise:
#    $$x_t = \sqrt{\alpha_t}\, x_{t-1} + \sqrt{\beta_t}\, \varepsilon_t, \qquad
#      \varepsilon_t \sim N(0, I), \quad \alpha_t = 1 - \beta_t,$$
#    that is $q(x_t \mid x_{t-1}) = N(\sqrt{\alpha_t}\, x_{t-1}, \beta_t I)$. The *noise
#    schedule* $\beta_1, \dots, \beta_T$ is chosen, not learned: there is no $\phi$.
# 3. **The last latent is (almost) pure noise**: $x_T \sim N(0, I)$, whatever $x_0$ was.
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
# Test beds: a 1-D mixture of three Gaussians, where every quantity has an exact answer, and
# 2-D two moons.

# %%
mixture = GaussianMixture1D(weights=[0.4, 0.3, 0.3], means=[-1.5, 0.5, 2.0], stds=[0.25, 0.25, 0.5])
x_train = mixture.sample(4000, rng=0)      # shape (n, 1): data are rows
x_test = mixture.sample(4000, rng=1)       # held out: every score below is on these
test_ref = prepare_reference(x_test)       # x_test sorted once, for the many W1s
moons_train, moons_test = two_moons(8000, rng=0), two_moons(2000, rng=1)
print(f"mixture: {len(x_train)} training and {len(x_test)} held-out points; "
      f"exact mean log p(x) on the held-out points = {mixture.log_prob(x_test).mean():.3f} nats")
print(f"two moons: {len(moons_train)} training and {len(moons_test)} held-out points in 2-D")

# %% [markdown]
# ## 2. The forward process, one step or many
#
# **Any $x_t$ can be drawn from $x_0$ in one jump.** A linear map of a Gaussian is Gaussian, so
# $x_t$ given $x_0$ has a closed form. With $\bar\alpha_t = \prod_{s \le t} \alpha_s$,
# $$q(x_t \mid x_0) = N\big(\sqrt{\bar\alpha_t}\, x_0,\ (1 - \bar\alpha_t) I\big), \qquad
#   x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \varepsilon .$$
# `NoiseSchedule.q_sample` jumps there
# (notebook 04's reparameterisation trick again). We check the jump against the chain itself,
# iterated step by step on the mixture's samples, on three statistics with exact values.
#
# <details><summary>Going deeper: the induction, and the three statistics</summary>
#
# Induction: if $x_{t-1} = \sqrt{\bar\alpha_{t-1}}\,x_0 + \sqrt{1-\bar\alpha_{t-1}}\,\varepsilon'$,
# then $x_t$ has mean $\sqrt{\alpha_t \bar\alpha_{t-1}}\,x_0$ and noise variance
# $\alpha_t(1 - \bar\alpha_{t-1}) + \beta_t = 1 - \bar\alpha_t$. `q_sample` writes a draw of
# $N(m, s^2)$ as $m + s\,\varepsilon$. The three statistics: the mean
# $\sqrt{\bar\alpha_t}\,\mathbb{E}[x_0]$, the variance $\bar\alpha_t \mathrm{Var}(x_0) +
# 1 - \bar\alpha_t$, and the correlation of the residual $x_t - \sqrt{\bar\alpha_t}\,x_0$ with
# $x_0$, which is 0.
# </details>

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
# standard errors, and one in twelve beyond 2 is what chance alone gives. In the picture below
# (one fixed draw of $\varepsilon$ per point), look for the same points fading into $N(0, 1)$ as
# $t$ grows: first the gaps between the mixture's bumps fill in, then the bumps merge. The red
# curve is the exact density of $x_t$, a mixture again (`GaussianMixture1D.marginal`).
#
# <details><summary>Going deeper: what the exact column compares</summary>
#
# The exact column uses the sample's own mean and variance of $x_0$, so it compares the chain
# with the formula, not the sample with the population.
# </details>

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
# **The schedule decides what the ELBO loses for good at the end of the chain.** Restriction 3
# asks for $q(x_T \mid x_0) \approx N(0, I)$; how close it gets is eq. 2.5's prior-matching term:
# $$L_T = \mathrm{KL}\big(q(x_T \mid x_0) \,\|\, N(0, I)\big),$$
# a KL between two Gaussians (notebook 04's closed form) that no parameter touches. We compare DDPM's **linear** schedule
# ($\beta_t$ from $10^{-4}$ to $0.02$; Ho et al. 2020) with the **cosine** schedule of Nichol &
# Dhariwal (2021).
#
# <details><summary>Going deeper: the cosine schedule's formula</summary>
#
# $\bar\alpha_t = f(t)/f(0)$ with $f(t) = \cos^2\!\big(\tfrac{t/T + s}{1 + s}
# \tfrac{\pi}{2}\big)$, $s = 0.008$.
# </details>

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
# In the figure (dashed lines over solid ones), look on the left: the two cosine schedules
# coincide as functions of $t/T$; fifty linear steps remove far less signal than a thousand.
#
# <details><summary>Going deeper: reading the two panels</summary>
#
# As a function of $t/T$ the cosine $\bar\alpha_t$ is the same for every $T$, so on the right
# fifty steps must each add about twice the noise of a hundred. The two linear ones share their
# $\beta_t$ (right, both from $10^{-4}$ to $0.02$) but not their $\bar\alpha_t$ (left).
# </details>
#
# The linear schedule was designed for $T = 1000$: with $T = 50$ steps $\bar\alpha_T$ is still
# far from 0, $x_T$ still remembers $x_0$, and $L_T$ is a visible part of the loss. The cosine
# schedule reaches $\bar\alpha_T \approx 0$ for any $T$, so $L_T$ is essentially 0.
#
# <details><summary>Going deeper: the two ends of the schedules</summary>
#
# With the linear schedule at $T = 50$, starting the reverse process from $N(0, I)$ is wrong.
# The cosine schedule's last $\beta_T$ is clipped at 0.999.
# </details>
#
# **We use the
# cosine schedule with $T = 100$ from here on.**
#
# ## 4. The ELBO of a diffusion model
#
# **A diffusion model's ELBO is eq. 2.5 with one new middle term, a sum of denoising steps.**
# Take eq. 2.4 with $z = x_{1:T}$ and the encoder $q(x_{1:T} \mid x_0)$; five lines (below) give
# $$\log p_\theta(x_0) \ge \underbrace{\mathbb{E}_{q}[\log p_\theta(x_0 \mid x_1)]}_{\text{reconstruction}}
#    - \underbrace{\sum_{t=2}^{T} \mathbb{E}_{q}\,\mathrm{KL}\big(q(x_{t-1} \mid x_t, x_0) \,\|\, p_\theta(x_{t-1} \mid x_t)\big)}_{\text{denoising matching}}
#    - \underbrace{\mathrm{KL}\big(q(x_T \mid x_0) \,\|\, p(x_T)\big)}_{L_T,\ \text{prior matching}}$$
#
# <details><summary>Going deeper: the derivation, line by line</summary>
#
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
# expectations of log-ratios as KL divergences.
# </details>
#
# Each reverse step must match the **posterior** of the forward step, *given $x_0$*. That
# posterior is Gaussian, $q(x_{t-1} \mid x_t, x_0) = N\big(\tilde\mu_t,\ \tilde\beta_t I\big)$,
# with a mean $\tilde\mu_t$ linear in $x_0$ and $x_t$ and a variance
# $\tilde\beta_t = \frac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t}\,\beta_t$.
#
# <details><summary>Going deeper: the posterior mean, by completing the square</summary>
#
# $$\tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1 - \bar\alpha_t}\,x_0
#   + \frac{\sqrt{\alpha_t}\,(1 - \bar\alpha_{t-1})}{1 - \bar\alpha_t}\,x_t .$$
#
# By Bayes' rule, $q(x_{t-1} \mid x_t, x_0) \propto q(x_t \mid x_{t-1})\, q(x_{t-1} \mid x_0)$,
# a product of two Gaussians in $x_{t-1}$ (per coordinate):
# $$\log q(x_{t-1} \mid x_t, x_0) = -\frac{(x_t - \sqrt{\alpha_t}\,x_{t-1})^2}{2\beta_t}
#   - \frac{(x_{t-1} - \sqrt{\bar\alpha_{t-1}}\,x_0)^2}{2(1-\bar\alpha_{t-1})} + \text{const}.$$
# The coefficient of $-\tfrac12 x_{t-1}^2$ is the precision,
# $\frac{\alpha_t}{\beta_t} + \frac{1}{1-\bar\alpha_{t-1}} = \frac{1-\bar\alpha_t}{\beta_t(1-\bar\alpha_{t-1})}$
# (use $\alpha_t(1-\bar\alpha_{t-1}) + \beta_t = 1 - \bar\alpha_t$), whose inverse is $\tilde\beta_t$.
# The coefficient of $x_{t-1}$ is $\frac{\sqrt{\alpha_t}}{\beta_t}x_t + \frac{\sqrt{\bar\alpha_{t-1}}}{1-\bar\alpha_{t-1}}x_0$;
# times $\tilde\beta_t$ it gives $\tilde\mu_t$ above. A quadratic exponent means a Gaussian, so
# completing the square is the whole proof. Check 1 confirms it on a grid.
# </details>
#
# **Check 1: Bayes' rule, numerically**, on a grid of $x_{t-1}$ (notebook 01's `normal_pdf`,
# normalised, moments by quadrature) against `q_posterior`'s formula.

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
# variance, $p_\theta(x_{t-1} \mid x_t) = N(\mu_\theta(x_t, t), \tilde\beta_t I)$. The KL is then
# $\|\tilde\mu_t - \mu_\theta\|^2 / (2\tilde\beta_t)$: notebook 04's eq. 2.7 with $\tilde\beta_t$
# in the place of $c$. Written with the noise instead of $x_0$ (below), $\tilde\mu_t$ suggests
# letting the network predict the noise (`reverse_mean`, Ho et al. 2020 eq. 11):
# $$\mu_\theta(x_t, t) = \frac{1}{\sqrt{\alpha_t}}\Big(x_t - \frac{\beta_t}{\sqrt{1 - \bar\alpha_t}}\,\varepsilon_\theta(x_t, t)\Big)
# \quad\Longrightarrow\quad
# \mathrm{KL}_t = \underbrace{\frac{\beta_t^2}{2\tilde\beta_t\,\alpha_t\,(1 - \bar\alpha_t)}}_{\lambda_t}
#   \,\|\varepsilon - \varepsilon_\theta(x_t, t)\|^2 .$$
# Each denoising term is a weighted regression of the noise that was added. Dropping the
# weights $\lambda_t$ gives DDPM's "simple" loss, $\mathbb{E}\,\|\varepsilon -
# \varepsilon_\theta(x_t, t)\|^2$ over random $t$, with the same minimiser at every $t$:
# $\mathbb{E}[\varepsilon \mid x_t]$.
#
# <details><summary>Going deeper: the KL between two Gaussians of equal variance</summary>
#
# Between two Gaussians of equal variance the KL is the squared distance of the means over twice
# the variance: notebook 04's $\|x - f_\theta(z)\|^2 / (2c)$, with $\tilde\beta_t$ in the place of
# the decoder variance $c$.
# </details>
#
# <details><summary>Going deeper: the posterior mean in terms of the noise</summary>
#
# Substitute $x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\varepsilon)/\sqrt{\bar\alpha_t}$ into
# $\tilde\mu_t$: it becomes
# $\tilde\mu_t = \big(x_t - \tfrac{\beta_t}{\sqrt{1 - \bar\alpha_t}}\,\varepsilon\big)/\sqrt{\alpha_t}$,
# the form $\mu_\theta$ copies.
# </details>
#
# <details><summary>Going deeper: the weight in signal-to-noise form, and its U shape</summary>
#
# Write $\mathrm{SNR}_t = \bar\alpha_t/(1-\bar\alpha_t)$. In terms of $x_0$ the error of the mean
# is $\tilde\mu_t - \mu_\theta = c_t\,(x_0 - \hat x_0)$, with
# $c_t = \sqrt{\bar\alpha_{t-1}}\,\beta_t/(1-\bar\alpha_t)$, and a line of algebra gives
# $c_t^2/\tilde\beta_t = \mathrm{SNR}_{t-1} - \mathrm{SNR}_t$. Since also
# $\|\varepsilon - \varepsilon_\theta\|^2 = \mathrm{SNR}_t\,\|x_0 - \hat x_0\|^2$,
# $$\mathrm{KL}_t = \tfrac12(\mathrm{SNR}_{t-1} - \mathrm{SNR}_t)\,\|x_0 - \hat x_0\|^2,
#   \qquad \lambda_t = \tfrac12\Big(\frac{\mathrm{SNR}_{t-1}}{\mathrm{SNR}_t} - 1\Big)$$
# (Kingma et al. 2021): each step pays for the signal-to-noise ratio it removes. This explains
# exercise 4's U shape. The ratio $\mathrm{SNR}_{t-1}/\mathrm{SNR}_t$ is 2.8 at $t = 2$, 1.06 to
# 1.08 through the middle of the chain, and 1000 at $t = T$, where the clipped
# $\beta_T = 0.999$ divides the SNR by a thousand. The cell below checks the identity at every step.
# </details>
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
snr = schedule.alpha_bar / (1 - schedule.alpha_bar)   # SNR_t (Going deeper above), t = 1..T
ts = np.arange(2, schedule.T + 1)
lam_all = schedule.betas[ts - 1] ** 2 / (2 * schedule.beta_tilde[ts - 1] * schedule.alphas[ts - 1]
                                         * (1 - schedule.alpha_bar[ts - 1]))
print("lambda_t = (SNR_{t-1} / SNR_t - 1) / 2 at every t >= 2:",
      np.allclose(lam_all, 0.5 * (snr[ts - 2] / snr[ts - 1] - 1), rtol=1e-9))

# %% [markdown]
# ## 5. Exact answers first: the best possible denoiser
#
# **When the density $q_t$ of $x_t$ is known, so is the best denoiser** (Tweedie's formula): $\mathbb{E}[\varepsilon \mid x_t] = -\sqrt{1 - \bar\alpha_t}\,
# \nabla \log q_t(x_t)$: the noise points down the slope of the log-density, the
# **score (分数)**. For our mixture $q_t$ is a mixture too, so `mixture.eps_star` is exact.
#
# Plugged into the ELBO of §4, it gives the **best ELBO that §4's model can reach** (a noise
# prediction for the mean, variance fixed at $\tilde\beta_t$). Is it $\log p$? `diffusion_elbo`
# draws one $x_t$ per step and data point: each number is a Monte-Carlo estimate with a
# standard error.

# %%
log_p = mixture.log_prob(x_test)[:, 0]
print(f"exact mean log p(x) = {log_p.mean():.3f} nats")
print(f"{'T':>5} {'ELBO with eps*':>16} {'gap log p - ELBO':>18}")
ideal = {}
for T in (10, 100, 1000):
    s = NoiseSchedule.cosine(T)
    ideal[T] = diffusion_elbo(x_test, lambda x, t, s=s: mixture.eps_star(x, t, s), s, rng=6)
    gap = log_p - ideal[T].elbo
    print(f"{T:>5} {ideal[T].elbo.mean():16.3f} {gap.mean():10.3f} ± {mean_and_se(gap).se:.3f}")

# %% [markdown]
# The gap shrinks as the chain gets longer, but slowly: a hundred times more steps take it from
# 0.91 to 0.42 nats. What holds it open is the one thing §4 fixed by hand, the reverse step's
# variance.
#
# **The true reverse step's variance.** The chain's own reverse step, $q(x_{t-1} \mid x_t)$,
# averages the posterior over what $x_t$ leaves unknown about $x_0$. By the law of total
# variance, with $c_t$ the weight of $x_0$ in $\tilde\mu_t$ (below),
# $$\mathrm{Var}(x_{t-1} \mid x_t) = \underbrace{\tilde\beta_t}_{\text{given } x_0}
#   + \underbrace{c_t^2\,\mathrm{Var}(x_0 \mid x_t)}_{x_0 \text{ unknown}} \;\ge\; \tilde\beta_t .$$
#
# <details><summary>Going deeper: the law of total variance, applied</summary>
#
# The posterior's mean $\tilde\mu_t$ is linear in $x_0$, with coefficient
# $c_t = \sqrt{\bar\alpha_{t-1}}\,\beta_t / (1 - \bar\alpha_t)$ (a weight, not notebook 04's
# decoder variance $c$). The variance given $x_t$ is the mean of the variance given $x_0$ plus
# the variance of the mean.
# </details>
#
# $\tilde\beta_t$ is right only when $x_t$ pins $x_0$ down. For the mixture,
# $\mathrm{Var}(x_0 \mid x_t)$ is exact (`mixture.posterior_x0`), so we can compare, averaged
# over $x_t \sim q_t$ ($T = 100$):

# %%
print(f"{'t':>4} {'beta_tilde_t':>13} {'true E[Var(x_t-1 | x_t)]':>25} {'beta_t':>10}")
for t in (2, 3, 5, 10, 30, 90):
    x_t, _ = schedule.q_sample(x_test, t, rng=t)
    var_x0 = mixture.posterior_x0(x_t, t, schedule).var                 # Var(x_0 | x_t), exact
    ab_prev, ab, beta = schedule.alpha_bar[t - 2], schedule.alpha_bar[t - 1], schedule.betas[t - 1]
    c_t = np.sqrt(ab_prev) * beta / (1 - ab)                             # x_0's weight in mu_tilde
    true_var = schedule.beta_tilde[t - 1] + c_t**2 * var_x0.mean()
    print(f"{t:>4} {schedule.beta_tilde[t - 1]:13.2e} {true_var:25.2e} {beta:10.2e}")

# %% [markdown]
# Near $t = 1$ the true variance is far above $\tilde\beta_t$ (2.7 times at $t = 2$, 1.9 times
# at $t = 3$), and it is within 4% of $\beta_t$ at every step shown.
#
# <details><summary>Going deeper: what a too-narrow step costs</summary>
#
# A reverse step that is too
# narrow pays for it in the squared error: $\|\tilde\mu_t - \mu_\theta\|^2 / (2\sigma_t^2)$
# is divided by a variance smaller than the spread of $x_{t-1}$ that the step must cover. With
# another $\sigma_t^2$ the KL of §4 gains a term for the difference of the variances,
# $\tfrac{d}{2}(\tilde\beta_t/\sigma_t^2 - 1 - \log(\tilde\beta_t/\sigma_t^2))$, and
# divides the squared error by the wider $\sigma_t^2$.
# </details>
#
# Ho et al. (2020, §3.2) tried both fixed choices, $\sigma_t^2 = \tilde\beta_t$ and
# $\sigma_t^2 = \beta_t$. The experiment: the same $\varepsilon^*$ and draws, only the variance
# changed (`reverse_var="beta"`).

# %%
print(f"{'T':>5} {'gap, beta_tilde_t':>18} {'gap, beta_t':>14} {'difference':>16}")
with_beta = {}
for T in (10, 100, 1000):
    s = NoiseSchedule.cosine(T)
    with_beta[T] = diffusion_elbo(x_test, lambda x, t, s=s: mixture.eps_star(x, t, s), s, rng=6,
                                  reverse_var="beta")
    gap_tilde, gap_beta = log_p - ideal[T].elbo, log_p - with_beta[T].elbo
    diff = gap_tilde - gap_beta                          # same draws: a paired difference
    tilde, beta, paired = (mean_and_se(v) for v in (gap_tilde, gap_beta, diff))
    print(f"{T:>5} {tilde.mean:11.3f} ± {tilde.se:.3f} {beta.mean:7.3f} ± "
          f"{beta.se:.3f} {paired.mean:9.3f} ± {paired.se:.3f}")

# %% [markdown]
# With $\sigma_t^2 = \beta_t$ the gap nearly closes: 0.04 nats at $T = 100$, and at $T = 1000$
# it is within one standard error of 0. With $\tilde\beta_t$ it stays near 0.4 nats even at
# $T = 1000$. So for long chains the variance, not the Gaussian form of the reverse step, held
# the gap open.
#
# <details><summary>Going deeper: when is each choice right?</summary>
#
# $\tilde\beta_t$ is the reverse variance when $x_0$ is known
# given $x_t$, as for data that are a single point; it is the smallest possible. $\beta_t$ is
# exact when the data are $N(0, I)$ (Ho et al. 2020 call the two the extremes), close for data
# spread out like our mixture, and it is the noise of the reverse-time SDE (notebook 06). Nichol
# & Dhariwal (2021) learn $\sigma_t^2$ between the two instead. Training is not affected: the
# mean's loss is the same squared error on the noise with another weight $\lambda_t$, and the
# simple loss drops the weights anyway. Notebook 06 meets the same fact from the other side:
# with the exact score, the probability-flow ODE's likelihood equals $\log p$.
# </details>
#
# <details><summary>Going deeper: the true variance for each x_t, and the gap that β̃_t never closes</summary>
#
# Two measurements finish this story (the cell below).
#
# *The true variance.* Give each reverse step the variance of the law of total variance above,
# for each $x_t$ its own: `schedule.reverse_step_variance` with the exact
# $\mathrm{Var}(x_0 \mid x_t)$, which `diffusion_elbo` takes as a function of $(x_t, t)$ in
# `reverse_var`. The mean and the variance of every reverse step are now exact. At $T = 10$ the
# gap falls below $\beta_t$'s, but not to 0: what is left is the cost of a Gaussian reverse
# step, while over ten coarse steps the true reverse step is not Gaussian.
#
# *Why $\tilde\beta_t$'s gap stops shrinking.* Its gap fell from 0.91 to 0.75 to 0.42 as $T$
# went from 10 to 100 to 1000; it never reaches 0. Near the data the mixture's density is smooth
# on the scale of small noise, so $\mathrm{Var}(x_0 \mid x_t) \approx 1/\mathrm{SNR}_t$ there.
# By the SNR form of §4, with the exact $\hat x_0 = \mathbb{E}[x_0 \mid x_t]$, each step then
# costs about $\tfrac12(\mathrm{SNR}_{t-1} - \mathrm{SNR}_t)/\mathrm{SNR}_t = \tfrac12(r_t - 1)$ per
# dimension, with $r_t = \mathrm{SNR}_{t-1}/\mathrm{SNR}_t$. That is a left Riemann sum: the fine-step limit
# pays $\tfrac12\int \mathrm{Var}(x_0 \mid x)\,d\mathrm{SNR} = \tfrac12 \log r_t$ over the same
# interval. So each step overpays $\tfrac12(r_t - 1 - \log r_t) \ge 0$, and the overpayment
# vanishes only where $r_t \to 1$. Near $t = 1$ the cosine schedule makes $1 - \bar\alpha_t$
# grow in proportion to $t$ (for $t$ well below $2sT$, $s = 0.008$), so $\mathrm{SNR}_t \propto
# 1/t$ and $r_t \to t/(t-1)$ as $T$ grows ($r_2 = 2.77$ at $T = 100$, 2.01 at 10,000): the
# first steps never get finer than that. Their overpayments sum to
# $\tfrac12\sum_{n \ge 1} \big(\tfrac1n - \log(1 + \tfrac1n)\big) = \gamma/2 \approx 0.289$
# nats per dimension, $\gamma$ being Euler's constant. The cell sums the overpayment over the
# steps with $\mathrm{SNR}_t > 1$ and sets it beside the measured gaps: a rough guide at
# $T = 100$, close from $T = 1000$ on.
# </details>

# %%
# Going deeper (above). 1) T = 10 with the true variance of every reverse step, for each x_t
s = NoiseSchedule.cosine(10)
true_var = lambda x, t: s.reverse_step_variance(mixture.posterior_x0(x, t, s).var, t)
exact_steps = diffusion_elbo(x_test, lambda x, t: mixture.eps_star(x, t, s), s, rng=6,
                             reverse_var=true_var)
gap, gain = mean_and_se(log_p - exact_steps.elbo), mean_and_se(exact_steps.elbo - with_beta[10].elbo)
print(f"T = 10, true variance: gap {gap.mean:.3f} ± {gap.se:.3f} nats, "
      f"{gain.mean:.3f} ± {gain.se:.3f} below beta_t's (paired: the same draws)")
# 2) beta_tilde_t's overpayment 0.5 (r_t - 1 - log r_t), summed over the steps with SNR_t > 1
print(f"{'T':>7} {'predicted gap, beta_tilde_t':>28} {'measured (§5)':>15}")
for T in (100, 1000, 10_000, 100_000):
    ab = NoiseSchedule.cosine(T).alpha_bar
    snr = ab / (1 - ab)                                       # SNR_t, t = 1..T
    r = snr[:-1] / snr[1:]                                    # r_t = SNR_{t-1} / SNR_t, t >= 2
    over = 0.5 * (r - 1 - np.log(r))[snr[1:] > 1].sum()
    measured = f"{(log_p - ideal[T].elbo).mean():.3f}" if T in ideal else ""
    print(f"{T:>7} {over:28.3f} {measured:>15}")
print(f"the limit, gamma / 2 = {np.euler_gamma / 2:.3f} nats per dimension")

# %% [markdown]
# We keep $\tilde\beta_t$ for the rest of this notebook, the model of §4 whose KL is the plain
# squared error. Where does the other variance gain? Left, the mean denoising terms $L_{t-1}$
# with $\varepsilon^*$ at $T = 100$ for both variances (the legend holds $L_0$ and $L_T$).
# Right, the running sum over the steps $1..t$ of how much more the $\tilde\beta_t$ model
# loses: its end is the whole difference, 0.71 nats.
#
# <details><summary>Going deeper: a negative $L_0$</summary>
#
# $L_0$ is a negative log-density, which can be below 0 for a density above 1.
# </details>

# %%
e100 = ideal[100]
plot_elbo_per_step({r"$\sigma_t^2 = \beta_t$": with_beta[100].per_step.mean(axis=1),
                    r"$\sigma_t^2 = \tilde\beta_t$": e100.per_step.mean(axis=1)},
                   {r"$\sigma_t^2 = \beta_t$": with_beta[100].prior.mean(),
                    r"$\sigma_t^2 = \tilde\beta_t$": e100.prior.mean()},
                   title="the gap sits in the first steps (T = 100, exact eps*)")

# %% [markdown]
# Half of the difference comes from step 2 alone and 93% from the first ten steps, where
# $\tilde\beta_t$ is furthest below the true variance.

# %% [markdown]
# ## 6. Learning the noise
#
# **A small network, trained only to predict the noise, comes within a few hundredths of a nat
# of the best ELBO.**
#
# The network (`EpsNet`) is an MLP with 4 hidden layers of 64 units that reads $x_t$ and
# sinusoidal features of $t/T$. Its output is written as
# $\varepsilon_\theta = \sqrt{1 - \bar\alpha_t}\, x_t + \sqrt{\bar\alpha_t}\, F_\theta(x_t, t)$
# (the "skip form"), exact at $t = T$ by construction.
#
# <details><summary>Going deeper: why the skip form</summary>
#
# The cosine schedule ends at $\bar\alpha_T \approx 2 \times 10^{-7}$, where $x_T$ is pure noise
# and the best prediction is $\varepsilon^* \approx x_T$. Both samplers divide by
# $\sqrt{\bar\alpha_t}$ or $\sqrt{\alpha_t}$ there, which would blow up any small error of the
# network. With the skip form the MLP $F_\theta$ only has to learn the rest (it learns the "v"
# target of Salimans & Ho 2022).
# </details>
#
# That is the whole training loop (`train_eps_model(x_train, schedule, seed=0)` runs the same
# lines). Edit and re-run: try fewer steps, a constant learning rate, or `skip=False`, and watch
# §7's sampler table move.
#
# <details><summary>Going deeper: the helper, and what <code>skip=False</code> does</summary>
#
# It trains on the 4000 mixture points. A test checks that `train_eps_model` and this cell give
# the same losses, bit for bit; section
# 8 calls it for two moons. `skip=False` barely changes the final loss, 0.499 against 0.500, yet
# §7's DDIM with the learned network lands 0.64 from the data at 100 steps instead of 0.047.
# </details>
# %%
torch.set_num_threads(1)  # a small network: one thread is faster here, and repeatable on one machine
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
    opt.param_groups[0]["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))  # cosine decay
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
rows = [("learned eps_theta", learned.elbo), ("ideal eps*", ideal[100].elbo), ("exact log p", log_p),
        ("ideal - learned", ideal[100].elbo - learned.elbo), ("log p - ideal", log_p - ideal[100].elbo)]
for name, v in rows:
    m = mean_and_se(v)                                 # same draws: differences are paired
    print(f"{name:<18} {m.mean:8.3f} ± {m.se:.3f} nats")
plot_elbo_per_step({"exact eps*": ideal[100].per_step.mean(axis=1),
                    "learned eps_theta": learned.per_step.mean(axis=1)},
                   {"exact eps*": ideal[100].prior.mean(), "learned eps_theta": learned.prior.mean()},
                   title="-ELBO per step: learned against exact")

# %% [markdown]
# Per step the two curves look the same; the running sum on the right shows the network's
# whole shortfall, 0.042 nats, built up early in the chain (86% of it by step 20).
#
# <details><summary>Going deeper: where the shortfall sits</summary>
#
# Early in the chain the RMS table above also found the network's largest error of the four
# steps it shows ($t = 10$).
# </details>
#
# ## 7. Sampling: DDPM and DDIM
#
# **One network gives two samplers, which differ most when steps are few.** **DDPM** (Ho et al. 2020) samples the model's own chain: start at $x_T \sim N(0, I)$ and draw
# $x_{t-1} \sim N(\mu_\theta(x_t, t), \sigma_t^2 I)$ down to $x_0$, with either variance of §5;
# with fewer steps, through evenly spaced timesteps. **DDIM** (Song, Meng & Ermon 2021) uses the same network but no fresh noise:
# at each step it predicts $x_0$, then moves to the next timestep along the predicted noise. Only
# $x_T$ is random.
#
# We score samples by the 1-D Wasserstein distance $W_1$ to the held-out data. A fresh sample of
# the data is not at 0 either: that **floor** (a mean over 200 draws) is the best any sampler can
# show on average. Each sampler's $W_1$ is a mean over five seeds, with its standard error.
#
# <details><summary>Going deeper: sub-chains, and why so many draws</summary>
#
# With fewer steps DDPM walks a sub-chain whose $\bar\alpha$ are the full chain's. One draw's
# $W_1$ is noisy, hence the floor's 200 draws and the five sampling seeds: the differences worth
# reading are a few hundredths.
# </details>

# %%
n_samples, seeds = 4000, (9, 19, 29, 39, 49)
floors = [wasserstein_1(mixture.sample(n_samples, rng=1000 + i), test_ref) for i in range(200)]
floor = np.mean(floors)                 # 200 data draws: one draw's W1 is noisy and skewed
exact_eps = lambda x, t: mixture.eps_star(x, t, schedule)  # noqa: E731
steps_list = [5, 10, 20, 100]
samplers = {"DDPM (beta_tilde)": lambda m, k, r: ddpm_sample(m, schedule, n_samples, steps=k, rng=r),
            "DDPM (beta)": lambda m, k, r: ddpm_sample(m, schedule, n_samples, steps=k, rng=r,
                                                       reverse_var="beta"),
            "DDIM": lambda m, k, r: ddim_sample(m, schedule, n_samples, steps=k, rng=r)}
runs, curves, errors = {}, {}, {}
for label, model in (("exact eps*", exact_eps), ("learned", eps_theta)):
    for name, sampler in samplers.items():
        # at 100 steps the exact rows reach the floor, so there DDIM alone measures the
        # network's own error (the two DDPM runs would cost 1000 more network calls)
        ks = steps_list[:-1] if label == "learned" and name != "DDIM" else steps_list
        w = np.array([[wasserstein_1(sampler(model, k, seed), test_ref) for k in ks]
                      for seed in seeds])                      # (seeds, steps)
        runs[name, label] = w
        curves[f"{name}, {label}"] = np.append(w.mean(0), [np.nan] * (len(steps_list) - len(ks)))
        errors[f"{name}, {label}"] = [mean_and_se(column).se for column in w.T]
print(f"floor (data samples of {n_samples}, 200 draws): W1 = {floor:.3f} ± {mean_and_se(floors).se:.3f}")
print(f"{'sampler':<30}" + "".join(f"{k:>13}" for k in steps_list) + "   <- steps")
for label, w in curves.items():
    print(f"{label:<30}" + "".join(f"{v:7.3f} ±{e:.3f}" for v, e in zip(w, errors[label]))
          + f"{'not run':>13}" * int(np.isnan(w[-1])))
plot_w1_vs_steps(steps_list, curves, floor)

# %% [markdown]
# What survives the standard errors:
#
# - With all 100 steps the exact $\varepsilon^*$ brings every sampler to the floor, within its
#   errors, so DDIM alone measures the network's error: 0.014 above the floor.
# - With few steps the sampler matters more than the network. DDIM beats DDPM with
#   $\sigma_t^2 = \tilde\beta_t$ at 5, 10 and 20 steps for both models. But DDPM with
#   $\sigma_t^2 = \beta_t$, the variance that closed the ELBO's gap in §5, beats both at 5 and
#   10 steps with the exact $\varepsilon^*$: a coarse DDPM step that adds too little noise is
#   the problem, not randomness as such.
# - At 5 and 10 steps, DDIM with the *learned* network beats DDIM with the exact
#   $\varepsilon^*$ by far more than the errors. Where does the difference come from? Swap the
#   network in at a single step, the first:
#
# <details><summary>Going deeper: paired runs, and why the best denoiser is not the best input</summary>
#
# The network's two DDPM samplers are "not run" at 100 steps (their curves stop at 20): the
# exact rows show that no sampler adds an error we can see there, and the two would cost 1000
# more network calls.
#
# DDIM and DDPM start from the same $x_T$ for each seed, so their difference is measured more
# precisely than the errors suggest. $\varepsilon^*$ is the best noise prediction for each step
# taken on its own, which is what the ELBO asks for, but that does not make it the best input
# for a sampler that jumps 25 steps at a time.
# </details>

# %%
first_step_only = lambda x, t: eps_theta(x, t) if t == schedule.T else exact_eps(x, t)  # noqa: E731
ab_T = schedule.alpha_bar[-1]
x0_hat_at_T = lambda model, x: (x - np.sqrt(1 - ab_T) * model(x, schedule.T)) / np.sqrt(ab_T)  # noqa: E731
x_T = np.random.default_rng(0).standard_normal((n_samples, 1))
for name, model in (("eps*", exact_eps), ("the network", eps_theta)):
    x0_hat = x0_hat_at_T(model, x_T)
    print(f"x0 predicted at t = T by {name:<11}: mean {x0_hat.mean():5.2f}, sd {x0_hat.std():.2f}")
# eps* everywhere, except that the first x0 prediction is 0.15 + 0.5 x_T, spread like the network's
spread_first = lambda x, t: ((x - np.sqrt(ab_T) * (0.15 + 0.5 * x)) / np.sqrt(1 - ab_T)  # noqa: E731
                             if t == schedule.T else exact_eps(x, t))
for k in (5, 10):
    w = {name: [wasserstein_1(ddim_sample(m, schedule, n_samples, steps=k, rng=seed), test_ref)
                for seed in seeds] for name, m in (("net", first_step_only), ("spread", spread_first))}
    print(f"DDIM, {k:>2} steps: eps* everywhere {curves['DDIM, exact eps*'][steps_list.index(k)]:.3f}, "
          f"network at t = T only {np.mean(w['net']):.3f} ± {mean_and_se(w['net']).se:.3f}, "
          f"0.15 + 0.5 x_T at t = T only {np.mean(w['spread']):.3f}, "
          f"network everywhere {curves['DDIM, learned'][steps_list.index(k)]:.3f}")

# %% [markdown]
# For this network the first step alone gives the whole gain (for other training seeds, all of
# it at 5 steps but less at 10; see below). At $t = T$, $\varepsilon^*$'s first prediction of
# $x_0$ is the data's mean, 0.15, for every sample, and the few coarse steps that follow cannot
# restore the missing spread. The network's prediction varies with $x_T$, and that spread is the
# whole story: $\varepsilon^*$ with only its first prediction replaced by $0.15 + 0.5\,x_T$ does
# as well (third column). At 100 steps the network's gain is gone.
#
# <details><summary>Going deeper: three training seeds, and how much spread helps</summary>
#
# $\varepsilon^*$ predicts the mean there because $x_T$ says almost nothing about $x_0$
# ($\bar\alpha_T \approx 2 \times 10^{-7}$). Nothing stops the network from spreading: with the
# skip form of §6 its noise error at
# $t = T$ is $\sqrt{\bar\alpha_T} \approx 5 \times 10^{-4}$ times the error of
# $F_\theta \approx -\hat x_0$, so the loss barely constrains its $x_0$ prediction there.
#
# The same cells with `train_eps_model(x_train, schedule, seed=s)` (W1, DDIM, five sampling
# seeds; tests/test_notebook_claims_05.py recomputes them):
#
# | training seed | network everywhere, 5 / 10 steps | network at $t = T$ only | share of the gain | sd of $\hat x_0$ at $t = T$ |
# |---|---|---|---|---|
# | 0 | 0.178 / 0.088 | 0.171 / 0.085 | 106% / 107% | 0.52 |
# | 1 | 0.214 / 0.081 | 0.185 / 0.091 | 137% / 82% | 0.36 |
# | 2 | 0.206 / 0.076 | 0.210 / 0.100 | 95% / 60% | 0.44 |
#
# At 5 steps the first step gives about all of the gain for every seed; at 10 steps the later
# steps matter too for seeds 1 and 2. The spread between training seeds (up to 0.036) is ten
# times the ± over sampling seeds, so the table's ± understate how much a re-trained network
# would move. Replacing $\varepsilon^*$'s first prediction by $0.15 + s\,x_T$ gives, at 5 / 10
# steps, 0.293 / 0.137 for $s = 0$ (plain $\varepsilon^*$), 0.238 / 0.113 for $s = 0.2$,
# 0.165 / 0.081 for $s = 0.5$ and 0.108 / 0.055 for $s = 0.8$: the more spread the first jump
# keeps, the less the coarse steps have to restore.
# </details>
#
# One run as a picture (exact $\varepsilon^*$, 1000 samples so that the slider redraws quickly;
# the title gives each sampler's $W_1$, whose floor is higher than the table's; one seed, so DDPM
# and DDIM may swap places against the table's means):

# %%
floor_1000 = np.mean([wasserstein_1(mixture.sample(1000, rng=1000 + i), test_ref) for i in range(200)])
print(f"floor with 1000 samples (200 draws): W1 = {floor_1000:.3f}")
plot_sampler_steps(10, eps_model=exact_eps, schedule=schedule, mixture=mixture, held_out=x_test,
                   n=1000, rng=0)

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_sampler_steps, int_slider("steps", 10, 1, schedule.T), eps_model=exact_eps,
             schedule=schedule, mixture=mixture, held_out=x_test, n=1000, rng=0)

# %% [markdown]
# And scrub one DDPM run of the learned model, computed once: the slider only picks a stored
# state. Watch the three bumps appear out of $N(0, 1)$ in the chain's second half.

# %%
trajectory = ddpm_trajectory(eps_theta, schedule, 2000, rng=10).states
plot_reverse_step(70, trajectory=trajectory, mixture=mixture, schedule=schedule)

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_reverse_step, int_slider("step", 70, 0, schedule.T), trajectory=trajectory,
             mixture=mixture, schedule=schedule)

# %% [markdown]
# ## 8. Two moons in 2-D
#
# **The recipe carries over to 2-D unchanged; judging its samples takes more than one number.**
# The same network, loss and schedule on two moons, trained for 800 steps instead of 1500. We
# compare point clouds with the **sliced** Wasserstein-1 and the squared MMD with a Gaussian
# kernel, beside the floor (two draws of the data) and the ceiling (no model: $N(0, I)$).
#
# <details><summary>Going deeper: the two distances</summary>
#
# The sliced $W_1$ is the mean $W_1$ over 128 random directions of projection; the choice of
# directions moves it by about 0.001, far less than the data draws' spread. The MMD column is
# an unbiased estimate, which can dip just below 0 when two samples agree.
# </details>

# %%
eps_moons = train_eps_model(moons_train, schedule, steps=800, seed=1, desc="training on moons")
moons_ddpm = ddpm_sample(eps_moons, schedule, 2000, d=2, rng=11)
moons_floor = two_moons(2000, rng=12)
# the sliced W1's directions drawn once; one MMD kernel for every row, as wide as the mean
# distance between held-out points (500 of them are enough to measure it)
moons_ref = prepare_reference(moons_test, n_projections=128, rng=14,
                              bandwidth=mean_pairwise_distance(moons_test[:500]))
gauss = np.random.default_rng(13).standard_normal((2000, 2))
print(f"{'2000 points against held-out':<30} {'sliced W1':>10} {'MMD':>10}")
for name, pts in (("floor: another data draw", moons_floor), ("DDPM, learned (T = 100)", moons_ddpm),
                  ("ceiling: N(0, I)", gauss)):
    print(f"{name:<30} {sliced_wasserstein_1(pts, moons_ref):10.4f} "
          f"{mmd(pts, moons_ref):10.1e}")
floor_draws = [sliced_wasserstein_1(two_moons(2000, rng=100 + i), moons_ref) for i in range(10)]
print(f"sliced W1 of 10 more data draws: {min(floor_draws):.4f} to {max(floor_draws):.4f}")
plot_moons({"held-out data": moons_test, "DDPM samples": moons_ddpm, "N(0, I)": gauss})

# %% [markdown]
# The samples' sliced $W_1$ is a small fraction of the ceiling's. Look in the picture for what
# the numbers miss: a few points strung between the moons' tips, where the data have none.
#
# <details><summary>Going deeper: the floor's spread and the MMD's bandwidth</summary>
#
# Against the floor one number cannot separate samples from data. With this wide kernel (2.8,
# wider than either moon) the MMD cannot tell the samples from data either, while it flags
# $N(0, I)$ at once. A kernel of width 0.5 does tell them apart: the samples' MMD is then about
# 1e-3, several times the spread of the data draws' (about 2e-4). Report more than one distance,
# and say at which bandwidth.
#
# The floor is one other draw of the data, and ten more draws spread over the range printed
# last. At this bandwidth (one kernel for all three rows, as wide as the mean distance between
# held-out points) the MMD of the samples and of the data are both within noise of 0.
# </details>

# %% [markdown]
# ## 9. What we have seen
#
# - A diffusion model is a VAE whose latents $x_1..x_T$ have the data's size, whose encoder is a
#   fixed noising chain, and whose prior matching $L_T$ has nothing to learn; the cosine schedule
#   makes $L_T \approx 0$ for any $T$.
# - $q(x_t \mid x_0)$ has a closed form, so training never runs the chain.
# - Eq. 2.4 with $z = x_{1:T}$ gives reconstruction − denoising matching − prior matching; each
#   denoising term is a weighted squared error on the noise, and dropping the weights gives
#   DDPM's simple loss.
# - With the exact $\varepsilon^*$ and the posterior's variance $\tilde\beta_t$ the ELBO stays
#   below $\log p$ (0.42 nats even at $T = 1000$): the true reverse step is wider,
#   $\tilde\beta_t + c_t^2\,\mathrm{Var}(x_0 \mid x_t)$. With $\sigma_t^2 = \beta_t$ the gap
#   nearly closes (0.04 nats at $T = 100$). A small trained network sits 0.04 nats below the
#   ideal.
# - With few steps the sampler matters more than the network: DDPM with the posterior's variance
#   adds too little noise per coarse step and lags; DDIM and DDPM with $\sigma_t^2 = \beta_t$ do
#   better. At 5 or 10 steps DDIM does better still with the learned network than with the exact
#   $\varepsilon^*$: its loosely constrained first prediction of $x_0$ keeps the spread that
#   coarse steps lack.
#
# ## Exercises (predict, then check)
#
# Four predictions to check (open the exercises, predict, then open the solutions).
#
# <details><summary>The four exercises</summary>
#
# 1. **A short linear chain.** Predict $L_T$ for the linear schedule at $T = 10$, then its ELBO
#    gap with $\varepsilon^*$.
# 2. **How few steps?** Before reading §7's table, guess the smallest step count of 5, 10, 20
#    and 100 at which each of the six samplers gets within 0.1 of the held-out data ($W_1$;
#    the floor is 0.033).
# 3. **Predict $x_0$ instead of $\varepsilon$.** Rewrite the network's target as $x_0$
#    (then $\varepsilon_\theta = (x_t - \sqrt{\bar\alpha_t}\,\hat x_0)/\sqrt{1 - \bar\alpha_t}$).
#    Which steps $t$ does the loss then weigh more, and which less?
# 4. **The ELBO's weights.** §4 found that each denoising term is $\lambda_t$ times a squared
#    error on the noise, and the simple loss drops $\lambda_t$. Predict how $\lambda_t$ varies
#    along the chain (cosine schedule, $T = 100$): largest at small $t$, at large $t$, or flat?
# </details>
#
# <details><summary>Checks and solutions</summary>
#
# 1. Check in a new cell (it leaves §5's `ideal` alone):
#    `s = NoiseSchedule.linear(10)`, `e = diffusion_elbo(x_test, lambda x, t: mixture.eps_star(x,
#    t, s), s, rng=6)`, then `print(mean_and_se(log_p - e.elbo))`.
#    $\bar\alpha_{10} = 0.90$, so §3's table gives $L_T = 1.76$ nats. The gap is far larger:
#    10.76 ± 0.25 nats at $T = 10$, and almost all of it is the step $t = 2$ (its term $L_1$
#    is 11.2 nats on average; print `e.per_step.mean(1)`). The linear schedule's first
#    step is tiny, $\beta_1 = 10^{-4}$, and its second is $\beta_2 = 2.3 \times 10^{-3}$, 23
#    times $1 - \bar\alpha_1$: so $\tilde\beta_2 \approx 10^{-4}$ is far narrower than the
#    true reverse step, and the fixed variance of §5 is to blame, not coarse steps. Add
#    `reverse_var="beta"` to that `diffusion_elbo` call and the gap at $T = 10$ falls to
#    0.49 ± 0.02. Where the chain ends costs less than $L_T$ suggests: only 0.44 nats of it, the
#    KL of the marginal $q(x_T)$ from $N(0, 1)$, are lost by any reverse process that starts at
#    $N(0, 1)$.
# 2. Check: §7's table. Two need only 10 steps: DDIM with the learned network (0.088 ± 0.002) and DDPM with
#    $\sigma_t^2 = \beta_t$ and the exact $\varepsilon^*$ (0.094 ± 0.005). The other four need
#    20 (0.067 to 0.086); at 10 steps they are at 0.108 to 0.158. The slider shows single runs
#    of 1000 samples, whose floor is 0.055 on average, so its titles cannot settle differences this small:
#    read the table, whose numbers are means over five seeds with their standard errors.
# 3. The sampler does not care which target was learned: its mean's error is $c_t$ times the
#    error in $\hat x_0$ either way. The loss does. From the formula,
#    $\varepsilon - \varepsilon_\theta = \sqrt{\bar\alpha_t/(1-\bar\alpha_t)}\,(\hat x_0 - x_0)$, so
#    the loss on $\varepsilon$ is the loss on $x_0$ times $\bar\alpha_t/(1-\bar\alpha_t)$: 571 at
#    $t = 2$ (print `schedule.alpha_bar[1] / (1 - schedule.alpha_bar[1])`) but
#    $2 \times 10^{-7}$ at $t = T$. A loss on $x_0$ weighs the steps near $t = 1$ far less than
#    the noise loss, and the steps near $t = T$ far more: it would pin down the prediction of
#    $x_0$ at $t = T$ that §7 found the noise loss leaves loose. The loss on $\varepsilon$ works
#    well out of the box (Ho et al. 2020, sec. 3.2).
# 4. Check: `t = np.array([2, 10, 50, 90, 99, 100]); b, a, ab, bt = (schedule.betas[t - 1],
#    schedule.alphas[t - 1], schedule.alpha_bar[t - 1], schedule.beta_tilde[t - 1])`, then
#    `print(b**2 / (2 * bt * a * (1 - ab)))`.
#    It is U-shaped: 0.886 at $t = 2$, 0.110 at $t = 10$, 0.032 at $t = 50$ (0.03 to 0.04 through
#    the middle of the chain), 0.107 at $t = 90$, 1.50 at $t = 99$ and about 500 at $t = 100$,
#    where the cosine schedule clips $\beta_T$ at 0.999 (§4's own check already shows
#    $\lambda_{90} > \lambda_{30}$). Training on the true ELBO would spend its effort on the two
#    ends: each draw of $t = 100$ (one in a hundred, as for every step) would weigh about 15,000
#    times one at $t = 50$ ($499.6 / 0.032$). For this `EpsNet` little would change there, since its output at
#    $t = T$ is fixed by construction (§6). The simple loss weights every step alike; Ho et al.
#    (2020) found that it gives better samples, and Kingma et al. (2021) study the weighting in
#    general.
# </details>
#
# ## References
#
# <details><summary>References and glossary</summary>
#
# - J. Sohl-Dickstein, E. Weiss, N. Maheswaranathan, S. Ganguli (2015). *Deep unsupervised
#   learning using nonequilibrium thermodynamics.* ICML. (The chain and its ELBO, §§1, 4.)
# - J. Ho, A. Jain, P. Abbeel (2020). *Denoising diffusion probabilistic models.* NeurIPS.
#   (Linear schedule, eps-parametrisation, the two fixed reverse variances of their §3.2,
#   simple loss, DDPM sampling; §§3-7.)
# - J. Song, C. Meng, S. Ermon (2021). *Denoising diffusion implicit models.* ICLR. (DDIM, §7.)
# - Y. Song, J. Sohl-Dickstein, D. P. Kingma, A. Kumar, S. Ermon, B. Poole (2021). *Score-based
#   generative modeling through stochastic differential equations.* ICLR. (The reverse-time SDE
#   and the probability-flow ODE that DDIM discretises, §§5, 7.)
# - A. Nichol, P. Dhariwal (2021). *Improved denoising diffusion probabilistic models.* ICML.
#   (Cosine schedule, learned reverse variances and fewer sampling steps, §§3, 5, 7.)
# - C. Luo (2022). *Understanding diffusion models: a unified perspective.* arXiv:2208.11970.
#   (Diffusion as a hierarchical VAE, the derivation of §4.)
# - D. P. Kingma, T. Salimans, B. Poole, J. Ho (2021). *Variational diffusion models.* NeurIPS.
#   (The ELBO's dependence on $T$ and on the weighting, §5 and exercise 4.)
# - T. Salimans, J. Ho (2022). *Progressive distillation for fast sampling of diffusion models.*
#   ICLR. (The "v" parametrisation behind our network's output, §6.)
#
# **Glossary.** diffusion 扩散 · forward / reverse process 前向 / 反向过程 · noise schedule
# 噪声调度 · denoising 去噪 · score 分数 · evidence lower bound 证据下界 (ELBO) · prior matching
# 先验匹配项 · reconstruction 重建项 · KL divergence KL散度 · sampling 采样.
# </details>

# %%
print(f"wall time: {time.perf_counter() - notebook_start:.2f} s")
