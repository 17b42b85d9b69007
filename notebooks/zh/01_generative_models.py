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

# %% [markdown] en_sha="1c1ef2c2446b"
# # 01 · 生成模型与逆变换采样
#
# 本笔记本配合原文《扩散模型原理》第 1 节（式 (1.1)），并初步介绍第 2 节中的隐变量。图中的标注、程序打印的结果和代码注释都用英文，术语对照见文末的术语表。
#
# **问题。** “拥有”一个生成模型意味着什么？又如何把一个密度公式变成真正的样本？
#
# **学习目标。** 学完本笔记本，你将能够：
# 1. 说出生成模型的两项任务（采样与评估），并对式 (1.1) 完成这两项任务；
# 2. 解释为什么当 $u \sim U(0, 1)$ 时，$x = F^{-1}(u)$ 服从分布 $F$，并通过数值求出的 $F^{-1}$ 表对任意一维密度采样；再把同一个映射倒过来读，看作变量替换 $p_X(x) = p_U(F(x))\, F'(x)$；
# 3. 对混合分布进行*祖先*采样（先采分量 $z$，再在给定 $z$ 的条件下采 $x$），这是笔记本 02 中隐变量模型的一维版本；
# 4. 说明为什么到了 64 维，$F^{-1}$ 表这条路就走不通了；
# 5. （选读，§4）判断逆 CDF 在尾部的精度何时重要、何时无关紧要。
#
# **阅读时间与路线图。** 核心路线约需 10 分钟阅读（运行只需几秒）：§1 · §2（滑块）· §3 · 小结。选读部分另需约 5 分钟：§4 和练习。请从上到下依次运行各单元格；滑块在拖动时会重绘对应的图。

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

# %% [markdown] en_sha="772df466a871"
# ## 1. 生成模型要做的两件事（原文 §1，生成模型）
#
# **生成模型 (generative model)** 是定义在数据所在空间上的一个概率分布 $p(x)$。拥有一个生成模型，意味着可以用它做两件不同的事：
#
# 1. **采样**：抽取新的点 $x \sim p(x)$，也就是*生成*数据；
# 2. **评估**：对给定的点计算其似然 (likelihood) $p(x)$，也就是衡量这个点在模型下有多合理。原文把它称为样本的*可能性*。
#
# 最简单的例子是正态分布，其密度就是式 (1.1)：
#
# $$ p(x) = \frac{1}{\sigma\sqrt{2\pi}} \exp\left(-\frac{(x-\mu)^2}{2\sigma^2}\right) \tag{1.1} $$
#
# > **关于原文的说明。** 原文第 1 节开头说的是标准正态分布 $N(0, 1)$，但式 (1.1) 写的是一般的 $N(\mu, \sigma^2)$。这不影响任何结论：取 $\mu = 0, \sigma = 1$ 时两者一致。本笔记本让 $\mu$ 和 $\sigma$ 保持可调，方便你改动它们。
#
# 下面在同一个分布 $N(1, 0.5^2)$ 上完成这两项任务，本笔记本的第 1、2 节会一直使用这个分布。评估只需套用公式；我们用 scipy 中独立的实现来核对结果。

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

# %% [markdown] en_sha="e5479653b8b5"
# 均值点 $x = 1$ 的密度最大；$x = 2.5$ 与均值相距三个标准差，其密度约为前者的 $e^{-4.5} \approx 1/90$：

# %%
ratio = density[1] / density[2]
print(f"p(1) / p(2.5) = {ratio:.2f}, exp(4.5) = {np.exp(4.5):.2f}")
assert np.isclose(ratio, np.exp(4.5))

