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
# 1. turn any continuous density on pixels into a bound on the likelihood of the discrete
#    pixels (**dequantisation, 去量化**) and report it in **bits per pixel (每像素比特数)**;
# 2. set a model's bound beside two baselines that need no network: uniform pixels, and a
#    histogram per pixel;
# 3. compute the VAE's ELBO and importance-weighted bound, and the diffusion model's ELBO and
#    probability-flow ODE likelihood, on the same held-out digits;
# 4. check that samples are not copies of the training set;
# 5. train one network for **classifier-free guidance (无分类器引导)** and measure what the
#    guidance weight buys (fidelity) and costs (diversity, likelihood).
#
# **Reading time and map.** About 15 minutes to read, 30 seconds to run; exercises and "Going
# deeper" blocks, 8 minutes more. §1 one unit for both models · §2 the VAE · §3 the diffusion model · §4 which is better
# · §5 samples side by side (slider: NFE) · §6 classifier-free guidance (slider: $w$) · §7
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
                          mean_and_se, paired_difference, to_pixels)
from helpers.data import load_digits_with_labels
from helpers.diffusion import NoiseSchedule, diffusion_elbo
from helpers.guidance import ConditionalEpsNet, GuidedEpsFn, train_guided_eps_fn
from helpers.metrics import mean_pairwise_distance, nearest_neighbours
from helpers.nets import Adam, cosine_lr, frozen, torch_threads
from helpers.plots.bits import plot_bits_per_pixel
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
# The models below are scored by this bound (by a bound on it, for the ELBOs), turned into **bits
# per pixel**: $-\log_2 P / 64$, lower is better.  The histogram baseline is an exact discrete
# likelihood, and the ODE likelihood of §3 is an estimate with a solver's error. A model that works on $x' = 2x - 1$ instead pays
# for the stretch: $\log p(x) = \log p'(x') + 64 \log 2$ (`bits_per_pixel(..., scale=2)`).
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
# knows that such a pixel is 0 for a fraction of a bit. Any model of the joint image must first learn that much before it can gain
# from how the pixels go together.
#
# Both models train on the same data: the training digits, each dequantised 16 times with fresh
# $u$ (a fixed seed), so that they see the whole cell and not one point in it. The test digits are
# dequantised once; each test digit's bound is then an unbiased estimate of its
# $\mathbb{E}_u \log p(x)$, and the standard errors below include the noise of $u$.

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
# the decoder returning 128 numbers instead of 64. Nothing else changes: the encoder, the prior,
# the reparameterised ELBO of eq. 2.8 with its closed-form KL. (With one learned $c$ instead and
# the same architecture, the ELBO is worse: exercise 1 asks by how much.) 16 latent dimensions, two
# hidden layers of 128 ReLU units, a sigmoid mean, Adam with a cosine-decayed learning rate:

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
# The importance-weighted bound (notebook 04, §6) is lower than the ELBO for every digit, as it
# must be: it is a tighter bound on the same model. Their values, this run's, are in §4's figure.
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
STEPS, BATCH, LR, P_UNCOND, SIGMA_MIN = 900, 256, 2e-3, 0.2, 0.01
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
# float64 for the finite differences of the ODE likelihood; gradients off
eps_theta = GuidedEpsFn(frozen(net.double()), np.asarray(history), diffusion_train_s)
print(f"training wall time {diffusion_train_s:.1f} s; final loss {np.mean(history[-100:]):.1f} "
      f"(mean of the last 100 steps)")

