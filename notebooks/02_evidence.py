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
# (eqs. 2.1-2.3 and its eq. (2)).
#
# **Question.** Training a VAE by maximum likelihood needs $p_\theta(x)$ for every training
# image. For a model that draws a hidden $z$ and then $x$ from it, how do we get that number, and
# what does the obvious way of computing it cost?
#
# **Reading time.** About 35 minutes for the core path, §1 → §2 → §3 → §4 → §6; about an hour
# with the optional §5 and the collapsed "Going deeper" blocks (careful measurements and
# derivations, for a second reading).
#
# **Learning goals.** Say why maximum likelihood sums logs (eq. 2.2); estimate the evidence
# as a prior average (eq. 2.3) and explain its bias; predict how its cost grows with the latent
# dimension $k$ and the decoder noise $c$; judge the article's proposal to train a decoder on it.
#
# | § | topic | core or optional |
# |---|---|---|
# | 1 | maximum likelihood, why the log (eqs. 2.1, 2.2) | core |
# | 2 | a latent-variable model with an exact answer (eq. 2.3) | core |
# | 3 | the naive estimate: unbiased, and Jensen's bias | core |
# | 4 | its cost against $k$ and $c$, and a widget | core |
# | 5 | the identity eq. (2) and importance sampling | optional |
# | 6 | the article's experiment: a decoder trained on eq. 2.3 | core |

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
# The log in eq. 2.2 does not change the answer, but without it a computer cannot find the
# answer. Given training images $x^{(1)}, \dots, x^{(n)}$, **maximum likelihood (最大似然)** picks
# the parameters that make the observed data most probable:
#
# $$ \theta^{*}=\arg \max _{\theta} \prod_{i=1}^{n} p_{\theta}\left(x^{(i)}\right) \tag{2.1} $$
#
# $$ \theta^{*}=\arg \max _{\theta} \sum_{i=1}^{n} \log p_{\theta}\left(x^{(i)}\right) \tag{2.2} $$
#
# $\log p_\theta(x)$ is the **evidence (证据)**. We score 1000 draws from $N(0, 1)$ under
# $N(0, \sigma^2)$ for a range of $\sigma$, by eq. 2.1 and by eq. 2.2. The right answer is known:
# the root mean square (RMS) of the data.
#
# <details><summary>Going deeper: why the RMS</summary>
#
# Setting the derivative of $\sum_i \log N(x_i; 0, \sigma^2)$ to zero gives
# $\hat\sigma^2 = \frac1n \sum_i x_i^2$, the mean square of the data. It is not the sample
# standard deviation: the mean is known to be 0, so it is not subtracted.
# </details>

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
# What to look for: the product is exactly `0.0` for every $\sigma$ (about $e^{-1400}$, far below
# the smallest positive float64, about $e^{-744}$), so its argmax is just the first grid point. The sum of logs peaks at the grid point nearest
# the RMS. With only 20 points the product does not underflow, and both forms agree, because the
# log is increasing:

# %%
small = densities[:20]
assert np.prod(small, axis=0).min() > 0
assert np.argmax(np.prod(small, axis=0)) == np.argmax(np.sum(np.log(small), axis=0))
print("20 points: same argmax, sigma =", f"{sigmas[np.argmax(np.prod(small, axis=0))]:.2f}")

# %% [markdown]
# > **Note on the article (slip 2).** The article says the log gives every sample the same
# > weight, but in the product every sample already enters in the same way. The real reasons:
# > (1) the log is increasing, so the maximiser is the same (checked above); (2) a product of
# > many densities underflows, a sum of logs does not; (3) a sum splits into per-example terms,
# > so a random minibatch's gradient is an unbiased estimate of the full one, which is what
# > stochastic gradient descent needs. The cell below checks (3) at $\sigma = 1.5$: the two
# > numbers agree within a few standard errors.

# %%
grad_each = (data_1d**2 - 1.5**2) / 1.5**3                # d/dsigma log N(x_i; 0, sigma^2)
minibatch_means = grad_each[rng.integers(0, 1000, size=(20_000, 32))].mean(axis=1)
avg = mean_and_se(minibatch_means)
print(f"full-data mean gradient {grad_each.mean():.4f}, "
      f"average minibatch (32) gradient {avg.mean:.4f} +- {avg.se:.4f}")

