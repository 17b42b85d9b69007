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

# %% [markdown] en_sha="73eec311534c"
# # 02 · 证据及其朴素蒙特卡洛估计
#
# 本笔记本配合原文《扩散模型原理》第 2 节的前半部分（式 (2.1)–(2.3) 以及原文的式 (2)）。图中的标注、程序打印的结果和代码注释都用英文，正文会说明每张图要看什么。
#
# **问题。** 用最大似然训练变分自编码器 (VAE)，需要对每张训练图像求出 $p_\theta(x)$。对于先抽取隐藏的 $z$、再由 $z$ 生成 $x$ 的模型，这个数值该如何得到？最直接的算法又要付出多大代价？
#
# **阅读时间。** 核心路径 §1 → §2 → §3 → §4 → §6 约需 35 分钟；加上选读的 §5 和折叠起来的“深入一步”（细致的测量与推导，留待第二遍再读），约需一小时。
#
# **学习目标。** 说明最大似然为什么把对数相加（式 (2.2)）；把证据写成先验下的平均（式 (2.3)）来估计，并解释它的偏差；预测它的代价如何随隐变量维度 $k$ 和解码器噪声 $c$ 增长；评价原文用它训练解码器的提议。
#
# | § | 主题 | 核心 / 选读 |
# |---|---|---|
# | 1 | 最大似然，为什么要取对数（式 (2.1)、(2.2)） | 核心 |
# | 2 | 一个有精确解的隐变量模型（式 (2.3)） | 核心 |
# | 3 | 朴素估计：无偏性与 Jensen 偏差 | 核心 |
# | 4 | 代价与 $k$、$c$ 的关系，以及交互控件 | 核心 |
# | 5 | 恒等式 (2) 与重要性采样 | 选读 |
# | 6 | 原文的实验：用式 (2.3) 训练解码器 | 核心 |

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

# %% [markdown] en_sha="59bfa0d290d4"
# ## 1. 最大似然，以及为什么要取对数（原文 §2，式 (2.1)、(2.2)）
#
# 式 (2.2) 中的对数不改变答案，但没有它，计算机就找不到答案。给定训练图像 $x^{(1)}, \dots, x^{(n)}$，**最大似然 (maximum likelihood)** 选取使观测数据出现概率最大的参数：
#
# $$ \theta^{*}=\arg \max _{\theta} \prod_{i=1}^{n} p_{\theta}\left(x^{(i)}\right) \tag{2.1} $$
#
# $$ \theta^{*}=\arg \max _{\theta} \sum_{i=1}^{n} \log p_{\theta}\left(x^{(i)}\right) \tag{2.2} $$
#
# $\log p_\theta(x)$ 称为**证据 (evidence)**。我们从 $N(0, 1)$ 中抽取 1000 个样本，在一系列 $\sigma$ 下用 $N(0, \sigma^2)$ 给它们打分，分别按式 (2.1) 和式 (2.2) 计算。正确答案是已知的：数据的均方根 (RMS)。
#
# <details><summary>深入一步：为什么是 RMS</summary>
#
# 令 $\sum_i \log N(x_i; 0, \sigma^2)$ 对 $\sigma$ 的导数为零，得到 $\hat\sigma^2 = \frac1n \sum_i x_i^2$，即数据的均方。它不是样本标准差：均值已知为 0，所以不减去均值。
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

# %% [markdown] en_sha="2d6ac1139248"
# 要看什么：对每个 $\sigma$，乘积都恰好是 `0.0`（约 $e^{-1400}$，远小于 float64 能表示的最小正数，约 $e^{-744}$），所以它的 argmax 只是第一个网格点。对数之和的峰值落在离 RMS 最近的网格点上。只取 20 个点时乘积不会下溢，两种形式给出相同的结果，因为对数是增函数：

# %%
small = densities[:20]
assert np.prod(small, axis=0).min() > 0
assert np.argmax(np.prod(small, axis=0)) == np.argmax(np.sum(np.log(small), axis=0))
print("20 points: same argmax, sigma =", f"{sigmas[np.argmax(np.prod(small, axis=0))]:.2f}")

# %% [markdown] en_sha="868a9fc2cf2f"
# > **关于原文的说明（疏漏 2）。** 原文说取对数是为了让每个样本具有相同的权重，但在乘积中每个样本本来就以相同的方式参与。真正的原因是：(1) 对数是增函数，所以最大值点不变（上面已经验证）；(2) 许多密度的乘积会下溢，对数之和不会；(3) 和式可以拆成逐样本的项，因此随机小批量的梯度是全体梯度的无偏估计，这正是随机梯度下降所需要的。下面的单元格在 $\sigma = 1.5$ 处验证 (3)：输出的两个数在几个标准误之内一致。

# %%
grad_each = (data_1d**2 - 1.5**2) / 1.5**3                # d/dsigma log N(x_i; 0, sigma^2)
minibatch_means = grad_each[rng.integers(0, 1000, size=(20_000, 32))].mean(axis=1)
avg = mean_and_se(minibatch_means)
print(f"full-data mean gradient {grad_each.mean():.4f}, "
      f"average minibatch (32) gradient {avg.mean:.4f} +- {avg.se:.4f}")

