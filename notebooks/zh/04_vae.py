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

# %% [markdown] en_sha="2c0c9c55aeb6"
# # 04 · 高斯 VAE
#
# 本笔记本配合原文《扩散模型原理》第 2 节中“具体的优化目标函数”这一部分（式 (2.6)、(2.7) 和 (2.8)，以及重参数化和 KL散度的闭式解）。图中的标注、程序打印的结果和代码注释都用英文，与英文版共用同一份代码。
#
# **问题。** 笔记本 03 把证据变成了一个下界，即 ELBO。当所有分布都取高斯分布、网络也换成真正的神经网络时，这个下界会变成什么？原文唯一留作自由参数的那个数，即解码器方差 $c$，又会对模型产生什么影响？
#
# 所有内容都在 8x8 手写数字数据集上运行（1438 张训练图像，另留出 359 张），只用 CPU。
#
# **学习目标。** 学完本笔记本后，你能够
# 1. 用几行代码写出高斯 VAE 的损失函数（式 (2.6)–(2.8)）和一个训练步，并说明为什么使用重参数化技巧，而不是分数函数估计量；
# 2. 解释解码器方差 $c$ 在权衡什么，为什么在 $c$ 变化时常数 $\frac d2 \log(2\pi c)$ 很重要，以及为什么最佳的 $c$ 就是每像素平方误差；
# 3. 根据数据协方差的特征值预测后验坍塌（概率 PCA）；
# 4. 把 VAE 的 $\log p(x)$ 与其 ELBO 之间的间隙拆分为近似间隙和摊销间隙，并公平地把 VAE 与笔记本 02 的朴素解码器进行比较。
#
# **阅读时间与路线图。** 核心路线约需 15 分钟阅读（在空闲的机器上运行远不到半分钟）：第 1-4 节搭建损失函数；第 5 节训练一个隐空间为二维的 VAE；第 6 节改变 $c$（后验坍塌）；第 8 节与笔记本 02 进行比较；小结、练习 1。选读部分另需约 13 分钟：第 7 节（梯度噪声随 $L$ 的变化）、练习 2-5、各个“深入一步”折叠块。
#
# <details><summary>术语（括号内为对应的英文；原文用过的中文说法照用原文）</summary>
#
# 变分自编码器 (variational autoencoder)、概率解码器 (probabilistic decoder)、蒙特卡洛 (Monte Carlo)、重参数化 (reparameterisation)、KL散度 (KL divergence)、证据下界 (evidence lower bound)、重建项 (reconstruction term)、先验匹配项 (prior-matching term)、重要性采样 (importance sampling)、后验坍塌 (posterior collapse)、摊销推断 (amortised inference)、最大似然 (maximum likelihood)。
# </details>

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

from helpers.bits import mean_and_se
from helpers.data import load_digits, load_digits_with_labels
from helpers.elbo import gaussian_kl
from helpers.gaussian import (diag_gaussian_log_pdf, gaussian_log_norm, kl_per_dim,
                              standard_normal_log_pdf)
from helpers.plots.digits import plot_digits
from helpers.plots.vae import (plot_c_tradeoff, plot_gradient_estimators, plot_latent_map,
                               plot_rate_distortion, plot_training)
from helpers.nets import Adam
from helpers.vae import (GaussianVAE, importance_log_likelihood, negative_elbo,
                         negative_elbo_terms, train_vae)
from helpers.vae_analysis import (c_grid_summary, fit_per_point_q, gradient_noise,
                                  reparam_vs_score_function)
from helpers.widgets import log_slider, slider_panel

torch.set_num_threads(1)  # small networks: one thread is faster here, and repeatable on one machine
notebook_start = time.perf_counter()
x_train = load_digits("train")
test_digits = load_digits_with_labels("test")
x_test, y_test = test_digits.x, test_digits.labels
d = x_train.shape[1]
print(f"train {x_train.shape}, test {x_test.shape}, pixels in [{x_train.min()}, {x_train.max()}]")

# %% [markdown] en_sha="f4d26497ba6d"
# ## 1. 三个高斯假设（原文 §2 中“具体的优化目标函数”，式 (2.6)）
#
# 原文针对 Kingma 与 Welling [1] 以及 Rezende 等人 [3] 的**变分自编码器 (variational autoencoder)**，把笔记本 03 中的 ELBO 具体化，为此作了三个选择：
#
# $$
# \begin{aligned}
# p(z) &= N(0, I) \\
# p_\theta(x \mid z) &= N\big(f_\theta(z),\; c\,I\big), \qquad c > 0 \\
# q_\phi(z \mid x) &= N\big(\mu_\phi(x),\; \operatorname{diag}(\sigma_\phi(x)^2)\big)
# \end{aligned} \tag{2.6}
# $$
#
# 1. **先验 (prior)** 是标准正态分布：没有需要学习的参数。
# 2. **概率解码器 (probabilistic decoder)** 在网络输出 $f_\theta(z)$ 周围放置一个正态分布，每个像素的方差都是同一个 $c$。
# 3. **编码器 (encoder)** 是一个正态分布，其均值和标准差都是网络的输出，各坐标相互独立（对角协方差）。
#
# <details><summary>深入一步：关于原文记号的说明</summary>
#
# 式 (2.6) 写作 $q_\phi = N(\mu_\phi(x), \sigma_\phi(x))$。$N$ 的第二个参数是协方差，而 $\sigma_\phi$ 是由标准差组成的向量，所以协方差应为 $\operatorname{diag}(\sigma_\phi(x)^2)$。文中还有一处把同一个对象记作 $h_\phi(x)$。本笔记本始终用 $\sigma_\phi$ 表示标准差。
# </details>
#
# `GaussianVAE` 包含这两个网络。
#
# <details><summary>深入一步：<code>GaussianVAE</code> 的内部</summary>
#
# 两个网络都用笔记本 02 的 `mlp` 构建，这里各有两个 128 单元的隐藏层。编码器对每张图像输出 $2k$ 个数：$\mu_\phi(x)$，以及一个原始值；后者经 $\sigma_\phi = \text{softplus}(\cdot) + 10^{-4} > 0$ 变换。
# </details>

# %%
torch.manual_seed(0)
vae = GaussianVAE(x_dim=d, z_dim=2, hidden=(128, 128))
mu_phi, sigma_phi = vae.encode(torch.tensor(x_test[:5]))
f_theta = vae.decode(mu_phi)
print("mu_phi", tuple(mu_phi.shape), " sigma_phi", tuple(sigma_phi.shape),
      " f_theta(z)", tuple(f_theta.shape))
assert (sigma_phi > 0).all()
print(vae)