# %% [markdown]
# ## 2. A latent-variable model we can solve exactly (article §2, eq. 2.3)
#
# The evidence of a latent-variable model is an integral, and we pick a model whose integral is
# known exactly, to check every estimate against. A VAE's model draws a **latent variable
# (隐变量)** $z$ from a **prior (先验)** $p(z) = N(0, I_k)$, then $x$ from the **probabilistic
# decoder (概率解码器)** $p_\theta(x \mid z)$. The evidence sums over *all* ways of producing $x$:
#
# $$p_{\theta}\left(\mathbf{x}\right)=\int p_{\theta}\left(\mathbf{x} \mid \mathbf{z}\right) p(\mathbf{z}) d \mathbf{z} = \mathbb{E}_{\mathbf{z} \sim p(\mathbf{z})}\, p_{\theta}(\mathbf{x} \mid \mathbf{z}) \tag{2.3} $$
#
# For a neural-network decoder this integral has no closed form. Ours has a linear mean,
# $x \mid z \sim N(Wz + b,\ cI_d)$ (probabilistic PCA, Tipping & Bishop 1999), so
# $p(x) = N(x;\ b,\ WW^\top + cI)$, and the **posterior (后验)** $p(z \mid x)$ is a Gaussian
# $N(\mu, S)$. `LinearGaussian` computes both exactly. Here $d = 20$ and $k = 2$.
#
# <details><summary>Going deeper: the posterior, and where it comes from</summary>
#
# $$ S = \left(I + W^\top W / c\right)^{-1}, \qquad \mu = S\, W^\top (x - b) / c .$$
#
# Multiply the prior $e^{-\lVert z\rVert^2/2}$ by the likelihood
# $e^{-\lVert x - Wz - b\rVert^2/2c}$ and complete the square in $z$: the quadratic term
# $z^\top (I + W^\top W / c)\, z / 2$ gives the precision $S^{-1}$, and the linear term
# $z^\top W^\top (x - b) / c$ gives the mean $\mu = S\, W^\top (x - b) / c$.
# </details>

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
# > deterministic mapping". Only its *mean* $f_\theta(z)$ (here $Wz + b$) is deterministic;
# > $p_\theta(x \mid z)$ is a distribution with variance $c$, and that noise makes eq. 2.3 usable.
# > What to look for below: as $c$ shrinks, §3's naive estimate falls away from the exact value,
# > by 7 nats at $c = 10^{-4}$.
#
# <details><summary>Going deeper: reading the small errors</summary>
#
# With no noise, $p(x \mid z)$ is zero unless $f_\theta(z)$ hits $x$ exactly, and no random $z$
# ever does. One run of the estimate lands on either side of the truth, so the small positive
# errors at $c \ge 0.01$ are its noise; §3 shows that its log is too low *on average*. That noise
# grows as $c$ shrinks (§§3-4), so one run at $c = 10^{-3}$ says little; the error at
# $c = 10^{-4}$ is no accident.
# </details>

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
# The obvious estimate of eq. 2.3 is right on average for $p(x)$, but too low on average for
# $\log p(x)$. This **Monte-Carlo (蒙特卡洛)** estimate draws $z_1, \dots, z_L$ from the prior
# and averages:
#
# $$\hat p(x) = \frac{1}{L} \sum_{l=1}^{L} p_\theta(x \mid z_l), \qquad z_l \sim N(0, I).$$
#
# $\hat p$ is **unbiased**: each term has mean $p(x)$. But $\log \hat p$ is **biased low**: the
# log is concave, so by Jensen's inequality $E[\log \hat p] \le \log E[\hat p] = \log p(x)$. For large $L$ the bias is about
# $-(\rho - 1)/(2L)$ and the relative spread of $\hat p$ is $\sqrt{(\rho - 1)/L}$, where
# $\rho - 1 = \operatorname{Var}_{z \sim p(z)}[p(x\mid z)/p(x)]$ is known exactly for this model
# (`naive_relative_variance`). We repeat the estimate 200 times.
#
# <details><summary>Going deeper: computing in log space</summary>
#
# In 20 dimensions a single $p(x \mid z_l)$ is easily $e^{-300}$, so we work in log space:
# $\log \hat p = \operatorname{logmeanexp}_l \log p(x \mid z_l)$ (`log_mean_exp`, which shifts by
# the largest term before exponentiating). `naive_mc_log_evidence` does this in chunks, so
# $L = 10^7$ costs a few megabytes, not gigabytes.
# </details>

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
# What to look for in the table: the mean of $\hat p / p(x)$ stays near 1 (unbiased), while the
# mean log-error is negative, by nats at small $L$, and shrinks towards the prediction
# $-(\rho-1)/2L$ once $L$ is well above $\rho \approx 93$. At small $L$ the median run lies far
# below the truth: a few rare, huge terms carry the mean.
#
# <details><summary>Going deeper: the table, row by row</summary>
#
# The rows share their runs (each run's running estimate gives every $L$), so neighbouring rows
# are not independent.
#
# - **$\hat p / p(x)$ (unbiased).** Its expectation is 1 at every $L$; what changes with $L$ is
#   whether the standard error can be trusted. From $L = 16$ on, the mean stays within 3 standard
#   errors of 1 (the largest distance is 3.0 SE, 2.97 to be exact, at $L = 1024$). At $L = 1$ and
#   $L = 4$ the mean also lands near 1, but there the standard error itself is unreliable: with
#   $\rho - 1 = 91.9$, the mean of 200 runs is decided by a few rare, huge terms, so agreement
#   there is luck, not evidence.
# - **$\log \hat p - \log p(x)$ (biased low).** The mean log-error is negative by many standard
#   errors for $L \le 64$; at $L = 256$ it is $-0.113 \pm 0.046$, 2.4 standard errors. Around
#   $L \approx \rho$ it falls faster than $1/L$: by a factor of 8.2 from $L = 16$ to 64 and 9.1
#   from 64 to 256 (from -8.464 to -1.029 to -0.113), where $1/L$ alone would give 4. The
#   prediction $-(\rho-1)/(2L)$ only applies once $L \gg \rho$; there the bias is too small for
#   200 runs to resolve well: at $L = 4096$ the measured -0.001 ± 0.010 agrees with the predicted
#   -0.011, while at $L = 1024$ the measured +0.019 ± 0.021 lies 3 standard errors above the
#   predicted -0.045 (exercise 2 shows it is a fluctuation).
# </details>

