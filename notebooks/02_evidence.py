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
# # 02 · The evidence and its naive Monte-Carlo estimate
#
# Companion to the first part of section 2 of the article *Principles of diffusion models*
# (eqs. 2.1-2.3, and the identity $p(x) = p(x \mid z)\,p(z) / p(z \mid x)$, its eq. (2)).
#
# **Question.** A VAE is trained by maximum likelihood, which needs $p_\theta(x)$ for every
# training image. For a model that first draws a hidden $z$ and then draws $x$ from it, how do we
# get that number, and what does the obvious way of computing it cost?
#
# **Learning goals.** After this notebook you can
# 1. say why maximum likelihood sums log-densities (eq. 2.2) instead of multiplying densities;
# 2. write the evidence as a prior average (eq. 2.3) and estimate it by Monte Carlo;
# 3. explain why that estimate is unbiased for $p(x)$ but biased low for $\log p(x)$;
# 4. (optional, §4) predict how its cost grows with the latent dimension $k$ and the decoder
#    noise $c$;
# 5. (optional, §5) see why the exact identity eq. (2) does not help, and how importance
#    sampling does;
# 6. judge the article's proposal to train a decoder on the naive estimate.
#
# **Map.** The core path is §1 → §2 → §3 → §6. The parts marked *optional* go deeper and can be
# skipped on a first reading.
#
# | § | topic | article | core or optional |
# |---|---|---|---|
# | 1 | maximum likelihood, why the log | eqs. 2.1, 2.2 | core (the SGD check is optional) |
# | 2 | a latent-variable model with an exact answer | eq. 2.3 | core |
# | 3 | the naive estimate: unbiased, and Jensen's bias | eq. 2.3 | core |
# | 4 | its cost against $k$ and $c$ ($\rho$, KL, widget, ESS) | eq. 2.3 | optional (skim the widget) |
# | 5 | the identity eq. (2) and importance sampling | eq. (2) | optional |
# | 6 | the article's experiment: a decoder trained on eq. 2.3 | side note to eq. 2.3 | core |
#
# Along the way we run the experiment the article proposes in a side note: train a decoder
# directly on the obvious estimate, and see what happens.

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
import numpy as np
from scipy import stats

from helpers.bits import mean_and_se
from helpers.evidence import (LinearGaussian, effective_sample_size, log_mean_exp,
                              measure_samples_needed, naive_mc_log_evidence, running_log_mean_exp)
from helpers.plots.evidence import (plot_naive_convergence, plot_naive_estimate_2d,
                                    plot_samples_needed)
from helpers.widgets import int_slider, log_slider, slider_panel

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Maximum likelihood, and why we take the log (article §2, eqs. 2.1, 2.2)
#
# Given training images $x^{(1)}, \dots, x^{(n)}$, **maximum likelihood (最大似然)** picks the
# parameters that make the observed data most probable:
#
# $$ \theta^{*}=\arg \max _{\theta} \prod_{i=1}^{n} p_{\theta}\left(x^{(i)}\right) \tag{2.1} $$
#
# $$ \theta^{*}=\arg \max _{\theta} \sum_{i=1}^{n} \log p_{\theta}\left(x^{(i)}\right) \tag{2.2} $$
#
# The quantity $\log p_\theta(x)$ is called the **evidence (证据)**: the log-likelihood of an
# observed sample. Eq. 2.2 is eq. 2.1 with a log in front. Does the log matter? On a computer, very
# much. Take 1000 draws from $N(0, 1)$ and score them under the same $N(0, \sigma^2)$ for a range
# of $\sigma$: the product of eq. 2.1 and the sum of logs of eq. 2.2. For this model the maximiser
# has a closed form: setting the derivative of $\sum_i \log N(x_i; 0, \sigma^2)$ to zero gives
# $\hat\sigma^2 = \frac1n \sum_i x_i^2$, the mean square of the data, so $\hat\sigma$ is their
# root mean square (RMS). (Not the sample
# standard deviation: the mean is known to be 0, so it is not subtracted.)

# %%
data_1d = rng.standard_normal(1000)
sigmas = np.linspace(0.5, 2.0, 151)
densities = stats.norm.pdf(data_1d[:, None], scale=sigmas)        # (1000, 151)
product = np.prod(densities, axis=0)                                # eq. 2.1
sum_of_logs = np.sum(stats.norm.logpdf(data_1d[:, None], scale=sigmas), axis=0)  # eq. 2.2
i1 = np.argmin(np.abs(sigmas - 1.0))
print(f"typical density of one point: {np.median(densities[:, i1]):.3f}")
print(f"product of 1000 densities at sigma = 1: {product[i1]}")
print(f"sum of 1000 log-densities at sigma = 1: {sum_of_logs[i1]:.1f}  (i.e. e^{sum_of_logs[i1]:.0f})")
print(f"smallest positive float64: {np.finfo(float).smallest_subnormal:.1e} = e^{np.log(np.finfo(float).smallest_subnormal):.0f}")
print(f"argmax of the product: sigma = {sigmas[np.argmax(product)]:.2f} (every value is 0.0)")
rms = np.sqrt(np.mean(data_1d**2))                                  # the exact maximiser
print(f"argmax of the sum of logs: sigma = {sigmas[np.argmax(sum_of_logs)]:.2f} on a grid of step 0.01; "
      f"RMS of the data = {rms:.4f}")
assert np.all(product == 0.0)

# %% [markdown]
# The product is exactly `0.0` for every $\sigma$: about $e^{-1400}$ is far below the smallest
# positive float64 (about $e^{-744}$). With every value equal, its argmax is just the first grid
# point, $\sigma = 0.5$: maximum likelihood in the form of eq. 2.1 silently returns garbage. The
# sum of logs is an ordinary number and its argmax is the grid point nearest the RMS, the right
# answer. With only 20 points the product does not underflow, and both forms agree, because the
# log is increasing:

# %%
small = densities[:20]
assert np.prod(small, axis=0).min() > 0
assert np.argmax(np.prod(small, axis=0)) == np.argmax(np.sum(np.log(small), axis=0))
print("20 points: same argmax, sigma =", f"{sigmas[np.argmax(np.prod(small, axis=0))]:.2f}")

