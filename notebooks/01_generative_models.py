# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Generative models and inverse-CDF sampling
#
# Companion to section 1 of the article *Principles of diffusion models* (eq. 1.1).
#
# **Question.** What does it mean to *have* a generative model, and how do we turn a formula for
# a density into actual samples?
#
# Run the cells top to bottom; the sliders further down redraw their figure as you move them.

# %%
# Set-up for Colab or any kernel without the project: install it from its repository.
# Locally (make lab) and in the tests `helpers` is already installed, so this does nothing.
try:
    import helpers
except ImportError:
    import importlib, subprocess, sys
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "git+https://github.com/diffusion-principles/companion-notebooks.git"], check=True)
    importlib.invalidate_caches()
    if "google.colab" in sys.modules:
        from google.colab import output
        output.enable_custom_widget_manager()
    import helpers

# %%
import numpy as np
from scipy import optimize, special

from helpers.plots.sampling import plot_inverse_cdf, plot_tabulated_sampling
from helpers.sampling import (inverse_cdf_sample, normal_cdf, normal_icdf, normal_pdf,
                              tabulated_icdf)
from helpers.widgets import float_slider, int_slider, slider_panel

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. A generative model does two jobs
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
# Both jobs on the same distribution, $N(1, 0.5^2)$. Evaluating is a formula; we check it against
# scipy's independent implementation.

# %%
mu, sigma = 1.0, 0.5
x_query = np.array([0.0, 1.0, 2.5])
density = normal_pdf(x_query, mu, sigma)
from scipy import stats
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
# ## 2. Inverse-transform sampling
#
# How did `inverse_cdf_sample` turn a formula into samples? With **inverse-transform sampling
# (逆变换采样)**. Let $F(x) = P(X \le x)$ be the cumulative distribution function (CDF, 累积分布函数).
# It climbs from 0 to 1. Draw $u \sim U(0, 1)$ and return $x = F^{-1}(u)$. Then
#
# $$P(X \le x) = P(F^{-1}(U) \le x) = P(U \le F(x)) = F(x),$$
#
# so $x$ has exactly the distribution we wanted. In the picture below, each dashed line starts at
# a value $u$ on the vertical axis, runs across to the curve $F$, and drops to $x = F^{-1}(u)$.
# Where $F$ is steep (near the mean), a band of $u$ values lands in a narrow band of $x$: samples
# pile up there. That is the whole trick.

# %%
plot_inverse_cdf(mu=0.0, sigma=1.0, n_samples=2000, rng=0)

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
assert abs(z_mean) < 4 and abs(z_std) < 4

# %% [markdown]
# ### Try it: move $\mu$, $\sigma$ and the number of samples
#
# The axes stay fixed, so you can watch the CDF stretch as $\sigma$ grows and the histogram
# sharpen as the sample count grows. Each slider calls `plot_inverse_cdf`, the function drawn
# above.

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_inverse_cdf,
             float_slider("mu", 0.0, -3.0, 3.0, 0.1),
             float_slider("sigma", 1.0, 0.2, 3.0, 0.1),
             int_slider("n_samples", 2000, 100, 20000, 100),
             rng=0)

# %% [markdown]
# ## 3. When there is no formula for $F^{-1}$
#
# The normal CDF happens to have a well-studied inverse. Most densities do not. Take a mixture of
# two normals,
#
# $$p(x) = 0.3\, N(x; -2, 0.5^2) + 0.7\, N(x; 1.5, 1^2).$$
#
# Its CDF is easy, $F(x) = 0.3\,\Phi\big(\tfrac{x+2}{0.5}\big) + 0.7\,\Phi(x - 1.5)$, but no
# closed form inverts it. `tabulated_icdf` does it numerically: evaluate the density on a grid,
# integrate it into a CDF table with the trapezoid rule, and invert the table by interpolation.
# The density need not even be normalised.

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
assert table_err < 1e-3

