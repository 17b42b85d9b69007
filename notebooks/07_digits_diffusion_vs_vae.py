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
# # 07 · Diffusion against the VAE on real digits, in bits per pixel; classifier-free guidance
#
# Companion to sections 2 and 3 of the article *Principles of diffusion models*. Notebook 04 fitted
# a Gaussian VAE (eqs. 2.6-2.8) to the 8×8 digits; notebooks 05 and 06 built a diffusion model,
# "a VAE with many latents", on toy data where every answer was exact. Here both meet on the same
# real data, scored in the same unit.
#
# **Question.** On the digits, which of the two is the better generative model, by how much, and
# what do its samples look like? And how does one network steer its samples towards a class?
#
# **Learning goals.** After this notebook you can
# 1. turn any density on pixels into a bound on the discrete likelihood (**dequantisation,
#    去量化**), in **bits per pixel (每像素比特数)**, beside baselines that need no network;
# 2. compute the VAE's and the diffusion model's bounds on the same held-out digits, find
#    where the diffusion model's bits go, and spend them: a discrete last step and longer training;
# 3. check that samples are not copies of the training set;
# 4. train one network for **classifier-free guidance (无分类器引导)** and measure what the
#    guidance weight buys and costs.
#
# **Reading time and map.** About 15 minutes to read, 30 seconds to run; exercises and "Going
# deeper" blocks, 8 minutes more. §1 one unit for both models · §2 the VAE · §3 the diffusion model · §4 which is better,
# where the bits go, and how to spend them · §5 samples side by side (slider: NFE) · §6 classifier-free guidance (slider: $w$) · §7
# summary, exercises, references.

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

from helpers.bits import (LEVELS, bits_per_pixel, dequantise, independent_pixel_bits,
                          independent_pixel_probs, mean_and_se, paired_difference, to_pixels)
from helpers.bits_per_level import PixelHistogram, elbo_per_level
from helpers.data import load_digits_with_labels
from helpers.diffusion import NoiseSchedule, diffusion_elbo
from helpers.discrete_decoder import (choose_decoder, decoder_bits, discretised_gaussian_nll,
                                      predicted_x0)
from helpers.histogram_mixture import fit_histogram_mixture, histogram_mixture_bits
from helpers.likelihood_model import RECIPE, load_likelihood_model, validation_split
from helpers.guidance import ConditionalEpsNet, GuidedEpsFn, train_guided_eps_fn
from helpers.metrics import mean_pairwise_distance, nearest_neighbours
from helpers.nets import Adam, cosine_lr, frozen, torch_threads
from helpers.plots.bits import plot_bits_against_seconds, plot_bits_per_pixel, plot_cost_per_level
from helpers.plots.digits import plot_digits
from helpers.plots.guidance import plot_guided, plot_sample_mosaic, plot_tradeoff
from helpers.progress import progress_bar
from helpers.score import pf_ode_log_likelihood, pf_ode_sample
from helpers.vae_density import density_bounds, train_density_vae
from helpers.widgets import int_slider, slider_panel

notebook_start = time.perf_counter()

train_digits, test_digits = load_digits_with_labels("train"), load_digits_with_labels("test")
x_train, y_train = train_digits.x, train_digits.labels   # notebook 04's split
x_test, y_test = test_digits.x, test_digits.labels
pixels_train, pixels_test = to_pixels(x_train), to_pixels(x_test)   # integers 0..16
print(f"{len(pixels_train)} training and {len(pixels_test)} test digits, "
      f"{pixels_train.shape[1]} pixels each, values {pixels_train.min()}..{pixels_train.max()}")

# %% [markdown]
# ## 1. One unit for both models
#
# **Adding noise within each pixel's level turns any density into a bound on the probability of
# discrete pixels.** The digits' pixels are $0, 1, \dots, 16$: 17 levels. A VAE or a diffusion model is a
# *density* $p(x)$ on continuous $x \in \mathbb{R}^{64}$, and a density is not a probability: at
# a point it can be any positive number, so "$\log p(x) = 120$" says nothing by itself about how
# well the model predicts digits. The fix (Theis et al. 2016): spread each pixel uniformly over its own cell,
#
# $$x = \frac{\text{pixel} + u}{17}, \qquad u \sim U[0, 1)^{64},$$
#
# and let the model's probability of a discrete digit be the mass it puts on that digit's cell.
# The cell has volume $17^{-64}$, and Jensen's inequality moves the log inside the average over
# the cell:
#
# $$\log P(\text{pixel}) = \log \mathbb{E}_u\, p(x)\, 17^{-64} \;\ge\; \mathbb{E}_u \log p(x) - 64 \log 17.$$
#
# The models below are scored by this bound, turned into **bits per pixel**: $-\log_2 P / 64$,
# lower is better. A model that works on $x' = 2x - 1$ instead pays for the stretch: $\log p(x) = \log p'(x') + 64 \log 2$ (`bits_per_pixel(..., scale=2)`).
#
# Two reference points need no network. Uniform pixels cost $\log_2 17 = 4.09$ bits each. And the
# best model that treats each pixel on its own is a histogram per pixel, counted on the training
# split (with one extra count per value, so that a value never seen in training is not given
# probability 0):

# %%
bits_uniform = bits_per_pixel(0.0, 64)              # p(x) = 1 on the unit cube
bits_independent = independent_pixel_bits(pixels_train, pixels_test)   # one number per digit
print(f"uniform pixels:        {bits_uniform:.3f} bits per pixel (log2 17 = {math.log2(LEVELS):.3f})")
print(f"independent pixels:    {mean_and_se(bits_independent):.3f} bits per pixel on the test digits")
share_zero = (pixels_train == 0).mean(axis=0)       # per pixel: the share of digits where it is 0
print(f"pixels that are 0 in every training digit: {(share_zero == 1).sum()} of 64; "
      f"in at least 99 %: {(share_zero >= 0.99).sum()}; in at least 90 %: {(share_zero >= 0.9).sum()}")