# %% [markdown] en_sha="febfe8f0d548"
# ## 2. 目标函数（原文 §2 中“具体的优化目标函数”，式 (2.7)）及其丢掉的常数
#
# **在式 (2.6) 之下，负 ELBO 是除以 $2c$ 的平方误差加上一个 KL，而式 (2.7) 丢掉的那个常数一旦 $c$ 变化就变得重要。** 采用式 (2.6) 的解码器时，一张图像的对数似然等于平方误差加上一个常数：
#
# $$\log p_\theta(x \mid z) = -\frac{\lVert x - f_\theta(z)\rVert^2}{2c} - \frac{d}{2}\log(2\pi c).$$
#
# 式 (2.7) 只保留第一项，最小化取负的**重建项 (reconstruction term)**（此时是一个平方误差）加上**先验匹配项 (prior-matching term)**（一个 KL）：
#
# $$\mathbb{E}_{q_\phi(z\mid x)}\frac{\lVert x - f_\theta(z)\rVert^2}{2c}
#   + D_{KL}\big(q_\phi(z \mid x)\,\Vert\, p(z)\big). \tag{2.7}$$
#
# > **关于原文的说明。** 式 (2.7) 丢掉了 $\frac{d}{2}\log(2\pi c)$：对于固定的 $c$ 这无伤大雅，因为常数不会移动最小值点；但在不同的 $c$ 之间比较模型，或者学习 $c$ 时，都离不开它（第 6 节展示这两种用途）。`negative_elbo` 保留了它：其值是真正的负 ELBO，以 nat 为单位。
#
# 在一个批次上验证：`negative_elbo` 等于它的三项（平方误差除以 $2c$、常数、闭式 KL）用同样的噪声手工算出的结果。

# %%
c = 0.03
x5 = torch.tensor(x_test[:5])
total = negative_elbo(vae, x5, c, rng=0)
eps = torch.randn(1, 5, 2, generator=torch.Generator().manual_seed(0))
with torch.no_grad():
    sq = ((x5 - vae.decode(mu_phi + sigma_phi * eps)) ** 2).sum(-1)[0]
    by_hand = sq / (2 * c) + gaussian_log_norm(d, c) + gaussian_kl(mu_phi, sigma_phi)
print("negative_elbo:", np.round(total.detach().numpy(), 2))
print("by hand:      ", np.round(by_hand.numpy(), 2))
print(f"the constant (d/2) log(2 pi c) at c = {c}: {gaussian_log_norm(d, c):.2f} nats")
assert torch.allclose(total.detach(), by_hand, rtol=1e-5)

# %% [markdown] en_sha="2a2953de39a8"
# **最佳的 $c$ 就是每像素均方误差。** 记 $S = \mathbb{E}_q\lVert x - f_\theta(z)\rVert^2$（同时对数据取平均）。带上常数后，负 ELBO 通过下式依赖于 $c$：
#
# $$J(c) = \frac{S}{2c} + \frac{d}{2}\log(2\pi c) + \text{KL}, \qquad
#   J'(c) = -\frac{S}{2c^2} + \frac{d}{2c} = 0 \iff c^\ast = \frac{S}{d},$$
#
# 即每像素的均方误差；并且 $J''(c^\ast) > 0$，所以它是极小值点。如果不带常数，$J(c) = S/(2c) + \text{KL}$ 只会随 $c$ 增大而减小：学习得到的 $c$ 会一路跑向无穷大。我们将在第 6 节用训练好的模型验证这两点。
#
# <details><summary>深入一步：关于最佳 $c$ 的相关工作</summary>
#
# Rybkin 等人 [10] 的 σ-VAE 正是这样学习 $c$ 的：直接把它设为 $c^\ast$；Dai 与 Wipf [12] 研究了最佳的 $c$ 趋于 0 时 VAE 会发生什么。
# </details>
#
# <details><summary>深入一步（选读）：β = 2c，由下一个单元格验证</summary>
#
# 把 $J$ 乘以 $2c$：对于固定的 $c$，$2c\,J = S + 2c\,\text{KL} + \text{const}$，这就是 Higgins 等人 [7] 的 $\beta$-VAE 目标 $\lVert x - f\rVert^2 + \beta\,\text{KL}$，其中 $\beta = 2c$。两者的最小值点相同，梯度方向也相同（梯度放大 $2c$ 倍）：这两点都源于 $\beta$-VAE 目标等于 $2c\,J$（$J$ 的正数倍）减去一个常数。
# </details>

# %%
c = 0.05
torch.manual_seed(1)
probe = GaussianVAE(d, 2, hidden=32)
params = list(probe.parameters())
terms = negative_elbo_terms(probe, x_train[:256], c, rng=0)
rec, kl = terms.reconstruction, terms.kl
sq_error = (rec - gaussian_log_norm(d, c)) * 2 * c  # ||x - f||^2 with the same noise
grad_elbo = torch.autograd.grad((rec + kl).mean(), params, retain_graph=True)
grad_beta = torch.autograd.grad((sq_error + 2 * c * kl).mean(), params)
g_elbo = torch.cat([g.flatten() for g in grad_elbo])
g_beta = torch.cat([g.flatten() for g in grad_beta])
print(f"|beta-VAE gradient| / |-ELBO gradient| = {g_beta.norm() / g_elbo.norm():.4f} (2c = {2 * c}),"
      f" cosine {torch.nn.functional.cosine_similarity(g_beta, g_elbo, dim=0):.4f}")
assert torch.allclose(g_beta, 2 * c * g_elbo, rtol=1e-4, atol=1e-7 * g_beta.abs().max().item())

# %% [markdown] en_sha="d75c329d262b"
# ## 3. 对 $L$ 个样本做蒙特卡洛（原文 §2，式 (2.8)）与重参数化技巧
#
# **把样本写成 $z = \mu + \sigma\varepsilon$，梯度就能穿过它，而且在这里噪声远小于较早的分数函数估计量。** 对于神经网络 $f_\theta$，式 (2.7) 中的期望没有闭式解，因此式 (2.8) 对 $L$ 个样本 $z^l \sim q_\phi(z \mid x)$ 取**蒙特卡洛 (Monte Carlo)** 平均：
#
# $$\frac{1}{L}\sum_{l=1}^{L} \frac{\lVert x - f_\theta(z^l)\rVert^2}{2c}
#   + D_{KL}\big(q_\phi(z \mid x)\,\Vert\, p(z)\big). \tag{2.8}$$
#
# 训练 $\phi$ 需要这个平均值对 $\mu_\phi$ 和 $\sigma_\phi$ 的梯度，但随机抽出的样本没有梯度。**重参数化技巧 (reparameterisation trick)** 先抽取噪声，再由噪声构造样本：$z = \mu_\phi(x) + \sigma_\phi(x) \odot \varepsilon$，其中 $\varepsilon \sim N(0, I)$，它是 $\mu_\phi$ 和 $\sigma_\phi$ 的可微函数（[1]、[3]；[2] 讨论了下面的两种估计量）。**分数函数 (score-function)** 估计量（REINFORCE，Williams [8]）从不对 $z$ 求导：$\nabla_\mu \mathbb{E}_q[g(z)] = \mathbb{E}_q[g(z)\,\nabla_\mu \log q(z)]$。两者都是无偏的。来看一个有精确答案的小例子：$q = N(\mu, \sigma^2)$，$g(z) = (z - a)^2$，于是 $\frac{d}{d\mu}\mathbb{E}_q[g] = 2(\mu - a)$。

# %%
est = reparam_vs_score_function(mu=0.5, sigma=1.0, a=2.0, n_draws=100_000, rng=0)
for name in ("reparam", "score"):
    v = getattr(est, name)
    m = mean_and_se(v)
    print(f"{name:8s}: mean {m.mean:+.3f} +- {m.se:.3f} (exact {est.exact:+.3f}), "
          f"variance of one draw {v.var():.3g}, median {np.median(v):+.3f}")