# %% [markdown] en_sha="e3a387a8dae2"
# ## 2. 逆变换采样（原文 §1，逆变换采样）
#
# `inverse_cdf_sample` 是如何把公式变成样本的？靠的是**逆变换采样 (inverse-transform sampling)**（Devroye 1986，第 2 章）。设 $F(x) = P(X \le x)$ 为**累积分布函数 (cumulative distribution function, CDF)**，它从 0 逐渐上升到 1。抽取 $u \sim U(0, 1)$，返回 $x = F^{-1}(u)$，则
#
# $$P(X \le x) = P(F^{-1}(U) \le x) = P(U \le F(x)) = F(x),$$
#
# 因此 $x$ 恰好服从我们想要的分布。在下方左图中，每条橙色虚线从纵轴上的某个 $u$ 出发，水平延伸到蓝色曲线 $F$，再竖直落到 $x = F^{-1}(u)$ 处的三角形。五个 $u$ 值等间距分布，对应的 $x$ 却聚集在 $F$ 陡峭的地方（均值附近）：样本正是在那里堆积起来的。右图是 2000 个这样的样本的直方图，并叠加了同一分布 $N(1, 0.5^2)$ 的式 (1.1) 曲线。

# %%
plot_inverse_cdf(mu=mu, sigma=sigma, n_samples=2000, rng=0, x_range=(mu - 4 * sigma, mu + 4 * sigma))

# %% [markdown] en_sha="bdca82451f91"
# 直方图与式 (1.1) 吻合。再用数字而不是图片来说明：取 $n = 100\,000$ 个样本，样本均值和样本标准差应当落在 $\mu$ 和 $\sigma$ 附近几个标准误之内（标准误分别为 $\sigma/\sqrt{n}$ 和约 $\sigma/\sqrt{2n}$）。

# %%
n = 100_000
draws = inverse_cdf_sample(lambda u: normal_icdf(u, mu, sigma), n, rng=1)
z_mean = (draws.mean() - mu) / (sigma / np.sqrt(n))
z_std = (draws.std() - sigma) / (sigma / np.sqrt(2 * n))
print(f"sample mean {draws.mean():.4f} vs mu = {mu}: {z_mean:+.2f} standard errors")
print(f"sample std  {draws.std():.4f} vs sigma = {sigma}: {z_std:+.2f} standard errors")

# %% [markdown] en_sha="8be05f27cf74"
# ### 倒过来读：$x$ 的密度来自一次变量替换
#
# 用来产生样本的映射，同样给出样本的密度。由于 $F$ 单调递增，$X = F^{-1}(U) \le x$ 当且仅当 $U \le F(x)$；对等式 $P(X \le x) = P(U \le F(x))$ 两边关于 $x$ 求导，得到
#
# $$p_X(x) = p_U\big(F(x)\big)\, F'(x) = 1 \cdot p(x).$$
#
# 均匀分布的密度处处相同，所以密度的形状完全来自 $F'$，也就是这个映射的伸缩程度：$F$ 陡峭的地方，一段 $u$ 被压进一小段 $x$，密度随之升高。对任意单调递增的可逆映射 $x = T(u)$，这条规则写作 $p_X(x) = p_U\big(T^{-1}(x)\big)\, (T^{-1})'(x)$。它通向精确似然：归一化流把许多这样的映射串联起来，笔记本 06 则沿着一个可逆的常微分方程，用同一条规则算出扩散模型的 $\log p(x)$。下面的单元格只用 $F$ 重新算出式 (1.1)。

# %%
x_grid = np.linspace(mu - 3 * sigma, mu + 3 * sigma, 7)
h = 1e-5                                              # F'(x) by central differences
dF_dx = (normal_cdf(x_grid + h, mu, sigma) - normal_cdf(x_grid - h, mu, sigma)) / (2 * h)
p_U = np.ones_like(x_grid)                            # U(0, 1) has density 1 where F(x) lies
by_change_of_variables = p_U * dF_dx
print("p_U(F(x)) F'(x):", np.round(by_change_of_variables, 4))
print("eq. 1.1 p(x):   ", np.round(normal_pdf(x_grid, mu, sigma), 4))
assert np.allclose(by_change_of_variables, normal_pdf(x_grid, mu, sigma), rtol=0, atol=1e-8)