# %% [markdown] en_sha="f2da354d0b6a"
# ## 2. 一个可以精确求解的隐变量模型（原文 §2，式 (2.3)）
#
# 隐变量模型的证据是一个积分；我们挑选一个积分可以精确算出的模型，好让每个估计都有真值可以对照。VAE 的模型先从**先验 (prior)** $p(z) = N(0, I_k)$ 中抽取**隐变量 (latent variable)** $z$，再从**概率解码器 (probabilistic decoder)** $p_\theta(x \mid z)$ 中抽取 $x$。证据要把生成 $x$ 的*所有*方式都计入：
#
# $$p_{\theta}\left(\mathbf{x}\right)=\int p_{\theta}\left(\mathbf{x} \mid \mathbf{z}\right) p(\mathbf{z}) d \mathbf{z} = \mathbb{E}_{\mathbf{z} \sim p(\mathbf{z})}\, p_{\theta}(\mathbf{x} \mid \mathbf{z}) \tag{2.3} $$
#
# 对于神经网络解码器，这个积分没有闭式解。我们的解码器均值是线性的，$x \mid z \sim N(Wz + b,\ cI_d)$（概率 PCA，Tipping & Bishop 1999），因此 $p(x) = N(x;\ b,\ WW^\top + cI)$，**后验 (posterior)** $p(z \mid x)$ 也是高斯分布 $N(\mu, S)$。`LinearGaussian` 精确地计算这两者。这里取 $d = 20$，$k = 2$。
#
# <details><summary>深入一步：后验的公式及其来历</summary>
#
# $$ S = \left(I + W^\top W / c\right)^{-1}, \qquad \mu = S\, W^\top (x - b) / c .$$
#
# 把先验 $e^{-\lVert z\rVert^2/2}$ 乘以似然 $e^{-\lVert x - Wz - b\rVert^2/2c}$，再对 $z$ 配方：二次项 $z^\top (I + W^\top W / c)\, z / 2$ 给出精度矩阵 $S^{-1}$，一次项 $z^\top W^\top (x - b) / c$ 给出均值 $\mu = S\, W^\top (x - b) / c$。
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

# %% [markdown] en_sha="70d855347e1c"
# 把式 (2.3) 当作关于 $z$ 的普通二维积分，在精细网格上做数值积分，得到的是同一个数：

# %%
axis = np.linspace(-6, 6, 401)
grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
log_integrand = model.log_likelihood(x, grid) + stats.norm.logpdf(grid).sum(1)  # log p(x|z) p(z)
quadrature = log_mean_exp(log_integrand) + np.log(len(grid) * (axis[1] - axis[0]) ** 2)
print(f"grid quadrature of eq. 2.3: {quadrature:.4f}   exact: {exact:.4f}")
assert abs(quadrature - exact) < 1e-6

# %% [markdown] en_sha="4ee6f1001b14"
# > **关于原文的说明（疏漏 3）。** 式 (2.3) 下方的注记把 $p_\theta(x \mid z)$ 称为“确定性映射”。确定性的只是它的*均值* $f_\theta(z)$（这里是 $Wz + b$）；$p_\theta(x \mid z)$ 是一个方差为 $c$ 的分布，正是这份噪声让式 (2.3) 可以使用。下面要看什么：随着 $c$ 缩小，§3 的朴素估计逐渐偏离精确值，在 $c = 10^{-4}$ 时偏低 7 nat。
#
# <details><summary>深入一步：如何看待那些小误差</summary>
#
# 没有噪声时，除非 $f_\theta(z)$ 恰好命中 $x$，否则 $p(x \mid z)$ 为零，而随机的 $z$ 永远不会恰好命中。单次估计可能落在真值的任一侧，所以 $c \ge 0.01$ 时那些小的正误差只是噪声；§3 会说明它的对数*平均而言*偏低。这个噪声随 $c$ 减小而增大（§§3-4），所以 $c = 10^{-3}$ 时的单次运行说明不了什么；而 $c = 10^{-4}$ 时的误差绝非偶然。
# </details>

# %%
for c in (1.0, 1e-1, 1e-2, 1e-3, 1e-4):
    m = LinearGaussian(W_full[:, :2], b, c)
    xc = observation(m)
    est = naive_mc_log_evidence(m.log_likelihood, xc, 10_000, 2, rng=2)
    print(f"c = {c:7.0e}: naive {est:9.2f}, exact {m.log_evidence(xc):7.2f}, "
          f"error {est - m.log_evidence(xc):8.2f} nats")