var_ratio = est.score.var() / est.reparam.var()
print(f"the score-function estimator's variance is {var_ratio:.0f} times larger; "
      f"reparameterised variance {est.reparam.var():.3f} vs exact 4 sigma^2 = 4")
plot_gradient_estimators(est)

# %% [markdown] en_sha="e8baa9750f75"
# 两者的*均值*都在各自的标准误范围内与精确梯度一致，但两个直方图看上去截然不同。重参数化的抽样值 $2(z - a)$ 构成一个以 $-3$ 为中心的正态分布。分数函数的抽样值 $(z - a)^2 (z - \mu) / \sigma^2$ 则是偏斜的：大多数落在 0 附近（中位数见上面的输出），由一条罕见大值组成的长尾撑起了均值。这里它的方差大了 13 倍，因此要达到同样的精度需要 13 倍的样本。
#
# <details><summary>深入一步：两者的方差为什么不同</summary>
#
# 重参数化梯度利用了 $g$ 随 $z$ 变化的信息；分数函数只看到 $g$ 的取值。使用 $L$ 个样本时，两者的方差都按 $1/L$ 下降（第 7 节）。
# </details>
#
# ## 4. KL 项的闭式解（原文 §2 末尾的 KL 推导）
#
# 式 (2.5) 的先验匹配项无需采样：两个分布都是正态分布。原文针对一个坐标推导出 $D_{KL}(N(\mu, \sigma^2)\,\Vert\,N(0, 1)) = \frac12(\mu^2 + \sigma^2 - 1 - \log\sigma^2)$。
#
# 对于 $k$ 维对角的 $q_\phi$，各坐标在 $q$ 和 $p$ 下都相互独立，所以 KL 是 $k$ 个这样的项之**和**。
#
# <details><summary>深入一步：原文的三项积分</summary>
#
# 对一个坐标而言，两个密度之比的对数为
# $$\log\frac{q(z)}{p(z)} = \frac12\Big[-\log\sigma^2 + z^2 - \frac{(z-\mu)^2}{\sigma^2}\Big],$$
# KL散度就是它在 $q = N(\mu, \sigma^2)$ 下的期望，分为三项积分：
#
# - $\int q(z)\,(-\log\sigma^2)\,dz = -\log\sigma^2$，因为 $q$ 的积分为 1；
# - $\int q(z)\,z^2\,dz = \mu^2 + \sigma^2$，即 $q$ 的二阶矩（方差加上均值的平方）；
# - $\int q(z)\,\big(-(z-\mu)^2/\sigma^2\big)\,dz = -1$，即方差除以它自己，再取负号。
#
# 三项之和的一半就是 $\frac12(\mu^2 + \sigma^2 - 1 - \log\sigma^2)$。下面第二个单元格在精细的网格上逐项计算这三个积分。
#
# *关于原文的说明。* 该推导在变量应为 $z$ 的地方对“$x$”积分，并且只处理了一个维度。
# </details>
#
# `helpers.elbo.gaussian_kl`（笔记本 03）对最后一个轴求和。在 $k = 8$ 维下，把它与蒙特卡洛估计 $\mathbb{E}_q[\log q(z) - \log p(z)]$ 对照：

# %%
rng = np.random.default_rng(0)
k = 8
mu_q, sigma_q = rng.normal(0, 1, k), rng.uniform(0.2, 1.5, k)
closed = gaussian_kl(mu_q, sigma_q)
per_dim = kl_per_dim(mu_q, sigma_q)                 # 0.5 (mu^2 + sigma^2 - 1 - log sigma^2)
eps = rng.standard_normal((200_000, k))
z = mu_q + sigma_q * eps
log_q_minus_log_p = diag_gaussian_log_pdf(z, mu_q, sigma_q) - standard_normal_log_pdf(z)
mc = mean_and_se(log_q_minus_log_p)
print(f"closed form (summed over {k} dims) {closed:.3f}; Monte Carlo {mc.mean:.3f} +- {mc.se:.3f}")
print(f"one dimension alone (the article's formula for z_1): {per_dim[0]:.3f}")
assert np.isclose(per_dim.sum(), closed)

# %%
# the article's three integrals for z_1 (Going deeper above), each on a fine grid of z
m, s = mu_q[0], sigma_q[0]
z_grid = np.linspace(m - 12 * s, m + 12 * s, 200_001)
q_grid = np.exp(-0.5 * ((z_grid - m) / s) ** 2) / np.sqrt(2 * np.pi * s**2)   # q(z) = N(m, s^2)
integral = lambda f: np.sum(q_grid * f) * (z_grid[1] - z_grid[0])  # noqa: E731
parts = [integral(-np.log(s**2) * np.ones_like(z_grid)), integral(z_grid**2),
         integral(-(z_grid - m) ** 2 / s**2)]
print("three integrals:", np.round(parts, 4), " expected:", np.round([-np.log(s**2), m**2 + s**2, -1], 4))
print(f"half their sum {0.5 * sum(parts):.4f}; the closed form for z_1 {per_dim[0]:.4f}")
assert np.allclose(parts, [-np.log(s**2), m**2 + s**2, -1], atol=1e-6)

# %% [markdown] en_sha="dac8ae4c51e6"
# ## 5. 在手写数字上训练（原文 §2，把式 (2.6)–(2.8) 合在一起）
#
# 上面的一切都能装进一个训练步：编码、重参数化、解码，把平方误差除以 $2c$、常数与闭式 KL 相加，然后走一步 Adam。下面把它完整写出来，在一个小 VAE（一个 64 单元的隐藏层）上运行 200 步：

# %%
C_MAIN = 0.03
torch.manual_seed(0)
small = GaussianVAE(x_dim=d, z_dim=2, hidden=64)
opt = Adam(small.parameters(), lr=3e-3)
gen = torch.Generator().manual_seed(1)
x_all = torch.tensor(x_train)
print(f"held-out -ELBO before: {negative_elbo(small, x_test, C_MAIN, rng=0).mean():.1f} nats")
for step in range(200):
    xb = x_all[torch.randint(len(x_all), (128,), generator=gen)]      # a mini-batch of images
    mu_phi, sigma_phi = small.encode(xb)                                # q_phi(z|x), eq. 2.6
    z = mu_phi + sigma_phi * torch.randn(mu_phi.shape, generator=gen)   # reparameterised, L = 1
    sq_error = ((xb - small.decode(z)) ** 2).sum(-1)                    # ||x - f_theta(z)||^2
    kl = gaussian_kl(mu_phi, sigma_phi)                                 # KL(q || p(z)), closed form
    loss = (sq_error / (2 * C_MAIN) + gaussian_log_norm(d, C_MAIN) + kl).mean()
    opt.zero_grad()                                                     # forget the last gradient
    loss.backward()                                                     # d loss / d (theta, phi)
    opt.step()                                                          # one Adam update
print(f"held-out -ELBO after 200 steps: {negative_elbo(small, x_test, C_MAIN, rng=0).mean():.1f} nats")