# %% [markdown]
# > **Note on the article (slip 2).** The article says the log is taken so that every sample
# > carries the same weight. In the product every sample already enters in the same way, and the
# > log does not change any weighting. The real reasons are:
# > (1) the log is increasing, so eqs. 2.1 and 2.2 have the same maximiser (checked just above);
# > (2) a product of many densities underflows to 0.0 in floating point, a sum of logs does not
# > (shown above);
# > (3) a sum splits into per-example terms, so the gradient of a random minibatch's mean is an
# > unbiased estimate of the full mean's gradient: that is what makes stochastic gradient
# > descent possible. An optional quick check of (3) on the $\sigma$ example, with the gradient
# > of $\log N(x; 0, \sigma^2)$ in $\sigma$, $(x^2 - \sigma^2)/\sigma^3$, at $\sigma = 1.5$. The
# > two printed numbers should agree within a few of the printed standard errors:

# %%
grad_each = (data_1d**2 - 1.5**2) / 1.5**3                # d/dsigma log N(x_i; 0, sigma^2)
minibatch_means = grad_each[rng.integers(0, 1000, size=(20_000, 32))].mean(axis=1)
avg = mean_and_se(minibatch_means)
print(f"full-data mean gradient {grad_each.mean():.4f}, "
      f"average minibatch (32) gradient {avg.mean:.4f} +- {avg.se:.4f}")

# %% [markdown]
# ## 2. A latent-variable model we can solve exactly (article §2, eq. 2.3)
#
# The model behind a VAE has two steps, $z \to x$: draw a **latent variable (隐变量)** $z$ from a
# simple **prior (先验)** $p(z) = N(0, I_k)$, then draw $x$ from $p_\theta(x \mid z)$. The
# evidence needs the probability of $x$ over *all* ways of producing it:
#
# $$p_{\theta}\left(\mathbf{x}\right)=\int p_{\theta}\left(\mathbf{x} \mid \mathbf{z}\right) p(\mathbf{z}) d \mathbf{z} = \mathbb{E}_{\mathbf{z} \sim p(\mathbf{z})}\, p_{\theta}(\mathbf{x} \mid \mathbf{z}) \tag{2.3} $$
#
# The distribution $p_\theta(x \mid z)$ is the **probabilistic decoder (概率解码器)**. For a
# neural-network decoder this integral has no closed form. To have a ground truth for every
# experiment below, we use a decoder whose mean is linear, $x \mid z \sim N(Wz + b,\ cI_d)$
# (probabilistic PCA, Tipping & Bishop 1999). Then $x$ is Gaussian,
# $p(x) = N(x;\ b,\ WW^\top + cI)$, and the **posterior (后验)** $p(z \mid x)$ is Gaussian too,
# $N(\mu, S)$ with
#
# $$ S = \left(I + W^\top W / c\right)^{-1}, \qquad \mu = S\, W^\top (x - b) / c .$$
#
# (Multiply the prior $e^{-\lVert z\rVert^2/2}$ by the likelihood $e^{-\lVert x - Wz - b\rVert^2/2c}$
# and complete the square in $z$.) `LinearGaussian` computes both exactly. Here $d = 20$ and
# $k = 2$.

# %%
d, k_max = 20, 8
params = np.random.default_rng(1)
W_full = params.standard_normal((d, k_max))      # columns beyond k are used from section 4 on
b = params.standard_normal(d)
z_true = params.standard_normal(k_max)           # the z behind our observation x
noise = params.standard_normal(d)


def observation(model):
    """The fixed observation x = W z_true + b + sqrt(c) * noise for a model with k <= k_max."""
    return model.W @ z_true[:model.z_dim] + model.b + np.sqrt(model.c) * noise


model = LinearGaussian(W_full[:, :2], b, c=0.1)
x = observation(model)
exact = model.log_evidence(x)
scipy_value = stats.multivariate_normal(b, model.W @ model.W.T + model.c * np.eye(d)).logpdf(x)
print(model, f"exact log p(x) = {exact:.4f}, scipy's multivariate normal: {scipy_value:.4f}")
assert np.isclose(exact, scipy_value, rtol=1e-12)

# %% [markdown]
# Eq. 2.3 as a plain 2-D integral over $z$, by quadrature on a fine grid, gives the same number:

# %%
axis = np.linspace(-6, 6, 401)
grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
log_integrand = model.log_likelihood(x, grid) + stats.norm.logpdf(grid).sum(1)  # log p(x|z) p(z)
quadrature = log_mean_exp(log_integrand) + np.log(len(grid) * (axis[1] - axis[0]) ** 2)
print(f"grid quadrature of eq. 2.3: {quadrature:.4f}   exact: {exact:.4f}")
assert abs(quadrature - exact) < 1e-6

# %% [markdown]
# > **Note on the article (slip 3).** The side note under eq. 2.3 calls $p_\theta(x \mid z)$ "a
# > deterministic mapping". The decoder's *mean* $f_\theta(z)$ (here $Wz + b$) is deterministic;
# > $p_\theta(x \mid z)$ is a *distribution* around it, with variance $c$. That noise is what
# > makes eq. 2.3 usable: with no noise, $p(x \mid z)$ is zero unless $f_\theta(z)$ hits $x$
# > exactly, and no random $z$ ever does. Watch the naive estimate fall away from the exact value
# > as $c$ shrinks towards a deterministic decoder. (The estimate is the one §3 defines: the
# > average of $p(x \mid z_l)$ over 10 000 prior samples $z_l$. One run of it lands on either
# > side of the truth, so the small positive errors at $c \ge 0.01$ are its noise; §3 shows that
# > its log is too low *on average*. That noise grows as $c$ shrinks, which §§3-4 explain, so
# > one run at $c = 10^{-3}$ says little; the error at $c = 10^{-4}$, 7 nats, is no accident.)

# %%
for c in (1.0, 1e-1, 1e-2, 1e-3, 1e-4):
    m = LinearGaussian(W_full[:, :2], b, c)
    xc = observation(m)
    est = naive_mc_log_evidence(m.log_likelihood, xc, 10_000, 2, rng=2)
    print(f"c = {c:7.0e}: naive {est:9.2f}, exact {m.log_evidence(xc):7.2f}, "
          f"error {est - m.log_evidence(xc):8.2f} nats")