# %% [markdown] en_sha="3b1798854d93"
# ## 3. 式 (2.3) 的朴素估计与精确值的对比（原文 §2，式 (2.3)）
#
# 式 (2.3) 最直接的估计，对 $p(x)$ 而言平均是准的，对 $\log p(x)$ 而言平均却偏低。这个**蒙特卡洛 (Monte Carlo)** 估计从先验中抽取 $z_1, \dots, z_L$ 并取平均：
#
# $$\hat p(x) = \frac{1}{L} \sum_{l=1}^{L} p_\theta(x \mid z_l), \qquad z_l \sim N(0, I).$$
#
# $\hat p$ 是**无偏的**：每一项的均值都是 $p(x)$。但 $\log \hat p$ **偏低**：对数是凹函数，由 Jensen 不等式，$E[\log \hat p] \le \log E[\hat p] = \log p(x)$。当 $L$ 较大时，偏差约为 $-(\rho - 1)/(2L)$，$\hat p$ 的相对离散程度为 $\sqrt{(\rho - 1)/L}$，其中 $\rho - 1 = \operatorname{Var}_{z \sim p(z)}[p(x\mid z)/p(x)]$ 在这个模型中可以精确求出（`naive_relative_variance`）。我们把估计重复 200 次。
#
# <details><summary>深入一步：在对数空间中计算</summary>
#
# 在 20 维中，单个 $p(x \mid z_l)$ 很容易小到 $e^{-300}$，所以我们在对数空间中计算：$\log \hat p = \operatorname{logmeanexp}_l \log p(x \mid z_l)$（`log_mean_exp`，它在取指数之前先减去最大的一项）。`naive_mc_log_evidence` 分块完成这一计算，因此 $L = 10^7$ 只占用几 MB 内存，而不是几 GB。每次运行的逐步累积估计一次性给出所有 $L$ 下的结果。
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

# %% [markdown] en_sha="1b3553789a85"
# 表中要看什么：$\hat p / p(x)$ 的均值始终接近 1（无偏），而平均对数误差为负，在 $L$ 小时达到数 nat，在 $L$ 远大于 $\rho \approx 93$ 之后向预测值 $-(\rho-1)/2L$ 收缩。$L$ 小时，中位数那次运行远低于真值：均值是靠少数罕见的巨大项撑起来的。
#
# <details><summary>深入一步：逐行解读这张表</summary>
#
# 各行共用同一批运行（每次运行的逐步累积估计给出所有 $L$ 下的值），所以相邻的行并不相互独立。
#
# - **$\hat p / p(x)$（无偏）。** 在每个 $L$ 下，它的期望都是 1；随 $L$ 变化的只是标准误是否可信。从 $L = 16$ 起，均值始终落在 1 的 3 个标准误以内（最大偏离为 3.0 个 SE，精确地说是 2.97，出现在 $L = 1024$）。在 $L = 1$ 和 $L = 4$ 时均值也接近 1，但那里标准误本身并不可靠：由于 $\rho - 1 = 91.9$，200 次运行的均值取决于少数罕见的巨大项，所以那里的吻合只是运气，说明不了什么。
# - **$\log \hat p - \log p(x)$（偏低）。** 当 $L \le 64$ 时，平均对数误差为负，偏离达许多个标准误；在 $L = 256$ 时为 $-0.113 \pm 0.046$，即 2.4 个标准误。在 $L \approx \rho$ 附近，它下降得比 $1/L$ 更快：从 $L = 16$ 到 64 缩小为 1/8.2，从 64 到 256 缩小为 1/9.1（从 -8.464 到 -1.029，再到 -0.113），而单纯按 $1/L$ 只会缩小为 1/4。预测 $-(\rho-1)/(2L)$ 只在 $L \gg \rho$ 时才适用；而在那里偏差太小，200 次运行难以分辨清楚：在 $L = 4096$ 时，实测的 -0.001 ± 0.010 与预测的 -0.011 一致；在 $L = 1024$ 时，实测的 +0.019 ± 0.021 比预测的 -0.045 高出 3 个标准误（练习 2 表明这只是一次波动）。
# </details>

# %%
plot_naive_convergence(n_values, log_p_hat, exact, relative_variance=rel_var)

# %% [markdown] en_sha="7b3d5dc706fa"
# 要看什么：左图中，$\hat p / p(x)$ 的均值在每个 $L$ 下都接近 1，尽管 $L$ 小时大多数运行（阴影带）远低于它；右图中，平均对数误差从下方升向 0，直到 $L$ 远大于 $\rho$ 时才与 $-(\rho-1)/(2L)$ 重合。

# %% [markdown] en_sha="388ba300fa70"
# ## 4. 难度有多大：所需样本数与 $k$、$c$ 的关系（原文 §2，式 (2.3)）
#
# 朴素估计所需的样本数随隐变量维度 $k$ 指数增长，大致按 $c^{-k/2}$ 增长。由上面的相对离散程度可知，要让 $\hat p$ 的误差达到 10 %，需要 $L = (\rho - 1)/0.1^2$ 个样本，而
#
# $$ \rho \;\ge\; \exp\big(\mathrm{KL}(p(z\mid x)\,\|\,p(z))\big). $$
#
# 先验样本只有落在后验所在之处才有用，而 KL散度衡量后验离先验有多远；后验在 $k$ 个方向上的宽度各约为 $\sqrt{c}$，于是这个量约为 $c^{-k/2}$。
#
# <details><summary>深入一步：为什么 ρ ≥ exp(KL)，以及如何实测</summary>
#
# $\rho = E_{p(z)}\big[(p(z \mid x)/p(z))^2\big] = \exp D_2\big(p(z\mid x)\,\|\,p(z)\big)$，即 2 阶 Rényi 散度的指数。Rényi 散度随阶数增大而增大，而 1 阶 Rényi 散度就是 KL散度，于是得到这个下界。Chatterjee & Diaconis (2018) 证明，当对数权重 $\log(p(z \mid x)/p(z))$ 集中在其均值附近时，约 $\exp(\mathrm{KL})$ 个样本对重要性采样也已足够；否则可能需要更多。
#
# 为了**实测**所需的 $L$，我们抽取 $2^{16}$ 个先验样本，把它们分成若干组相互独立的运行，每组含 $L = 1, 2, 4, \dots$ 个样本，计算 $\hat p$ 在各组上的均方根相对误差，读出它越过 10 % 的位置（`measure_samples_needed`）。每个误差估计至少用 16 组运行，因此最多能测到 $L = 4096$；凡是精确公式表明需要更多的情形，就跳过实测。
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