# %% [markdown] en_sha="ad11966cb575"
# 最后三行是每个 PyTorch 训练循环都以之收尾的三行。
#
# <details><summary>深入一步：这是哪一个 Adam</summary>
#
# 这里的 `Adam` 是 `helpers.nets.Adam`：它采用 `torch.optim.Adam` 的更新规则和接口（`zero_grad`、`step`，以及存放在 `opt.param_groups[0]["lr"]` 中的学习率）；之所以自己写出来，是因为一个会话中第一个 `torch.optim` 优化器的初始化大约需要 1.5 s。把它换成 `torch.optim.Adam`，循环无需任何改动即可运行，结果在 float32 舍入误差范围内一致（打印出的数字不变）。
# </details>
#
# `train_vae` 运行的正是这个损失和更新，固定了随机种子，并带有小批量和留出集评估。我们的主 VAE 的隐空间是二维的，因此可以把它画出来；每个网络有两个 128 单元的隐藏层，$c = 0.03$。
#
# <details><summary>深入一步：<code>train_vae</code> 增加了什么</summary>
#
# 按 epoch 不放回地抽取小批量；每隔 `eval_every` 步在留出集上评估一次；可以并排训练多个模型。它固定了随机种子，所以重新运行会得到同一个模型。
# </details>

# %%
main = train_vae(x_train, x_test, c=C_MAIN, z_dim=2, hidden=(128, 128), steps=800,
                 batch_size=128, lr=3e-3, eval_every=100, seed=0, desc="VAE k=2, c=0.03",
                 snapshot_steps=[200])  # also keep the model after 200 steps, for section 8
model = main.model
print(f"held-out -ELBO per image after {main.history.step[-1]} steps: "
      f"{main.history.test[-1, 0]:.1f} nats")
with torch.no_grad():  # the final model on all training images, with the same L = 1 noise rule
    train_end = negative_elbo(model, x_train, C_MAIN, rng=0).mean().item()
print(f"the same model on the training images: {train_end:.1f} nats")
plot_training(main.history, labels=["k = 2, c = 0.03"])

# %% [markdown] en_sha="4ae6ca2292a4"
# 如何阅读这些曲线：从第 600 步起，训练曲线落到留出集曲线下方；到最后，模型在训练图像上的得分比在新图像上好约 2 nat（上面打印的两个数），这是对 1438 张图像过拟合的初步迹象。
#
# <details><summary>深入一步：曲线的起点，以及为负的 $-$ELBO</summary>
#
# “train batches”（训练批次）曲线上的每个点是此前 100 步的平均，所以在第 100 步，它平均的是最初、也是最差的那些步，因而位于留出集曲线的上方；而留出集曲线给出的是模型在该步时的得分。另外，$-$ELBO 可以小于 0：它是密度（而非概率）的 $-\log$，而连续数据的密度可以超过 1（这里有 64 个像素，每个像素的解码器标准差为 0.17）。
# </details>

# %% [markdown] en_sha="18188c4fcf39"
# 下面是留出数字的重建 $f_\theta(\mu_\phi(x))$，以及 $z \sim N(0, I)$ 时的新样本 $f_\theta(z)$。两行显示的都是解码器的**均值** $f_\theta(z)$，而不是从 $N(f_\theta(z), cI)$ 中抽取的样本，VAE 的图示通常也是如此。
#
# <details><summary>深入一步：抽样会是什么样子</summary>
#
# 抽样会给每个像素加上标准差为 $\sqrt{c}$（0.17，见下方输出）的独立噪声，而像素值介于 0 和 1 之间。
# </details>

# %%
with torch.no_grad():
    recon = model.decode(model.encode(torch.tensor(x_test[:12]))[0]).numpy()
    samples = model.decode(torch.randn(12, 2, generator=torch.Generator().manual_seed(0))).numpy()
print(f"decoder noise sd sqrt(c) = {math.sqrt(C_MAIN):.2f}")
plot_digits([x_test[:12], recon, samples], row_labels=["held out", "reconstructed", "sampled"],
            title="k = 2, c = 0.03")

# %% [markdown] en_sha="2f99f606d7a2"
# 样本看起来不如重建结果像数字。隐空间图揭示了其中一个原因：左图是编码器把每个留出数字放在哪里，右图是解码器在 $z$ 的网格上画出的图像。同一类别的数字聚成簇，簇与簇之间留有先验的空白地带。重建解码的是位于某个簇内部的 $\mu_\phi(x)$，那里是解码器受过训练的区域；而先验样本可能落进空洞，解码器在那里很少受到训练，于是画出相邻几个数字的混合体。（编码后的这些点构成*聚合后验* (aggregate posterior)。）

# %%
with torch.no_grad():
    mu_test = model.encode(torch.tensor(x_test))[0].numpy()
    axis = np.linspace(-2.5, 2.5, 12)
    grid_z = np.stack(np.meshgrid(axis, axis[::-1], indexing="xy"), -1).reshape(-1, 2)
    decoded = model.decode(torch.tensor(grid_z, dtype=torch.float32)).numpy()
plot_latent_map(mu_test, y_test, decoded, extent=(-2.5, 2.5))

# %% [markdown] en_sha="712516b6fe69"
# **留出集上的得分。** 负 ELBO 是 $-\log p(x)$ 的一个上界。重要性加权（**重要性采样 (importance sampling)**）估计 $\log \frac1K \sum_j p(x \mid z_j)\,p(z_j)/q(z_j \mid x)$（其中 $z_j \sim q_\phi$）是 $\log p(x)$ 的一个更紧的下界（Burda 等人 [4]），随着 $K$ 增大而逼近 $\log p(x)$；$K = 1$ 时它就是 ELBO。

# %%
elbo_test = -negative_elbo(model, x_test, C_MAIN, n_samples=64, rng=1).mean().item()
iw_test = importance_log_likelihood(model, x_test, C_MAIN, k=250, rng=2,
                                   chunk_size=32)  # 32 draws at a time: faster, same numbers
print(f"held-out ELBO (L = 64)                        {elbo_test:8.2f} nats per image")
print(f"held-out importance-weighted log p(x), K=250  {iw_test.mean().item():8.2f} nats per image")
assert iw_test.mean().item() > elbo_test

# %% [markdown] en_sha="9d5cf4c395f4"
# ## 6. $c$ 的作用：权衡、常数与后验坍塌（原文 §2，式 (2.7) 中 $c$ 的角色）
#
# 在式 (2.7) 中，$c$ 为平方误差和 $z$ 中的信息定价：$c$ 小时，每个像素的误差都很昂贵，于是编码器愿意花费 KL（以 nat 计）来精确地描述图像；$c$ 大时，误差很便宜，于是最省的做法是对每个 $x$ 都令 $q_\phi(z \mid x) = p(z)$：不付 KL，画出平均数字。这就是**后验坍塌 (posterior collapse)** [6]。当一个隐变量维度的编码器均值随 $x$ 变化，即 $\operatorname{Var}_x \mu_\phi(x)_j > 0.01$ 时，它是*活跃* (active) 的。我们在从 $10^{-2.5}$ 到 $10^{0.5}$、以半个数量级为间隔的网格上，为每个 $c$ 训练一个模型：$k = 8$ 个隐变量维度，一个 64 单元的隐藏层。
#
# <details><summary>深入一步：整个网格的代价</summary>
#
# `train_vae` 把七个模型堆叠成一个批处理网络，所以整个网格每步只需一次前向传播和一次反向传播。
# </details>