# %% [markdown]
# ## 3. The naive estimate of eq. 2.3, against the exact value (article §2, eq. 2.3)
#
# Eq. 2.3 is an expectation over the prior, so the obvious **Monte-Carlo (蒙特卡洛)** estimate
# draws $z_1, \dots, z_L$ from $p(z)$ and averages:
#
# $$\hat p(x) = \frac{1}{L} \sum_{l=1}^{L} p_\theta(x \mid z_l), \qquad z_l \sim N(0, I).$$
#
# In 20 dimensions a single $p(x \mid z_l)$ is easily $e^{-300}$, so we work in log space:
# $\log \hat p = \operatorname{logmeanexp}_l \log p(x \mid z_l)$ (`log_mean_exp`, which shifts by
# the largest term before exponentiating). `naive_mc_log_evidence` does this in chunks, so
# $L = 10^7$ costs a few megabytes, not gigabytes.
#
# Two facts to check. $\hat p$ is **unbiased**: $E[\hat p] = p(x)$, because each term has mean
# $p(x)$. But $\log \hat p$ is **biased low**: the log is concave, so by Jensen's inequality
# $E[\log \hat p] \le \log E[\hat p] = \log p(x)$. For large $L$ the bias is about
# $-(\rho - 1)/(2L)$ and the relative spread of $\hat p$ is $\sqrt{(\rho - 1)/L}$, where
# $\rho - 1 = \operatorname{Var}_{z \sim p(z)}[p(x\mid z)/p(x)]$ is known exactly for this model
# (`naive_relative_variance`). We repeat the estimate 200 times with independent samples; each
# run's running estimate gives all $L$ at once.

# %%
runs, L_max = 200, 2**12
n_values = 2 ** np.arange(0, 13)
log_p_hat = np.empty((runs, len(n_values)))
for r in range(runs):
    z = rng.standard_normal((L_max, 2))
    log_p_hat[r] = running_log_mean_exp(model.log_likelihood(x, z))[n_values - 1]
rel_var = model.naive_relative_variance(x)
print(f"rho - 1 = {rel_var:.3g}")
print(f"{'L':>6} {'mean p_hat/p':>13} {'+- SE':>7} {'median':>7} {'mean log error':>15} {'+- SE':>7} "
      f"{'-(rho-1)/2L':>12}")
for j in (0, 2, 4, 6, 8, 10, 12):
    L = n_values[j]
    ratio, err = np.exp(log_p_hat[:, j] - exact), log_p_hat[:, j] - exact
    se_ratio, se_err = ratio.std() / np.sqrt(runs), err.std() / np.sqrt(runs)
    print(f"{L:6d} {ratio.mean():13.3f} {se_ratio:7.3f} {np.median(ratio):7.3f} {err.mean():15.3f} "
          f"{se_err:7.3f} {-rel_var / (2 * L):12.3f}")

# %% [markdown]
# How to read the table. The rows share their runs (each run's running estimate gives every
# $L$), so neighbouring rows are not independent.
#
# - **$\hat p / p(x)$ (unbiased).** From $L = 16$ on, the mean stays within 3 standard errors of 1
#   (the largest distance is 2.9 SE, at $L = 1024$). At $L = 1$ and $L = 4$ the mean also lands
#   near 1, but for a different reason than at large $L$: the typical run (the median column) is
#   far below the truth, and a few rare, huge terms pull the average up. With
#   $\rho - 1 = 91.9$, 200 runs of one sample each are too few for the standard error to be
#   trusted, so agreement there is luck, not evidence.
# - **$\log \hat p - \log p(x)$ (biased low).** The mean log-error is clearly negative, by many
#   standard errors, for $L \le 64$; at $L = 256$ it is $-0.113 \pm 0.046$, 2.4 standard errors.
#   Around $L \approx \rho \approx 93$ it falls faster than $1/L$: by a factor of 8.2 from
#   $L = 16$ to 64 and 9.1 from 64 to 256 (from -8.464 to -1.029 to -0.113), where $1/L$ alone
#   would give 4. The
#   large-$L$ prediction $-(\rho-1)/(2L)$ only applies once $L \gg \rho$; there the bias is too
#   small for 200 runs to resolve well: at $L = 4096$ the measured -0.001 ± 0.010 agrees with
#   the predicted -0.011, while at $L = 1024$ the measured +0.019 ± 0.021 lies 3 standard errors
#   above the predicted -0.045.
#
# The picture:

# %%
plot_naive_convergence(n_values, log_p_hat, exact, relative_variance=rel_var)

# %% [markdown]
# ## 4. Optional: how hard it gets, samples needed against $k$ and $c$ (article §2, eq. 2.3)
#
# How many samples give a 10 % error in $\hat p$? From the spread above,
# $L = (\rho - 1)/0.1^2$. The trouble is how $\rho$ grows. It has an exact meaning:
# $\rho = E_{p(z)}\big[(p(z \mid x)/p(z))^2\big] = \exp D_2\big(p(z\mid x)\,\|\,p(z)\big)$, the
# exponential of the Rényi divergence of order 2. Rényi divergences grow with their order, and
# order 1 is the KL divergence, so
#
# $$ \rho \;\ge\; \exp\big(\mathrm{KL}(p(z\mid x)\,\|\,p(z))\big). $$
#
# In words: prior samples are useful only where the posterior lives, and the KL measures how far
# the posterior sits from the prior; the needed $L$ grows at least like $\exp(\mathrm{KL})$
# (Chatterjee & Diaconis 2018 show that about $\exp(\mathrm{KL})$ samples are also enough for
# importance sampling when the log-weight $\log(p(z \mid x)/p(z))$ is concentrated around its
# mean; when it is not, more may be needed). In the linear model a posterior of width about $\sqrt{c}$ in
# each of $k$ directions makes that about $c^{-k/2}$.
#
# We **measure** the needed $L$: draw $2^{16}$ prior samples, split them into independent runs
# of $L = 1, 2, 4, \dots$ samples, compute the root-mean-square relative error of $\hat p$ over
# the runs, and read off where it crosses 10 % (`measure_samples_needed`). With at least 16 runs
# per error estimate this can measure up to $L = 4096$; where the exact formula already says
# more is needed, a measurement would need more samples than we can spare, so we skip it. Next to
# it: the exact $(\rho - 1)/0.01$, and $\rho$ beside its lower bound $\exp(\mathrm{KL})$.