# %% [markdown]
# (`train_guided_eps_fn(2 * x_train_dq - 1, y_train_dq, n_classes=10, steps=900, seed=0)` runs
# the same lines; a test checks that it reproduces every number this notebook prints from the
# diffusion model.)
#
# Two likelihoods of this one network, both from the earlier notebooks:
#
# - **The ELBO of notebook 05** (eqs. 2.4-2.5 along the chain): the network read at the steps of
#   a 250-step cosine schedule, with the reverse variance $\sigma_t^2 = \beta_t$, the choice that
#   gave the better bound in notebook 06 §5.
# - **The probability-flow ODE likelihood of notebook 06**: exact for the ODE's model, up to the
#   solver's error. It costs $2 \cdot 64 + 1 = 129$ network rows per digit per evaluation (the
#   divergence by finite differences), so it is computed for the first 32 test digits only, with
#   Heun's method and 96 evaluations, within about 0.03 of its limit (with 24 it flatters the
#   model: exercise 4 asks by how much). The model it scores adds $N(0, \sigma_{\min}^2)$
#   noise, $\sigma_{\min} = 0.01$ in $x'$, a twelfth of a pixel level.

# %%
schedule = NoiseSchedule.cosine(250)
elbo = diffusion_elbo(2 * x_test_dq - 1, eps_theta.eps_model(schedule), schedule, rng=0,
                      reverse_var="beta")
bits_diffusion_elbo = bits_per_pixel(elbo.elbo, 64, scale=2)
N_ODE, NFE_ODE = 32, 96
log_p_ode = pf_ode_log_likelihood(eps_theta.eps_fn(), 2 * x_test_dq[:N_ODE] - 1, nfe=NFE_ODE,
                                  sigma_min=SIGMA_MIN)
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
# Look at which side of the dashed line (the histogram) each model falls: every model sits to
# its right. Each label's second line says how far, with its paired standard error.
#
# What the figure says, and what it does not:
#
# - **Counting is free.** After seconds of training on one thread, each model still pays for what
#   the histogram gets for free (longer training: below).
# - **The bound is not the likelihood.** The VAE's ELBO and IWAE, and the diffusion ELBO, are lower
#   bounds on each model's log-likelihood, so their bits per pixel are upper bounds. The gap between
#   the diffusion model's ELBO and its ODE likelihood is partly the bound's slack and partly that
#   they are two different models (the chain with Gaussian steps, and the ODE) sharing one network.
#   Our network is trained with notebook 06's weighting of noise levels, not the ELBO's; Kingma et
#   al. (2021) train diffusion models for likelihood and reach far better bits per dimension.
# - **Equal seconds, not equal convergence.** The two models had about the same training time, but
#   neither is near convergence, and they converge at different speeds. A ranking at a few seconds
#   can change with minutes of training, and with when the VAE is stopped before it overfits
#   (below: stopped at its best, it is never behind).
# - Dequantisation loosens every model's bound by its lack of flatness within each cell;
#   variational dequantisation (Ho et al. 2019) learns $u$ to tighten it.
#
# <details><summary>Going deeper: longer training (make bench)</summary>
#
# `make bench BENCH_ARGS="--only digits"` trains both for 3, 9 and 27 times as many steps (its
# ODE likelihood uses 128 evaluations on 64 digits; one run, on our machine). The VAE's test
# bounds are best at 3 times (15 s: ELBO 2.55, IWAE 2.37, just below the histogram) and then get
# worse, while its ELBO on training digits keeps improving (2.18, 2.02, 1.89 bits per pixel): it
# overfits the 1438 training digits. The diffusion model keeps improving: ELBO 3.03, 2.76 and
# 2.56 and ODE likelihood 2.93, 2.70 and 2.41 after 12, 37 and 96 s.
#
# Which model wins depends on when the VAE stops. Stopped at its best (early stopping), its
# IWAE of 2.37 is below everything the diffusion model reaches in this run, whose best is the
# ODE likelihood at 96 s, 2.41 ± 0.04, level with the histogram (so at 96 s the two differ by
# about one standard error). Left to overfit, the VAE falls
# behind: at 37 s the diffusion ELBO is 2.76 against the VAE's 3.01. That comparison measures
# the VAE's overfitting, not which family is better. (The stopping point was picked here on the
# test digits; done properly, on a validation split, it would flatter the VAE a little less.)
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
# read as digits; the diffusion samples are rougher still, after seconds of training.
#
# Do the models copy their training digits? Beside each diffusion sample, its nearest training
# digit (Euclidean distance in pixels), and for comparison, the distance from each test digit to
# its nearest training digit: a test digit was never seen, so its distance is what "new" looks
# like.

