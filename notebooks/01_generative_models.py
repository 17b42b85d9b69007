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
# # 01 · Generative models and inverse-CDF sampling
#
# Companion to section 1 of the article *Principles of diffusion models* (eq. 1.1), with a first
# look at the latent variables of section 2.
#
# **Question.** What does it mean to *have* a generative model, and how do we turn a formula for
# a density into actual samples?
#
# **Learning goals.** After this notebook you can
# 1. name the two jobs of a generative model (sampling and evaluating) and do both for eq. 1.1;
# 2. explain why $x = F^{-1}(u)$ with $u \sim U(0, 1)$ has the distribution $F$, and sample any
#    1-D density through a tabulated $F^{-1}$, and read the same map backwards as a change of
#    variables, $p_X(x) = p_U(F(x))\, F'(x)$;
# 3. sample a mixture *ancestrally* (first the component $z$, then $x$ given $z$), the 1-D
#    version of the latent-variable model of notebook 02;
# 4. say why tables of $F^{-1}$ are hopeless in 64 dimensions;
# 5. (optional, §4) tell when the tail precision of an inverse CDF matters, and when it does not.
#
# **Reading time and map.** Core path, about 10 minutes to read (seconds to run): §1 · §2
# (slider) · §3 · summary. Optional, about 5 minutes more: §4 and the exercises. Run the cells
# top to bottom; the sliders redraw their figure as you move them.

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
from scipy import optimize, special, stats

from helpers.plots.sampling import plot_inverse_cdf, plot_tabulated_sampling
from helpers.sampling import (inverse_cdf_sample, normal_cdf, normal_icdf, normal_pdf,
                              tabulated_icdf)
from helpers.widgets import float_slider, int_slider, slider_panel

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. A generative model does two jobs (article §1, 生成模型)
#
# A **generative model (生成模型)** is a probability distribution $p(x)$ over the space our data
# lives in. Having one means we can do two different things with it:
#
# 1. **sample**: draw new points $x \sim p(x)$, i.e. *generate* data;
# 2. **evaluate**: compute the likelihood $p(x)$ of a point we are given, i.e. say how plausible
#    it is under the model. The article calls this the *likelihood (可能性)* of a sample.
#
# The simplest example is the normal distribution, whose density is eq. 1.1:
#
# $$ p(x) = \frac{1}{\sigma\sqrt{2\pi}} \exp\left(-\frac{(x-\mu)^2}{2\sigma^2}\right) \tag{1.1} $$
#
# > **Note on the article.** Section 1 announces the standard normal $N(0, 1)$, but eq. 1.1 is the
# > general $N(\mu, \sigma^2)$. Nothing depends on it: with $\mu = 0, \sigma = 1$ the two agree.
# > This notebook keeps $\mu$ and $\sigma$ free so you can move them.
#
# Both jobs on the same distribution, $N(1, 0.5^2)$, which sections 1 and 2 use throughout.
# Evaluating is a formula; we check it against scipy's independent implementation.

# %%
mu, sigma = 1.0, 0.5
x_query = np.array([0.0, 1.0, 2.5])
density = normal_pdf(x_query, mu, sigma)
reference = stats.norm(mu, sigma).pdf(x_query)
assert np.allclose(density, reference, rtol=1e-14)
for x, p in zip(x_query, density):
    print(f"evaluate: p(x = {x:.1f}) = {p:.4f}")

samples = inverse_cdf_sample(lambda u: normal_icdf(u, mu, sigma), 5, rng=rng)
print("sample:  ", np.round(samples, 3))

# %% [markdown]
# The point $x = 1$ (the mean) is the most likely; $x = 2.5$, three standard deviations away, is
# about $e^{-4.5} \approx 1/90$ as likely:

# %%
ratio = density[1] / density[2]
print(f"p(1) / p(2.5) = {ratio:.2f}, exp(4.5) = {np.exp(4.5):.2f}")
assert np.isclose(ratio, np.exp(4.5))