# %%
k_values, c_values, budget = [1, 2, 3, 4, 6, 8], [1.0, 0.1, 0.01], 2**16
measured, exact_needed, exp_kl = (np.full((len(c_values), len(k_values)), np.nan) for _ in range(3))
print(f"{'c':>5} {'k':>2} {'measured':>9} {'exact':>9} {'rho':>9} {'exp(KL)':>9} {'ratio':>6}")
for i, c in enumerate(c_values):
    for j, k in enumerate(k_values):
        m = LinearGaussian(W_full[:, :k], b, c)
        xm = observation(m)
        exact_needed[i, j] = m.naive_relative_variance(xm) / 0.1**2
        exp_kl[i, j] = np.exp(m.posterior_kl(xm))
        if exact_needed[i, j] <= budget / 16:
            measured[i, j] = measure_samples_needed(m, xm, rel_err=0.1, budget=budget, rng=3)
        shown = f"{measured[i, j]:9.3g}" if np.isfinite(measured[i, j]) else f"{'> 4096':>9}"
        rho = 1 + exact_needed[i, j] * 0.1**2
        print(f"{c:5g} {k:2d} {shown} {exact_needed[i, j]:9.3g} {rho:9.3g} {exp_kl[i, j]:9.3g} "
              f"{rho / exp_kl[i, j]:6.2f}")

# %% [markdown]
# Where we could measure, measurement and formula agree within a factor of 2 (`measured` against
# `exact`). The table spans more than thirteen orders of magnitude: with $k = 8$ and $c = 0.01$,
# 10 % accuracy for *one* image needs about $4 \times 10^{15}$ decoder evaluations. On the same
# footing, $\rho$ against $\exp(\mathrm{KL})$, the bound holds in every row (the `ratio` column
# is at least 1.15); at $c = 0.1$, $k = 2$ the two are 92.9 and 68.5. The bound is within a
# factor of 1.6 for $k \le 3$ and loosens to a factor of 3.4-4.1 at $k = 8$. Since both span many
# decades, that looseness is small on a log scale: over $k = 1 \to 8$ the logarithms of the exact
# count and of $\exp(\mathrm{KL})$ grow by similar amounts (second line below):

# %%
print(f"k = 8, c = 0.01: {exact_needed[2, -1]:.2g} samples; range of the table: "
      f"{np.log10(exact_needed.max() / exact_needed.min()):.1f} decades")
growth_exact = np.log(exact_needed[:, -1] / exact_needed[:, 0])
growth_kl = np.log(exp_kl[:, -1] / exp_kl[:, 0])
print("growth of log(samples) from k = 1 to 8, exact vs exp(KL):",
      np.round(growth_exact, 1), np.round(growth_kl, 1))
per_decade = exact_needed[2] / exact_needed[1]          # c = 0.1 -> c = 0.01
print(f"{'k':>26}" + "".join(f"{k:>9d}" for k in k_values))
print(f"{'cost factor, c = 0.1 -> 0.01':>26}" + "".join(f"{v:9.3g}" for v in per_decade))
print(f"{'10^(k/2)':>26}" + "".join(f"{10.0 ** (k / 2):9.3g}" for k in k_values))
plot_samples_needed(k_values, c_values, measured, exact_needed, exp_kl, budget=budget / 16)

# %% [markdown]
# Each tenfold decrease of $c$ multiplies the cost by a factor close to $10^{k/2}$, the
# $c^{-k/2}$ law, which it approaches once $c$ is small next to the squared decoder weights (the
# printed factors lie between 0.58 and 1.08 times $10^{k/2}$). In the figure, the dotted curves are
# $(\exp(\mathrm{KL}) - 1)/0.1^2$, the bound put on the same footing as the solid exact count,
# so each dotted curve lies below its solid one.
#
# **One observation is not a trend.** The jump from $k = 3$ to $k = 4$ (a factor of about 700 at
# $c = 0.1$) is larger than its neighbours. It comes from our single $x$: its latent
# coordinates `z_true` include 2.87 in position 4 (printed below), and the prior gives a value
# at least this far from 0 with probability 0.0041, about once in 240 draws. Such an $x$ sits where the prior is thin, so its posterior is far
# from the prior and the KL is large. Medians over 25 observations drawn from the model, for the
# same $W$, $b$ and $c$, give the typical growth. At $c = 0.1$ the median step from $k = 3$ to
# $k = 4$ is a factor of about 12, not 700, and at $c = 0.01$ each added latent dimension
# multiplies the median cost by roughly 30 to 60 (last line below): steady exponential growth
# in $k$.

# %%
print("z_true:", np.round(z_true, 2), f"| P(|z| >= {abs(z_true[3]):.2f}) under N(0, 1) = "
      f"{2 * stats.norm.sf(abs(z_true[3])):.4f}")
obs_rng = np.random.default_rng(6)
z_obs, noise_obs = obs_rng.standard_normal((25, k_max)), obs_rng.standard_normal((25, d))
print(f"{'c':>5} " + " ".join(f"{'k = ' + str(k):>9}" for k in k_values) + "   (median exact L over 25 x)")
median_needed = np.empty((len(c_values), len(k_values)))
for i, c in enumerate(c_values):
    for j, k in enumerate(k_values):
        m = LinearGaussian(W_full[:, :k], b, c)
        needed = [m.naive_relative_variance(m.W @ zo[:k] + b + np.sqrt(c) * no) / 0.1**2
                  for zo, no in zip(z_obs, noise_obs)]
        median_needed[i, j] = np.median(needed)
    print(f"{c:5g} " + " ".join(f"{v:9.3g}" for v in median_needed[i]))
print("median growth per added latent dimension, c = 0.01:",
      np.round((median_needed[2, 1:] / median_needed[2, :-1]) ** (1 / np.diff(k_values)), 1))

# %% [markdown]
# ### Try it: move $c$, $L$ and $k$
#
# For $k = 2$ the left panel shows the prior samples (blue) and the posterior (red ellipses at
# 1, 2 and 3 standard deviations, and a red cross at its mean, which stays visible when the
# ellipses shrink below a pixel at small $c$): the small region where $p(x \mid z)$ is large.
# The middle panel zooms into the black box around it and colours each sample by its weight
# $p(x \mid z_l)$ relative to the largest (colour bar). Its axes count steps of $s$, the
# posterior's largest standard deviation (its value is in the title), away from the posterior
# mean, so the box always spans $-5$ to $5$ while $c$ and $k$ shrink or move it. The right
# panel is the running error $\log \hat p - \log p(x)$, whose target is the line at 0 (the exact
# $\log p(x)$ is printed in its corner); its title gives
# the effective sample size (ESS) $(\sum_l w_l)^2 / \sum_l w_l^2$, the number of samples that
# really count; it is the same quantity that decides importance sampling in §5. For $k > 2$
# the first two coordinates are drawn. Shrink $c$ or raise $k$ and watch
# the region empty out. The $10^5$ prior samples are drawn once; the sliders only pick subsets.