# %% [markdown]
# Counting is a strong baseline here. Much of the digits' border is almost always blank (10
# pixels are 0 in at least 99 % of the training digits, 16 in at least 90 %), and a histogram
# knows that such a pixel is 0 for a fraction of a bit. Any model of the joint image must first
# learn that much.
#
# **How good is 2.42? A model of how pixels go together does better, still without a network.**
# A mixture of $K$ histograms, $P(\text{pixels}) = \sum_k \pi_k \prod_j \theta_k[j, \text{pixel}_j]$,
# is a VAE with a discrete latent $k$ and an exact likelihood. Expectation-maximisation (EM)
# fits it in a second or two:

# %%
mixture = fit_histogram_mixture(pixels_train, n_components=20, max_iter=30, rng=0)
bits_mixture = histogram_mixture_bits(mixture, pixels_test)
print(f"mixture of {len(mixture.weights)} histograms: {mean_and_se(bits_mixture):.3f} bits per pixel; "
      f"minus independent pixels {paired_difference(bits_mixture, bits_independent):+.3f}")

# %% [markdown]
# How pixels go together is worth about 0.2 bits per pixel. A network that beats 2.42 has learned
# something about the joint image; to beat 2.23 it must know more than 20 prototypes do.
#
# <details><summary>Going deeper: the mixture's K</summary>
#
# $K = 20$ was not tuned on the test digits beyond this one look; the tests check that
# $K = 10$ and $K = 30$ land within 0.04 bits of it. EM's objective (the log-likelihood plus the
# smoothing's log-prior) never decreases, and $K = 1$ is the histogram exactly
# (`tests/test_bits_per_level.py`). An autoregressive model, each pixel predicted from the ones
# before it (a logistic regression per pixel will do), can do better still.
# </details>
#
# <details><summary>Going deeper: the data both models see</summary>
#
# Both models train on the same data: the training digits, each dequantised 16 times with fresh
# $u$ (a fixed seed), so that they see the whole cell and not one point in it. The test digits are
# dequantised once; each test digit's bound is then an unbiased estimate of its
# $\mathbb{E}_u \log p(x)$, and the standard errors below include the noise of $u$.
# </details>

# %%
x_train_dq = dequantise(np.tile(pixels_train, (16, 1)), rng=0)   # (16 * 1438, 64) in [0, 1)
y_train_dq = np.tile(y_train, 16)
x_test_dq = dequantise(pixels_test, rng=1)
print(f"training set {x_train_dq.shape}, test set {x_test_dq.shape}")

# %% [markdown]
# ## 2. The VAE of notebook 04, as a density of pixels
#
# **To be scored as a density, the VAE needs a variance for each pixel.** Notebook 04's decoder
# $p_\theta(x \mid z) = N(f_\theta(z), c\,I)$ has one $c$ for all 64 pixels, a poor fit: a blank border pixel, after
# dequantisation, is uniform on $[0, 1/17)$, a standard deviation of about $0.017$, while the
# pixels of the strokes vary from digit to digit by several levels. A single $c$ must sit
# between, and overpays on both. So the VAE here
# learns a variance for each pixel, as a function of $z$:
#
# $$p_\theta(x \mid z) = N\big(f_\theta(z),\ \mathrm{diag}\, v_\theta(z)\big),$$
#
# the decoder returning 128 numbers instead of 64. Nothing else changes (exercise 1 tries one
# learned $c$). 16 latent dimensions, two hidden layers of 128 ReLU units, a sigmoid mean, Adam
# with a cosine-decayed learning rate:

# %%
vae = train_density_vae(x_train_dq, z_dim=16, hidden=(128, 128), steps=1800, batch_size=128,
                        lr=4e-3, seed=0, desc="VAE with learned variance")
bounds = density_bounds(vae.model, x_test_dq, k=250, rng=0)   # the same draws for both bounds
bits_vae_elbo = bits_per_pixel(bounds.elbo, 64)
bits_vae_iwae = bits_per_pixel(bounds.iwae, 64)
print(f"training wall time {vae.train_s:.1f} s")
print(f"IWAE (K = {bounds.k}) below the ELBO, in bits per pixel, on every test digit: "
      f"{bool(np.all(bits_vae_iwae <= bits_vae_elbo))}")

# %% [markdown]
# The importance-weighted bound (notebook 04, §6) is tighter: below the ELBO for every digit.
# Both values are in §4's figure.
#
# <details><summary>Going deeper: how much the VAE's numbers move</summary>
#
# This VAE's training turns a difference in the last bit of one operation (another CPU, another
# torch) into a few hundredths of a bit per pixel after 1800 steps. Expect an ELBO between about
# 2.53 and 2.67 bits per pixel, and an IWAE 0.06 to 0.08 below it (our measurements over
# training seeds 0-3 and several kinds of CPU arithmetic). The diffusion model of §3 prints the
# same digits on every CPU we tried.
# </details>
#
# ## 3. The diffusion model on the same data
#
# **One network, trained as in notebook 06, gives the diffusion model a bound and a likelihood.** It works
# on $x' = 2x - 1 \in [-1, 1)$, the range its noise schedule suits. Its network is notebook 06's
# $\varepsilon_\theta(x, \sigma)$ for continuous noise levels, with one more input: the digit's
# class, or a **null** label. During training, each example's label is replaced by the null label
# with probability 0.2 (*label dropout*), so that one network learns both the conditional
# $\mathbb{E}[\varepsilon \mid x, y]$ and the unconditional $\mathbb{E}[\varepsilon \mid x]$.
# This section uses only the unconditional half; §6 uses both.
#
# The loop is notebook 06's (`train_eps_fn`), plus the labels. It is the whole training:

# %%
STEPS, BATCH, LR, P_UNCOND, SIGMA_MIN = 600, 256, 2e-3, 0.2, 0.01
x0 = torch.as_tensor(2 * x_train_dq - 1, dtype=torch.float32)     # x' = 2x - 1
y0 = torch.as_tensor(y_train_dq)
with torch_threads(1):
    torch.manual_seed(0)
    net = ConditionalEpsNet(64, n_classes=10, hidden=256, n_layers=3, sigma_min=SIGMA_MIN)
    gen = torch.Generator().manual_seed(1)
    opt, history = Adam(net.parameters(), lr=LR), []
    start = time.perf_counter()
    for step in progress_bar(range(STEPS), desc="diffusion eps_theta(x, sigma, y)"):
        i = torch.randint(len(x0), (BATCH,), generator=gen)
        x, y = x0[i], y0[i]
        drop = torch.rand(BATCH, generator=gen) < P_UNCOND
        y = torch.where(drop, torch.full_like(y, net.null), y)     # label dropout
        log_sigma, ab, weight = net.draw_level(BATCH, gen)          # levels, weights 1 + sigma^2
        eps = torch.randn(x.shape, generator=gen)
        x_t = ab.sqrt() * x + (1 - ab).sqrt() * eps                 # x_t ~ q(x_t | x_0)
        loss = (weight * (eps - net(x_t, log_sigma, y)) ** 2).sum(1).mean()
        opt.param_groups[0]["lr"] = cosine_lr(LR, step, STEPS)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    diffusion_train_s = time.perf_counter() - start
# gradients off; float32 as trained (for the ELBO's and the samplers' many calls)
eps_theta = GuidedEpsFn(frozen(net), np.asarray(history), diffusion_train_s)
print(f"training wall time {diffusion_train_s:.1f} s; final loss {np.mean(history[-100:]):.1f} "
      f"(mean of the last 100 steps)")

# %% [markdown]
# <details><summary>Going deeper: the same training as one call</summary>
#
# `train_guided_eps_fn(2 * x_train_dq - 1, y_train_dq, n_classes=10, steps=600, seed=0, dtype="float32")` runs
# the same lines; a test checks that it reproduces every number this notebook prints from the
# diffusion model.
# </details>
#
# Two likelihoods of this one network: **the ELBO of notebook 05** along a 250-step cosine
# schedule, with the reverse variance $\sigma_t^2 = \beta_t$; and **the probability-flow ODE
# likelihood of notebook 06**, on the first 8 test digits (Heun's method, 96 evaluations).
#
# <details><summary>Going deeper: the cost and accuracy of the ODE likelihood</summary>
#
# The ODE likelihood is exact for the ODE's model, up to the solver's error. It costs
# $2 \cdot 64 + 1 = 129$ network rows per digit per evaluation (the divergence by finite
# differences), hence only 8 digits (on these 8 the ELBO is 3.28, level with the ODE's 3.28:
# compare two bounds on the same digits). With 96 evaluations it is within about 0.03 of its limit
# (with 24 it flatters the model: exercise 4 asks by how much). The model it scores adds
# $N(0, \sigma_{\min}^2)$ noise, $\sigma_{\min} = 0.01$ in $x'$, a twelfth of a pixel level.
# $\sigma_t^2 = \beta_t$ gave the better bound in notebook 06 §5.
# </details>

# %%
schedule = NoiseSchedule.cosine(250)
elbo = diffusion_elbo(2 * x_test_dq - 1, eps_theta.eps_model(schedule), schedule, rng=0,
                      reverse_var="beta")
bits_diffusion_elbo = bits_per_pixel(elbo.elbo, 64, scale=2)
N_ODE, NFE_ODE = 8, 96
log_p_ode = pf_ode_log_likelihood(eps_theta.in_float64().eps_fn(),  # finite differences: float64
                                  2 * x_test_dq[:N_ODE] - 1, nfe=NFE_ODE, sigma_min=SIGMA_MIN)
bits_diffusion_ode = bits_per_pixel(log_p_ode, 64, scale=2)
print(f"diffusion, ELBO (T = {schedule.T}):       {mean_and_se(bits_diffusion_elbo):.3f} bits per pixel")
print(f"diffusion, ODE likelihood ({N_ODE} digits, {NFE_ODE} evaluations): "
      f"{mean_and_se(bits_diffusion_ode):.3f} bits per pixel")
# the ELBO's terms as costs in bits per pixel of x' (a density above 1 gives a negative cost),
# then the two constants: + log2 17 for the cells, - 1 for the stretch x' = 2x - 1
cost = {name: np.mean(v) / (64 * math.log(2)) for name, v in
        (("reconstruction", -elbo.reconstruction), ("denoising", elbo.denoising), ("prior", elbo.prior))}
print("ELBO as costs, bits per pixel: " + " + ".join(f"{k} {v:.3f}" for k, v in cost.items())
      + f" + log2 17 - 1 = {sum(cost.values()) + math.log2(LEVELS) - 1:.3f}")

# %% [markdown]
# ## 4. Which model is better, and by how much?
#
# **At this budget neither model beats counting pixel values.** Differences are measured on the
# same digits, so their standard errors come from the per-digit differences (a paired comparison).

# %%
rows = {"uniform pixels": bits_uniform,
        "independent pixels (exact)": bits_independent,
        "mixture of 20 histograms (exact)": bits_mixture,
        "VAE, ELBO": bits_vae_elbo,
        f"VAE, IWAE K = {bounds.k}": bits_vae_iwae,
        "diffusion, ELBO": bits_diffusion_elbo,
        f"diffusion, ODE ({N_ODE} digits)": bits_diffusion_ode}
print(f"{'model':32} {'worse than the histogram on average':>36}")
for name, bits in rows.items():
    if np.ndim(bits) and bits is not bits_independent:
        print(f"{name:32} {str(paired_difference(bits, bits_independent).mean > 0):>36}")