# %%
nearest = nearest_neighbours(diffusion_samples, x_train)
index, dist = nearest.index, nearest.distance
dist_test = nearest_neighbours(x_test, x_train).distance
print(f"distance to the nearest training digit: samples median {np.median(dist):.2f} "
      f"(min {dist.min():.2f}); test digits median {np.median(dist_test):.2f} (min {dist_test.min():.2f})")
plot_digits([diffusion_samples[:10], x_train[index[:10]]], row_labels=["sample", "nearest train"],
            title="diffusion samples and their nearest training digits", ncols=10)

# %% [markdown]
# In the figure, each sample's neighbour has a similar shape, never the same picture. No sample
# is a copy: the closest is 1.47 away from every training digit, farther than the median test
# digit is from its nearest training digit (1.03). That they sit farther out than real unseen
# digits fits their roughness: noise on a digit adds distance to every other digit.
#
# **Slider.** The number of network evaluations of the ODE solver. With a single evaluation the
# solver takes one Euler step from noise straight to the network's guess of the clean digit,
# which from pure noise is close to the average digit; notebook 06 measured on the mixture how
# the samples improve with more evaluations.

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
# In scores (notebook 06, §1) this is $\nabla \log p(x \mid y) + w \nabla \log p(y \mid x)$: the
# class's score plus $w$ times the score of an implicit classifier $p(y \mid x) \propto p(x \mid
# y) / p(x)$. So guidance samples from something like $p(x \mid y)\, p(y \mid x)^w$, pushed towards
# digits that are unmistakably of class $y$. At $w = 0$ it is the conditional model itself.
# (Its ancestor, *classifier* guidance (Dhariwal & Nichol 2021), adds the gradient of a separately
# trained classifier; the classifier-free form needs only the one network.)
#
# To measure **fidelity**, a logistic-regression classifier is fitted on the real (dequantised)
# training digits; its accuracy on generated digits of each class says how recognisable they are.
# **Diversity** is the mean distance between two samples of the same class, relative to the same
# for real test digits of that class.

# %%
from sklearn.linear_model import LogisticRegression

classifier = LogisticRegression(max_iter=2000).fit(dequantise(pixels_train, rng=2), y_train)
real_accuracy = classifier.score(x_test_dq, y_test)
real_spread = np.array([mean_pairwise_distance(x_test[y_test == c]) for c in range(10)])
print(f"classifier accuracy on the real test digits: {real_accuracy:.3f}")

W_VALUES, PER_CLASS = (0, 1, 2, 3, 4, 5, 6), 20
labels = np.repeat(np.arange(10), PER_CLASS)
guided, accuracy, diversity = {}, {}, {}
for w in W_VALUES:
    x_model = pf_ode_sample(eps_theta.eps_fn(y=labels, w=w), len(labels), nfe=16, d=64,
                            sigma_min=SIGMA_MIN, rng=5)       # the same starting noise for every w
    images = to_image(x_model).reshape(10, PER_CLASS, 64)
    guided[w] = images
    accuracy[w] = float(np.mean(classifier.predict(images.reshape(-1, 64)) == labels))
    diversity[w] = float(np.mean([mean_pairwise_distance(images[c]) for c in range(10)]
                                 / real_spread))
    print(f"w = {w}: accuracy {accuracy[w]:.3f}, diversity {diversity[w]:.2f}")
plot_tradeoff(W_VALUES, [accuracy[w] for w in W_VALUES], [diversity[w] for w in W_VALUES],
              real_accuracy)