# %%
C_GRID = 10 ** (-2.5 + 0.5 * np.arange(7))
grid = train_vae(x_train, c=C_GRID, z_dim=8, hidden=64, steps=500, batch_size=128, lr=5e-3,
                 seed=0, desc="7 VAEs, one per c")  # no held-out curves: the summary scores them
summary = c_grid_summary(grid.models, C_GRID, x_test, rng=0)
print("     c   per-pixel MSE   KL (nats)   active units")
for i, cv in enumerate(C_GRID):
    print(f"{cv:6.3f}   {summary.mse[i]:13.4f}   {summary.kl[i]:9.2f}   "
          f"{summary.active[i]:d} of 8")
plot_rate_distortion(summary)

# %% [markdown] en_sha="8a3b73403a58"
# 随着 $c$ 增大，KL 下降，每像素误差上升（在网格两端都较平坦）；在 $c = 1$ 时，所有隐变量维度都已坍塌：无论输入是什么，重建出来都是同一个模糊的平均数字。
#
# <details><summary>深入一步：码率与失真</summary>
#
# 若以 KL（**码率** (rate)，即编码以 nat 计的代价）对平方误差（**失真** (distortion)）作图，整个网格描出一条权衡曲线：选择 $c$ 就是在这条曲线上选一个点（Alemi 等人 [11]），没有哪个 $c$ 能让两者同时都低。
# </details>
#
# **预测有多少隐变量维度能存活。** 把网络换成线性映射 $f_\theta(z) = Wz + b$：模型就变成笔记本 03 的概率 PCA（Tipping 与 Bishop [5]）。它的最大似然 (maximum likelihood) 解 $W$ 只在数据协方差第 $j$ 个特征向量的特征值 $\lambda_j$ 超过 $c$ 时才保留这个方向：数据在某个方向上的方差若低于解码器的噪声水平 $c$，把它解释为噪声更划算，相应的隐变量维度就被关闭。
#
# <details><summary>深入一步：线性模型的最优解</summary>
#
# 沿第 $j$ 个特征向量方向，若 $\lambda_j > c$，$W$ 对应列的长度为 $\sqrt{\lambda_j - c}$，否则为零。
# </details>
#
# 线性 VAE 具有相同的最优解（Lucas 等人 [6]），所以坍塌是目标函数本身的要求，而不是训练的失败。我们的网络不是线性的，但“大于 $c$ 的特征值个数，至多为 $k = 8$”是一个不错的初步猜测：

# %%
lam = np.linalg.eigvalsh(np.cov(x_train.T))[::-1]   # data-covariance eigenvalues, largest first
print("largest eigenvalues of the data covariance:", np.round(lam[:9], 3))
predicted = [min(8, int((lam > cv).sum())) for cv in C_GRID]
print("     c   eigenvalues > c (at most 8)   active units observed")
for cv, pred, obs in zip(C_GRID, predicted, summary.active):
    print(f"{cv:6.3f}   {pred:27d}   {obs:21d}")

# %% [markdown] en_sha="3d0e8fa99b76"
# 对这个训练种子，预测与训练出的网络在七个 $c$ 值中的六个上吻合。在 $c = 0.1$ 处差了一维，而规则在那里给出 8，只是因为 $k = 8$ 封了顶：超过 0.1 的特征值共有十二个（打印只列到第九个），网络却只保留 7 维。应当把这条规则看作判断坍塌从哪里开始的指引，而不是精确的计数（练习 1 得到同样的结论）。
#
# <details><summary>深入一步：$c = 0.1$ 处的偏差是训练没做完造成的吗？</summary>
#
# 吻合的六个中有五个处于 8 维的上限或完全坍塌。这条规则对处在最优点的线性解码器是精确的，但解释不了这次偏差。是训练没做完吗？不是：训练步数增加到四倍后，网络仍保留 7 维。把训练从 500 步延长到 2000 步，对训练种子 0、1、2，网格在 $c = 0.1$ 处都保留 7 维（种子 1 和 2 在 500 步时保留 8 个，那只是中途的快照），在 $c = 0.316$ 处则都是规则给出的 4 个。训练足够久之后，这些网络保留的隐变量维度比线性规则给出的少，而不是多；练习 1 在 $c = 0.2$ 处也发现了同样的情况。线性模型能说明最后一维有多么无足轻重：特征值为 $\lambda > c$ 的方向，使对数似然每张图像提高 $\frac12(\lambda/c - 1 - \log(\lambda/c))$ nat，第一个方向（$\lambda = 0.702$）为 2.04，第八个（$\lambda = 0.172$）只有 0.09。tests/test_notebook_claims_03_04.py 会重跑这些 2000 步的网格。
# </details>
#
# 下面是滑块会重绘的那张图，这里分别取 $c = 0.01$ 和已坍塌的 $c = 1$。左下：负 ELBO 的两个部分（对数坐标轴），以及画在右侧坐标轴上、带常数的完整 $-$ELBO（即第 2 节的提醒：只有这个总和才能在不同的 $c$ 之间比较）。

# %%
plot_c_tradeoff(c=0.01, summary=summary)

# %%
plot_c_tradeoff(c=1.0, summary=summary)

# %% [markdown] en_sha="46a222b60a84"
# 比较每张图上方的两行。在 $c = 0.01$ 时，重建几乎是留出数字的精确复制，然而从 $z \sim N(0, I)$ 解码出的样本却是混杂了几个数字笔画的污迹。在 $c = 1$ 时，两行都是同一个平均数字：$x$ 的任何信息都没有传到 $z$。
#
# <details><summary>深入一步：为什么好的重建不等于好的样本</summary>
#
# 好的重建说明，编码器和解码器在编码器所产生的那些编码上达成了一致；好的样本则要求从先验中抽出的编码也能被很好地解码，而训练目标只通过 KL 项（这里每张图像 16.2 nat）把这两者联系起来。
# </details>
#
# ### 动手试试：移动 $c$
#
# 滑块的每个位置对应七个已训练模型中的一个，图根据预先计算好的 `summary` 绘制（无需重新训练）：

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_c_tradeoff, log_slider("c", 0.01, C_GRID[0], C_GRID[-1], steps_per_decade=2),
             summary=summary)

# %% [markdown] en_sha="ea3ee67494a8"
# **常数何时重要（1）：比较不同的 $c$。** 七个模型在留出集上的负 ELBO，分别带上和不带 $\frac{d}{2}\log(2\pi c)$：

# %%
with_const = summary.reconstruction + summary.constant + summary.kl
without_const = summary.reconstruction + summary.kl
for cv, a, b in zip(C_GRID, with_const, without_const):
    print(f"c = {cv:6.3f}:  -ELBO {a:8.1f}   without the constant {b:8.1f}")
best, best_wrong = C_GRID[np.argmin(with_const)], C_GRID[np.argmin(without_const)]
print(f"best c with the constant: {best:.3g}; without it: {best_wrong:.3g} (a collapsed model)")