# %% [markdown] en_sha="6680efba6057"
# ### 动手试试：调节 $\mu$、$\sigma$ 和样本数
#
# 横轴保持固定，因此你可以看到 CDF 随 $\sigma$ 增大而被拉伸，直方图随样本数增加而变得更清晰。柱高是按*全部*样本归一化的密度，所以即使有一部分样本落在横轴范围之外，柱子依然贴着式 (1.1) 的曲线；这时标题会注明落在外面的比例（$\mu = 3$、$\sigma = 3$ 时为 16%），而 $x$ 落在横轴之外的箭头，会在坐标轴边缘以一个楔形标记结束。每个滑块都调用上面画图所用的函数 `plot_inverse_cdf`；面板的初始状态是原文第 1 节开头提到的标准正态分布 $N(0, 1)$。

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_inverse_cdf,
             float_slider("mu", 0.0, -3.0, 3.0, 0.1),
             float_slider("sigma", 1.0, 0.2, 3.0, 0.1),
             int_slider("n_samples", 2000, 100, 20000, 100),
             rng=0)

# %% [markdown] en_sha="96914076f02d"
# ## 3. 当 $F^{-1}$ 没有公式时（超出原文 §1）
#
# 正态分布的 CDF 恰好有一个被研究得很透彻的逆函数，但大多数密度没有。以两个正态分布的混合为例：
#
# $$p(x) = 0.3\, N(x; -2, 0.5^2) + 0.7\, N(x; 1.5, 1^2).$$
#
# 它的 CDF 很容易写出，$F(x) = 0.3\,\Phi\big(\tfrac{x+2}{0.5}\big) + 0.7\,\Phi(x - 1.5)$，但没有闭式的逆函数。`tabulated_icdf` 用数值方法求逆：在网格上计算密度，用梯形法则把它积分成一张 CDF 表，再通过插值对这张表求逆。密度甚至不必归一化（我们传入的是它的 5 倍）。

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

# %% [markdown] en_sha="b1f777c214cc"
# 这张表有多准？把它与对精确 CDF 求根得到的精确逆函数作比较，并把样本均值与精确均值 $0.3 \cdot (-2) + 0.7 \cdot 1.5 = 0.45$ 作比较。

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

# %% [markdown] en_sha="5543f4cd119b"
# ### 祖先采样：先选分量，再采 $x$（通向原文 §2，式 (2.3)）
#
# 混合分布还有第二种不需要查表的采样方法，它把公式读成一个*生成过程*：先选定这个点来自哪个分量，即一个隐藏的标签 $z \in \{0, 1\}$，其中 $p(z = 0) = 0.3$；再从该分量中抽取 $x$，$p(x \mid z) = N(\mu_z, s_z^2)$。对标签求和，就得回原来的混合分布：
#
# $$p(x) = \sum_z p(z)\, p(x \mid z),$$
#
# 这正是原文的式 (2.3)，只不过用离散的**隐变量 (latent variable)** $z$ 代替了连续的隐变量（Kingma & Welling 2019 第 1 章把这种做法称为*祖先采样* (ancestral sampling)：先采父节点，再采子节点）。它只需要两行代码，而且完全用不到混合分布的 $F^{-1}$。我们用 Kolmogorov-Smirnov 检验把它与精确 CDF 作比较，并与查表采样器并列对照。

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

# %% [markdown] en_sha="1a705aa38031"
# 两个采样器都通过了检验：两个 KS 距离都没有超出 50 000 个样本下随机波动所能给出的范围。笔记本 02 沿用的正是这种结构，只是 $z$ 变成从 $N(0, I)$ 中抽取的连续向量，$p(x \mid z)$ 变成以解码器输出为中心的高斯分布；对 $z$ 的求和变成式 (2.3) 中的积分。采样依然这样简单，难的是*评估* $p(x)$：在这里它是两项之和，在那里则是对所有 $z$ 的积分。
#
# ### 维度增加时表格的代价
#
# 在一维中表格很便宜：只有 4097 个数。但表格需要在*每个*方向上都建立网格。即使每个轴只取 100 个点，$d$ 维的表格也有 $100^d$ 个格子。（在多于一维时，我们还需要一串条件 CDF：$F(x_1)$、$F(x_2 \mid x_1)$、……，不过仅凭网格就已经足以下结论。）

# %%
points_per_axis = 100
for d in (1, 2, 3, 4, 10, 64):
    cells = float(points_per_axis) ** d
    print(f"d = {d:2d}: {cells:9.3g} cells, {8.0 * cells:9.3g} bytes in float64")