# %%
plot_naive_convergence(n_values, log_p_hat, exact, relative_variance=rel_var)

# %% [markdown]
# What to look for: left, the mean of $\hat p / p(x)$ stays near 1 at every $L$, although at
# small $L$ most runs (the band) lie far below it; right, the mean log-error climbs to 0 from
# below, and meets $-(\rho-1)/(2L)$ only once $L$ is well above $\rho$.

# %% [markdown]
# ## 4. How hard it gets: samples needed against $k$ and $c$ (article §2, eq. 2.3)
#
# The naive estimate needs a number of samples that grows exponentially with the latent
# dimension $k$, roughly like $c^{-k/2}$. From the spread above, a 10 % error in $\hat p$ needs
# $L = (\rho - 1)/0.1^2$ samples, and
#
# $$ \rho \;\ge\; \exp\big(\mathrm{KL}(p(z\mid x)\,\|\,p(z))\big). $$
#
# Prior samples are useful only where the posterior lives, and the KL measures how far it sits
# from the prior; a posterior of width about $\sqrt{c}$ in each of $k$ directions makes that
# about $c^{-k/2}$.
#
# <details><summary>Going deeper: why ρ ≥ exp(KL), and how we measure</summary>
#
# $\rho = E_{p(z)}\big[(p(z \mid x)/p(z))^2\big] = \exp D_2\big(p(z\mid x)\,\|\,p(z)\big)$, the
# exponential of the Rényi divergence of order 2. Rényi divergences grow with their order, and
# order 1 is the KL divergence, hence the bound. Chatterjee & Diaconis (2018) show that about
# $\exp(\mathrm{KL})$ samples are also enough for importance sampling when the log-weight
# $\log(p(z \mid x)/p(z))$ is concentrated around its mean; when it is not, more may be needed.
#
# To **measure** the needed $L$ we draw $2^{16}$ prior samples, split them into independent runs
# of $L = 1, 2, 4, \dots$ samples, compute the root-mean-square relative error of $\hat p$ over
# the runs, and read off where it crosses 10 % (`measure_samples_needed`). With at least 16 runs
# per error estimate this reaches $L = 4096$; where the exact formula asks for more, we skip it.
# </details>

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
# What to look for: the exact count spans more than thirteen orders of magnitude; with $k = 8$
# and $c = 0.01$, 10 % accuracy for *one* image needs about $4 \times 10^{15}$ decoder
# evaluations. The `ratio` column $\rho / \exp(\mathrm{KL})$ is never below 1, and on a log scale
# the two grow alike with $k$ (second line below).
#
# <details><summary>Going deeper: measured against exact, and the bound's slack</summary>
#
# Where we could measure, measurement and formula agree within a factor of 2, but all four
# measured counts fall below the exact ones. That is the heavy tail of $p(x \mid z)/p(x)$: its
# variance comes from rare, huge terms, which a finite set of runs usually misses, so the measured
# error tends to be smaller than the true one and crosses 10 % early. The mean of a heavy-tailed
# ratio is reached late, and a finite run under-counts more often than not. Over 20 seeds of the
# measurement (in the tests), the measured count falls below the exact one in 60 to 70 % of them
# for each of the four cases, so four out of four here is partly chance.
#
# The bound holds in every row (the `ratio` column is at least 1.15); at $c = 0.1$, $k = 2$ the
# two are 92.9 and 68.5. It is within a factor of 1.6 for $k \le 3$ and loosens to a factor of
# 3.4-4.1 at $k = 8$: small next to the decades both span.
# </details>