# %% [markdown]
# ## 2. Inverse-transform sampling (article §1, 逆变换采样)
#
# How did `inverse_cdf_sample` turn a formula into samples? With **inverse-transform sampling
# (逆变换采样)** (Devroye 1986, ch. 2). Let $F(x) = P(X \le x)$ be the **cumulative distribution
# function** (CDF, 累积分布函数). It climbs from 0 to 1. Draw $u \sim U(0, 1)$ and return
# $x = F^{-1}(u)$. Then
#
# $$P(X \le x) = P(F^{-1}(U) \le x) = P(U \le F(x)) = F(x),$$
#
# so $x$ has exactly the distribution we wanted. In the left panel below, each dashed orange line
# starts at a value $u$ on the vertical axis, runs across to the blue curve $F$, and drops to the
# triangle at $x = F^{-1}(u)$. The five values of $u$ are evenly spaced, yet their $x$ crowd
# together where $F$ is steep (near the mean): that is where samples pile up. The right panel is
# the histogram of 2000 such draws over eq. 1.1, for the same $N(1, 0.5^2)$.

# %%
plot_inverse_cdf(mu=mu, sigma=sigma, n_samples=2000, rng=0, x_range=(mu - 4 * sigma, mu + 4 * sigma))

# %% [markdown]
# The histogram follows eq. 1.1. A number rather than a picture: with $n = 100\,000$ samples the
# sample mean and standard deviation should sit within a few standard errors of $\mu$ and
# $\sigma$ (standard errors $\sigma/\sqrt{n}$ and about $\sigma/\sqrt{2n}$).

# %%
n = 100_000
draws = inverse_cdf_sample(lambda u: normal_icdf(u, mu, sigma), n, rng=1)
z_mean = (draws.mean() - mu) / (sigma / np.sqrt(n))
z_std = (draws.std() - sigma) / (sigma / np.sqrt(2 * n))
print(f"sample mean {draws.mean():.4f} vs mu = {mu}: {z_mean:+.2f} standard errors")
print(f"sample std  {draws.std():.4f} vs sigma = {sigma}: {z_std:+.2f} standard errors")

# %% [markdown]
# ### Read backwards: the density of $x$ is a change of variables
#
# The map that makes samples also gives their density. Since $F$ is increasing,
# $X = F^{-1}(U) \le x$ exactly when $U \le F(x)$; differentiating $P(X \le x) = P(U \le F(x))$
# in $x$ gives
#
# $$p_X(x) = p_U\big(F(x)\big)\, F'(x) = 1 \cdot p(x).$$
#
# The uniform density is flat, so all the shape comes from $F'$, the map's stretch: where $F$ is
# steep, an interval of $u$ is squeezed into a short interval of $x$ and the density rises. For
# any increasing invertible map $x = T(u)$ the rule reads
# $p_X(x) = p_U\big(T^{-1}(x)\big)\, (T^{-1})'(x)$. It is the bridge to exact likelihoods:
# normalising flows chain such maps, and notebook 06 computes a diffusion model's $\log p(x)$
# by following an invertible ODE with the same rule. The cell rebuilds eq. 1.1 from $F$ alone.

# %%
x_grid = np.linspace(mu - 3 * sigma, mu + 3 * sigma, 7)
h = 1e-5                                              # F'(x) by central differences
dF_dx = (normal_cdf(x_grid + h, mu, sigma) - normal_cdf(x_grid - h, mu, sigma)) / (2 * h)
p_U = np.ones_like(x_grid)                            # U(0, 1) has density 1 where F(x) lies
by_change_of_variables = p_U * dF_dx
print("p_U(F(x)) F'(x):", np.round(by_change_of_variables, 4))
print("eq. 1.1 p(x):   ", np.round(normal_pdf(x_grid, mu, sigma), 4))
assert np.allclose(by_change_of_variables, normal_pdf(x_grid, mu, sigma), rtol=0, atol=1e-8)