# %% [markdown] en_sha="0d6f32f827fa"
# 一张 8x8 的灰度图像（例如笔记本 02 和 04 中使用的手写数字）是 $d = 64$ 维空间中的一个点：它的表格需要 $8 \times 10^{128}$ 字节，远远超过可观测宇宙中的原子数（约 $10^{80}$）。对真实数据而言，把 $p(x)$ 列成表根本不可行。这就是原文接下来转向变分自编码器 (VAE) 等模型的原因：这些模型从不把 $p(x)$ 写成表格，而是像上面的祖先采样器一样，先抽取一个简单的低维 $z$，再用神经网络把它映射为 $x$。

# %% [markdown] en_sha="67346db1b950"
# ## 4. 选读：尾部的精度（原文 §1，逆变换采样）
#
# *本节是数值计算方面的补充说明，后面的内容都不依赖它。*
#
# 正态分布的逆 CDF 常借助逆误差函数写成 $F^{-1}(u) = \sqrt{2}\, \operatorname{erfinv}(2u - 1)$。这在数学上没错，但如果 $u$ 很小且是*外部给定的*（例如 $10^{-12}$ 的 p 值、远在尾部的分位数），$2u - 1$ 会非常接近 $-1$，float64 的舍入会抹掉 $u$ 的大部分有效数字；当 $u$ 小于约 $2^{-55} \approx 2.8 \times 10^{-17}$ 时，它会被舍入为恰好 $-1$，而 erfinv 在该处为 $-\infty$。`normal_icdf` 使用 `scipy.special.ndtri`，直接对 $u$ 进行计算。
#
# 我们的*采样器*不会遇到这个问题。下表包含这两类 $u$：采样器所能返回的最小正值 $2^{-53}$，以及用户可能直接输入的两个尾部概率；参考值由 `mpmath` 以 50 位有效数字算出。
#
# <details><summary>深入一步：为什么采样器是安全的</summary>
#
# `Generator.random()` 返回的都是 $2^{-53}$ 的整数倍（最小的正值为 $2^{-53} \approx 1.1 \times 10^{-16}$），对这些值来说 $2u - 1$ 的计算是精确的，因此 erfinv 形式只继承 erfinv 本身的精度。打印结果的最后一行在一百万个样本上核对了这一点。
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