# %%
print(f"k = 8, c = 0.01: {exact_needed[2, -1]:.2g} samples; range of the table: "
      f"{np.log10(exact_needed.max() / exact_needed.min()):.1f} decades")
growth_exact = np.log(exact_needed[:, -1] / exact_needed[:, 0])
growth_kl = np.log(exp_kl[:, -1] / exp_kl[:, 0])
print("growth of log(samples) from k = 1 to 8, exact vs exp(KL):",
      np.round(growth_exact, 1), np.round(growth_kl, 1))
per_decade = exact_needed[2] / exact_needed[1]          # c = 0.1 -> c = 0.01
law = 10.0 ** (np.array(k_values) / 2)
same_x = [LinearGaussian(W_full[:, :k], b, 0.01).naive_relative_variance(
              observation(LinearGaussian(W_full[:, :k], b, 0.1))) / 0.1**2 / exact_needed[1, j]
          for j, k in enumerate(k_values)]          # x held at its c = 0.1 value
print(f"{'k':>30}" + "".join(f"{k:>9d}" for k in k_values))
print(f"{'cost factor, c = 0.1 -> 0.01':>30}" + "".join(f"{v:9.3g}" for v in per_decade))
print(f"{'10^(k/2)':>30}" + "".join(f"{v:9.3g}" for v in law))
print(f"{'cost factor / 10^(k/2)':>30}" + "".join(f"{v:9.2f}" for v in per_decade / law))
print(f"{'the same, with x held fixed':>30}" + "".join(f"{v:9.2f}" for v in np.array(same_x) / law))
plot_samples_needed(k_values, c_values, measured, exact_needed, exp_kl, budget=budget / 16)