# %%
z_pool = np.random.default_rng(4).standard_normal((100_000, k_max))
widget_data = dict(W=W_full, b=b, z_true=z_true, noise=noise, z_pool=z_pool)
plot_naive_estimate_2d(c=0.01, n_samples=1000, k=2, **widget_data)

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_naive_estimate_2d,
             log_slider("c", 0.01, 1e-3, 1.0),
             log_slider("n_samples", 1000, 1, 100_000),
             int_slider("k", 2, 1, k_max),
             **widget_data)

# %% [markdown]
# ## 5. Optional: the identity $p(x) = p(x \mid z)\,p(z) / p(z \mid x)$ (article §2, eq. (2))
#
# The article's text carries one more equation, a fragment that trails after its reference
# list: Bayes' rule solved for the evidence,
#
# $$ p(x) = \frac{p(x \mid z)\,p(z)}{p(z \mid x)} \tag{2} $$
#
# It holds at *every* $z$, so one evaluation at any $z$ would give $p(x)$ exactly, no sampling
# at all. In the linear model, where the posterior is known, it does:

# %%
post_mean, post_cov = model.posterior(x)
z_any = rng.normal(scale=2.0, size=(5, 2))
log_rhs = (model.log_likelihood(x, z_any) + stats.multivariate_normal(np.zeros(2)).logpdf(z_any)
           - stats.multivariate_normal(post_mean, post_cov).logpdf(z_any))
print("log p(x|z) + log p(z) - log p(z|x) at 5 random z:", np.round(log_rhs, 6))
print(f"exact log p(x): {exact:.6f}")
assert np.allclose(log_rhs, exact, atol=1e-9)

# %% [markdown]
# Why does this not help in practice? Because $p(z \mid x) = p(x \mid z)\,p(z) / p(x)$ contains
# the very $p(x)$ we want: knowing the posterior exactly *is* knowing the evidence, and for a
# neural-network decoder we know neither. Put an approximation $q(z)$ in its place and the
# right-hand side stops being constant: it now depends on which $z$ we picked. Take a posterior
# guess $q$ with the right covariance and a mean off by half a unit in each coordinate. Half a
# unit sounds small, but the posterior is narrow:

# %%
post_sd = np.sqrt(np.diag(post_cov))
delta = np.array([0.5, 0.5])                      # q's mean minus the posterior mean
prec = np.linalg.inv(post_cov)                    # S^-1
print("posterior sd per coordinate:", np.round(post_sd, 3),
      f"; correlation {post_cov[0, 1] / (post_sd[0] * post_sd[1]):.2f}")
print(f"length of the shift in posterior sd (Mahalanobis, sqrt(delta^T S^-1 delta)): "
      f"{np.sqrt(delta @ prec @ delta):.1f}")
print("slope S^-1 delta:", np.round(prec @ delta, 0), "nats per unit of z")
q = stats.multivariate_normal(post_mean + delta, post_cov)
log_rhs_q = (model.log_likelihood(x, z_any) + stats.multivariate_normal(np.zeros(2)).logpdf(z_any)
             - q.logpdf(z_any))
print("with the shifted q:          ", np.round(log_rhs_q - exact, 2), "nats off")
print("-delta^T S^-1 (z - mu) + delta^T S^-1 delta / 2:",
      np.round(-(z_any - post_mean) @ prec @ delta + 0.5 * delta @ prec @ delta, 2))
print("distance of the 5 z from the posterior mean:",
      np.round(np.linalg.norm(z_any - post_mean, axis=1), 2))

# %% [markdown]
# So $q$ is shifted by 10.6 posterior standard deviations, measured along the shift (the
# posterior's two coordinates are correlated, $-0.30$, so the shift's length in standard
# deviations is not the per-coordinate 6), and the errors are tens to hundreds of nats (49 to
# 280 in size). Why so large: with equal covariances $S$ and $q$'s mean $\mu + \delta$,
# $$\log p(z \mid x) - \log q(z) = -\delta^\top S^{-1}(z - \mu) + \tfrac12 \delta^\top S^{-1}\delta ,$$
# a linear function of $z$ (the quadratic terms cancel; the second-to-last line above evaluates
# it and matches the errors). At $z = \mu + \delta$, where $q$ is highest, it is
# $-\tfrac12\delta^\top S^{-1}\delta < 0$. Its slope $S^{-1}\delta$ is about 116 and 108 nats per
# unit of $z$, and our five $z$ lie 0.85 to 3.68 units from the posterior mean; the sign follows
# the side of the posterior on which $z$ falls.
#
# Averaging $p(x\mid z)p(z)/q(z)$ over $z \sim q$ turns this into an estimate that is unbiased
# for any $q$ that covers the posterior and exact for $q = p(z \mid x)$: **importance sampling
# (重要性采样)**. The naive estimate is the special case $q = p(z)$. Learning a good
# $q(z \mid x)$ is what the encoder of a VAE does (Kingma & Welling 2014; Rezende et al. 2014),
# and the **evidence lower bound (ELBO, 证据下界)** of notebook 03 is the average under $q$ of
# the log of this ratio, $\mathbb{E}_q[\log(p(x \mid z)\,p(z)/q(z))]$ (not the log of its average,
# which is $\log p(x)$ itself).
#
# ## 6. The article's experiment: train a decoder on the naive estimate (article §2, side note to eq. 2.3)
#
# The side note under eq. 2.3 proposes to skip all that: take $p(z) = N(0, I)$, a neural-network
# decoder $x \mid z \sim N(f_\theta(z), cI)$, and minimise $-\sum_i \log \hat p_\theta(x^{(i)})$
# with the naive estimate, by stochastic gradient descent. It guesses that this converges slowly
# but works to some extent. We run it on the 8x8 digits (pixels in $[0, 1]$, $d = 64$, 1438
# training and 359 held-out images, `helpers.data.load_digits`).
#
# The loss is a few lines. For a minibatch of images and $L$ prior samples *shared* by the whole
# minibatch, $f_\theta$ runs $L$ times, the table of $\lVert x - f_\theta(z_l)\rVert^2$ is one
# distance computation, and the loss is minus the minibatch mean of
# $\operatorname{logmeanexp}_l \log N(x; f_\theta(z_l), cI)$:

# %%
import torch

from helpers.gaussian import isotropic_log_likelihood


def naive_loss(f_theta, x_batch, n_samples, c, z_dim, generator):
    """-mean over the batch of log p_hat(x) (eq. 2.3) with n_samples shared prior samples."""
    z = torch.randn(n_samples, z_dim, generator=generator)             # z_l ~ p(z) = N(0, I)
    sq = torch.cdist(x_batch, f_theta(z)) ** 2                          # ||x - f_theta(z_l)||^2
    log_lik = isotropic_log_likelihood(sq, x_batch.shape[1], c)         # log p(x | z_l)
    log_p_hat = log_mean_exp(log_lik, axis=1)                           # eq. 2.3, in logs
    return -log_p_hat.mean()

# %% [markdown]
# `train_naive_decoder` minimises exactly this with Adam: each step takes a minibatch of 128
# training images and $L = 256$ fresh prior samples. Its decoder $f_\theta$ is a network with
# one hidden layer of 128 tanh units, and its settings are `NAIVE_DECODER_SETTINGS`.
#
# **Why a fixed $c = 0.03$.** A learned $c$ would be pushed towards 0 wherever a decoder output
# matches pixels exactly, and the digits' pixels take only 17 values (and many are exactly 0):
# a continuous density on such data is unbounded unless the pixels are dequantised (jittered
# with uniform noise). A fixed $c$ avoids that. Its value, 0.03, is well below the pixel
# variance of the data (0.074, printed below), so a decoder that ignores $z$ scores badly, yet
# not so small that the posterior becomes hopelessly narrow: section 4's cost grows like
# $c^{-k/2}$.
#
# We train the model once with $k = 2$ and once with $k = 8$.

# %%
from helpers.data import load_digits
from helpers.naive_decoder import (NAIVE_DECODER_SETTINGS, decoder_log_evidence, decoder_samples,
                                   train_naive_decoder)
from helpers.plots.digits import plot_digit_rows
from helpers.plots.evidence import plot_ess_during_training, plot_naive_sweep, plot_training_curves

x_train, x_test = load_digits("train"), load_digits("test")
print("settings:", NAIVE_DECODER_SETTINGS)
print(f"train {x_train.shape}, test {x_test.shape}, {x_train.dtype}; "
      f"{len(np.unique(x_train))} distinct pixel values, {np.mean(x_train == 0):.0%} of pixels exactly 0")
assert len(np.unique(x_train)) == 17
print(f"pixel variance of the training data (mean over pixels): {x_train.var(axis=0).mean():.3f}")
ESS_STEPS = [1, 10, 30, 100, 300]   # copies of each decoder are kept after these steps
naive = {k: train_naive_decoder(x_train, z_dim=k, **NAIVE_DECODER_SETTINGS, snapshot_steps=ESS_STEPS[:-1])
         for k in (2, 8)}
for k, r in naive.items():
    print(f"k = {k}: wall time: {r.train_s:.2f} s")

# %% [markdown]
# **Held-out log-likelihood, and why it is positive.** The numbers below are log-*densities* of
# a continuous model on $[0, 1]^{64}$, not log-probabilities, so they can be positive: a normal
# with variance $c = 0.03$ has density up to $1/\sqrt{2\pi c} \approx 2.30$ per pixel, and a
# decoder output that matched all 64 pixels exactly would score $32 \log(1/(2\pi c))$ nats
# (printed below). Since the pixels are not dequantised, these values are good for comparing
# models at the same $c$ on the same data, not against published bits-per-dimension figures.
#
# For $k = 2$ the integral of eq. 2.3 is two-dimensional, so a dense grid of $128^2$ points over
# $[-6, 6]^2$ computes it accurately (`decoder_log_evidence`, method `"grid"`). For $k = 8$ no
# grid is possible, and the best we have is the naive estimate itself. So we score each *final*
# decoder with the naive estimate at growing $L$, from the training value $L = 256$ up to
# $2^{16}$: where the score still climbs with $L$, the estimate has not converged and is only a
# (stochastic) lower bound. The baseline is a decoder that ignores $z$ and always outputs the
# mean training image, which has an exact log-likelihood.
#
# **Your numbers will differ from ours, a little.** The figures label this run's values; the text
# quotes ranges that hold over seeds and CPUs.
#
# <details><summary>Going deeper: why a CPU changes a trained decoder</summary>
#
# Another seed, or the same seed on another CPU (whose matrix products and other kernels round
# their last bits differently), trains another decoder: training amplifies a difference in the
# last bit into a few tenths of a nat at $k = 2$ and up to about a nat at $k = 8$. The ranges
# quoted below were measured over seeds 0-3 with several kinds of CPU arithmetic; the
# conclusions hold for all of them.
# </details>

# %%
c = NAIVE_DECODER_SETTINGS["c"]
print(f"peak density of N(0, c) at c = {c}: {1 / np.sqrt(2 * np.pi * c):.2f} per pixel; largest possible "
      f"log-density of an image: 32 log(1 / (2 pi c)) = {32 * np.log(1 / (2 * np.pi * c)):.1f} nats")
baseline = stats.multivariate_normal(x_train.mean(0), c * np.eye(64)).logpdf(x_test).mean()
print(f"held-out log-likelihood of the decoder that ignores z (the mean image): {baseline:.2f} "
      f"nats per image (exact)")
f2, f8 = naive[2].f_theta, naive[8].f_theta
ll2_grid = decoder_log_evidence(f2, x_test, c, 2, method="grid", grid_size=128).mean()
sweep_L = [2**8, 2**12, 2**14, 2**16]
sweep = {k: [decoder_log_evidence(f, x_test, c, k, method="naive", n_samples=L, rng=0).mean()
             for L in sweep_L] for k, f in ((2, f2), (8, f8))}
plot_naive_sweep(sweep_L, sweep, grid={2: ll2_grid})