# %% [markdown] en_sha="c46e76c762e6"
# 不带常数时，“最好”的模型是 $c$ 最大的那个已坍塌模型，这仅仅是因为除以一个大的 $c$ 会让任何误差看起来都很小。带上它，排序所依据的才是真正的留出集似然下界。
#
# **常数何时重要（2）：最佳的 $c$ 就是每像素 MSE。** 冻结 $k = 2$ 模型的网络，只对 $c$ 最小化其留出集负 ELBO（每个 $c$ 都使用相同的噪声）。最小值点就是 $S/d$：

# %%
rec = negative_elbo_terms(model, x_test, 1.0, rng=3).reconstruction
mse = ((rec - gaussian_log_norm(d, 1.0)) * 2 / d).mean().item()  # S / d with c = 1
def J(log_c):  # the held-out -ELBO as a function of log c alone
    return negative_elbo(model, x_test, math.exp(log_c), rng=3).mean().item()

lo, hi = -8.0, 2.0  # search log c in [-8, 2]; J falls, then rises (section 2)
# golden-section search: compare J at two inner points, keep the part of [lo, hi] that holds the
# minimum (0.618 = 1 / golden ratio lets a textbook version reuse one point per step; we
# recompute both). J is float32: points closer than ~3e-4 in log c look alike, so stop at 1e-4
while hi - lo > 1e-4:
    a, b = hi - 0.618 * (hi - lo), lo + 0.618 * (hi - lo)
    lo, hi = (lo, b) if J(a) < J(b) else (a, hi)
c_best = math.exp((lo + hi) / 2)
print(f"argmin over c of the held-out -ELBO: {c_best:.3f}; per-pixel MSE: {mse:.3f}; "
      f"their ratio: {c_best / mse:.3f}")

# %% [markdown] en_sha="369bce896128"
# **常数何时重要（3）：学习 $c$。** 在同一个模型上计算目标函数对 $c$ 的梯度。带常数时，梯度在每像素 MSE 以下为负、以上为正，所以对 $c$ 做梯度下降会停在 MSE 处（`train_vae(..., learn_c=True)` 就是这么做的，在 $\log c$ 上进行）。不带常数时，梯度处处等于 $-S/(2c^2) < 0$：$c$ 会永远增长下去。

# %%
for factor in (0.5, 2.0, 10.0):
    c_t = torch.tensor(factor * mse, dtype=torch.float64, requires_grad=True)
    terms = negative_elbo_terms(model, x_test, c_t, rng=3)
    grad_with = torch.autograd.grad(terms.total.mean(), c_t, retain_graph=True)[0].item()
    no_const = terms.reconstruction - gaussian_log_norm(d, c_t)
    grad_without = torch.autograd.grad((no_const + terms.kl).mean(), c_t)[0].item()
    print(f"c = {factor:4.1f} x MSE: dJ/dc with the constant {grad_with:+10.1f}, "
          f"without {grad_without:+10.1f}")

# %% [markdown] en_sha="eed5e34b3050"
# ## 7. 选读：需要多少个样本 $L$？（原文 §2，式 (2.8)）
#
# 对任意 $L$，式 (2.8) 中 $L$ 个样本的平均都是期望的无偏估计；$L$ 只改变它的噪声大小。下面是训练好的 $k = 2$ 模型在 128 张留出图像上、梯度随新抽取的噪声而产生的离散程度（对所有参数求总方差）：

# %%
noise = {L: gradient_noise(model, x_test[:128], C_MAIN, n_samples=L, n_repeats=24, rng=L)
         for L in (1, 4, 16)}
for L, g in noise.items():
    print(f"L = {L:2d}: gradient variance {g.variance:9.3g}   L x variance {L * g.variance:9.3g}   "
          f"|mean gradient|^2 {g.mean_sq_norm:9.3g}")
ratio_1_16 = noise[1].variance / noise[16].variance
print(f"variance(L=1) / variance(L=16) = {ratio_1_16:.1f} (1/L predicts 16); with 24 repeats "
      f"each variance has a relative standard error of about {math.sqrt(2 / 23):.0%}")

# %% [markdown] en_sha="bf6304e067db"
# 方差大致按 $1/L$ 下降：$L \times$ 方差保持在 318 到 402 之间。这能否换来更好的模型，是练习 5 的内容。
#
# <details><summary>深入一步：方差本身的不确定性，以及 $L$ 的代价</summary>
#
# 这 128 张图像正好是一个训练批次的大小。每个方差本身也有不确定性（最后一行）。$L = 8$ 时每一步要运行解码器 8 次，而通常的选择是把同样的时间花在 $L = 1$ 的更多步上（Kingma 与 Welling [1] 用的就是 $L = 1$）。
# </details>
#
# ## 8. 原文引出的比较（原文 §2，式 (2.3) 下方的注记）
#
# **在二维隐空间下，笔记本 02 的朴素解码器在我们试过的两个训练预算下得分都高于我们的 VAE。** 笔记本 02 照字面执行了原文的建议：通过最大化证据的朴素蒙特卡洛估计（式 (2.3)）来训练解码器 $f_\theta$，$z$ 从先验中抽取，完全不用编码器。我们用 VAE 的解码器网络、$c$、批大小和学习率重新训练它，使唯一的区别是目标函数，并用同一把几乎精确的尺子在留出的数字上给两者打分：当 $k = 2$ 时，证据积分可以在 $z$ 的精细网格上计算（`decoder_log_evidence`，笔记本 02）。两条曲线都还在变化，所以我们用两个预算：200 步和 800 步。
#
# <details><summary>深入一步：实验设置，以及一次运行得到两个预算</summary>
#
# 第 5 节的 VAE 与重新训练的朴素解码器具有相同的隐变量维度（$k = 2$）、相同的解码器网络（`mlp(2, 128, 128, 64)`：两个 128 单元的隐藏层）以及相同的 $c = 0.03$，批大小和学习率也相同。笔记本 02 自己的那次运行规模更小：一个 128 单元的隐藏层，300 步。
#
# 两种训练都是确定性的，且都没有学习率调度，因此在第 200 步保留下来的模型（`snapshot_steps`）恰好就是一次 200 步的运行最终得到的模型：每种方法只需运行一次，就能得到两个预算下的结果。
#
# 这把尺子的网格在 $[-5, 5]^2$ 上每个坐标轴取 200 个点，点间距约 0.05。换成 $[-6, 6]^2$ 上点间距 0.02 的网格，下面每个平均得分的变化都小于 0.001 nat（由 tests/test_notebook_claims_03_04.py 检查），不过个别图像的得分最多会变 0.05：这个方框要装下的是每张图像的后验，而后验伸展得比先验那 $10^{-6}$ 的尾部更远。
# </details>

# %%
from helpers.naive_decoder import decoder_log_evidence, train_naive_decoder

# L = 256 prior samples per step for the naive estimate, as in notebook 02
naive = train_naive_decoder(x_train, z_dim=2, c=C_MAIN, n_samples=256, steps=800,
                            batch_size=128, hidden=(128, 128), lr=3e-3, seed=0,
                            snapshot_steps=[200])
print(f"naive decoder wall time: {naive.train_s:.1f} s, VAE wall time: {main.train_s:.1f} s "
      f"(800 steps each)")