# %% [markdown]
# Accuracy rises from 0.845 to 1.000 by $w = 2$, while diversity falls from 1.04 to 0.68. The 1.04
# at $w = 0$, above the real digits' spread, is not all variety: these short-trained samples are
# noisier than real digits, and noise adds distance too.
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
n_cond = 120                      # the first 120 test digits, each with the same draws for every w
x_cond, y_cond = 2 * x_test_dq[:n_cond] - 1, y_test[:n_cond]
bits_uncond = bits_per_pixel(diffusion_elbo(x_cond, eps_theta.eps_model(schedule), schedule,
                                            rng=0, reverse_var="beta").elbo, 64, scale=2)
print(f"unconditional: ELBO of log p(x) {mean_and_se(bits_uncond):.3f} bits per pixel")
for w in (0, 1, 3):
    e = diffusion_elbo(x_cond, eps_theta.eps_model(schedule, y=y_cond, w=w), schedule, rng=0,
                       reverse_var="beta")
    bits = bits_per_pixel(e.elbo, 64, scale=2)
    print(f"w = {w}: ELBO of log p(x | y) {mean_and_se(bits):.3f} bits per pixel, "
          f"minus unconditional {paired_difference(bits, bits_uncond):+.3f}")

# %% [markdown]
# At $w = 0$ the conditional bound is 0.18 bits per pixel better than the unconditional one, more
# than the 0.052 the label alone could give. The two halves of the network are two different
# models, not $p(x \mid y)$ and its own average $p(x)$; the conditional half is simply the better
# model of these test digits. (It saw four fifths of the training rows, the unconditional half one
# fifth; exercise 5 changes the label dropout and watches the gap.) With
# guidance the bound gets worse, fast: already at $w = 1$ it is 0.10 bits per pixel worse than the
# unconditional model's, and at $w = 3$ 2 bits worse. A guided chain concentrates on the most
# typical digits of each class and gives too little density to the rest, which fits the falling
# diversity. So report the likelihood of the unguided model; guidance is a sampling-time choice
# that gives some of it up for recognisable samples.