# %% [markdown]
# ### Try it: move $\mu$, $\sigma$ and the number of samples
#
# The x-axes stay fixed, so you can watch the CDF stretch as $\sigma$ grows and the histogram
# sharpen as the sample count grows. The bars are a density over *all* samples, so they stay on
# eq. 1.1 when some fall beyond the axis; the title then says how many (at $\mu = 3$,
# $\sigma = 3$: 16%), and an arrow whose $x$ lies beyond the axis ends in a wedge at its edge.
# Each slider calls `plot_inverse_cdf`, the function drawn above; the panel starts at the
# standard normal $N(0, 1)$ that section 1 of the article announces.

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_inverse_cdf,
             float_slider("mu", 0.0, -3.0, 3.0, 0.1),
             float_slider("sigma", 1.0, 0.2, 3.0, 0.1),
             int_slider("n_samples", 2000, 100, 20000, 100),
             rng=0)

# %% [markdown]
# ## 3. When there is no formula for $F^{-1}$ (beyond article §1)
#
# The normal CDF happens to have a well-studied inverse. Most densities do not. Take a mixture of
# two normals,
#
# $$p(x) = 0.3\, N(x; -2, 0.5^2) + 0.7\, N(x; 1.5, 1^2).$$
#
# Its CDF is easy, $F(x) = 0.3\,\Phi\big(\tfrac{x+2}{0.5}\big) + 0.7\,\Phi(x - 1.5)$, but no
# closed form inverts it. `tabulated_icdf` does it numerically: evaluate the density on a grid,
# integrate it into a CDF table with the trapezoid rule, and invert the table by interpolation.
# The density need not even be normalised (we pass it times 5).

# %%
def mixture_pdf(x):
    return 0.3 * normal_pdf(x, -2.0, 0.5) + 0.7 * normal_pdf(x, 1.5, 1.0)

def mixture_cdf(x):
    return 0.3 * normal_cdf(x, -2.0, 0.5) + 0.7 * normal_cdf(x, 1.5, 1.0)

lo, hi = -6.0, 7.0
mixture_icdf = tabulated_icdf(lambda x: 5.0 * mixture_pdf(x), lo, hi, n_grid=4097)
mixture_draws = inverse_cdf_sample(mixture_icdf, 50_000, rng=2)
plot_tabulated_sampling(mixture_pdf, mixture_icdf, lo, hi, mixture_draws,
                        title="two-component mixture")

# %% [markdown]
# How good is the table? Compare it with the exact inverse found by root-finding on the exact
# CDF, and compare the sample mean with the exact mean $0.3 \cdot (-2) + 0.7 \cdot 1.5 = 0.45$.

# %%
u_check = np.array([1e-4, 0.05, 0.3, 0.5, 0.9, 0.9999])
exact_x = np.array([optimize.brentq(lambda x: mixture_cdf(x) - u, lo, hi, xtol=1e-14)
                    for u in u_check])
table_err = np.abs(mixture_icdf(u_check) - exact_x).max()
print(f"largest |tabulated - exact| F^-1 error over {len(u_check)} probabilities: {table_err:.1e}")

exact_mean = 0.3 * -2.0 + 0.7 * 1.5
exact_var = 0.3 * (0.5**2 + 4.0) + 0.7 * (1.0 + 1.5**2) - exact_mean**2
se = np.sqrt(exact_var / len(mixture_draws))
z = (mixture_draws.mean() - exact_mean) / se
print(f"sample mean {mixture_draws.mean():.4f} vs exact {exact_mean:.2f}: {z:+.2f} standard errors")

# %% [markdown]
# ### Ancestral sampling: first the component, then $x$ (towards article §2, eq. 2.3)
#
# A mixture has a second, table-free sampler that reads the formula as a *story*: first pick
# which component the point comes from, a hidden label $z \in \{0, 1\}$ with $p(z = 0) = 0.3$,
# then draw $x$ from that component, $p(x \mid z) = N(\mu_z, s_z^2)$. Summing over the label
# gives back the mixture,
#
# $$p(x) = \sum_z p(z)\, p(x \mid z),$$
#
# which is eq. 2.3 of the article with a discrete **latent variable (隐变量)** $z$ in place of a
# continuous one (Kingma & Welling 2019, ch. 1, call this *ancestral sampling*: parents before
# children). It takes two lines, and it needs no $F^{-1}$ of the mixture at all. We check it
# against the exact CDF with a Kolmogorov-Smirnov test, next to the tabulated sampler.