decoders = {200: (naive.snapshots[200], main.snapshots[200][0].decoder),
            800: (naive.f_theta, main.model.decoder)}
quadrature = dict(grid_size=200, grid_range=5.0)  # 200 x 200 values of z on [-5, 5]^2
scores = {steps: (decoder_log_evidence(f_naive, x_test, C_MAIN, z_dim=2, **quadrature).mean(),
                  decoder_log_evidence(f_vae, x_test, C_MAIN, z_dim=2, **quadrature))
          for steps, (f_naive, f_vae) in decoders.items()}
print("held-out log p(x) per image, grid quadrature:")
for steps, (ll_naive, ll_vae_steps) in scores.items():
    print(f"  {steps} steps: naive decoder {ll_naive:.2f}, VAE {ll_vae_steps.mean():.2f}, "
          f"VAE - naive {ll_vae_steps.mean() - ll_naive:+.2f} nats")
ll_vae = scores[800][1]
print(f"VAE at 800 steps: importance-weighted (K = 250) {iw_test.mean().item():.2f}; "
      f"ELBO {elbo_test:.2f}")

# %% [markdown] en_sha="619f20572d14"
# 朴素解码器的领先幅度是：200 步时每张图像 2.79 nat，800 步时 2.09 nat（一个随机种子）。两者的得分都还在上升，VAE 稍快一些，所以这些数字无法说明到了平台期谁会胜出。
#
# <details><summary>深入一步：得分与墙钟时间</summary>
#
# 从 200 步到 800 步，朴素解码器从 7.99 升到 18.04，VAE 从 5.20 升到 15.95。打印出的墙钟时间仅供参考；它们取决于机器及其负载。
# </details>
#
# **VAE 的解码器为什么可能落败：两个间隙。** VAE 的训练信号是它的 ELBO，而 ELBO 位于它自己的 $\log p(x)$ 之下（两者均已打印）。Cremer 等人 [9] 把这一间隙拆成两部分：
#
# $$\log p(x) - \text{ELBO}(q_\phi) = \underbrace{\log p(x) - \text{ELBO}(q^\ast_x)}_{\text{approximation gap}}
#   + \underbrace{\text{ELBO}(q^\ast_x) - \text{ELBO}(q_\phi)}_{\text{amortisation gap}},$$
#
# 其中 $q^\ast_x$ 是针对这一个 $x$ 的最佳对角高斯分布。近似间隙 (approximation gap) 就是笔记本 03 中的平均场间隙。摊销间隙 (amortisation gap) 则是新出现的：VAE 的编码器是一个网络，必须为每一个 $x$ 给出 $q_\phi(z \mid x)$，包括它从未见过的留出图像：这就是**摊销推断 (amortised inference)** [2]，它代价低廉（一次前向传播，而不是对每个 $x$ 各做一次优化），但对每个具体的 $x$ 而言并非最优。下一个单元格测量这两个间隙。
#
# <details><summary>深入一步：两个间隙，以及摊销间隙是怎样测量的</summary>
#
# 当后验是相关的（笔记本 03 的情形）或根本不是高斯分布时，没有哪个*对角*高斯分布能与之匹配：这就是近似间隙。笔记本 03 为每个数据点单独拟合一个 $q$；VAE 则不然，于是有了摊销间隙。
#
# `fit_per_point_q` 冻结解码器，从编码器的输出出发，对每张留出图像在其 ELBO 上（$L = 4$）用 60 步 Adam 拟合一组单独的 $(\mu, \sigma)$。然后用每张图像相同的 64 个样本给两种 ELBO 打分。短时间的优化只会达不到最佳的 $q^\ast_x$，所以打印出的摊销间隙是一个偏低的估计（练习 4）。
# </details>

# %%
per_point = fit_per_point_q(model, x_test, C_MAIN, steps=60, n_samples=4, lr=0.1, n_eval=64,
                            rng=4)
elbo_enc, elbo_pp = per_point.elbo_encoder.mean(), per_point.elbo_per_point.mean()
print("held-out, nats per image (k = 2 VAE, 800 steps):")
print(f"  log p(x), grid             {ll_vae.mean():7.2f}")
print(f"  ELBO, per-point q          {elbo_pp:7.2f}   approximation gap {ll_vae.mean() - elbo_pp:5.2f}")
print(f"  ELBO, encoder's q          {elbo_enc:7.2f}   amortisation gap  {elbo_pp - elbo_enc:5.2f}")