print(f"training: VAE wall time {vae.train_s:.1f} s, diffusion wall time {diffusion_train_s:.1f} s "
      f"(1800 and {STEPS} steps, one thread each)")
plot_bits_per_pixel(rows, reference="independent pixels (exact)")

# %% [markdown]
# Look at which side of the dashed line (the histogram) each model falls: every network to its
# right, the mixture to its left. The bounds' bits are upper bounds, and neither network is near
# convergence (this section's last figure).
#
# ### Where the diffusion model's bits go
#
# **The network pays most of its extra bits at noise levels below one grey level, and almost
# half of them on the mostly blank pixels.** Notebook 05's ELBO is a sum over steps and, inside each step,
# over pixels; `elbo_per_level` keeps the two sums apart. To tell the chain's own slack from the
# network's error, drive the same chain with the *exact* $\mathbb{E}[\varepsilon \mid x_t]$ of
# the histogram density (each pixel a sum of truncated normals, one per level: `PixelHistogram`).
# Both run on the first 60 test digits, with the same draws:

# %%
n_cond = 60                       # the first 60 test digits (§6 uses them too)
x_cond, y_cond = 2 * x_test_dq[:n_cond] - 1, y_test[:n_cond]
histogram = PixelHistogram.from_pixels(pixels_train)
costs_network = elbo_per_level(x_cond, eps_theta.eps_model(schedule), schedule, rng=0,
                               reverse_var="beta")
costs_histogram = elbo_per_level(x_cond, histogram.eps_model(schedule), schedule, rng=0,
                                 reverse_var="beta")
bits_uncond = bits_per_pixel(-costs_network.per_digit, 64, scale=2)     # the network's ELBO
bits_chain = bits_per_pixel(-costs_histogram.per_digit, 64, scale=2)
print(f"first {n_cond} test digits, bits per pixel: histogram {bits_independent[:n_cond].mean():.3f}; "
      f"the chain with its exact eps {bits_chain.mean():.3f}; with the network {bits_uncond.mean():.3f}")
blank = share_zero >= 0.9                       # the 16 mostly blank pixels
below = costs_network.sigma < 2 / LEVELS        # one grey level of x' = 2x - 1
gap = (costs_network.per_pixel - costs_histogram.per_pixel) / (64 * math.log(2))
print(f"network minus exact eps: {gap.sum():.2f}; at sigma < 2/17: {gap[below].sum():.2f}; "
      f"on the {blank.sum()} mostly blank pixels: {gap[:, blank].sum():.2f}")
plot_cost_per_level(costs_network, costs_histogram,
                    {"mostly blank (0 in 90 % of digits)": blank, "the rest": ~blank})

# %% [markdown]
# Look for where the right panel's curves climb. (The left panel's costs are of a density on
# $x'$; a digit's bits per pixel add $\log_2 17 - 1 = 3.09$.)
#
# - **The chain's own slack is 0.18 bits:** with the exact noise prediction it scores 2.62,
#   against the histogram's 2.44 on these digits. 250 Gaussian steps cannot end exactly in a
#   density that is flat on each cell.
# - **The network adds 0.80, 0.69 of it at $\sigma < 2/17$,** where the question is which of two
#   neighbouring levels a pixel is at. Between $\sigma \approx 0.3$ and 1 the curves of all
#   pixels and of the rest *fall*: there the network, seeing the other pixels, predicts better
#   than the histogram.
# - **0.38 of the 0.80 is paid on the 16 mostly blank pixels.** A blank pixel is uniform on
#   $[0, 1/17)$; a chain ending in a wider Gaussian spills density into the next levels. §5's
#   samples show this as speckle.
#
# ### Spending the bits: a discrete last step, and longer training
#
# **Stop the chain above one grey level and end it with a probability over the 17 levels.** Ho
# et al. (2020, eq. 13) score each pixel by the mass a Gaussian puts on its cell:
#
# $$P(v \mid x_{t_0}) = \Phi\Big(\frac{e_{v+1} - \hat x_0}{s}\Big) - \Phi\Big(\frac{e_v - \hat x_0}{s}\Big),$$
#
# with cell edges $e_v = 2v/17 - 1$ (the outer cells take the tails) and $\hat x_0$ the network's
# guess of the clean digit from $x_{t_0}$. The steps below $t_0$ are dropped. $t_0$ and the width
# $s$ are chosen on **238 validation digits** carved from the training digits, never on test digits.
#
# <details><summary>Going deeper: why the decoder's rows compare with the others</summary>
#
# The decoder gives a probability of the pixels themselves, so no cell volume or stretch is added:
# the chain's terms above $t_0$, the decoder and the prior bound the same $\log P(\text{pixels})$
# as §1's dequantised bounds. Ho et al. put the decoder at $t = 1$; stopping at $t_0$, with
# $\hat x_0$ and a width chosen on validation digits, is our variant.
# </details>
#
# **Which model is trained for what.** §3's network is trained live, for *samples* and guidance
# (notebook 06's weighting, flat in $\sigma$); §5 and §6 use it. For the likelihood we also load
# a second network: same architecture and weighting, no labels, trained on the other 1200
# training digits for 40.5 times §3's steps. That takes minutes, so a seeded script made it
# (`make weights`) and the notebook loads it:

# %%
likelihood_model = load_likelihood_model(dtype="float32")  # §3's recipe, 40.5x the steps: make weights
model = likelihood_model.eps_model(schedule)
split = validation_split(len(pixels_train))      # 1200 train the network, 238 choose t0 and s
pixels_val = pixels_train[split.validation]
x_val = 2 * dequantise(pixels_val, rng=5) - 1
elbo_val = diffusion_elbo(x_val, model, schedule, rng=0, reverse_var="beta")
sigma = costs_network.sigma
choice = choose_decoder(pixels_val, x_val, model, schedule, elbo_val.per_step, elbo_val.prior,
                        rng=1)                   # every candidate t0 and s: a grid