# %% [markdown]
# ## 7. What we have seen
#
# - **Dequantisation** turns any density on continuous pixels into a bound on the discrete
#   likelihood, $\log P \ge \mathbb{E}_u \log p(x) - 64 \log 17$; bits per pixel put every model
#   in one unit, with the change of variables counted.
# - **Baselines first.** A histogram per pixel (2.42 bits) beats both models trained for a few
#   seconds; uniform pixels cost 4.09.
# - **The VAE** needs a learned variance per pixel to be a sensible density; its IWAE bound is
#   tighter than its ELBO.
# - **The diffusion model's** ODE likelihood is a little better than its chain's ELBO, from the
#   same network, but only with enough solver steps: with too few it flatters the model.
# - **Samples** are not copies: they sit farther from the training set than unseen test digits
#   do (and are rougher than real digits, after seconds of training).
# - **Classifier-free guidance** raises recognisability at the cost of diversity and likelihood;
#   the unguided model's likelihood is the one that counts.
#
# ### Exercises (predict, then check)
#
# 1. **One $c$ for all pixels.** Notebook 04's VAE has a single decoder variance. Predict its bits
#    per pixel when $c$ is learned, with notebook 04's `train_vae` and §2's architecture and steps:
#    `from helpers.vae import negative_elbo, train_vae`, then
#    `r = train_vae(x_train_dq.astype("float32"), c=0.05, learn_c=True, z_dim=16, hidden=(128, 128), activation="relu", decoder_mean="sigmoid", steps=1800, lr=4e-3, progress=False)`
#    and `bits_per_pixel(-negative_elbo(r.model, torch.as_tensor(x_test_dq, dtype=torch.float32), float(r.c[0]), rng=0).detach().numpy(), 64).mean()`.
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
#    the network trains for 2700 steps instead of 900:
#    `eps3 = train_guided_eps_fn(2 * x_train_dq - 1, y_train_dq, n_classes=10, steps=2700, seed=0, progress=False)`,
#    then the cell of §3 with `eps3` in place of `eps_theta`. It takes about three times as long.
#
#    <details><summary>Solution</summary>
#
#    Both improve: the ELBO from 3.345 to 3.028 bits per pixel and the ODE likelihood from 3.21 to
#    2.88, still above the histogram's 2.42 (`make bench` trains longer still). The bench's
#    2.93 for the same three-fold training is another measurement: its ODE likelihood uses 128
#    evaluations on 64 digits, against §3's 96 on 32.
#    </details>
#
# 4. **Fewer evaluations.** Predict the ODE likelihood of §3 with 24 network evaluations instead
#    of 96: `bits_per_pixel(pf_ode_log_likelihood(eps_theta.eps_fn(), 2 * x_test_dq[:32] - 1, nfe=24, sigma_min=SIGMA_MIN), 64, scale=2).mean()`.
#    Will the model look better or worse?
#
#    <details><summary>Solution</summary>
#
#    Better, and wrongly so: 2.805 bits per pixel, 0.40 below the 3.21 of 96 evaluations. The
#    solver's error is a bias, not noise that averages out over digits, and here it runs in the
#    model's favour. Always check a likelihood against more evaluations (notebook 06, §5, used
#    512 on the mixture).
#    </details>
#
# 5. **The label's worth.** For one model, knowing the label can improve the likelihood by at
#    most $\log_2 10 / 64$ bits per pixel. Derive the limit. §6 measured 0.18, more than that.
#    Then retrain with label dropout 0.5 instead of 0.2
#    (`train_guided_eps_fn(2 * x_train_dq - 1, y_train_dq, n_classes=10, p_uncond=0.5, steps=900, seed=0, progress=False)`)
#    and predict whether the conditional-minus-unconditional gap of §6 ($w = 0$, same 120 digits)
#    grows or shrinks.
#
#    <details><summary>Solution</summary>
#
#    $\log p(x \mid y) = \log p(x) + \log p(y \mid x) - \log p(y)$, and with ten equally likely
#    classes $-\log p(y) = \log 10$ while $\log p(y \mid x) \le 0$: the gain is at most
#    $\log 10$ nats per digit, $0.052$ bits per pixel. The limit holds for one model and its own
#    marginal; the network's conditional and unconditional halves are two models, trained on
#    different shares of the rows. With dropout 0.5 the gap shrinks from 0.18 to 0.08 bits per
#    pixel (standard error 0.01), mostly because the unconditional bound improves, from 3.35 to
#    3.28.
#    </details>
#
# ### References
#
# - L. Theis, A. van den Oord, M. Bethge (2016). *A note on the evaluation of generative models.* ICLR.
# - J. Ho, X. Chen, A. Srinivas, Y. Duan, P. Abbeel (2019). *Flow++: improving flow-based generative
#   models with variational dequantization and architecture design.* ICML.
# - D. P. Kingma, T. Salimans, B. Poole, J. Ho (2021). *Variational diffusion models.* NeurIPS.
# - P. Dhariwal, A. Nichol (2021). *Diffusion models beat GANs on image synthesis.* NeurIPS
#   (classifier guidance).
# - J. Ho, T. Salimans (2022). *Classifier-free diffusion guidance.* arXiv:2207.12598.
# - Y. Burda, R. Grosse, R. Salakhutdinov (2016). *Importance weighted autoencoders.* ICLR.
#
# **Glossary.** dequantisation 去量化 · bits per pixel 每像素比特数 · classifier-free guidance
# 无分类器引导 · evidence lower bound 证据下界 (ELBO) · variational autoencoder 变分自编码器 ·
# importance sampling 重要性采样 · diffusion 扩散 · probability-flow ODE 概率流常微分方程 ·
# likelihood 似然 · sampling 采样.

# %%
print(f"wall time: {time.perf_counter() - notebook_start:.1f} s")