# %%
weights, means, sds = np.array([0.3, 0.7]), np.array([-2.0, 1.5]), np.array([0.5, 1.0])
ancestral_rng = np.random.default_rng(3)
z_label = ancestral_rng.choice(2, size=50_000, p=weights)       # z ~ p(z): which component
ancestral_draws = ancestral_rng.normal(means[z_label], sds[z_label])  # x ~ p(x | z)

frac0 = np.mean(z_label == 0)
print(f"fraction with z = 0: {frac0:.4f} vs {weights[0]} "
      f"({(frac0 - weights[0]) / np.sqrt(weights[0] * weights[1] / len(z_label)):+.2f} standard errors)")
anc_mean = weights @ means                                  # the exact mean and variance of the
anc_var = weights @ (sds**2 + means**2) - anc_mean**2       # mixture these weights describe
z_anc = (ancestral_draws.mean() - anc_mean) / np.sqrt(anc_var / len(ancestral_draws))
print(f"ancestral sample mean {ancestral_draws.mean():.4f} vs exact {anc_mean:.2f}: "
      f"{z_anc:+.2f} standard errors")
for name, sample in (("tabulated F^-1", mixture_draws), ("ancestral", ancestral_draws)):
    ks = stats.kstest(sample, mixture_cdf)
    print(f"KS test against the exact CDF, {name:>14}: D = {ks.statistic:.4f}, p = {ks.pvalue:.2f}")

# %% [markdown]
# Both samplers pass: neither KS distance is larger than chance would give with 50 000 draws.
# Notebook 02 keeps exactly this structure, with $z$ a continuous vector drawn from $N(0, I)$ and
# $p(x \mid z)$ a Gaussian around a decoder output; the sum over $z$ becomes the integral of
# eq. 2.3. Sampling stays this easy. *Evaluating* $p(x)$ is where it gets hard: here it is a sum
# of two terms, there an integral over all $z$.
#
# ### What the table costs as the dimension grows
#
# In one dimension the table is cheap: 4097 numbers. But a table needs a grid in *every*
# direction. With only 100 points per axis, a $d$-dimensional table has $100^d$ cells. (In more
# than one dimension we would also need a chain of conditional CDFs, $F(x_1)$, $F(x_2 \mid x_1)$,
# ..., but the grid alone already decides the matter.)

# %%
points_per_axis = 100
for d in (1, 2, 3, 4, 10, 64):
    cells = float(points_per_axis) ** d
    print(f"d = {d:2d}: {cells:9.3g} cells, {8.0 * cells:9.3g} bytes in float64")

# %% [markdown]
# An 8x8 grey-scale image, like the digits used in notebooks 02 and 04, is a point in $d = 64$
# dimensions: its table would need $8 \times 10^{128}$ bytes, far more than there are atoms in
# the observable universe (about $10^{80}$). Tabulating $p(x)$ for real data is hopeless. This is
# why the article moves on to models such as the VAE, which never write $p(x)$ down as a table:
# like the ancestral sampler above, they sample a simple low-dimensional $z$ and let a neural
# network map it to $x$.