print(f"searched {len(choice.steps)} stopping steps (sigma {sigma[choice.steps[0] - 1]:.3f} to "
      f"{sigma[choice.steps[-1] - 1]:.3f}) x {len(choice.stds)} widths s "
      f"({choice.stds[0]:.2f} to {choice.stds[-1]:.2f})")
print(f"chosen on validation: stop at t0 = {choice.t} (sigma = {sigma[choice.t - 1]:.2f}), "
      f"s = {choice.std:.2f}; validation {choice.bits.min():.3f} bits per pixel")

def bits_on_test_digits(eps_model, elbo_terms):
    """Bits per pixel of the test digits: the chain's terms above t0 plus the discrete decoder."""
    return decoder_bits(pixels_test, 2 * x_test_dq - 1, eps_model, schedule, elbo_terms.per_step,
                        elbo_terms.prior, t=choice.t, std=choice.std, rng=2)

elbo_likelihood = diffusion_elbo(2 * x_test_dq - 1, model, schedule, rng=0, reverse_var="beta")
decoder_rows = {"independent pixels (exact)": bits_independent,
                "mixture of 20 histograms (exact)": bits_mixture,
                "§3's network, ELBO": bits_diffusion_elbo,
                "§3's network, discrete decoder": bits_on_test_digits(eps_theta.eps_model(schedule),
                                                                      elbo),
                "trained 40.5x longer, ELBO": bits_per_pixel(elbo_likelihood.elbo, 64, scale=2),
                "trained 40.5x longer, discrete decoder": bits_on_test_digits(model, elbo_likelihood)}
for name, bits in list(decoder_rows.items())[2:]:
    print(f"{name:38} {mean_and_se(bits):.3f}, minus the histogram "
          f"{paired_difference(bits, bits_independent):+.3f}")
# the decoder's last step alone, per pixel group, against the histogram's whole cost there
x0_hat = predicted_x0(2 * x_test_dq - 1, model, schedule, choice.t, rng=2)
hist_cost = -np.log2(independent_pixel_probs(pixels_train)[np.arange(64), pixels_test])
for group, cols in (("mostly blank", blank), ("the rest", ~blank)):
    last = discretised_gaussian_nll(pixels_test[:, cols], x0_hat[:, cols], choice.std)
    print(f"{group:13} pixels, bits per pixel: the decoder's last step alone "
          f"{last.mean() / (cols.sum() * math.log(2)):.3f}, the histogram {hist_cost[:, cols].mean():.3f}")
plot_bits_per_pixel(decoder_rows, reference="independent pixels (exact)")

# %% [markdown]
# The decoder alone takes §3's network from 3.43 to 2.71, with nothing retrained (it reuses the
# longer-trained network's $t_0$ and $s$: §3's network saw the validation digits). Trained 40.5
# times longer, the ELBO is 2.62, and with the decoder **2.25, below the histogram by 0.18 ±
# 0.01**, though not below the mixture's 2.23. The decoder's gain is all on the strokes: on the
# mostly blank pixels its last step alone costs more than the histogram's whole cost there (0.76
# against 0.14 bits per pixel), because one width $s$ cannot make level 0 as certain as the data.
#
# <details><summary>Going deeper: the ELBO's weighting</summary>
#
# For likelihood the usual advice is the ELBO's own weighting ($\log \sigma$ uniform, weight 1:
# Kingma et al. 2021). Our first committed network used it, with the same recipe otherwise: ELBO
# 2.685, decoder 2.360 (`benchmarks/results/digits-2026-12-07-likelihood.json`), worse than
# this one's 2.62 and 2.25. One training seed each, but at this length the weighting did not buy
# bits; `make bench` trains both weightings at §3's 600 steps.
# </details>
#
# **Longer training, from `make bench`:** both models of §2 and §3 trained 1, 3, 9 and 27 times
# as long (one run; numbers copied from `benchmarks/results/digits-2026-12-07-issue31.json`):

# %%
BENCH = {"VAE, IWAE": ((3.1, 9.9, 28.4, 85.8), (2.481, 2.356, 2.612, 3.180)),
         "VAE, ELBO": ((3.1, 9.9, 28.4, 85.8), (2.558, 2.528, 2.963, 3.883)),
         "diffusion, ODE": ((2.7, 8.6, 23.6, 80.4), (3.286, 3.039, 2.864, 2.491)),
         "diffusion, ELBO": ((2.7, 8.6, 23.6, 80.4), (3.426, 3.160, 2.841, 2.617))}
plot_bits_against_seconds(BENCH, histogram=float(bits_independent.mean()),
                          joint=("mixture of 20 histograms", float(bits_mixture.mean())),
                          best=("VAE stopped at its best", 9.9, 2.356))

# %% [markdown]
# Look for the two shapes: the VAE's test bound is best at 10 s, then gets worse (it overfits),
# while the diffusion model's keeps falling. Stopped at its best, the VAE's IWAE of 2.36 is above
# the longer-trained network's 2.25 with the decoder.
#
# <details><summary>Going deeper: what the bench's runs measure</summary>
#
# `make bench BENCH_ARGS="--only digits"` trains both for 3, 9 and 27 times as many steps (its
# ODE likelihood uses 128 evaluations on 64 digits). The VAE's ELBO on its *training* digits keeps
# improving (2.19, 2.02, 1.90 bits per pixel) while its test bounds get worse: overfitting. Its
# best point was picked on the test digits, which flatters it a little; the longer-trained
# network's decoder was chosen on validation digits. The diffusion model's best, the ODE
# likelihood at 80 s, 2.49 ± 0.04 on its 64 digits, is level with the histogram's 2.45 on those
# digits; only the committed network, trained longer still, with the decoder gets below it.
# </details>