# %% [markdown]
# Left, $k = 2$: the naive estimate rises to the grid value and stays on it. Right, $k = 8$: it
# is still climbing at $2^{16}$ samples. Both decoders are far above the mean-image baseline
# printed above.
#
# The loss written out above is the one `train_naive_decoder` minimises. Evaluated on the
# held-out images with the final $k = 2$ decoder and $L = 256$, it is minus the naive estimate
# that `decoder_log_evidence` computes from the same 256 prior draws:

# %%
with torch.no_grad():
    loss = naive_loss(f2, torch.as_tensor(x_test), 256, c, 2, torch.Generator().manual_seed(1))
helper = decoder_log_evidence(f2, x_test, c, 2, method="naive", n_samples=256, rng=1).mean()
print(f"naive_loss and minus the helper's estimate, k = 2, the same 256 draws: "
      f"they differ by less than 1e-4 nats: {abs(loss.item() + helper) < 1e-4}")

# %%
plot_training_curves(list(naive.values()))

# %% [markdown]
# **What drives each update: the gradient view.** Differentiate the naive estimate's log:
# $$\nabla_\theta \log \hat p(x) = \sum_{l=1}^{L} \tilde w_l\, \nabla_\theta \log p_\theta(x \mid z_l),
#   \qquad \tilde w_l = \frac{p_\theta(x \mid z_l)}{\sum_m p_\theta(x \mid z_m)} .$$
# Each image pulls the decoded images $f_\theta(z_l)$ towards itself, in proportion to their
# weights $\tilde w_l$ (the weights that the optional §4 studies, there for the linear model).
# Their effective sample size, ESS $= 1 / \sum_l \tilde w_l^2$, says how many of the $L = 256$
# samples share the pull: $L$ for equal weights, 1 when one weight takes all. We measure it on a
# batch of 128 training images with 256 fresh prior samples, for the decoder as it was at five
# points of its training (copies kept along the way):

# %%
x_batch = torch.as_tensor(x_train[:128])
ess = {}
for k, r in naive.items():
    z = torch.randn(256, k, generator=torch.Generator().manual_seed(5))   # z_l ~ p(z)
    ess[k] = []
    for f in [r.snapshots[s] for s in ESS_STEPS[:-1]] + [r.f_theta]:
        with torch.no_grad():
            log_w = (-torch.cdist(x_batch, f(z)) ** 2 / (2 * c)).double().numpy()  # log p(x|z_l) + const
        ess[k].append(np.median(effective_sample_size(log_w)))
print(f"median ESS of 256 after the first step: k = 2: {ess[2][0]:.1f}; k = 8: {ess[8][0]:.2f}")
plot_ess_during_training(ESS_STEPS, ess, n_samples=256)

# %% [markdown]
# Of 256 samples, a handful count. At $k = 8$ the median ESS stays near 1 at every stage (at
# most about 1.3 over the seeds and CPUs we tried): for each image one prior sample, the one whose
# decoded image lies closest to it, carries nearly all the weight and so nearly all of that
# image's gradient. At $k = 2$ it is 7.5 after this run's first step (3.5 to 9 for other seeds),
# falls below 2 within 30 steps, and lies between 1.6 and 4.1 from step 100 on.
# Training moves the decoder one lucky sample at a time: the cost that §4 finds growing
# exponentially with $k$, now inside the optimiser. An encoder attacks it at the root, by
# proposing $z$ where the posterior is (notebook 04).

# %%
plot_digit_rows([x_test[:12], decoder_samples(f2, 12, z_dim=2, rng=0), decoder_samples(f8, 12, z_dim=8, rng=0)],
                ["held-out", "k = 2", "k = 8"])