# %% [markdown] en_sha="e83d5be0922d"
# 要看什么：精确的样本数跨越了十三个以上的数量级；当 $k = 8$、$c = 0.01$ 时，仅对*一张*图像达到 10 % 的精度，就需要约 $4 \times 10^{15}$ 次解码器计算。`ratio` 一列 $\rho / \exp(\mathrm{KL})$ 从不小于 1，而在对数尺度上，两者随 $k$ 的增长相近（见下面输出的第二行）。
#
# <details><summary>深入一步：实测与精确值的对比，以及下界的松紧</summary>
#
# 在能够实测的地方，实测值与公式相差不超过 2 倍，但四个实测值都低于精确值。这来自 $p(x \mid z)/p(x)$ 的重尾：它的方差来自罕见的巨大项，有限次运行通常碰不到它们，所以测得的误差往往小于真实误差，过早越过 10 %。重尾比值的均值要很晚才能达到，有限次运行多半会少算。在测试中把实测换 20 个种子重复，对四种情形中的每一种，实测值低于精确值的比例都在 60 % 到 70 % 之间，所以这里四个全部偏低，部分是巧合。
#
# 这个下界在每一行都成立（`ratio` 列至少为 1.15）；在 $c = 0.1$、$k = 2$ 时两者分别为 92.9 和 68.5。当 $k \le 3$ 时下界与真值相差不到 1.6 倍，到 $k = 8$ 时放宽到 3.4-4.1 倍：与两者跨越的数量级相比，这点松弛很小。
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

# %% [markdown] en_sha="2d04994053d8"
# 图中要看什么：$c$ 每缩小为十分之一，代价就乘以约 $10^{k/2}$，所以随着 $k$ 增大，曲线呈扇形散开；点线表示的下界位于对应的精确样本数实线下方。
#
# <details><summary>深入一步：为什么 k 大时输出的因子低于 10^(k/2)</summary>
#
# $c = 0.1 \to 0.01$ 时输出的因子在 $10^{k/2}$ 的 0.58 到 1.08 倍之间，在 $k = 8$ 时最低。原因不在这条规律：我们的观测 $x = Wz + b + \sqrt{c}\,\varepsilon$ 本身随 $c$ 移动。把 $x$ 固定在 $c = 0.1$ 时的取值（输出的最后一行），各个因子对每个 $k$ 都在 $10^{k/2}$ 的 0.99 到 1.07 倍之间。在 $k = 8$ 时，单是把 $x$ 移到 $c = 0.01$ 时的取值，就让代价乘以 0.54。
# </details>
#
# **单个观测不能代表趋势。** 我们的这一个 $x$ 并不寻常，所以下面对从模型中抽取的 25 个观测取中位数，以显示典型的增长：在 $c = 0.01$ 时，每增加一个隐变量维度，代价大约乘以 30 到 60。
#
# <details><summary>深入一步：这个离群观测的具体数字</summary>
#
# 表中从 $k = 3$ 到 $k = 4$ 的跳跃（在 $c = 0.1$ 时约为 700 倍）源于我们的 $x$：它的第 4 个隐变量坐标为 2.87，而先验取到离 0 至少这么远的值的概率只有 0.0041（见下面的输出），约 240 次抽样才出现一次。这样的 $x$ 位于先验稀薄的区域，因此它的后验离先验很远，KL散度很大。在 $c = 0.1$ 时，从 $k = 3$ 到 $k = 4$ 的中位数增幅约为 12 倍，而不是 700 倍。
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

# %% [markdown] en_sha="7eb9c2b1141c"
# ### 动手试试：调节 $c$、$L$ 和 $k$
#
# 这个控件显示代价从何而来：只有落在后验那一小块区域里的先验样本才起作用。左图：先验样本（蓝色）和后验（红色椭圆对应 1、2、3 个标准差）。中图：放大后验周围的区域，按权重 $p(x \mid z_l)$ 给样本着色。右图：滚动误差 $\log \hat p - \log p(x)$（目标是 0），标题中给出有效样本量 (ESS) $(\sum_l w_l)^2 / \sum_l w_l^2$。要看什么：缩小 $c$ 或增大 $k$，放大区域变空，ESS 降向 1，误差远远跌到 0 以下（误差跑出图框时，红色箭头会标出来）。
#
# <details><summary>深入一步：各图的细节</summary>
#
# 红色十字标出后验均值：当 $c$ 很小、椭圆缩到不足一个像素时，它让后验仍然可见。中图的坐标轴以 $s$ 为步长计量到后验均值的距离，$s$ 是后验的最大标准差（数值见标题），因此无论 $c$ 和 $k$ 让后验缩小还是移动，方框始终覆盖 $-5$ 到 $5$。当 $k > 2$ 时画出的是前两个坐标；当 $k = 1$ 时，各图改为显示密度和权重的直方图。精确的 $\log p(x)$ 标在右图的一角。ESS 也正是 §5 中决定重要性采样效果的那个量。$10^5$ 个先验样本只抽取一次，滑块只是从中选取子集。
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