# %% [markdown] en_sha="9ea57d915949"
# 这个 VAE 的 ELBO 与其 $\log p(x)$ 之间的间隙主要来自摊销间隙，它是在编码器从未见过的留出图像上测得的。
#
# **结论。** 在二维隐空间下，原文的朴素方法是可行的（它在两个训练预算下得分都更高）：VAE 优化的是一个下界，摊销比 $q$ 的形状更多地放松了它。
#
# <details><summary>深入一步：结论的细节</summary>
#
# 如果为每张图像配上它自己的 $q$，同一个解码器的 ELBO 与 $\log p(x)$ 之间就只剩下近似间隙。在我们测量的两个预算下，用式 (2.3) 训练的解码器在留出集上的对数似然都高于我们的 VAE，并且预算越长，差距越小。VAE 优化的是一个下界而不是 $\log p(x)$。两个预算为 200 步和 800 步，单个随机种子，相同的解码器网络、$c$、批大小和学习率。上表显示了 VAE 的下界在这里有多松。$K = 250$ 的重要性加权估计在测试时弥合了这一间隙的大部分，但训练过程看不到它。
# </details>
#
# VAE 换来的是可扩展性：朴素估计量所需的先验样本数随隐变量维度指数增长（笔记本 02），而式 (2.7)–(2.8) 的代价对 $k = 2$ 和 $k = 20$ 都一样，并且 VAE 还附带一个编码器。一旦隐变量维度超过寥寥几维，朴素解码器就不再可行。
#
# ## 小结
#
# - 式 (2.6) 的高斯假设把 ELBO 变成三部分：平方误差除以 $2c$、常数 $\frac d2 \log(2\pi c)$，以及闭式 KL；一个训练步只需十几行代码。
# - 重参数化梯度与分数函数梯度的均值相同；分数函数的方差大了 13 倍。
# - 常数决定了不同 $c$ 之间的比较：不带常数时，已坍塌的模型看起来“最好”；带上常数时，网格上最好的 $c$ 是 0.0316。对于固定的网络，最佳的 $c$ 就是每像素平方误差。
# - 后验坍塌遵循数据协方差的谱：一个方向只有当其特征值超过 $c$ 时才能存活（概率 PCA），这可以指引坍塌从哪里开始（对这个种子，七个计数中吻合六个）；在与规则不符的地方，训练足够久的网络保留的维度更少。
# - VAE 在留出集上的 ELBO 比其 $\log p(x)$ 低出一个近似间隙和一个摊销间隙；这里摊销间隙是较大的那个。
# - 当 $k = 2$ 时，在 200 步和 800 步下，笔记本 02 的朴素解码器得分都高于 VAE，且差距随训练而缩小。
# - 接下来是笔记本 05：扩散模型是一个带有许多隐变量、编码器固定的 VAE，用同一个 ELBO 训练。
#
# ## 练习（先预测，再检验）
#
# 先把预测写下来，再动手检验。
#
# 1. **坍塌从哪里开始？** 仅根据打印出的特征值，预测在 $c = 0.2$（介于两个网格点之间的值）时有多少个隐变量维度保持活跃。
#
#    <details><summary>检验，然后看解答</summary>
#
#    用 `result = train_vae(x_train, x_test, c=0.2, z_dim=8, hidden=64, steps=2000, batch_size=128, lr=5e-3)` 和 `c_grid_summary(result.models, [0.2], x_test, rng=0).active` 验证；再用 `steps=500`（网格所用的训练量）验证一次。
#
#    有六个特征值超过 0.2，而且边界处几乎持平（上方为 0.234，下方为 0.197），因此规则预测为 6。训练 2000 步后，验证打印出 `[4]`：网络比规则少保留两维，正如它在 $c = 0.1$ 处少保留一维。训练 500 步时打印出 `[8]`，1000 步时为 `[5]`：短时间的训练只是各维仍在陆续关闭时的一张快照，偏差可能朝任一方向。特征值规则对处在最优点的线性解码器是精确的；请把它当作判断坍塌从哪里开始的指引，而不是精确的计数。
#    </details>
#
# 练习 2-5 更进一步。
#
# <details><summary>练习 2-5：学习 $c$、给分数函数加基线、逐点拟合的 $q$、更大的 $L$</summary>
#
# 2. **学习 $c$**（超出正文）。用 `learn_c=True` 训练 $k = 2$ 的 VAE，从 `c=1.0`（一个已坍塌的起点）出发，按第 5 节的设置训练 800 步，并在查看结果之前预测最终的 `result.c`。
# 3. **给分数函数加上基线**（超出正文）。如果把 $g(z)$ 换成 $g(z) - b$（$b$ 为任意常数），分数函数估计量仍然是无偏的，因为 $\mathbb{E}_q[\nabla_\mu \log q] = 0$。预测 $b = \mathbb{E}_q[g] = \sigma^2 +
#    (\mu - a)^2 = 3.25$ 会使其方差变大还是变小。
# 4. **逐点拟合的 $q$ 与编码器对比**（超出正文）。把第 8 节对 `fit_per_point_q` 的调用再运行一次，只把 60 步换成 `steps=800`。预测摊销间隙的估计值会如何变化，以及近似间隙能否低于零。
# 5. **更大的 $L$ 能换来更好的模型吗？** 第 7 节显示梯度方差按 $1/L$ 下降。把一个小 VAE（一个 64 单元的隐藏层）分别以 $L = 1$ 和 $L = 8$ 训练 300 步。预测两者在留出集负 ELBO 上的差别，以及 $L = 8$ 的运行要多花多少时间。
# </details>
#
# <details><summary>练习 2-5：检验与解答</summary>
#
# 2. 运行 `result = train_vae(x_train, x_test, c=1.0, learn_c=True,
#    z_dim=2, hidden=(128, 128), steps=800, batch_size=128, lr=3e-3, seed=0)`，然后 `print(result.c)`。
#    第 6 节表明，对于固定的网络，最佳的 $c$ 是每像素平方误差，只有百分之几（$c = 0.03$ 的模型为 0.033）。但验证时打印出约 0.109：Adam 每一步对 $\log c$ 的改变大约不超过学习率，总共 $800 \times 0.003 = 2.4$，所以从 $c = 1$ 出发，800 步内无法降到 $e^{-2.4} \approx 0.09$ 以下。设 `steps=3000`，它会到达 0.0264，正如预测的那样只有百分之几：接近该模型在训练图像上的每像素误差（0.0260），也就是它所拟合的数据上的误差；在留出的数字上，它的误差为 0.029。
# 3. 用 `z = 0.5 + np.random.default_rng(0).standard_normal(100_000)` 和 `(((z - 2)**2 - 3.25) * (z - 0.5)).var()` 验证。
#    变小：减去 $g$ 的均值，就去掉了估计量中只是对零均值的分数作缩放的那一部分。方差从 52.5（第 3 节的打印结果）降到 28.7，但仍高于重参数化估计量的 4。
# 4. 步数越多，逐点 ELBO 越高，因此摊销间隙的估计值会向其真实值增大（第 8 节的 60 步时为 2.83 nat，800 步时为 2.88），近似间隙则随之缩小（从 0.58 降到 0.53）。除去蒙特卡洛噪声，近似间隙不可能低于零：任何 ELBO 都低于 $\log p(x)$。
# 5. 对 `L` 分别取 1 和 8，运行 `train_vae(x_train, x_test, c=C_MAIN, z_dim=2, hidden=64, n_samples=L, steps=300, seed=0)`，并比较每个结果的 `result.history.test[-1, 0]`。
#    不到 1 nat：我们测得 $L = 8$ 每张图像好 0.4 nat，只用了一个种子，差距太小，不足以称为提升。Adam 的平均机制正是用来应对 $L = 1$ 所留下的噪声的。$L = 8$ 的运行耗时更长，但不到 8 倍：每一步只有解码器运行 8 次，编码器和优化器更新都只运行一次。通常的做法是把这些时间用于 $L = 1$ 的更多步。
# </details>
#
# ## 参考文献
#
# <details><summary>参考文献</summary>
#
# 1. D. P. Kingma, M. Welling. Auto-encoding variational Bayes. ICLR 2014（即原文的 [6]）。
# 2. D. P. Kingma, M. Welling. An introduction to variational autoencoders. Foundations and
#    Trends in Machine Learning, 2019.
# 3. D. J. Rezende, S. Mohamed, D. Wierstra. Stochastic backpropagation and approximate
#    inference in deep generative models. ICML 2014.
# 4. Y. Burda, R. Grosse, R. Salakhutdinov. Importance weighted autoencoders. ICLR 2016.
# 5. M. E. Tipping, C. M. Bishop. Probabilistic principal component analysis. JRSS B, 1999.
# 6. J. Lucas, G. Tucker, R. Grosse, M. Norouzi. Don't blame the ELBO! A linear VAE perspective
#    on posterior collapse. NeurIPS 2019.
# 7. I. Higgins et al. beta-VAE: learning basic visual concepts with a constrained variational
#    framework. ICLR 2017.
# 8. R. J. Williams. Simple statistical gradient-following algorithms for connectionist
#    reinforcement learning. Machine Learning, 1992.
# 9. C. Cremer, X. Li, D. Duvenaud. Inference suboptimality in variational autoencoders. ICML
#    2018.
# 10. O. Rybkin, K. Daniilidis, S. Levine. Simple and effective VAE training with calibrated
#    decoders. ICML 2021（即 σ-VAE）。
# 11. A. Alemi, B. Poole, I. Fischer, J. Dillon, R. A. Saurous, K. Murphy. Fixing a broken ELBO.
#    ICML 2018（码率与失真）。
# 12. B. Dai, D. Wipf. Diagnosing and enhancing VAE models. ICLR 2019.
# </details>

# %%
print(f"whole notebook: wall time: {time.perf_counter() - notebook_start:.1f} s")