# %% [markdown]
# What to look for in the figure: each tenfold decrease of $c$ multiplies the cost by about
# $10^{k/2}$, so the curves fan out as $k$ grows; the dotted bound lies below each solid exact
# count.
#
# <details><summary>Going deeper: why the printed factors fall below 10^(k/2) at large k</summary>
#
# The printed factors for $c = 0.1 \to 0.01$ lie between 0.58 and 1.08 times $10^{k/2}$, lowest at
# $k = 8$. The law is not the cause: our observation $x = Wz + b + \sqrt{c}\,\varepsilon$ moves
# with $c$. Hold $x$ fixed at its $c = 0.1$ value (the last printed line) and the factors are 0.99
# to 1.07 times $10^{k/2}$ for every $k$. At $k = 8$, moving $x$ to its $c = 0.01$ value alone
# multiplies the cost by 0.54.
# </details>
#
# **One observation is not a trend.** Our single $x$ is unusual, so the medians over 25
# observations drawn from the model (below) show the typical growth: at $c = 0.01$ each added
# latent dimension multiplies the cost by roughly 30 to 60.
#
# <details><summary>Going deeper: the outlier in numbers</summary>
#
# The jump from $k = 3$ to $k = 4$ in the table (a factor of about 700 at $c = 0.1$) comes from
# our $x$: its latent coordinate in position 4 is 2.87, and the prior gives a value at least this
# far from 0 with probability 0.0041 (printed below), about once in 240 draws. Such an $x$ sits
# where the prior is thin, so its posterior is far from the prior and the KL is large. At
# $c = 0.1$ the median step from $k = 3$ to $k = 4$ is a factor of about 12, not 700.
# </details>

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
# The widget shows where the cost comes from: only prior samples inside the posterior's small
# region count. Left: prior samples (blue) and the posterior (red ellipses at 1, 2, 3 sd).
# Middle: a zoom onto the posterior, samples coloured by their weight $p(x \mid z_l)$. Right: the
# running error $\log \hat p - \log p(x)$ (target 0), with the effective sample size (ESS)
# $(\sum_l w_l)^2 / \sum_l w_l^2$ in its title. What to look for: shrink $c$ or raise $k$, and
# the zoom empties, the ESS falls towards 1, and the error drops far below 0 (a red arrow says
# so when it leaves the panel).
#
# <details><summary>Going deeper: the panels in detail</summary>
#
# A red cross marks the posterior mean: it keeps the posterior visible when the ellipses shrink below a pixel at small $c$. The
# zoom's axes count steps of $s$, the posterior's largest standard deviation (its value is in the
# title), away from the posterior mean, so the box always spans $-5$ to $5$ while $c$ and $k$
# shrink or move it. For $k > 2$ the first two coordinates are drawn; for $k = 1$ the panels show
# the densities and a histogram of the weights. The exact $\log p(x)$ is printed in the right
# panel's corner. The ESS is the same quantity that decides importance sampling in §5. The $10^5$
# prior samples are drawn once; the sliders only pick subsets.
# </details>

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
# An exact formula gives $p(x)$ from a single $z$, but it needs the posterior, which is as hard
# to get as $p(x)$. The article carries it as a fragment after its reference list: Bayes' rule
# solved for the evidence,
#
# $$ p(x) = \frac{p(x \mid z)\,p(z)}{p(z \mid x)} \tag{2} $$
#
# It holds at *every* $z$. In the linear model, where the posterior is known, one $z$ suffices:

# %%
post_mean, post_cov = model.posterior(x)
z_any = rng.normal(scale=2.0, size=(5, 2))
log_rhs = (model.log_likelihood(x, z_any) + stats.multivariate_normal(np.zeros(2)).logpdf(z_any)
           - stats.multivariate_normal(post_mean, post_cov).logpdf(z_any))
print("log p(x|z) + log p(z) - log p(z|x) at 5 random z:", np.round(log_rhs, 6))
print(f"exact log p(x): {exact:.6f}")
assert np.allclose(log_rhs, exact, atol=1e-9)