# %% [markdown] en_sha="b17cc5510edc"
# ## 5. 选读：恒等式 $p(x) = p(x \mid z)\,p(z) / p(z \mid x)$（原文 §2，式 (2)）
#
# 有一个精确的公式只用一个 $z$ 就能给出 $p(x)$，但它需要后验，而后验和 $p(x)$ 本身一样难求。原文在参考文献列表之后附了这个公式的片段：把贝叶斯公式改写为求证据的形式，
#
# $$ p(x) = \frac{p(x \mid z)\,p(z)}{p(z \mid x)} \tag{2} $$
#
# 它在*每一个* $z$ 处都成立。在后验已知的线性模型中，一个 $z$ 就够了：

# %%
post_mean, post_cov = model.posterior(x)
z_any = rng.normal(scale=2.0, size=(5, 2))
log_rhs = (model.log_likelihood(x, z_any) + stats.multivariate_normal(np.zeros(2)).logpdf(z_any)
           - stats.multivariate_normal(post_mean, post_cov).logpdf(z_any))
print("log p(x|z) + log p(z) - log p(z|x) at 5 random z:", np.round(log_rhs, 6))
print(f"exact log p(x): {exact:.6f}")
assert np.allclose(log_rhs, exact, atol=1e-9)

# %% [markdown] en_sha="22974dbe66de"
# 在实践中，$p(z \mid x) = p(x \mid z)\,p(z) / p(x)$ 本身就包含我们想求的 $p(x)$。用一个近似 $q$ 代替后验，右端就随 $z$ 而变。取一个协方差正确、但均值在每个坐标上都偏离半个单位的 $q$；后验是很窄的：

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

# %% [markdown] en_sha="4db533bcb5d9"
# 要看什么：$q$ 偏离了 10.6 个后验标准差，误差达到几十到几百 nat。
#
# <details><summary>深入一步：误差为什么这么大</summary>
#
# 这 10.6 个标准差是沿偏移方向度量的（后验的两个坐标相关，相关系数为 $-0.30$，所以它不等于逐坐标算出的 6），误差的绝对值在 49 到 280 之间。当协方差同为 $S$、$q$ 的均值为 $\mu + \delta$ 时，
# $$\log p(z \mid x) - \log q(z) = -\delta^\top S^{-1}(z - \mu) + \tfrac12 \delta^\top S^{-1}\delta ,$$
# 这是 $z$ 的线性函数（二次项相互抵消；上面输出的倒数第二行计算的正是它，与误差吻合）。在 $q$ 取最大值的 $z = \mu + \delta$ 处，它等于 $-\tfrac12\delta^\top S^{-1}\delta < 0$。它的斜率 $S^{-1}\delta$ 约为每单位 $z$ 116 和 108 nat，而我们的五个 $z$ 离后验均值 0.85 到 3.68 个单位；误差的符号取决于 $z$ 落在后验的哪一侧。
# </details>
#
# 在 $z \sim q$ 下对 $p(x\mid z)p(z)/q(z)$ 取平均，就得到**重要性采样 (importance sampling)**：只要 $q$ 覆盖后验，它就是无偏的；当 $q = p(z \mid x)$ 时它是精确的；朴素估计是 $q = p(z)$ 的特例。学习一个好的 $q(z \mid x)$，正是 VAE 的编码器所做的事（Kingma & Welling 2014；Rezende et al. 2014），而这个比值的对数在 $q$ 下的平均，就是笔记本 03 中的**证据下界 (evidence lower bound, ELBO)**。
#
# ## 6. 原文的实验：用朴素估计训练解码器（原文 §2，式 (2.3) 下方的注记）
#
# 用朴素估计训练解码器，在 $k = 2$ 时可行；但在 $k = 8$ 时，训练所用的估计偏低了许多 nat。式 (2.3) 下方的注记提议：取 $p(z) = N(0, I)$ 和神经网络解码器 $x \mid z \sim N(f_\theta(z), cI)$，通过随机梯度下降最小化 $-\sum_i \log \hat p_\theta(x^{(i)})$；原文推测这样做收敛较慢，但多少能起作用。我们在 8x8 手写数字上运行它（$d = 64$，像素值在 $[0, 1]$ 内，`helpers.data.load_digits`）。
#
# 损失函数只有几行，$L$ 个先验样本由整个小批量*共享*：

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