# %% [markdown] en_sha="466353345ba5"
# 在采样器能给出的最小 $u$ 处，两种形式都与参考值一致（$x \approx -8.21$）。在 $u = 10^{-12}$ 处，erfinv 形式从第七位有效数字开始出错；在 $10^{-17}$ 处它返回 $-\infty$；而 `normal_icdf` 始终精确到约 16 位。所以，只有当 $u$ 来自采样器之外时，尾部精度才重要：例如远在尾部的分位数、p 值或置信界。
#
# <details><summary>深入一步：采样器最极端的样本</summary>
#
# 由于 $2^{-53}$ 是采样器能给出的最小正 $u$，除了恰好 $u = 0$ 的情况（概率为 $2^{-53}$，两种形式都给出 $-\infty$），它永远不会返回比均值低出约 8.21 个标准差以上的正态样本。
# </details>
#
# ## 小结
#
# - 生成模型既能**采样**也能**评估**；式 (1.1) 对正态分布同时做到了这两点。
# - 逆变换采样把 $u \sim U(0,1)$ 经 $F^{-1}$ 映射为样本；数值求出的 $F^{-1}$ 表可以处理任意一维密度（上面表格的最大误差为 2.9e-05），但表格的规模随维度爆炸式增长：一张 8x8 图像需要 $8 \times 10^{128}$ 字节。
# - 把同一个映射倒过来读，就是变量替换 $p_X(x) = p_U(F(x))\, F'(x)$：流模型和笔记本 06 中精确似然所依据的正是这条规则。
# - 祖先采样先抽取隐藏的标签，再在给定标签的条件下抽取 $x$；它不需要 $p(x)$ 的 $F^{-1}$，是式 (2.3) 的离散版本。
# - 选读：$F^{-1}$ 的 erfinv 形式对外部给定的尾部概率会丢失有效数字，对我们的采样器产生的值则不会。
# - 下一步，笔记本 02：经由隐变量求 $p(x)$，即**证据 (evidence)**，以及用朴素方法评估它的代价。
#
# ## 练习（先预测，再检验）
#
# 运行任何代码之前，先把你的预测写下来。
#
# 1. **箭头落在哪里。** 在滑块面板中设置 $\sigma = 2$。$x = F^{-1}(u)$ 处的五个三角形会散开还是聚拢？相对于 $\sigma = 1$ 变化了多少倍？用滑块验证。
#
#    <details><summary>解答</summary>
#
#    它们围绕 $\mu$ 恰好散开 2 倍：$F^{-1}(u) = \mu + \sigma\,\Phi^{-1}(u)$，所以每个 $x - \mu$ 都与 $\sigma$ 成正比。CDF 看上去平缓了一倍。
#    </details>
#
# 2. **加重第一个分量。** 在祖先采样器中（`weights` 那一行）把混合权重改为 $(0.5, 0.5)$。预测新的精确均值和 $z = 0$ 的新比例，然后运行该单元格。
#
#    <details><summary>解答</summary>
#
#    均值为 $0.5 \cdot (-2) + 0.5 \cdot 1.5 = -0.25$，比例为 0.5。单元格输出的比例为 0.5008（+0.36 个标准误），样本均值为 -0.2560，对照 -0.25（-0.70 个标准误）：这两项检验都随 `weights` 这一行而变。KS 检验则不然：它仍在与 `mixture_cdf`（旧的 0.3 / 0.7 混合分布）比较，因此祖先采样那一行现在显示 D = 0.1969, p = 0.00，这个判断是正确的：这些样本来自另一个分布。
#    </details>
#
# 3. **超出正文：指数分布。** 当 $x \ge 0$ 时，$p(x) = \lambda e^{-\lambda x}$ 的 CDF 为 $F(x) = 1 - e^{-\lambda x}$。推导 $F^{-1}$，预测 $\lambda = 2$ 时的样本均值，并用 `inverse_cdf_sample(lambda u: -np.log1p(-u) / 2.0, 100_000, rng=0).mean()` 验证。
#
#    <details><summary>解答</summary>
#
#    $F^{-1}(u) = -\log(1 - u)/\lambda$，均值为 $1/\lambda = 0.5$；取 $10^5$ 个样本时标准误为 $0.5/\sqrt{10^5} \approx 0.0016$，所以预期结果为 $0.500 \pm 0.005$。由于 $1 - U$ 同样服从均匀分布，用 $-\log(u)/\lambda$ 也可以。
#    </details>
#
# 4. **再算一张表。** 对于 8x8 图像，每个轴只取 10 个点的表格需要多少字节？先预测，再修改 `points_per_axis` 验证。
#
#    <details><summary>解答</summary>
#
#    $8 \times 10^{64}$ 字节，仍然超出任何计算机的容量（何况只有 10 个点的网格本来就太粗，派不上用场）。
#    </details>
#
# 5. **选读：用采样探测远端尾部。** 用 `inverse_cdf_sample(normal_icdf, 10**6, rng=0)` 从 $N(0, 1)$ 中抽取 $10^6$ 个样本，其中有多少个小于 $-4$？先根据 CDF 预测，再用 `(draws < -4).sum()` 计数。
#
#    <details><summary>解答</summary>
#
#    $\Phi(-4) = 3.17 \times 10^{-5}$，所以预期约有 32 个，上下浮动约 $\sqrt{32} \approx 6$；这次运行得到 29 个。样本小于 $-4$ 当且仅当 $u < \Phi(-4)$，所以数尾部的样本，就是数有多少个均匀随机数小于某个数：逆 CDF 采样在尾部的好坏，完全取决于 `normal_icdf` 在那里的精度（§4）。
#    </details>
#
# ## 术语表（英文与中文；原文用过的，取原文的说法）
#
# generative model 生成模型 · likelihood 可能性（本笔记本称“似然”） · inverse transform sampling 逆变换采样 · cumulative distribution function 累积分布函数 · latent variable 隐变量
#
# ## 参考文献
#
# - L. Devroye (1986). *Non-Uniform Random Variate Generation*. Springer. 第 2 章：逆变换方法（§2）。
# - D. P. Kingma and M. Welling (2019). An Introduction to Variational Autoencoders. *Foundations and Trends in Machine Learning* 12(4). 第 1 章：隐变量模型与祖先采样（§3）。