# %% [markdown]
# In practice $p(z \mid x) = p(x \mid z)\,p(z) / p(x)$ contains the very $p(x)$ we want. Put an
# approximation $q$ in its place and the right-hand side depends on $z$. Take $q$ with the right
# covariance and a mean off by half a unit in each coordinate; the posterior is narrow:

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
# What to look for: $q$ is 10.6 posterior standard deviations off, and the errors are tens to
# hundreds of nats.
#
# <details><summary>Going deeper: why the errors are so large</summary>
#
# The shift is 10.6 standard deviations measured along the shift (the posterior's two coordinates
# are correlated, $-0.30$, so it is not the per-coordinate 6), and the errors are 49 to 280 in
# size. With equal covariances $S$ and $q$'s mean $\mu + \delta$,
# $$\log p(z \mid x) - \log q(z) = -\delta^\top S^{-1}(z - \mu) + \tfrac12 \delta^\top S^{-1}\delta ,$$
# a linear function of $z$ (the quadratic terms cancel; the second-to-last line above evaluates
# it and matches the errors). At $z = \mu + \delta$, where $q$ is highest, it is
# $-\tfrac12\delta^\top S^{-1}\delta < 0$. Its slope $S^{-1}\delta$ is about 116 and 108 nats per
# unit of $z$, and our five $z$ lie 0.85 to 3.68 units from the posterior mean; the sign follows
# the side of the posterior on which $z$ falls.
# </details>
#
# Averaging $p(x\mid z)p(z)/q(z)$ over $z \sim q$ gives **importance sampling (重要性采样)**,
# unbiased if $q$ covers the posterior, exact for $q = p(z \mid x)$; the naive estimate is the case $q = p(z)$. Learning a good $q(z \mid x)$ is what a VAE's encoder does (Kingma &
# Welling 2014; Rezende et al. 2014), and the average under $q$ of the log of this ratio is the
# **evidence lower bound (ELBO, 证据下界)** of notebook 03.
#
# ## 6. The article's experiment: train a decoder on the naive estimate (article §2, side note to eq. 2.3)
#
# Training a decoder on the naive estimate works for $k = 2$, but for $k = 8$ the estimate it
# trains on is biased low by many nats. The side note under eq. 2.3 proposes to take
# $p(z) = N(0, I)$, a neural-network decoder $x \mid z \sim N(f_\theta(z), cI)$, and minimise
# $-\sum_i \log \hat p_\theta(x^{(i)})$ by stochastic gradient descent, guessing that this
# converges slowly but works to some extent. We run it on the 8x8 digits ($d = 64$, pixels in
# $[0, 1]$, `helpers.data.load_digits`).
#
# The loss is a few lines, with $L$ prior samples *shared* by the minibatch:

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
# training images and $L = 256$ fresh prior samples. Its decoder $f_\theta$ has one hidden layer
# of 128 tanh units (`NAIVE_DECODER_SETTINGS`). The decoder noise is fixed at $c = 0.03$, well
# below the pixel variance of the data (0.074, printed below), so a decoder that ignores $z$
# scores badly. We train once with $k = 2$ and once with $k = 8$.
#
# <details><summary>Going deeper: why a fixed c</summary>
#
# A learned $c$ would be pushed towards 0 wherever a decoder output matches pixels exactly, and
# the digits' pixels take only 17 values (and many are exactly 0): a continuous density on such
# data is unbounded unless the pixels are dequantised (jittered with uniform noise). A fixed $c$
# avoids that. At 0.03 the posterior is not yet hopelessly narrow: §4's cost grows like
# $c^{-k/2}$.
# </details>

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
# **Scoring the decoders.** For $k = 2$ a dense $128^2$ grid computes eq. 2.3 accurately
# (`decoder_log_evidence`, method `"grid"`). For $k = 8$ we can only score with the naive
# estimate itself, at growing $L$ from the training value 256 up to $2^{16}$: where the score
# still climbs with $L$, it has not converged. The baseline always outputs the mean training
# image. **Your numbers will differ a little:** the figures label this run's values; the text
# quotes ranges over seeds and CPUs.
#
# <details><summary>Going deeper: why these log-likelihoods are positive</summary>
#
# They are log-*densities* of a continuous model on $[0, 1]^{64}$, not log-probabilities: a normal
# with variance $c = 0.03$ has density up to $1/\sqrt{2\pi c} \approx 2.30$ per pixel, and a
# decoder output that matched all 64 pixels exactly would score $32 \log(1/(2\pi c))$ nats
# (printed below). Since the pixels are not dequantised, these values compare models at the same
# $c$ on the same data, not against published bits-per-dimension figures.
# </details>
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
# What to look for: left, $k = 2$, the naive estimate rises to the grid value and stays on it;
# right, $k = 8$, it is still climbing at $2^{16}$ samples. Both decoders are far above the
# mean-image baseline printed above.
#
# The loss written out above is the one `train_naive_decoder` minimises: on the held-out images,
# with the final $k = 2$ decoder and $L = 256$, it is minus the naive estimate that
# `decoder_log_evidence` computes from the same 256 prior draws:

# %%
with torch.no_grad():
    loss = naive_loss(f2, torch.as_tensor(x_test), 256, c, 2, torch.Generator().manual_seed(1))
helper = decoder_log_evidence(f2, x_test, c, 2, method="naive", n_samples=256, rng=1).mean()
print(f"naive_loss and minus the helper's estimate, k = 2, the same 256 draws: "
      f"they differ by less than 1e-4 nats: {abs(loss.item() + helper) < 1e-4}")