# %% [markdown] en_sha="860d201eacd5"
# `train_naive_decoder` 正是用 Adam 最小化这个损失：每一步取 128 张训练图像组成的小批量，以及 $L = 256$ 个新抽取的先验样本。它的解码器 $f_\theta$ 只有一个隐藏层（128 个 tanh 单元）（`NAIVE_DECODER_SETTINGS`）。解码器噪声固定为 $c = 0.03$，远低于数据的像素方差（0.074，见下面的输出），所以忽略 $z$ 的解码器得分会很差。我们分别用 $k = 2$ 和 $k = 8$ 各训练一次。
#
# <details><summary>深入一步：为什么固定 c</summary>
#
# 如果 $c$ 可以学习，那么只要解码器输出与像素完全吻合，$c$ 就会被推向 0；而手写数字的像素只取 17 个值（且很多恰好为 0）：在这样的数据上，除非对像素去量化（加入均匀噪声进行抖动），否则连续密度是无界的。固定 $c$ 就避免了这个问题。取 0.03 时，后验还不至于窄到无法采样：§4 的代价按 $c^{-k/2}$ 增长。
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

# %% [markdown] en_sha="3a20d45f1868"
# **给解码器打分。** 当 $k = 2$ 时，$128^2$ 个点的密集网格就能准确地计算式 (2.3)（`decoder_log_evidence`，方法 `"grid"`）。当 $k = 8$ 时，只能用朴素估计本身打分，$L$ 从训练时的 256 逐步增大到 $2^{16}$：若得分仍随 $L$ 上升，说明估计尚未收敛。基线是始终输出训练图像均值的解码器。**你的数值会略有不同：** 图中标注的是这次运行的数值；正文引用的是在不同种子和 CPU 上都成立的范围。
#
# <details><summary>深入一步：这些对数似然为什么是正的</summary>
#
# 它们是 $[0, 1]^{64}$ 上连续模型的对数*密度*，而不是对数概率：方差 $c = 0.03$ 的正态分布，每个像素的密度最高可达 $1/\sqrt{2\pi c} \approx 2.30$；若解码器输出与全部 64 个像素完全吻合，得分将是 $32 \log(1/(2\pi c))$ nat（见下面的输出）。由于像素没有去量化，这些数值适合在相同的 $c$、相同的数据上比较模型，而不能与文献中的每维比特数 (bits-per-dimension) 相比较。
# </details>
#
# <details><summary>深入一步：为什么换一种 CPU 会改变训练出的解码器</summary>
#
# 换一个种子，或者同一个种子换一种 CPU（它的矩阵乘积和其他计算内核在最后几位上的舍入方式不同），训练出的就是另一个解码器：训练会把最后一位上的差异放大，在 $k = 2$ 时放大到零点几 nat，在 $k = 8$ 时最多放大到约 1 nat。下文引用的范围是我们在种子 0-3、多种 CPU 运算方式下测得的；结论对它们全都成立。
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

# %% [markdown] en_sha="7aaaa0aaa843"
# 要看什么：左图，$k = 2$，朴素估计上升到网格值，之后就停在那里；右图，$k = 8$，到 $2^{16}$ 个样本时它仍在上升。两个解码器都远高于上面输出的均值图像基线。
#
# 上面写出的损失，正是 `train_naive_decoder` 所最小化的那一个：用最终的 $k = 2$ 解码器和 $L = 256$ 在留出图像上计算它，恰好等于 `decoder_log_evidence` 用同样 256 个先验抽样算出的朴素估计取负：

# %%
with torch.no_grad():
    loss = naive_loss(f2, torch.as_tensor(x_test), 256, c, 2, torch.Generator().manual_seed(1))
helper = decoder_log_evidence(f2, x_test, c, 2, method="naive", n_samples=256, rng=1).mean()
print(f"naive_loss and minus the helper's estimate, k = 2, the same 256 draws: "
      f"they differ by less than 1e-4 nats: {abs(loss.item() + helper) < 1e-4}")

# %%
plot_training_curves(list(naive.values()))

# %% [markdown] en_sha="65bd96e21287"
# 要看什么：两条曲线在第 300 步时仍在上升；这些模型尚未收敛。
#
# **驱动每次更新的是什么：从梯度看。** 对朴素估计的对数求导：
# $$\nabla_\theta \log \hat p(x) = \sum_{l=1}^{L} \tilde w_l\, \nabla_\theta \log p_\theta(x \mid z_l),
#   \qquad \tilde w_l = \frac{p_\theta(x \mid z_l)}{\sum_m p_\theta(x \mid z_m)} .$$
# 每张图像按权重 $\tilde w_l$（也就是 §4 控件里的那些权重）的比例，把解码出的图像 $f_\theta(z_l)$ 拉向自己。它们的 ESS $= 1 / \sum_l \tilde w_l^2$ 数的是分担这股拉力的样本有多少。我们在 128 张训练图像上测量它，针对的是训练途中五个时刻保存下来的解码器副本：

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

# %% [markdown] en_sha="f9fac8818cb2"
# 要看什么：256 个样本中，只有寥寥几个起作用。在 $k = 8$ 时，ESS 中位数始终停在 1 附近：对每张图像，解码结果离它最近的那一个先验样本承担了它几乎全部的梯度。在 $k = 2$ 时，它在 30 步之内降到 2 以下。训练每次只靠一个幸运的样本推动解码器：这正是 §4 中指数增长的代价，如今出现在优化器内部。编码器则在后验所在之处提议 $z$（笔记本 04）。
#
# <details><summary>深入一步：ESS 在不同种子和 CPU 上的表现</summary>
#
# 在 $k = 8$ 时，在我们试过的种子和 CPU 上，各阶段的 ESS 中位数最多约为 1.3。在 $k = 2$ 时，这次运行第一步之后的 ESS 为 7.5（其他种子为 3.5 到 9），从第 100 步起在 1.6 到 4.1 之间。
# </details>