# %% [markdown]
# ## 5. Samples side by side
#
# **Compare samples with samples, not with decoder means.** The VAE draws $z \sim N(0, I)$; its decoder gives a mean $f_\theta(z)$ and a variance
# $v_\theta(z)$ per pixel. Many papers show the mean (first row); a sample of the model adds
# the decoder's noise (second row), and that is the row to set beside the diffusion model's,
# which runs the probability-flow ODE from noise with Heun's method (notebook 06). Below them,
# real test digits.

# %%
def to_image(x_model):
    """From the diffusion model's x' = 2x - 1 back to pixels in [0, 1]."""
    return np.clip((x_model + 1) / 2, 0, 1)

with torch.no_grad():
    z = torch.randn(20, 16, generator=torch.Generator().manual_seed(3))
    decoded = vae.model.decode_with_var(z)                  # f_theta(z) and v_theta(z)
    noise = torch.randn(decoded.mean.shape, generator=torch.Generator().manual_seed(4))
    vae_means = decoded.mean.numpy()
    vae_samples = np.clip((decoded.mean + decoded.var.sqrt() * noise).numpy(), 0, 1)
diffusion_samples = to_image(pf_ode_sample(eps_theta.eps_fn(), 20, nfe=24, d=64,
                                           sigma_min=SIGMA_MIN, rng=3))
plot_digits([vae_means, vae_samples, diffusion_samples, x_test[:20]],
            row_labels=["VAE mean", "VAE sample", "diffusion", "real"],
            title="samples and held-out digits", ncols=20)

# %% [markdown]
# Look for: the VAE's samples are a grainier version of its means, smooth digits that mostly
# read as digits; the diffusion samples are rougher still, many hard to read, with grey speckle on the border: the
# spill onto blank pixels that §4's bits found. Count it on the 10 pixels that are blank in 99 %
# of the training digits, also for §4's longer-trained network, which pays fewer bits:

# %%
nearly_blank = share_zero >= 0.99
long_samples = to_image(pf_ode_sample(likelihood_model.eps_fn(), 20, nfe=24, d=64,
                                      sigma_min=SIGMA_MIN, rng=3))    # §4's 40.5x network
speckle, speckle_long = ((s[:, nearly_blank] >= 1 / LEVELS).mean()     # level 1 or more
                         for s in (diffusion_samples, long_samples))
print(f"nearly blank pixels at level 1 or more: diffusion samples {speckle:.0%} (trained 40.5x "
      f"longer: {speckle_long:.0%}), real test digits {(pixels_test[:, nearly_blank] > 0).mean():.1%}")

# %% [markdown]
# The longer-trained network speckles less (14 % against 39 %), though far more than real digits.
#
# Do the models copy their training digits? Beside each diffusion sample, its nearest training
# digit (Euclidean distance in pixels), and for comparison, the distance from each test digit to
# its nearest training digit: a test digit was never seen, so its distance is what "new" looks
# like.

# %%
reference = dequantise(pixels_train, rng=2)       # training digits on the samples' scale, (v + u) / 17
nearest = nearest_neighbours(diffusion_samples, reference)
index, dist = nearest.index, nearest.distance
dist_test = nearest_neighbours(x_test_dq, reference).distance
print(f"distance to the nearest training digit: samples median {np.median(dist):.2f} "
      f"(min {dist.min():.2f}); test digits median {np.median(dist_test):.2f} (min {dist_test.min():.2f})")
plot_digits([diffusion_samples[:10], reference[index[:10]]], row_labels=["sample", "nearest train"],
            title="diffusion samples and their nearest training digits", ncols=10)

# %% [markdown]
# No sample is a copy: the closest is 1.41 away from every training digit, farther than the
# median test digit is from its nearest training digit (0.99). Their roughness adds distance too.
#
# **Slider.** The number of network evaluations of the ODE solver. With one, the solver jumps
# from noise to the network's guess of the clean digit: close to the average digit.

# %%
# NBVAL_IGNORE_OUTPUT
def sample_digits(nfe):
    return to_image(pf_ode_sample(eps_theta.eps_fn(), 30, nfe=nfe, d=64, sigma_min=SIGMA_MIN, rng=4))

slider_panel(plot_sample_mosaic, int_slider("nfe", 8, 1, 40), sample=sample_digits)

# %% [markdown]
# ## 6. Classifier-free guidance
#
# **One network that knows the class can trade diversity for recognisable digits.** With a
# guidance weight $w \ge 0$ (Ho & Salimans 2022),
#
# $$\hat\varepsilon = (1 + w)\, \varepsilon_\theta(x, \sigma, y) - w\, \varepsilon_\theta(x, \sigma, \varnothing).$$
#
# At $w = 0$ it is the conditional model itself; larger $w$ pushes towards digits that are
# unmistakably of class $y$.
#
# <details><summary>Going deeper: guidance in scores</summary>
#
# In scores (notebook 06, §1) this is $\nabla \log p(x \mid y) + w \nabla \log p(y \mid x)$: the
# class's score plus $w$ times the score of an implicit classifier $p(y \mid x) \propto p(x \mid
# y) / p(x)$. So guidance samples from something like $p(x \mid y)\, p(y \mid x)^w$. Its
# ancestor, *classifier* guidance (Dhariwal & Nichol 2021), adds the gradient of a separately
# trained classifier; the classifier-free form needs only the one network.
# </details>
#
# To measure **fidelity**, each generated digit gets the label of its nearest training digit (a
# nearest-neighbour classifier); the share that get the class they were asked for says how
# recognisable they are.
# **Diversity** is the mean distance between two samples of the same class, relative to the same
# for real test digits of that class.

# %%
def classify(images):
    """The label of each image's nearest training digit (Euclidean distance on the pixels)."""
    return y_train[nearest_neighbours(images, reference).index]

real_accuracy = float(np.mean(classify(x_test_dq) == y_test))
real_spread = np.array([mean_pairwise_distance(x_test_dq[y_test == c]) for c in range(10)])
print(f"classifier accuracy on the real test digits: {real_accuracy:.3f}")