# %% [markdown]
# ## 4. Optional: precision in the tails (article §1, inverse-transform sampling)
#
# *This section is a numerical aside; nothing later depends on it.*
#
# The inverse normal CDF is often written with the inverse error function,
# $F^{-1}(u) = \sqrt{2}\, \operatorname{erfinv}(2u - 1)$. Mathematically right, but for a small
# $u$ that is *given to us* (a p-value of $10^{-12}$, a quantile far in the tail), $2u - 1$ is so
# close to $-1$ that float64 rounds away most of $u$'s digits, and for $u$ below about
# $2^{-55} \approx 2.8 \times 10^{-17}$ it rounds to exactly $-1$, where erfinv is $-\infty$.
# `normal_icdf` uses `scipy.special.ndtri`, which works with $u$ directly.
#
# Our *sampler* does not run into this. The table has both kinds of $u$: the smallest positive
# value the sampler can return, $2^{-53}$, and two tail probabilities as a user might type them,
# against a 50-digit reference from `mpmath`.
#
# <details><summary>Going deeper: why the sampler is safe</summary>
#
# `Generator.random()` returns multiples of $2^{-53}$ (the smallest positive one is
# $2^{-53} \approx 1.1 \times 10^{-16}$), and for those $2u - 1$ is computed exactly, so the
# erfinv form only inherits erfinv's own accuracy. The printout's last line checks this on a
# million draws.
# </details>

# %%
import mpmath

mpmath.mp.dps = 50

def icdf_reference(u):
    return float(mpmath.findroot(lambda x: mpmath.ncdf(x) - mpmath.mpf(u), float(normal_icdf(u))))

print(f"{'u':>9} {'2u-1 exact':>10} {'exact F^-1(u)':>20} {'erfinv form':>20} {'rel. err':>8} "
      f"{'normal_icdf':>20} {'rel. err':>8}")
tail_u = (2.0**-53, 1e-12, 1e-17)
tail_errors = {}
for u in tail_u:
    exact = icdf_reference(u)
    with np.errstate(divide="ignore"):
        naive = np.sqrt(2) * special.erfinv(2 * u - 1)
    ours = normal_icdf(u)
    tail_errors[u] = abs(naive - exact) / abs(exact), abs(ours - exact) / abs(exact)
    print(f"{u:9.2e} {str((2 * u - 1) + 1 == 2 * u):>10} {exact:20.15f} {naive:20.15f} "
          f"{tail_errors[u][0]:8.1e} {ours:20.15f} {tail_errors[u][1]:8.1e}")

grid_u = np.random.default_rng(5).random(1_000_000)
print("a million draws of Generator.random(): all multiples of 2^-53:",
      bool(np.all(grid_u * 2**53 == np.round(grid_u * 2**53))),
      "| 2u - 1 exact for all:", bool(np.all((2 * grid_u - 1) + 1 == 2 * grid_u)))