# %%
plot_digit_rows([x_test[:12], decoder_samples(f2, 12, z_dim=2, rng=0), decoder_samples(f8, 12, z_dim=8, rng=0)],
                ["held-out", "k = 2", "k = 8"])

# %% [markdown] en_sha="96716eea901b"
# 上排：留出的手写数字；下面两排：先验抽样 $z$ 对应的解码器均值 $f_\theta(z)$。
#
# **结果如何**（训练 300 步，每个模型约一秒）：
#
# - **$k = 2$ 有效，但效果有限。** 它在每张留出图像上比均值图像基线高出 20 nat 以上，样本看起来像模糊的数字。从 $L = 2^{12}$ 起，它的朴素得分不再变化，落在网格值上：朴素估计几乎可信，因此训练优化的几乎就是真正的对数似然。
# - **$k = 8$ 的得分*更高*，但无法确定。** 在扫描的每一步，它的得分都随 $L$ 上升，从 $L = 256$ 到 $2^{12}$ 上升 4 到 6 nat：训练所用的估计偏低了许多 nat，这正是 §4 中指数增长的代价在真实数据上的体现。
#
# <details><summary>深入一步：不同种子和 CPU 上的数字</summary>
#
# 两条训练曲线在最后 50 步上都高于之前的 50 步。在 $k = 2$ 时，从 $L = 2^{12}$ 起的朴素得分与网格值相差不到 0.06 nat（网格值约为 4.3 到 5.1 nat，随种子和 CPU 而异）；在训练时的 $L = 256$ 下则更低，低三分之一 nat 到略多于 1 nat。在 $k = 8$ 时，$L$ 超过 $2^{12}$ 之后每增大四倍，得分仍上升 0.3 到 0.9 nat，所以即使每张图像用 $2^{16}$ 个样本也无法确定它的对数似然。调用 `train_naive_decoder(x_train, z_dim=k, **NAIVE_DECODER_SETTINGS)`，在同一台机器、同一版本的 torch 上可以逐位复现这些运行（相同的种子，固定的步数）；换一种 CPU，训练出的解码器就会略有不同。笔记本 04 会把 VAE 与架构相同的朴素解码器放在一起比较。
# </details>
#
# **朴素训练为什么还能起作用。** 训练目标的期望 $E[\log \hat p_L(x)]$ 就是 Burda et al. (2016) 的重要性加权 (IWAE) 界，只是以先验作为提议分布：对每个 $L$ 它都是 $\log p(x)$ 的下界（Jensen 不等式，§3），并随 $L$ 增大而升向 $\log p(x)$。其中的间隙随后验与先验之间的 KL散度增大而增大；在后验附近提议 $z$ 的编码器能缩小它：这就是笔记本 03 和 04 中的 VAE。
#
# ## 小结
#
# - 对数密度要相加（式 (2.2)）：乘积会下溢，和式适合小批量，最大值点不变。
# - 式 (2.3) 的蒙特卡洛估计对 $p(x)$ 无偏，对 $\log p(x)$ 却偏低。
# - 它需要 $(\rho - 1)/\varepsilon^2$ 个样本，$\rho \ge \exp(\mathrm{KL})$：随 $k$ 指数增长，大致与 $c^{-k/2}$ 相当。
# - 选读：式 (2) 是精确的，却陷入循环；换用提议分布 $q$ 就得到重要性采样。
# - 用朴素估计训练解码器，等于以先验为提议分布最大化 IWAE 界：$k = 2$ 时没有问题，$k = 8$ 时偏差严重。笔记本 03 把先验换成可学习的 $q_\phi(z \mid x)$，从而得到 ELBO。
#
# ## 练习（先预测，再检验）
#
# 运行任何代码之前，先把你的预测写下来。
#
# 1. **控件中的 ESS**（§4）。取 $k = 2$、$L = 10^5$，把 $c$ 从 1 调到 0.01。预测右图标题中的 ESS 如何变化（提示：$c^{-k/2}$）。然后验证。
#
#    <details><summary>解答</summary>
#
#    ESS 约为 $L/\rho$，而当 $k = 2$ 时 $\rho$ 按 $c^{-k/2} = c^{-1}$ 增长，所以在 $c$ 跨越两个数量级的过程中，ESS 大约下降为 1/100。标题显示：$c = 1$ 时 ESS 为 10144，$c = 0.1$ 时为 1065，$c = 0.01$ 时为 109：下降了 93 倍。这个 $x$ 是典型的：它的精确 $\rho$ 增大了 94.7 倍，而从模型中抽取的 25 个观测的中位数是 96.6。与 100 的差距有两个来源：$c^{-k/2}$ 是 $c$ 很小时的规律，只在 $c \to 0$ 时才逐渐成立；而由样本测得的 ESS 本身就是 $L/\rho$ 的一个带噪声的估计。
#    </details>
#
# 2. **§3 中更多的运行次数。** 把 §3 中的 `runs` 从 200 改为 800：标准误会怎样变化？$L = 1024$ 那一行与 $-(\rho-1)/2L$ 的差距还是 3 个 SE 吗？先预测，再运行该单元格。
#
#    <details><summary>解答</summary>
#
#    从 $L = 16$ 起，每个标准误都减半（$1/\sqrt{\text{runs}}$），在 $L = 1024$ 时约为 0.011（在 $L = 1$ 和 4 时，由于少数巨大的项占主导，标准误的缩小没那么可靠）。均值也会变化，因为运行本身变了；一次 800 次运行的实验在 $L = 1024$ 处得到 -0.036 ± 0.011，与预测值 -0.045 相差不到一个 SE。200 次运行时 3 个 SE 的差距只是一次波动。
#    </details>
#
# 3. **更好的提议分布（选读 §5）。** 在 §5 中，改为从偏移后的 $q$ 中抽取 $z$（而不是从 $N(0, 2^2 I)$ 中），并在 $10^4$ 次抽样上对 $w = p(x\mid z)p(z)/q(z)$ 取平均。预测：与用 $10^4$ 个先验样本的朴素估计相比，它离 `exact` 更近还是更远？然后改用精确后验作为 $q$ 再试一次。
#
#    <details><summary>验证用的代码</summary>
#
#    `zq = q.rvs(10_000, random_state=0)`，然后计算 `log_mean_exp(model.log_likelihood(x, zq) +
#    stats.multivariate_normal(np.zeros(2)).logpdf(zq) - q.logpdf(zq))`；再令 `q = stats.multivariate_normal(post_mean, post_cov)` 重复一遍。
#    </details>
#
#    <details><summary>解答</summary>
#
#    偏移达 10.6 个后验标准差时，$q$ 与后验几乎没有重叠：估计值比 `exact` 低约 25 nat，远不如用 $10^4$ 个先验样本的朴素估计（`rng=0` 时偏低 0.08 nat）。用精确后验时，每个权重都等于 $p(x)$，估计在舍入误差范围内是精确的。提议分布只有覆盖后验才有帮助；这正是编码器必须学会的。
#    </details>
#
# 4. **学习 $c$。** 对于 §6 的解码器，在 $f_\theta$ 固定、每张图像的 $z$ 也固定时，$c$ 的最大似然估计 (MLE) 是每个像素的均方误差。可学习的 $c$ 会停留在 0.03 附近吗？请预测 $k = 2$ 解码器每个像素的均方误差：使用随机 $z$ 时，以及每张留出图像取其最佳 $z$ 时。然后验证。
#
#    <details><summary>验证用的代码</summary>
#
#    随机 $z$ 用 `np.mean((x_test - decoder_samples(f2, 359, z_dim=2, rng=0)) ** 2)`；在网格上找最佳 $z$，用 `g = np.linspace(-3, 3, 61); Z = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)`、`F = f2(torch.tensor(Z, dtype=torch.float32)).detach().double().numpy()`，然后计算 `((x_test[:, None] - F[None]) ** 2).mean(-1).min(1).mean()`。
#    </details>
#
#    <details><summary>解答</summary>
#
#    随机 $z$ 得到约 0.11 到 0.13（随训练种子和 CPU 而异）：随机 $z$ 对应的解码器均值通常是另一个数字，所以这个值甚至高于数据的像素方差 0.074。每张图像取最佳 $z$ 时得到约 0.040 到 0.041。因此对这个解码器而言，$c$ 的 MLE 约为 0.04，略高于固定的 0.03。如果与 $f_\theta$ 一起训练，$c$ 会随着拟合变好而下降；而在像素只取 17 个值时，一个足够灵活、能够命中训练图像的解码器会使密度在 $c \to 0$ 时无界增长：这就是 §6 固定 $c$ 的原因（笔记本 04 会再回到学习 $c$ 的问题）。
#    </details>
#
# ## 术语表（英文与中文；原文用过的，取原文的说法）
#
# maximum likelihood 最大似然 · evidence 证据 · latent variable 隐变量 · prior 先验 · posterior 后验 · probabilistic decoder 概率解码器 · Monte Carlo 蒙特卡洛 · importance sampling 重要性采样 · evidence lower bound (ELBO) 证据下界
#
# ## 参考文献
#
# - D. P. Kingma and M. Welling (2014). Auto-encoding variational Bayes. *ICLR*（即原文的参考文献 [6]）（§5）。
# - D. J. Rezende, S. Mohamed and D. Wierstra (2014). Stochastic backpropagation and approximate inference in deep generative models. *ICML*（§5）。
# - M. E. Tipping and C. M. Bishop (1999). Probabilistic principal component analysis. *Journal of the Royal Statistical Society B* 61(3)（§2：线性高斯模型）。
# - Y. Burda, R. Grosse and R. Salakhutdinov (2016). Importance weighted autoencoders. *ICLR*（§6：IWAE 界）。
# - S. Chatterjee and P. Diaconis (2018). The sample size required in importance sampling. *Annals of Applied Probability* 28(2)（§4：约需 $\exp(\mathrm{KL})$ 个样本）。