W_VALUES, PER_CLASS = (0, 1, 2, 3, 4, 5, 6), 20
labels = np.repeat(np.arange(10), PER_CLASS)
guided, accuracy, diversity = {}, {}, {}
for w in W_VALUES:
    x_model = pf_ode_sample(eps_theta.eps_fn(y=labels, w=w), len(labels), nfe=16, d=64,
                            sigma_min=SIGMA_MIN, rng=5)       # the same starting noise for every w
    images = to_image(x_model).reshape(10, PER_CLASS, 64)
    guided[w] = images
    accuracy[w] = float(np.mean(classify(images.reshape(-1, 64)) == labels))
    diversity[w] = float(np.mean([mean_pairwise_distance(images[c]) for c in range(10)]
                                 / real_spread))
    print(f"w = {w}: accuracy {accuracy[w]:.3f}, diversity {diversity[w]:.2f}")
plot_tradeoff(W_VALUES, [accuracy[w] for w in W_VALUES], [diversity[w] for w in W_VALUES],
              real_accuracy)

# %% [markdown]
# Accuracy rises from 0.660 to 0.985 at $w = 2$ and stays near 1 beyond, while diversity falls
# from 1.13 to 0.69. The 1.13 at $w = 0$, above the real digits' spread, is not all variety: a
# third of these samples read as another class, which adds distance too.
#
# **Slider.** The guidance weight: one row per class, the same starting noise for every $w$.

# %%
# NBVAL_IGNORE_OUTPUT
first_six = {w: images[:, :6] for w, images in guided.items()}
slider_panel(plot_guided, int_slider("w", 0, 0, 6), samples=first_six, accuracy=accuracy,
             diversity=diversity)

# %% [markdown]
# **Guidance trades likelihood away.** A guided sampler is still a chain of Gaussian steps, so
# it has an ELBO: notebook 05's, with the guided $\hat\varepsilon$ in the mean. Score the
# conditional chain on the test digits *with their own labels*: a bound on $\log p(x \mid y)$.
# For one model with $p(x) = \sum_y p(y)\, p(x \mid y)$ and ten equally likely classes, knowing the
# label could save at most $\log_2 10 / 64 = 0.052$ bits per pixel. Then raise $w$:

# %%
# the first 60 test digits of §4 (x_cond, y_cond), the same draws for every w
print(f"unconditional: ELBO of log p(x) {mean_and_se(bits_uncond):.3f} bits per pixel")
# one eps_model per w, sharing the network's calls: equal draws give every w the same x_t
for w, eps_model in zip((0, 1, 3), eps_theta.eps_models(schedule, y=y_cond, ws=(0, 1, 3))):
    e = diffusion_elbo(x_cond, eps_model, schedule, rng=0, reverse_var="beta")
    bits = bits_per_pixel(e.elbo, 64, scale=2)
    print(f"w = {w}: ELBO of log p(x | y) {mean_and_se(bits):.3f} bits per pixel, "
          f"minus unconditional {paired_difference(bits, bits_uncond):+.3f}")

# %% [markdown]
# With guidance the bound gets worse, fast: at $w = 1$ it is 0.14 bits per pixel worse than the
# unconditional model's, at $w = 3$ 2.4 bits worse. A guided chain concentrates on the most typical
# digits of each class. So report the likelihood of the unguided model; guidance is a
# sampling-time choice that gives some of it up for recognisable samples.
#
# <details><summary>Going deeper: why the label is worth more than 0.052 here</summary>
#
# At $w = 0$ the conditional bound is 0.19 bits per pixel better than the unconditional one, more
# than the 0.052 the label alone could give. The two halves of the network are two different
# models, not $p(x \mid y)$ and its own average $p(x)$; the conditional half is simply the better
# model of these test digits. (It saw four fifths of the training rows, the unconditional half one
# fifth; exercise 5 changes the label dropout and watches the gap.)
# </details>