# %% [markdown]
# Top row: held-out digits. The rows $k = 2$ and $k = 8$ show decoder means $f_\theta(z)$ for
# prior draws $z \sim N(0, I)$; a sample of the model adds $N(0, cI)$ noise to each, which would
# only hide the shapes.
#
# **What happened** (at this notebook's budget of 300 steps, about a second per model; these are
# not converged models: both training curves are higher over their last 50 steps than over the
# 50 before):
#
# - **$k = 2$ works, modestly.** The decoder trained on the naive estimate beats the mean-image
#   baseline by more than 20 nats per held-out image, and its samples look like blurry digits.
#   Its naive score is flat from $L = 2^{12}$ on, within 0.06 nats of the grid value (about 4.3
#   to 5.1 nats, by seed and CPU); at the training value $L = 256$ it is lower, by a third of a
#   nat to a little over one. With $k = 2$ the naive estimate is nearly trustworthy, so training
#   optimised nearly the real log-likelihood.
# - **$k = 8$ did not fall apart as a model: its decoder scores *higher*.** But its score climbs
#   with $L$ at every step of the sweep: by 4 to 6 nats from $L = 256$ to $2^{12}$, and still by
#   0.3 to 0.9 nats per fourfold increase after that. So the estimate it was trained on
#   ($L = 256$) was biased low by many nats, and even $2^{16}$ samples per image do not pin down
#   its log-likelihood: section 4's exponential cost in $k$, met on real data.
#
# **Why naive training works at all: the IWAE bound.** The expected training objective,
# $E[\log \hat p_L(x)]$, is the importance-weighted bound of Burda et al. (2016) with the prior as
# proposal. It is a lower bound on $\log p(x)$ for every $L$ (Jensen, §3), it rises with $L$,
# and it tends to $\log p(x)$ as $L \to \infty$. So training on it maximises a valid lower bound
# of the evidence; the price is the gap, which at fixed $L$ grows with the KL between posterior
# and prior. An encoder that proposes $z$ near the posterior shrinks that gap: the VAE of
# notebooks 03 and 04.
#
# Calling `train_naive_decoder(x_train, z_dim=k, **NAIVE_DECODER_SETTINGS)` repeats these runs to the
# last bit on the same machine and torch (same seed, fixed number of steps); on another CPU it
# trains a slightly different decoder, as said above. Notebook 04 puts a VAE next to a naive
# decoder of the same architecture.
#
# ## What we have seen
#
# - The evidence $\log p_\theta(x)$ (eq. 2.2) is summed, not multiplied, because products of
#   densities underflow and sums suit minibatches; the log does not change the maximiser (for
#   $N(0, \sigma^2)$ the maximiser is the RMS of the data).
# - Eq. 2.3 writes $p(x)$ as a prior average of $p(x \mid z)$. Its Monte-Carlo estimate is
#   unbiased for $p(x)$ but biased low for $\log p(x)$ (Jensen).
# - Optional: the samples it needs are $(\rho - 1)/\varepsilon^2$ with $\rho \ge \exp(\mathrm{KL})$,
#   so they grow exponentially in $k$, about like $c^{-k/2}$; one outlying observation can
#   dominate such a table, medians over many $x$ show the trend.
# - Optional: $p(x) = p(x\mid z)p(z)/p(z\mid x)$ is exact but circular; replacing the posterior
#   by a proposal $q$ gives importance sampling.
# - Training a decoder on the naive estimate maximises the IWAE bound with the prior as proposal:
#   fine for $k = 2$, badly biased for $k = 8$. Next, notebook 03: replace the prior as proposal
#   by a learned $q_\phi(z \mid x)$ and get the ELBO.
#
# ## Exercises (predict, then check)
#
# Write your prediction down before you run anything.
#
# 1. **The widget's ESS** (optional, §4). In the slider panel, at $k = 2$ and $L = 10^5$, move $c$ from 1 to
#    0.01. Predict roughly how the effective sample size in the right-hand title changes (hint:
#    §4's $c^{-k/2}$). Then check.
#
#    <details><summary>Solution</summary>
#
#    The ESS is about $L/\rho$, and $\rho$ grows like $c^{-k/2} = c^{-1}$ for $k = 2$, so the ESS
#    drops by roughly a factor of 100 over the two decades of $c$. The titles say ESS 10144 at
#    $c = 1$, 1065 at $c = 0.1$ and 109 at $c = 0.01$: a factor of 93, a bit less than 100
#    because this $x$ is not typical (compare $\rho$ in the §4 table).
#    </details>
#
# 2. **More runs in §3.** If you change `runs` from 200 to 800 in §3, what happens to the
#    standard errors in the table, and will the $L = 1024$ row still be 3 SE from the
#    $-(\rho-1)/2L$ prediction? Predict, then run the cell (a few seconds).
#
#    <details><summary>Solution</summary>
#
#    From $L = 16$ on, every standard error halves ($1/\sqrt{\text{runs}}$), to about 0.011 at
#    $L = 1024$ (at $L = 1$ and 4, where a few huge terms dominate, it shrinks less reliably). The
#    means move too, since the runs change; a run with 800 gave -0.036 ± 0.011 at $L = 1024$,
#    within one SE of the predicted -0.045. The 3-SE gap with 200 runs was a fluctuation.
#    </details>
#
# 3. **A better proposal (beyond the text, optional §5).** In §5, draw $z$ from the shifted $q$ instead of
#    $N(0, 2^2 I)$, and average $w = p(x\mid z)p(z)/q(z)$ over $10^4$ draws:
#    `zq = q.rvs(10_000, random_state=0)`, then `log_mean_exp(model.log_likelihood(x, zq) +
#    stats.multivariate_normal(np.zeros(2)).logpdf(zq) - q.logpdf(zq))`. Predict: closer to
#    `exact` than the naive estimate with $10^4$ prior samples, or further? Then try
#    `q = stats.multivariate_normal(post_mean, post_cov)`.
#
#    <details><summary>Solution</summary>
#
#    With the shift of 10.6 posterior sd, $q$ barely overlaps the posterior: the estimate
#    comes out about 25 nats below `exact`, far worse than the naive estimate with $10^4$ prior
#    samples (0.08 nats low with `rng=0`). With the exact posterior every weight equals $p(x)$
#    and the estimate is exact to rounding. A
#    proposal only helps if it covers the posterior; this is what an encoder must learn.
#    </details>
#
# 4. **Learn $c$.** In §1 the MLE of $\sigma$ is the RMS. For the decoder of §6, the MLE of $c$
#    at a fixed $f_\theta$ and a fixed $z$ per image is the mean squared error per pixel. If
#    $c$ were learned, would it stay near 0.03? Predict two numbers for the $k = 2$ decoder: the
#    mean squared error per pixel with random $z$, and with each held-out image's best $z$.
#    Check: `np.mean((x_test - decoder_samples(f2, 359, z_dim=2, rng=0)) ** 2)` for random $z$; for the
#    best $z$ on a grid, `g = np.linspace(-3, 3, 61); Z = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)`,
#    `F = f2(torch.tensor(Z, dtype=torch.float32)).detach().double().numpy()`, then
#    `((x_test[:, None] - F[None]) ** 2).mean(-1).min(1).mean()`.
#
#    <details><summary>Solution</summary>
#
#    Random $z$ give about 0.11 to 0.13 (by training seed and CPU): a decoder mean for a random
#    $z$ is usually another digit, so this is even above the pixel variance of the data, 0.074.
#    Each image's best $z$ gives about 0.040 to 0.041. So for this decoder the MLE of $c$ is
#    about 0.04, a little above the fixed 0.03. Trained together
#    with $f_\theta$, $c$ would follow the fit down, and with pixels that take only 17 values a
#    decoder flexible enough to hit its training images makes the density grow without bound as
#    $c \to 0$: the reason §6 fixes $c$ (notebook 04 returns to learning $c$).
#    </details>
#
# ## Glossary (English, the article's Chinese)
#
# maximum likelihood 最大似然 · evidence 证据 · latent variable 隐变量 · prior 先验 ·
# posterior 后验 · probabilistic decoder 概率解码器 · Monte Carlo 蒙特卡洛 ·
# importance sampling 重要性采样 · evidence lower bound (ELBO) 证据下界
#
# ## References
#
# - D. P. Kingma and M. Welling (2014). Auto-encoding variational Bayes. *ICLR* (the article's
#   reference [6]) (§5).
# - D. J. Rezende, S. Mohamed and D. Wierstra (2014). Stochastic backpropagation and approximate
#   inference in deep generative models. *ICML* (§5).
# - M. E. Tipping and C. M. Bishop (1999). Probabilistic principal component analysis. *Journal
#   of the Royal Statistical Society B* 61(3) (§2: the linear-Gaussian model).
# - Y. Burda, R. Grosse and R. Salakhutdinov (2016). Importance weighted autoencoders. *ICLR*
#   (§6: the IWAE bound).
# - S. Chatterjee and P. Diaconis (2018). The sample size required in importance sampling.
#   *Annals of Applied Probability* 28(2) (§4: about $\exp(\mathrm{KL})$ samples).