exact_mean = 0.3 * -2.0 + 0.7 * 1.5
exact_var = 0.3 * (0.5**2 + 4.0) + 0.7 * (1.0 + 1.5**2) - exact_mean**2
se = np.sqrt(exact_var / len(mixture_draws))
z = (mixture_draws.mean() - exact_mean) / se
print(f"sample mean {mixture_draws.mean():.4f} vs exact {exact_mean:.2f}: {z:+.2f} standard errors")
assert abs(z) < 4

# %% [markdown]
# ### What the table costs as the dimension grows
#
# In one dimension the table is cheap: 4097 numbers. But a table needs a grid in *every*
# direction. With only 100 points per axis, a $d$-dimensional table has $100^d$ cells. (In more
# than one dimension we would also need a chain of conditional CDFs, $F(x_1)$, $F(x_2 \mid x_1)$,
# ..., but the grid alone already decides the matter.) We build the real grids where they fit in
# memory and compute the rest:

# %%
points_per_axis = 100
for d in (1, 2, 3, 4, 10, 64):
    cells = points_per_axis ** d
    if d <= 3:  # build it, to show the formula is the real size
        grid = np.zeros((points_per_axis,) * d)
        assert grid.size == cells and grid.nbytes == 8 * cells
    print(f"d = {d:2d}: {float(cells):9.3g} cells, {8.0 * cells:9.3g} bytes in float64")
atoms_in_observable_universe = 1e80
assert 8.0 * points_per_axis**64 > atoms_in_observable_universe

# %% [markdown]
# An 8x8 grey-scale image, like the digits used in notebooks 02 and 04, is a point in $d = 64$
# dimensions: its table would need $8 \times 10^{128}$ bytes, far more than there are atoms in
# the observable universe (about $10^{80}$). Tabulating $p(x)$ for real data is hopeless. This is
# why the article moves on to models such as the VAE, which never write $p(x)$ down as a table:
# they sample a simple low-dimensional $z$ and let a neural network map it to $x$.

# %% [markdown]
# ## 4. Precision in the tails
#
# The inverse normal CDF is often written with the inverse error function,
# $F^{-1}(u) = \sqrt{2}\, \operatorname{erfinv}(2u - 1)$. Mathematically right; numerically
# fragile. For tiny $u$, $2u - 1$ is so close to $-1$ that float64 rounds away most of $u$'s
# digits, and below about $u = 10^{-17}$ it rounds to exactly $-1$, where erfinv is $-\infty$.
# `normal_icdf` uses `scipy.special.ndtri`, which works with $u$ directly. The reference is
# computed with 50 significant digits by `mpmath`.

# %%
import mpmath

mpmath.mp.dps = 50

def icdf_reference(u):
    return float(mpmath.findroot(lambda x: mpmath.ncdf(x) - mpmath.mpf(u), float(normal_icdf(u))))

print(f"{'u':>7} {'exact':>22} {'erfinv form':>22} {'rel. err':>9} {'normal_icdf':>22} {'rel. err':>9}")
for u in (1e-12, 1e-17):
    exact = icdf_reference(u)
    with np.errstate(divide="ignore"):
        naive = np.sqrt(2) * special.erfinv(2 * u - 1)
    ours = normal_icdf(u)
    err_naive = abs(naive - exact) / abs(exact)
    err_ours = abs(ours - exact) / abs(exact)
    print(f"{u:7.0e} {exact:22.16f} {naive:22.16f} {err_naive:9.1e} {ours:22.16f} {err_ours:9.1e}")
    assert err_ours <= 1e-12
    assert err_naive > 1e-9

# %% [markdown]
# At $u = 10^{-12}$ the erfinv form is wrong from the seventh significant digit; at $10^{-17}$ it
# returns $-\infty$. `normal_icdf` is correct to about 16 digits in both cases. Tails matter for
# sampling: one draw in $10^{12}$ is rare, but a training run that draws billions of normals
# meets such values.
#
# ## What we have seen
#
# - A generative model both **samples** and **evaluates**; eq. 1.1 does both for a normal.
# - Inverse-transform sampling maps $u \sim U(0,1)$ through $F^{-1}$; a tabulated $F^{-1}$ handles
#   any 1-D density, but tables explode with the dimension.
# - Next, notebook 02: the latent-variable route to $p(x)$, the **evidence**, and what it costs
#   to estimate it naively.