# %% [markdown]
# ## 7. What we have seen
#
# - **Dequantisation** turns any density on continuous pixels into a bound on the discrete
#   likelihood, $\log P \ge \mathbb{E}_u \log p(x) - 64 \log 17$; bits per pixel put every model
#   in one unit, with the change of variables counted.
# - **Baselines first.** A histogram per pixel (2.42 bits) beats both models trained for a few
#   seconds; a mixture of 20 histograms (2.23) shows what modelling the joint image is worth.
# - **Where the bits go.** The diffusion network pays most at noise below one grey level, much of
#   it on blank pixels (the speckle of its samples). A discrete decoder above that level, and 40.5
#   times the training, bring it to 2.25, below the histogram.
# - **The VAE** needs a learned variance per pixel; the diffusion model's ODE likelihood needs
#   enough solver steps: with too few it flatters the model (exercise 4).
# - **Samples** are not copies of the training digits.
# - **Classifier-free guidance** buys recognisability with diversity and likelihood.
#
# ### Exercises (predict, then check)
#
# 1. **One $c$ for all pixels.** Notebook 04's VAE has a single decoder variance. Predict its bits
#    per pixel when $c$ is learned, with notebook 04's `train_vae` and §2's architecture and steps.
#
#    <details><summary>Code to check</summary>
#
#    `from helpers.vae import negative_elbo, train_vae`, then
#    `r = train_vae(x_train_dq.astype("float32"), c=0.05, learn_c=True, z_dim=16, hidden=(128, 128), activation="relu", decoder_mean="sigmoid", steps=1800, lr=4e-3, progress=False)`
#    and `bits_per_pixel(-negative_elbo(r.model, torch.as_tensor(x_test_dq, dtype=torch.float32), float(r.c[0]), rng=0).detach().numpy(), 64).mean()`.
#    </details>
#
#    <details><summary>Solution</summary>
#
#    About 3.4 bits per pixel, against about 2.6 for the VAE of §2 and 2.42 for the histogram.
#    The learned $c$ is about 0.013, the average squared error over all pixels: far too wide for the blank
#    border (whose dequantised values spread with variance $(1/17)^2 / 12 = 3 \cdot 10^{-4}$) and
#    too narrow for the strokes.
#    </details>
#
# 2. **Cells and bits.** Suppose a model put all its mass uniformly inside the correct cell of
#    every pixel of a test digit. What would its bits per pixel be, and what would
#    `bits_per_pixel(log_p, 64)` say for a density that is $17^{64}$ on that cell?
#
#    <details><summary>Solution</summary>
#
#    0 bits: the discrete probability is 1. The density is $17^{64}$ on a cell of volume
#    $17^{-64}$, so $\log p = 64 \log 17$ and `bits_per_pixel(64 * np.log(17), 64)` gives 0.0.
#    The bound is exact here because the density is flat within the cell (Jensen's inequality is
#    an equality for a constant).
#    </details>
#
# 3. **More steps for diffusion.** Predict how the diffusion ELBO and the ODE likelihood move if
#    the network trains for 1800 steps instead of 600 (three times as long).
#
#    <details><summary>Code to check</summary>
#
#    `eps3 = train_guided_eps_fn(2 * x_train_dq - 1, y_train_dq, n_classes=10, steps=1800, seed=0, progress=False)`,
#    then the cell of §3 with `eps3` in place of `eps_theta`.
#    </details>
#
#    <details><summary>Solution</summary>
#
#    Both improve: the ELBO from 3.426 to 3.160 bits per pixel and the ODE likelihood from 3.28 to
#    3.00, still above the histogram's 2.42 (`make bench` trains longer still). The bench's
#    3.04 for the same three-fold training is another measurement: its ODE likelihood uses 128
#    evaluations on 64 digits, against §3's 96 on 8.
#    </details>
#
# 4. **Fewer evaluations.** Predict the ODE likelihood of §3 with 24 network evaluations instead
#    of 96. Will the model look better or worse?
#
#    <details><summary>Code to check</summary>
#
#    `bits_per_pixel(pf_ode_log_likelihood(eps_theta.in_float64().eps_fn(), 2 * x_test_dq[:8] - 1, nfe=24, sigma_min=SIGMA_MIN), 64, scale=2).mean()`
#    </details>
#
#    <details><summary>Solution</summary>
#
#    Better, and wrongly so: 2.880 bits per pixel, 0.40 below the 3.28 of 96 evaluations. The
#    solver's error is a bias, not noise that averages out over digits, and here it runs in the
#    model's favour. Always check a likelihood against more evaluations (notebook 06, §5, used
#    512 on the mixture).
#    </details>
#
# 5. **The label's worth.** For one model, knowing the label can improve the likelihood by at
#    most $\log_2 10 / 64$ bits per pixel. Derive the limit. §6 measured 0.19, more than that.
#    Then retrain with label dropout 0.5 instead of 0.2 and predict whether the
#    conditional-minus-unconditional gap of §6 ($w = 0$, same 60 digits) grows or shrinks.
#
#    <details><summary>Code to check</summary>
#
#    `train_guided_eps_fn(2 * x_train_dq - 1, y_train_dq, n_classes=10, p_uncond=0.5, steps=600, seed=0, progress=False)`
#    </details>
#
#    <details><summary>Solution</summary>
#
#    $\log p(x \mid y) = \log p(x) + \log p(y \mid x) - \log p(y)$, and with ten equally likely
#    classes $-\log p(y) = \log 10$ while $\log p(y \mid x) \le 0$: the gain is at most
#    $\log 10$ nats per digit, $0.052$ bits per pixel. The limit holds for one model and its own
#    marginal; the network's conditional and unconditional halves are two models, trained on
#    different shares of the rows. With dropout 0.5 the gap shrinks from 0.19 to 0.08 bits per
#    pixel (standard error 0.01), mostly because the unconditional bound improves, from 3.42 to
#    3.34.
#    </details>
#
# ### References
#
# - L. Theis, A. van den Oord, M. Bethge (2016). *A note on the evaluation of generative models.* ICLR.
# - J. Ho, X. Chen, A. Srinivas, Y. Duan, P. Abbeel (2019). *Flow++: improving flow-based generative
#   models with variational dequantization and architecture design.* ICML.
# - D. P. Kingma, T. Salimans, B. Poole, J. Ho (2021). *Variational diffusion models.* NeurIPS.
# - J. Ho, A. Jain, P. Abbeel (2020). *Denoising diffusion probabilistic models.* NeurIPS
#   (eq. 13, the discrete decoder).
# - A. P. Dempster, N. M. Laird, D. B. Rubin (1977). *Maximum likelihood from incomplete data via
#   the EM algorithm.* JRSS B.
# - P. Dhariwal, A. Nichol (2021). *Diffusion models beat GANs on image synthesis.* NeurIPS
#   (classifier guidance).
# - J. Ho, T. Salimans (2022). *Classifier-free diffusion guidance.* arXiv:2207.12598.
# - Y. Burda, R. Grosse, R. Salakhutdinov (2016). *Importance weighted autoencoders.* ICLR.
#
# **Glossary.** dequantisation 去量化 · bits per pixel 每像素比特数 · classifier-free guidance
# 无分类器引导 · evidence lower bound 证据下界 (ELBO) · variational autoencoder 变分自编码器 ·
# importance sampling 重要性采样 · diffusion 扩散 · probability-flow ODE 概率流常微分方程 ·
# likelihood 似然 · sampling 采样 · mixture of histograms 直方图混合 · expectation-maximisation
# 期望最大化 · discretised Gaussian decoder 离散化高斯解码器 · validation split 验证集.

# %%
print(f"wall time: {time.perf_counter() - notebook_start:.1f} s")