# %%
plot_training_curves(list(naive.values()))

# %% [markdown]
# What to look for: both curves still rise at step 300; these models are not converged.
#
# **What drives each update: the gradient view.** Differentiate the naive estimate's log:
# $$\nabla_\theta \log \hat p(x) = \sum_{l=1}^{L} \tilde w_l\, \nabla_\theta \log p_\theta(x \mid z_l),
#   \qquad \tilde w_l = \frac{p_\theta(x \mid z_l)}{\sum_m p_\theta(x \mid z_m)} .$$
# Each image pulls the decoded images $f_\theta(z_l)$ towards itself in proportion to the weights
# $\tilde w_l$, those of §4's widget. Their ESS $= 1 / \sum_l \tilde w_l^2$ counts the samples
# that share the pull. We measure it on 128 training images, for copies of the decoder kept at
# five points of its training:

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
# What to look for: of 256 samples, a handful count. At $k = 8$ the median ESS stays near 1:
# for each image, the one prior sample decoded closest to it carries nearly all of its gradient.
# At $k = 2$ it falls below 2 within 30 steps. Training moves the decoder one lucky sample at a
# time: §4's exponential cost, inside the optimiser. An encoder proposes $z$ where the posterior
# is (notebook 04).
#
# <details><summary>Going deeper: the ESS over seeds and CPUs</summary>
#
# At $k = 8$ the median ESS is at most about 1.3 at every stage over the seeds and CPUs we tried.
# At $k = 2$ it is 7.5 after this run's first step (3.5 to 9 for other seeds), and lies between
# 1.6 and 4.1 from step 100 on.
# </details>

# %%
plot_digit_rows([x_test[:12], decoder_samples(f2, 12, z_dim=2, rng=0), decoder_samples(f8, 12, z_dim=8, rng=0)],
                ["held-out", "k = 2", "k = 8"])