# %% [markdown]
# At the sampler's smallest $u$ both forms agree with the reference ($x \approx -8.21$). At
# $u = 10^{-12}$ the erfinv form is wrong from the seventh significant digit, and at $10^{-17}$
# it returns $-\infty$; `normal_icdf` is correct to about 16 digits throughout. So tail
# precision matters only when $u$ comes from outside the sampler: quantiles, p-values or
# confidence bounds far in the tails.
#
# <details><summary>Going deeper: the sampler's most extreme draw</summary>
#
# Apart from $u = 0$ exactly (probability $2^{-53}$, $-\infty$ in either form), this sampler
# never returns a normal draw more than about 8.21 standard deviations below the mean, since
# $2^{-53}$ is its smallest positive $u$.
# </details>
#
# ## What we have seen
#
# - A generative model both **samples** and **evaluates**; eq. 1.1 does both for a normal.
# - Inverse-transform sampling maps $u \sim U(0,1)$ through $F^{-1}$; a tabulated $F^{-1}$ handles
#   any 1-D density (the table's largest error was 2.9e-05 above), but tables explode with the
#   dimension: $8 \times 10^{128}$ bytes for an 8x8 image.
# - Read backwards, the same map is a change of variables, $p_X(x) = p_U(F(x))\, F'(x)$: the
#   rule behind the exact likelihoods of flows and of notebook 06.
# - Ancestral sampling draws a hidden label first and $x$ given the label; it needs no $F^{-1}$
#   of $p(x)$ and is the discrete version of eq. 2.3.
# - Optional: the erfinv form of $F^{-1}$ loses digits for tail probabilities given from
#   outside, not for the values our sampler produces.
# - Next, notebook 02: the latent-variable route to $p(x)$, the **evidence**, and what it costs
#   to evaluate it naively.
#
# ## Exercises (predict, then check)
#
# Write your prediction down before you run anything.
#
# 1. **Where the arrows land.** In the slider panel, set $\sigma = 2$. Will the five triangles
#    at $x = F^{-1}(u)$ spread out or bunch together, and by what factor relative to $\sigma = 1$?
#    Check with the slider.
#
#    <details><summary>Solution</summary>
#
#    They spread out by exactly a factor of 2 around $\mu$: $F^{-1}(u) = \mu + \sigma\,\Phi^{-1}(u)$,
#    so every $x - \mu$ scales with $\sigma$. The CDF looks twice as shallow.
#    </details>
#
# 2. **A heavier first component.** Change the mixture weights to $(0.5, 0.5)$ in the ancestral
#    sampler (the `weights` line). Predict the new exact mean and the new fraction of $z = 0$,
#    then run the cell.
#
#    <details><summary>Solution</summary>
#
#    The mean is $0.5 \cdot (-2) + 0.5 \cdot 1.5 = -0.25$ and the fraction is 0.5. The cell
#    prints fraction 0.5008 (+0.36 standard errors) and sample mean -0.2560 against -0.25
#    (-0.70 standard errors): the checks follow the `weights` line. The KS test does not: it
#    still compares with `mixture_cdf`, the old 0.3 / 0.7 mixture, so the ancestral line now
#    says D = 0.1969, p = 0.00, a correct verdict that these draws come from another
#    distribution.
#    </details>
#
# 3. **Beyond the text: an exponential distribution.** $p(x) = \lambda e^{-\lambda x}$ for
#    $x \ge 0$ has $F(x) = 1 - e^{-\lambda x}$. Derive $F^{-1}$, predict the sample mean for
#    $\lambda = 2$, and check with
#    `inverse_cdf_sample(lambda u: -np.log1p(-u) / 2.0, 100_000, rng=0).mean()`.
#
#    <details><summary>Solution</summary>
#
#    $F^{-1}(u) = -\log(1 - u)/\lambda$, and the mean is $1/\lambda = 0.5$; with $10^5$ draws the
#    standard error is $0.5/\sqrt{10^5} \approx 0.0016$, so expect $0.500 \pm 0.005$. Since
#    $1 - U$ is also uniform, $-\log(u)/\lambda$ works too.
#    </details>
#
# 4. **A bigger table.** How many bytes would a table with only 10 points per axis need for an
#    8x8 image? Predict, then edit `points_per_axis`.
#
#    <details><summary>Solution</summary>
#
#    $8 \times 10^{64}$ bytes, still beyond any computer (and a 10-point grid is far too coarse
#    to be useful anyway).
#    </details>
#
# 5. **Optional, the far tail by sampling.** How many of $10^6$ draws from $N(0, 1)$, by
#    `inverse_cdf_sample(normal_icdf, 10**6, rng=0)`, fall below $-4$? Predict from the CDF,
#    then count with `(draws < -4).sum()`.
#
#    <details><summary>Solution</summary>
#
#    $\Phi(-4) = 3.17 \times 10^{-5}$, so expect about 32, give or take $\sqrt{32} \approx 6$;
#    this run gives 29. A draw lands below $-4$ exactly when $u < \Phi(-4)$, so counting
#    samples in the tail is counting uniforms below a number: inverse-CDF sampling is only as
#    good in the tails as `normal_icdf` is there (§4).
#    </details>
#
# ## Glossary (English, Chinese: the article's word where it has one)
#
# generative model 生成模型 · likelihood 可能性 · inverse transform sampling 逆变换采样 ·
# cumulative distribution function 累积分布函数 · latent variable 隐变量
#
# ## References
#
# - L. Devroye (1986). *Non-Uniform Random Variate Generation*. Springer. Chapter 2: the
#   inverse-transform method (§2).
# - D. P. Kingma and M. Welling (2019). An Introduction to Variational Autoencoders.
#   *Foundations and Trends in Machine Learning* 12(4). Chapter 1: latent-variable models
#   and ancestral sampling (§3).