# %% [markdown]
# Top row: held-out digits; below, decoder means $f_\theta(z)$ for prior draws $z$.
#
# **What happened** (300 steps, about a second per model):
#
# - **$k = 2$ works, modestly.** It beats the mean-image baseline by more than 20 nats per
#   held-out image, and its samples look like blurry digits. Its naive score is flat from
#   $L = 2^{12}$ on, on the grid value: the naive estimate is nearly trustworthy, so training
#   optimised nearly the real log-likelihood.
# - **$k = 8$ scores *higher*, but its score cannot be pinned down.** It climbs with $L$ at every
#   step of the sweep, by 4 to 6 nats from $L = 256$ to $2^{12}$: the estimate it was trained on
#   was biased low by many nats, §4's exponential cost met on real data.
#
# <details><summary>Going deeper: the numbers over seeds and CPUs</summary>
#
# Both training curves are higher over their last 50 steps than over the 50 before. At $k = 2$
# the naive score from $L = 2^{12}$ on is within 0.06 nats of the grid value (about 4.3 to 5.1
# nats, by seed and CPU); at the training value $L = 256$ it is lower, by a third of a nat to a
# little over one. At $k = 8$ the score still rises by 0.3 to 0.9 nats per fourfold increase of
# $L$ after $2^{12}$, so even $2^{16}$ samples per image do not pin down its log-likelihood.
# Calling `train_naive_decoder(x_train, z_dim=k, **NAIVE_DECODER_SETTINGS)` repeats these runs to
# the last bit on the same machine and torch (same seed, fixed number of steps); on another CPU it
# trains a slightly different decoder. Notebook 04 puts a VAE next to a naive decoder of the same
# architecture.
# </details>
#
# **Why naive training works at all.** The expected training objective $E[\log \hat p_L(x)]$ is
# the importance-weighted (IWAE) bound of Burda et al. (2016) with the prior as proposal: a lower
# bound on $\log p(x)$ for every $L$ (Jensen, §3), rising with $L$ to $\log p(x)$. Its gap grows
# with the KL between posterior and prior; an encoder that proposes $z$ near the posterior
# shrinks it: the VAE of notebooks 03 and 04.
#
# ## What we have seen
#
# - Log-densities are summed (eq. 2.2): products underflow, sums suit minibatches, and the
#   maximiser is the same.
# - The Monte-Carlo estimate of eq. 2.3 is unbiased for $p(x)$ but biased low for $\log p(x)$.
# - It needs $(\rho - 1)/\varepsilon^2$ samples, $\rho \ge \exp(\mathrm{KL})$: exponential in $k$,
#   about like $c^{-k/2}$.
# - Optional: eq. (2) is exact but circular; a proposal $q$ gives importance sampling.
# - Training a decoder on the naive estimate maximises the IWAE bound with the prior as proposal:
#   fine for $k = 2$, badly biased for $k = 8$. Notebook 03 replaces the prior by a learned
#   $q_\phi(z \mid x)$ and gets the ELBO.
#
# ## Exercises (predict, then check)
#
# Write your prediction down before you run anything.
#
# 1. **The widget's ESS** (§4). At $k = 2$ and $L = 10^5$, move $c$ from 1 to 0.01. Predict how
#    the ESS in the right-hand title changes (hint: $c^{-k/2}$). Then check.
#
#    <details><summary>Solution</summary>
#
#    The ESS is about $L/\rho$, and $\rho$ grows like $c^{-k/2} = c^{-1}$ for $k = 2$, so the ESS
#    drops by roughly a factor of 100 over the two decades of $c$. The titles say ESS 10144 at
#    $c = 1$, 1065 at $c = 0.1$ and 109 at $c = 0.01$: a factor of 93. This $x$ is typical: its
#    exact $\rho$ grows by a factor of 94.7, and the median over 25 observations drawn from the
#    model is 96.6. The shortfall from 100 has two sources: $c^{-k/2}$ is a law for small $c$,
#    approached only as $c \to 0$, and an ESS measured on samples is itself a noisy estimate of
#    $L/\rho$.
#    </details>
#
# 2. **More runs in §3.** Change `runs` from 200 to 800 in §3: what happens to the standard
#    errors, and is the $L = 1024$ row still 3 SE from $-(\rho-1)/2L$? Predict, then run the cell.
#
#    <details><summary>Solution</summary>
#
#    From $L = 16$ on, every standard error halves ($1/\sqrt{\text{runs}}$), to about 0.011 at
#    $L = 1024$ (at $L = 1$ and 4, where a few huge terms dominate, it shrinks less reliably). The
#    means move too, since the runs change; a run with 800 gave -0.036 ± 0.011 at $L = 1024$,
#    within one SE of the predicted -0.045. The 3-SE gap with 200 runs was a fluctuation.
#    </details>
#
# 3. **A better proposal (optional §5).** In §5, draw $z$ from the shifted $q$ instead of
#    $N(0, 2^2 I)$, and average $w = p(x\mid z)p(z)/q(z)$ over $10^4$ draws. Predict: closer to
#    `exact` than the naive estimate with $10^4$ prior samples, or further? Then try the exact
#    posterior as $q$.
#
#    <details><summary>Code for the check</summary>
#
#    `zq = q.rvs(10_000, random_state=0)`, then `log_mean_exp(model.log_likelihood(x, zq) +
#    stats.multivariate_normal(np.zeros(2)).logpdf(zq) - q.logpdf(zq))`; then the same with
#    `q = stats.multivariate_normal(post_mean, post_cov)`.
#    </details>
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
# 4. **Learn $c$.** For §6's decoder, the MLE of $c$ at a fixed $f_\theta$ and a fixed $z$ per
#    image is the mean squared error per pixel. Would a learned $c$ stay near 0.03? Predict the
#    $k = 2$ decoder's mean squared error per pixel with random $z$, and with each held-out
#    image's best $z$. Then check.
#
#    <details><summary>Code for the check</summary>
#
#    `np.mean((x_test - decoder_samples(f2, 359, z_dim=2, rng=0)) ** 2)` for random $z$; for the
#    best $z$ on a grid, `g = np.linspace(-3, 3, 61); Z = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)`,
#    `F = f2(torch.tensor(Z, dtype=torch.float32)).detach().double().numpy()`, then
#    `((x_test[:, None] - F[None]) ** 2).mean(-1).min(1).mean()`.
#    </details>
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
# ## Glossary (English, Chinese: the article's word where it has one)
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
