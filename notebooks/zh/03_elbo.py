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

# %% [markdown] en_sha="b147a5f4bf15"
# # 03 · 从证据到 ELBO
#
# 本笔记本配合原文《扩散模型原理》第 2 节的小节“优化目标的代理：优化证据下界ELBO”（式 (2.4) 和式 (2.5)）。图中的标注、程序打印的结果和代码注释都用英文；第 1 节的图后附有图中标注对照，文中首次出现的术语也都给出了英文。
#
# **问题。** 笔记本 02 表明：通过从先验中采样 $z$ 来估计证据 $\log p_\theta(x)$，代价很高。能否换一个计算起来更便宜、却仍能把证据推高的量来优化？
#
# 我们在笔记本 02 的线性高斯模型上回答这个问题。在这个模型中，证据、后验和下界都有精确值，因此下面的每一行结果都可以与真值对照。
#
# **学习目标。** 学完本笔记本后，你能够
# 1. 用两种方式推导 ELBO：一是沿着原文的恒等式链（式 (2.4)），二是借助 Jensen 不等式；并说出证据与 ELBO 之间的间隙究竟是什么；
# 2. 把 ELBO 拆成重建项和先验匹配项（式 (2.5)），并说出每一项把 $q$ 拉向何处；
# 3. 解释为什么优化 $\phi$ 只能在 $q$ 的分布族所允许的范围内收紧下界（平均场间隙），以及为什么对角的 $q$ 会低估边缘方差；
# 4. 解释优化 $\theta$ 对证据有什么作用，以及 EM 能保证什么。
#
# **术语**（括号内为对应的英文；原文用过的中文说法照用原文，其余取通行译法）在首次使用时以粗体标出：证据 (evidence)、后验 (posterior)、编码器 (encoder)、概率解码器 (probabilistic decoder)、KL散度 (KL divergence)、证据下界 (evidence lower bound, ELBO)、蒙特卡洛 (Monte Carlo)、重要性采样 (importance sampling)、重建项 (reconstruction term)、先验匹配项 (prior matching term)。参考文献 [1]-[6] 列于文末。
#
# **阅读时间与路线图。** 核心路线约需 14 分钟阅读（运行只需几秒）：§1-§5 和小结。选读部分另需约 8 分钟：“展望”一节和练习。

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
import time

import numpy as np

from helpers.elbo import (alternate_phi_theta, best_mean_field, elbo_terms, eq24_lines, fit_q,
                          gaussian_kl, gaussian_kl_to)
from helpers.evidence import LinearGaussian
from helpers.plots.elbo import (plot_elbo_gap, plot_elbo_terms, plot_graphical_model,
                                plot_mean_field, plot_subgoals)
from helpers.widgets import float_slider, slider_panel

notebook_start = time.perf_counter()

# %% [markdown] en_sha="fc916654fe5f"
# ## 1. 把模型画出来（原文 §2“优化目标的代理：优化证据下界ELBO”，图 1）
#
# ELBO 需要一个新角色：由 $x$ 猜测 $z$ 的编码器。隐变量 $z$ 从一个简单的先验 $p(z) = N(0, I)$ 中抽取，再由**概率解码器 (probabilistic decoder)** $p_\theta(x \mid z)$ 变成观测 $x$。反过来，从观测到的 $x$ 推回可能产生它的那些 $z$ 值，则是**后验 (posterior)** 分布 $p_\theta(z \mid x)$ 的任务。对于神经网络解码器，后验没有解析表达式，因此我们引入第二个分布，即带有自身参数 $\phi$ 的**编码器 (encoder)** $q_\phi(z \mid x)$，让它去近似后验。这一对网络就是 Kingma 与 Welling [1] 以及 Rezende 等人 [5] 提出的变分自编码器。（原文在此处使用了一张借自另一篇博客的图；这里是我们自己绘制的。）请留意从 $x$ 指回 $z$ 的两支箭头：编码器（虚线）由我们选择，后验（点线）是它应当逼近的对象。

# %%
plot_graphical_model()

# %% [markdown] en_sha="5d9ad1f44a81"
# **图中标注对照：** latent 隐变量 · observed (shaded) 观测变量（灰色） · decoder 解码器 · generative model, parameters $\theta$ 生成模型，参数 $\theta$ · encoder 编码器 · exact posterior 精确后验 · $q_\phi$ approximates it $q_\phi$ 近似它。
#
# 我们想要提高的量是笔记本 02 中的**证据 (evidence)** $\log p_\theta(x)$。试验用的是线性高斯模型（概率 PCA [4]）：$z \sim N(0, 1)$，$x \mid z \sim N(Wz + b, cI)$，其中 $k = 1$、$x$ 为二维；`LinearGaussian` 能给出它的精确证据和（正态的）精确后验。我们观测一个 $x$，并特意选一个很差的 $q$。

# %%
model = LinearGaussian(W=[[1.5], [0.8]], b=[0.5, -0.3], c=0.5)
x_obs, z_true = model.sample(1, rng=0)
x_obs = x_obs[0]
post_mean, post_cov = model.posterior(x_obs)
post_std = np.sqrt(np.diag(post_cov))
q_mean, q_std = np.array([-0.5]), np.array([0.8])   # an arbitrary q(z|x)

print(f"observed x = {np.round(x_obs, 3)} (its z was {z_true[0, 0]:.3f})")
print(f"exact log p(x) = {model.log_evidence(x_obs):.4f}")
print(f"exact posterior p(z|x) = N({post_mean[0]:.3f}, {post_std[0]:.3f}^2)")
print(f"our q(z|x)             = N({q_mean[0]:.3f}, {q_std[0]:.3f}^2)")

# %% [markdown] en_sha="4129671f5e88"
# ## 2. 逐行检验式 (2.4)（原文 §2，ELBO）
#
# 式 (2.4) 表明：证据等于 ELBO 加上一个 KL散度，所以 ELBO 是证据的下界，而那个 KL散度恰好就是间隙。原文分七步得到这个结论：
#
# $$
# \begin{aligned}
# \log p_\theta(x) &= \log p_\theta(x) \int q_\phi(z \mid x)\, dz && (1)\\
# &= \int q_\phi(z \mid x) \log p_\theta(x)\, dz && (2)\\
# &= \mathbb{E}_{q_\phi(z \mid x)}[\log p_\theta(x)] && (3)\\
# &= \mathbb{E}_{q_\phi(z \mid x)}\Big[\log \frac{p_\theta(x, z)}{p_\theta(z \mid x)}\Big] && (4)\\
# &= \mathbb{E}_{q_\phi(z \mid x)}\Big[\log \frac{p_\theta(x, z)\, q_\phi(z \mid x)}{p_\theta(z \mid x)\, q_\phi(z \mid x)}\Big] && (5)\\
# &= \mathbb{E}_{q_\phi(z \mid x)}\Big[\log \frac{p_\theta(x, z)}{q_\phi(z \mid x)}\Big]
#    + \mathbb{E}_{q_\phi(z \mid x)}\Big[\log \frac{q_\phi(z \mid x)}{p_\theta(z \mid x)}\Big] && (6)\\
# &= \underbrace{\mathbb{E}_{q_\phi(z \mid x)}\Big[\log \frac{p_\theta(x, z)}{q_\phi(z \mid x)}\Big]}_{\text{ELBO}}
#    + D_{\mathrm{KL}}\big(q_\phi(z \mid x) \,\|\, p_\theta(z \mid x)\big) && (7)\\
# &\ge \text{ELBO} && (8)
# \end{aligned} \tag{2.4}
# $$
#
# 第 1 行乘以 $\int q = 1$；第 4 行是贝叶斯公式：对每个 $z$ 都有 $p(x) = p(x, z) / p(z \mid x)$；第 5 行乘以 $q/q = 1$；第 6 行把对数拆开；第 7 行给第二个期望起了名字，即从 $q$ 到后验的 **KL散度 (KL divergence)**。它永远非负，由此得到第 8 行：第一项是证据的一个下界，称为**证据下界 (evidence lower bound, ELBO)**。
#
# `eq24_lines` 针对我们的 $x$ 和 $q$ 计算每一行的值；凡是期望，都用**蒙特卡洛 (Monte Carlo)** 估计，即对 $L = 10^5$ 个样本 $z_l \sim q$ 取平均。
#
# <details><summary>深入一步：表中每一行是怎样算出来的</summary>
#
# 积分形式的行用数值积分计算，期望形式的行用蒙特卡洛估计，其余凡有闭式解的都精确计算（证据，以及第 7 行中两个正态分布之间的 KL散度）。
# </details>

# %%
rows = eq24_lines(model, x_obs, q_mean, q_std, n_samples=100_000, rng=1)
log_px = model.log_evidence(x_obs)
def show_se(se):   # standard errors at rounding level (below 1e-12) are shown as such
    return f"{se:8.1e}" if se >= 1e-12 else "  <1e-12" if se > 0 else "       0"

print(f"{'line':>4}  {'expression':<38} {'method':<14} {'value':>9} {'MC s.e.':>8}")
for r in rows:
    print(f"{r.line:>4}  {r.expression:<38} {r.method:<14} {r.value:9.4f} "
          f"{show_se(r.se)}")
assert rows[-1].value < log_px

# %% [markdown] en_sha="ea1d66dbeee3"
# 第 0 到 7 行都与精确的 $\log p(x)$ 一致（第 7 行在其标准误范围内一致）。有两处值得再看一眼。
#
# * 第 3 到 6 行是蒙特卡洛平均，标准误却小于 $10^{-12}$（只是舍入误差）：由贝叶斯公式，对*每一个* $z$ 都有 $\log p(x, z) - \log p(z \mid x) = \log p(x)$。只有第 6 行拆出的两部分各自带有随机性，而它们的误差在求和时相互抵消：

# %%
elbo_mc, kl_mc = rows[6].parts
print(f"line 6, first part  (ELBO, Monte Carlo):          {elbo_mc:.4f}")
print(f"line 6, second part (KL(q || p(z|x)), Monte Carlo): {kl_mc:.4f}")
print(f"sum: {elbo_mc + kl_mc:.4f}   log p(x): {log_px:.4f}")

# %% [markdown] en_sha="a42b154d8837"
# * 证据与下界之间的间隙*就是*从 $q$ 到精确后验的 KL散度，不是近似相等，而是严格相等。利用 `LinearGaussian.elbo` 给出的 ELBO 闭式解，以及对角正态分布与满协方差正态分布之间 KL 的闭式解（`gaussian_kl_to`），两者在舍入误差范围内一致：

# %%
gap = log_px - model.elbo(x_obs, q_mean, q_std)
kl_to_posterior = gaussian_kl_to(q_mean, q_std, post_mean, post_cov)
print(f"log p(x) - ELBO        = {gap:.10f}")
print(f"KL(q || p(z|x)) exact  = {kl_to_posterior:.10f}")
assert abs(gap - kl_to_posterior) < 1e-12
print("they differ by less than 1e-12")

# %% [markdown] en_sha="7e63f3c955bc"
# ### 用 Jensen 不等式得到同一个下界
#
# 多数教材只用一行、而不是七行就得到 ELBO。把证据写成关于 $q$ 的期望（这就是以 $q$ 为提议分布的**重要性采样 (importance sampling)**），再利用 $\log$ 是凹函数，从而 $\log \mathbb{E}[w] \ge \mathbb{E}[\log w]$（Jensen 不等式）：
#
# $$
# \log p_\theta(x) = \log \mathbb{E}_{q_\phi(z \mid x)}\Big[\frac{p_\theta(x, z)}{q_\phi(z \mid x)}\Big]
# \;\ge\; \mathbb{E}_{q_\phi(z \mid x)}\Big[\log \frac{p_\theta(x, z)}{q_\phi(z \mid x)}\Big] = \text{ELBO}.
# $$
#
# （这是教材中常见的推导路线，例如 [2]。）Jensen 不等式给出了不等号，却隐藏了两边相差多少；式 (2.4) 则点明了这个间隙就是 KL$(q \,\|\, p(z \mid x))$。两边都很容易用同一批样本 $z_l \sim q$ 来估计，权重取 $w_l = p(x \mid z_l)\,p(z_l) / q(z_l \mid x)$：平均权重的对数估计左边，对数权重的平均估计右边。

# %%
from helpers.bits import mean_and_se
from helpers.evidence import log_mean_exp
from helpers.gaussian import diag_gaussian_log_pdf, standard_normal_log_pdf

z_q = q_mean + q_std * np.random.default_rng(5).standard_normal((100_000, 1))   # z_l ~ q
log_w = (model.log_likelihood(x_obs, z_q) + standard_normal_log_pdf(z_q)
         - diag_gaussian_log_pdf(z_q, q_mean, q_std))
print(f"log of the mean weight  {log_mean_exp(log_w):.4f}   "
      f"(exact log p(x) {log_px:.4f})")
elbo_mc = mean_and_se(log_w)
print(f"mean of the log weights {elbo_mc.mean:.4f} +- {elbo_mc.se:.4f}   "
      f"(exact ELBO {model.elbo(x_obs, q_mean, q_std):.4f})")

# %% [markdown] en_sha="15565717b486"
# 两边之差正是式 (2.4) 中的间隙。
#
# <details><summary>深入一步：介于两边之间的下界</summary>
#
# 如果在取期望之前，先在对数*内部*对 $K$ 个权重求平均，就得到介于两者之间的一族下界，且 $K$ 越大越紧：这就是 Burda 等人 [3] 的重要性加权下界，笔记本 04 用它给 VAE 打分（见下面的练习 4）。
# </details>
#
# ## 3. 动手试试：移动 $q$，观察间隙
#
# 只有当 $q$ 就是后验时，间隙才会闭合。左图：证据与 $q$ 无关，因此是一条水平线；对任何 $q$，ELBO（蓝色）都在它下方，红色竖条就是间隙 KL$(q \,\|\, p(z \mid x))$。右图：$q$（红色）叠画在精确后验（灰色）之上。请留意：两条曲线重合时，红色竖条随之消失。静态图展示的是上表中的那个 $q$。

# %%
plot_elbo_gap(mu=q_mean[0], sigma=q_std[0], model=model, x=x_obs)

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_elbo_gap,
             float_slider("mu", -0.5, -3.0, 3.0, 0.05),
             float_slider("sigma", 0.8, 0.05, 2.0, 0.05),
             model=model, x=x_obs)

# %% [markdown] en_sha="3be737db2a13"
# 当 $q$ 等于后验时，下界是紧的。用 2000 个随机的 $q$ 来检查：ELBO 从不超过证据，其中最大的一个与证据相差不到 0.01 nat；只有后验本身才能达到证据。

# %%
grid_rng = np.random.default_rng(2)
mus = grid_rng.uniform(-3, 3, size=(2000, 1))
sigmas = grid_rng.uniform(0.05, 2.0, size=(2000, 1))
elbos = model.elbo(x_obs, mus, sigmas)
print(f"largest ELBO over 2000 random q: {elbos.max():.4f} <= log p(x) = {log_px:.4f}")
assert np.all(elbos <= log_px)
tight = model.elbo(x_obs, post_mean, post_std)
print(f"ELBO at q = posterior: {tight:.10f}, log p(x) = {log_px:.10f}")
assert abs(log_px - tight) < 1e-12

# %% [markdown] en_sha="ec80a37865c5"
# ## 4. 式 (2.5)：ELBO 的两项（原文 §2，ELBO 的展开）
#
# ELBO 在“拟合 $x$”与“贴近先验”之间权衡。在 ELBO 中代入 $p_\theta(x, z) = p_\theta(x \mid z)\, p(z)$，再把对数拆开：
#
# $$
# \text{ELBO} = \underbrace{\mathbb{E}_{q_\phi(z \mid x)}[\log p_\theta(x \mid z)]}_{\text{reconstruction term (重建项)}}
# - \underbrace{D_{\mathrm{KL}}\big(q_\phi(z \mid x) \,\|\, p(z)\big)}_{\text{prior matching term (先验匹配项)}}
# \tag{2.5}
# $$
#
# **重建项 (reconstruction term)** 问的是：如果从 $q$ 中抽取 $z$ 并将其解码，得到我们所看到的那个 $x$ 的可能性有多大？**先验匹配项 (prior matching term)** 问的是：$q$ 偏离先验 $N(0, I)$ 有多远。两者都无需知道后验即可计算：前者通过采样 $z \sim q$，后者有闭式解（`gaussian_kl`，即原文在第 2 节末尾推导的公式）。`elbo_terms` 做的正是这件事；下面把它与我们这个 $q$ 的闭式结果作对照：

# %%
terms = elbo_terms(x_obs, q_mean, q_std, model.log_likelihood, n_samples=100_000, rng=3)
exact_elbo = model.elbo(x_obs, q_mean, q_std)
exact_kl = gaussian_kl(q_mean, q_std)
exact_rec = exact_elbo + exact_kl
print(f"reconstruction: {terms.reconstruction:.4f} +- {terms.se:.4f} (exact {exact_rec:.4f})")
print(f"prior matching: {terms.prior_matching:.4f} (exact, closed form)")
print(f"ELBO:           {terms.elbo:.4f} +- {terms.se:.4f} (exact {exact_elbo:.4f})")
assert np.isclose(terms.elbo, terms.reconstruction - terms.prior_matching, rtol=0, atol=1e-12)

# %% [markdown] en_sha="954c9989d14b"
# ### 哪一项在哪里占上风
#
# 两项把 $q$ 拉向不同的方向。左图：移动 $q$ 的均值，横轴放大到三个峰值附近，每条曲线都相对于它自己的最大值来画。先验匹配项（绿色）的峰值在 $0$；重建项（蓝色）的峰值在解码结果最接近 $x$ 的那个 $z$，即最小二乘解 $z_{\text{LS}} = W^\top(x - b) / W^\top W$。右图：改变 $q$ 的 sigma。重建项总是偏好更窄的 $q$（$z$ 的任何散布都会使解码出的均值变得模糊），而先验匹配项偏好 $\sigma = 1$，并且对过窄的 $q$ 施以没有上限的惩罚（来自其中的 $-\log \sigma$）。ELBO（黑色）的峰值位于两者斜率相互平衡之处，也就是后验（虚线）。

# %%
plot_elbo_terms(model, x_obs)

# %% [markdown] en_sha="b9bf67a635f7"
# **图中标注对照：** moving the mean: where each term peaks 移动均值：各项的峰值在哪里 · reconstruction 重建项 · peak at 峰值位于 · posterior mean 后验均值 · nats below each curve's peak 低于该曲线峰值的 nat 数 · moving $\sigma$ 改变 $\sigma$ · minus prior matching 先验匹配项取负 · ELBO = sum ELBO（两项之和）。
#
# 请看左图：ELBO 的峰值，即后验均值 0.173，落在 0 与 $z_{\text{LS}} = 0.203$ 之间，而且离 $z_{\text{LS}}$ 很近，因为蓝色抛物线比绿色的弯得陡得多。每一项拉力的大小由它的曲率决定：在均值方向上，重建项的曲率为 $W^\top W / c$，先验项为 $1$，所以最优点是 $0$ 与 $z_{\text{LS}}$ 的加权平均，其中重建项的权重为 $\frac{W^\top W / c}{1 + W^\top W / c}$。在 sigma 方向上，令两者斜率相等可得 $1 / \sigma^2 = 1 + W^\top W / c$，这正是后验的精度。

# %%
WtW = float(model.W[:, 0] @ model.W[:, 0])   # W^T W, a number when k = 1
z_ls = float(model.W[:, 0] @ (x_obs - model.b)) / WtW
weight = (WtW / model.c) / (1 + WtW / model.c)
print(f"least-squares z = {z_ls:.4f}; weight of the reconstruction term = {weight:.3f}")
print(f"weight * z_LS = {weight * z_ls:.4f}, posterior mean = {post_mean[0]:.4f}")
print(f"1 / sqrt(1 + W^T W / c) = {1 / np.sqrt(1 + WtW / model.c):.4f}, "
      f"posterior sigma = {post_std[0]:.4f}")
assert np.isclose(weight * z_ls, post_mean[0]) and np.isclose((1 + WtW / model.c) ** -0.5,
                                                               post_std[0])

# %% [markdown] en_sha="0b615fecf173"
# 因此，对于这个解码器，在均值上是重建项占上风（权重 0.85）；解码器方差 $c$ 越大，均值中先验所占的份额就越多。在 sigma 方向上，低于后验的 sigma 时先验匹配项占上风（当 $\sigma \to 0$ 时它急剧增大），高于后验的 sigma 时则是重建项占上风：

# %%
print(f"{'sigma':>6} {'d rec / d sigma':>16} {'d(-KL) / d sigma':>17}  stronger pull")
for sigma in (0.5 * post_std[0], 2.0 * post_std[0]):
    d_rec = -WtW * sigma / model.c                  # slope of the reconstruction term
    d_prior = -sigma + 1 / sigma                    # slope of -KL(q || p(z))
    winner = "prior matching (widen q)" if abs(d_prior) > abs(d_rec) else "reconstruction (narrow q)"
    print(f"{sigma:6.3f} {d_rec:16.3f} {d_prior:17.3f}  {winner}")

# %% [markdown] en_sha="1ec4048acd00"
# ## 5. 原文的两个子目标（原文 §2，式 (2.4) 之后）
#
# 提高 ELBO 会完成两件不同的事，取决于改动的是哪一组参数。证据不依赖于 $\phi$，所以由式 (2.4)，**优化 $\phi$ 使下界变紧**；只有 $\theta$ 能移动证据本身：**优化 $\theta$ 提高证据**。
#
# ### 优化 $\phi$ 能缩小间隙，但以 $q$ 的表达能力为限
#
# VAE 的 $q$ 是协方差为*对角*矩阵的正态分布（一种**平均场 (mean-field)** 近似）。当隐变量有两个维度时，我们这个模型的精确后验是一个正态分布，其协方差 $(I + W^\top W / c)^{-1}$ 只有在 $W$ 的各列相互正交时才是对角的。两种解码器各取一个，从远离后验的位置出发，对 $q$ 的均值和 log-sigma 做 300 步梯度上升（`fit_q`）。

# %%
W_orth = np.array([[1.0, 0.6], [1.0, -0.6], [0.0, 0.0]])          # orthogonal columns
W_corr = np.array([[1.0, 0.8], [0.7, 1.0], [0.3, -0.2]])          # correlated columns
start_mean, start_std = np.array([-2.0, 2.0]), np.array([1.0, 1.0])
fits = {}
for name, W in (("diagonal posterior", W_orth), ("correlated posterior", W_corr)):
    m2 = LinearGaussian(W, b=np.zeros(3), c=0.5)
    x2 = m2.sample(1, rng=3)[0][0]
    mf_gap = best_mean_field(m2, x2).gap                              # closed-form optimum
    fit = fit_q(m2, x2, start_mean, start_std, steps=300)             # gradient ascent on q
    final_gap = m2.log_evidence(x2) - fit.history[-1]
    pc = m2.posterior(x2)[1]
    rho = pc[0, 1] / np.sqrt(pc[0, 0] * pc[1, 1])
    print(f"{name}: posterior correlation {round(rho, 3) + 0.0:+.3f}")
    print(f"  gap at the start {m2.log_evidence(x2) - fit.history[0]:.3f} nats, "
          f"after 300 steps {abs(final_gap):.4f} nats; best diagonal q's gap {abs(mf_gap):.4f} nats")
    fits[name] = (m2, x2, fit.q_mean, fit.q_std, fit.path, final_gap)

# %% [markdown] en_sha="19bcc9312217"
# 在两种情形下，梯度上升都落到了由闭式解给出的最佳对角 $q$ 上。对于对角后验，间隙完全闭合。对于相关后验，则残留 0.3056 nat 的**平均场间隙 (mean-field gap)**，任何对角 $q$ 都无法消除它（Cremer 等人 [6] 称之为*近似间隙* (approximation gap)；笔记本 04 会遇到与它配对的另一种间隙）。图中请留意倾斜：$q$ 的等高线（红色）是与坐标轴对齐的椭圆，无法随倾斜的后验（灰色）一起倾斜；蓝色路径是梯度上升的前 60 步。
#
# <details><summary>深入一步：最佳对角 q 的闭式解</summary>
#
# 它的均值等于后验均值，且 $1/\sigma_j^2 = \Lambda_{jj}$，即后验精度矩阵 $\Lambda$ 的第 $j$ 个对角元。它的间隙为 $\frac12\big(\sum_j \log \Lambda_{jj} - \log\det\Lambda\big)$（`best_mean_field`）。图中两组椭圆都画在 1、2、3 倍标准差处。
# </details>

# %%
m2, x2, fit_mean, fit_std, path, final_gap = fits["correlated posterior"]
plot_mean_field(m2, x2, fit_mean, fit_std, path=path[:60],
                title=f"best diagonal q: gap {final_gap:.3f} nats remains")

# %% [markdown] en_sha="93ca4bce5c5c"
# 再看宽度。最佳对角 $q$ 取 $1/\sigma_j^2 = \Lambda_{jj}$，即*另一个坐标固定时* $z_j$ 的精度；当两个坐标相关时，这比 $z_j$ 的边缘散布更窄：边缘方差等于 $1/\Lambda_{jj}$ 除以 $1 - \rho^2$。所以平均场 $q$ **会低估边缘方差**（它拟合的是 KL$(q \,\|\, p)$，这个量会惩罚 $q$ 在后验概率很小的地方放置概率质量）：

# %%
marginal_std = np.sqrt(np.diag(m2.posterior(x2)[1]))
print(f"posterior marginal sd: {np.round(marginal_std, 3)}")
print(f"best diagonal q's sd:  {np.round(fit_std, 3)}")
print(f"ratio q / posterior:   {np.round(fit_std / marginal_std, 3)}  "
      f"(sqrt(1 - rho^2) = {np.sqrt(1 - rho**2):.3f})")

# %% [markdown] en_sha="117351d194b7"
# > **关于原文的说明。** 原文说，$\phi$ 优化得足够好时，ELBO 就可以代替样本的似然。这要求 $q$ 的分布族包含后验：在这里，无论把 $\phi$ 优化多久，对角 $q$ 的 ELBO 都比 $\log p(x)$ 低 0.306 nat。
#
# ### 优化 $\theta$ 提高证据
#
# 现在换成一个数据集：从一个“真实”的线性高斯模型（$k = 1$，$d = 2$）中取 300 个点，再配上一个初始化得很差的解码器。我们交替执行两个子目标（`alternate_phi_theta`）：先对每个数据点各自的 $q$ 走 30 步（phi，解码器固定），再对 $W$ 和 $b$ 走 25 步梯度（theta，$q$ 固定；$c$ 保持为真实值），如此重复六轮，并记录**精确的**平均证据。

# %%
true_model = LinearGaussian(W=[[1.5], [0.8]], b=[0.5, -0.3], c=0.25)
data, _ = true_model.sample(300, rng=4)
start_model = LinearGaussian(W=[[0.2], [-0.3]], b=[0.0, 0.0], c=0.25)
history = alternate_phi_theta(start_model, data, n_rounds=6, phi_steps=30, theta_steps=25)
ev, el, phase = history.evidence, history.elbo, history.phase

phi_changes = np.diff(ev)[phase[1:] == "phi"]
theta_changes = np.diff(ev)[phase[1:] == "theta"]
print(f"mean log p(x): {ev[0]:.3f} at the start -> {ev[-1]:.3f} after "
      f"{np.sum(phase == 'theta')} theta steps")
print(f"largest change of log p(x) during phi steps: {np.abs(phi_changes).max():.1e}")
print(f"smallest change during theta steps: {theta_changes.min():.1e} (never negative)")
assert np.all(phi_changes == 0) and np.all(theta_changes > 0)

# %% [markdown] en_sha="a55e848beae8"
# 作为参照，该模型的**最大似然 (maximum likelihood)** 解码器有闭式解（概率 PCA [4]）：$b$ 取数据均值，$W$ 取数据协方差最大特征值对应的特征向量，再乘以 $\sqrt{\lambda - c}$。它的平均证据就是 theta 步努力攀升所趋向的上限。

# %%
cov_data = np.cov(data.T, bias=True)
lam, vec = np.linalg.eigh(cov_data)
ml_model = LinearGaussian(vec[:, -1:] * np.sqrt(lam[-1] - 0.25), data.mean(axis=0), 0.25)
ceiling = ml_model.log_evidence(data).mean()
print(f"maximum-likelihood mean log p(x) = {ceiling:.3f}; reached {ev[-1]:.3f} "
      f"({ev[-1] - ceiling:+.3f})")
assert ev[-1] <= ceiling + 1e-9

plot_subgoals(history)

# %% [markdown] en_sha="8b0db7d63b0b"
# 请留意两种区段。左图：在白色区段（phi 步）中，证据（黑色）保持水平，ELBO（蓝色）向上爬升直到与它相接；在橙色区段（theta 步）中，两者都在上升。右图：对数坐标下的间隙。phi 步把它压到（几乎）为零，因为当 $k = 1$ 时，正态的 $q$ 能精确匹配后验。theta 步又把它重新拉开：

# %%
round_ends = np.r_[np.flatnonzero((phase[:-1] == "theta") & (phase[1:] == "phi")), ev.size - 1]
gaps_after_theta = (ev - el)[round_ends]
gaps_after_phi = (ev - el)[round_ends - 25]
def show_gap(g):   # gaps below 1e-9 nats are at the level of rounding
    return "  <1e-9" if g < 1e-9 else f"{g:7.1e}"

print("gap after each phi phase:  ", " ".join(show_gap(g) for g in gaps_after_phi))
print("gap after each theta phase:", " ".join(show_gap(g) for g in gaps_after_theta))

# %% [markdown] en_sha="89e08a7aad49"
# > **关于原文的说明。** 原文把分工划得很整齐：phi 只负责缩小间隙，theta 只负责提高证据。前一半严格成立，后一半则不尽然：后验依赖于 $\theta$，所以一个 theta 步也会移动 $q$ 所拟合的目标；在这里，每个 theta 步都把间隙重新拉开。
#
# <details><summary>深入一步：EM 能保证什么，不能保证什么</summary>
#
# 一般而言，theta 步在 ELBO 上的收益，可能有一部分来自把后验移向 $q$，而不是来自证据的提高；在本次运行中，这种情况从未出现。像上面那样交替进行，若每个 phi 阶段都使 $q$ 成为精确后验，就是广义 EM（称为“广义”，是因为 theta 阶段只走若干梯度步，而不是求最大值）。EM 所能保证的比“证据在每个 theta 步都上升”要弱：如果 theta 阶段结束时的 ELBO 高于开始时的 ELBO，那么结束时的证据就高于开始时的证据，因为
# $\log p_{\theta_\text{new}}(x) \ge \text{ELBO}(\theta_\text{new}) \ge \text{ELBO}(\theta_\text{old})
# = \log p_{\theta_\text{old}}(x)$。阶段内部的单个步骤没有这样的保证；这里每一步都在上升（上面打印的最小变化为正），这是本次运行的特性，而不是 EM 的性质。
# </details>
#
# <details><summary>深入一步：关于原文记号的说明</summary>
#
# 在式 (2.4) 前后的正文中，原文把散度写作 $D_{\mathrm{KL}}(q \mid p)$，只用一条竖线；式 (2.4) 本身则使用通常的 $D_{\mathrm{KL}}(q \,\|\, p)$。两者含义相同，但顺序很重要：KL散度不是对称的，间隙是从 $q$ *到*后验的 KL散度。
# </details>
#
# ## 展望：扩散模型使用同一个 ELBO
#
# 原文指出，VAE 和扩散模型最大化的都是这个下界。式 (2.4) 中没有任何一处在意 $z$ 是什么：笔记本 05 把 $z$ 取为数据的一串噪声越来越大的副本 $x_1, \dots, x_T$，并使用一个只添加噪声的固定编码器，于是这个下界就成了扩散模型的训练目标。
#
# ## 小结
#
# - 式 (2.4) 的每一行算出来都是 $\log p(x)$；证据与 ELBO 之间的间隙恰好等于 KL$(q \,\|\, p(z \mid x))$（两者都是 2.4699055148 nat）。
# - Jensen 不等式用一行就给出同一个下界，但隐藏了间隙的大小。
# - 式 (2.5)：重建项把 $q$ 拉向 $z_{\text{LS}}$ 并把它拉窄，先验匹配项把它拉向 $N(0, I)$；后验是两者的平衡点，即按曲率加权的平均。
# - 优化 $\phi$ 能在 $q$ 的分布族所允许的范围内缩小间隙：对于相关后验，残留了 0.3056 nat，而且对角 $q$ 比后验的边缘分布更窄。
# - 优化 $\theta$ 提高了精确证据；EM 保证的是每个完整的 theta 阶段前后证据上升，而不是每一步都上升。
# - 接下来是笔记本 04：式 (2.6) 的高斯假设把 ELBO 变成神经网络的一个具体损失函数，即 VAE；笔记本 05 则把这个下界再用于扩散模型。
#
# ## 练习（先预测，再检验）
#
# 先把预测写下来，再动手检验。
#
# 1. **均值对了，宽度错了。** 取 $q$ 的均值等于后验均值 (0.173)，标准差为后验标准差的两倍。预测间隙是多少 nat，然后在 `plot_elbo_gap(mu=post_mean[0], sigma=2 * post_std[0], model=model, x=x_obs)` 的标题中查看（第 3 节的滑块以 0.05 为步长移动，无法精确取到这些值）。
#
#    <details><summary>解答</summary>
#
#    对于两个均值相同、标准差之比为 $r = \sigma_q / \sigma_p$ 的正态分布，KL$(q \,\|\, p) = \frac12(r^2 - 1 - \log r^2)$。取 $r = 2$ 得 $\frac12(3 - \log 4) \approx 0.81$ nat，与具体模型无关；图的标题显示 gap 0.807。
#    </details>
#
# 2. **更嘈杂的解码器。** 在第 4 节中，当 $c = 0.5$ 时，重建项在均值上的权重为 0.853，`x_obs` 的后验均值为 0.1727。预测同一个 `x_obs` 在解码器方差 $c = 2$ 时这两个数是多少，然后在一个新的单元格中验证（它不会改动笔记本用到的任何变量名）：`noisy = LinearGaussian(W=[[1.5], [0.8]], b=[0.5, -0.3], c=2.0)`，`w_noisy = (WtW / noisy.c) / (1 + WtW / noisy.c)`，然后 `print(w_noisy, w_noisy * z_ls, noisy.posterior(x_obs)[0])`。
#
#    <details><summary>解答</summary>
#
#    权重为 $\frac{W^\top W / c}{1 + W^\top W / c}$，其中 $W^\top W = 2.89$，因此在 $c = 2$ 时为 $1.445 / 2.445 = 0.591$。$z_{\text{LS}} = 0.2026$ 与 $c$ 无关，所以后验均值从 $0.853 \times 0.2026 = 0.1727$ 收缩到 $0.591 \times 0.2026 = 0.1197$：解码器越嘈杂，数据所含的信息越少，先验在均值中所占的份额就越大。验证时先打印 0.591，再打印两次 0.1197。
#    </details>
#
# 3. **仅由相关系数求平均场间隙**（超出正文）。对于相关系数为 $\rho$ 的二维正态后验，预测最佳对角 $q$ 的间隙，把它写成只关于 $\rho$ 的函数，然后用打印出的相关系数 $-0.676$ 和间隙 0.3056 来验证。
#
#    <details><summary>解答</summary>
#
#    记 $\Lambda$ 为后验精度矩阵，则 $\sum_j \log \Lambda_{jj} - \log \det \Lambda
#    = -\log(1 - \rho^2)$，所以间隙为 $-\frac12 \log(1 - \rho^2)$。在单元格中验证：用第 5 节留下的 `rho` 计算 `-0.5 * np.log(1 - rho**2)`，即得打印出的间隙。后验的尺度无关紧要，要紧的只是它倾斜的程度。
#    </details>
#
# 4. **介于 Jensen 不等式两边之间**（超出正文）。预测当 $K$ 从 1 增加到 1000 时，$\log \frac1K \sum_{j=1}^K w_j$ 在多次重复上的平均值如何变化，然后在 Jensen 那一节的单元格中用 `log_w.reshape(-1, K)` 验证：`log_mean_exp(log_w.reshape(-1, K), axis=1).mean()`。
#
#    <details><summary>解答</summary>
#
#    $K = 1$ 时它就是对数权重的平均，即 ELBO。随着 $K$ 增大，它向 $\log p(x)$ 上升，并且平均而言从不超过 $\log p(x)$：这就是重要性加权下界 [3]。对于离后验这么远的 $q$，$K = 10$ 就已经消除了大部分间隙。
#    </details>
#
# 5. **只走一步的 EM。** 在第 5 节中运行 `alternate_phi_theta(start_model, data, n_rounds=6,
#    phi_steps=30, theta_steps=1)`。预测证据是否仍然在每一轮都上升。
#
#    <details><summary>解答</summary>
#
#    是的（把结果记为 `h`）：每个 phi 阶段都使 $q$（几乎）成为精确后验，而对 $\theta$ 走一小步梯度会提高 ELBO，所以上面的 EM 论证同样适用于只有一步的 theta 阶段。打印 `np.diff(h.evidence)[h.phase[1:] == "theta"]`，可以看到六次正的增量 (0.547, 1.36, 1.46, 0.758, 0.392, 0.230)。
#    </details>
#
# ## 参考文献
#
# 1. D. P. Kingma, M. Welling. Auto-encoding variational Bayes. ICLR 2014（即原文的 [6]）。
# 2. D. P. Kingma, M. Welling. An introduction to variational autoencoders. Foundations and
#    Trends in Machine Learning, 2019（第 2 节分别用 Jensen 不等式和 KL 恒等式推导 ELBO）。
# 3. Y. Burda, R. Grosse, R. Salakhutdinov. Importance weighted autoencoders. ICLR 2016.
# 4. M. E. Tipping, C. M. Bishop. Probabilistic principal component analysis. JRSS B, 1999
#    （本笔记本第 5 节所用的线性高斯模型及其最大似然解）。
# 5. D. J. Rezende, S. Mohamed, D. Wierstra. Stochastic backpropagation and approximate
#    inference in deep generative models. ICML 2014.
# 6. C. Cremer, X. Li, D. Duvenaud. Inference suboptimality in variational autoencoders. ICML
#    2018（证据与 ELBO 之间的间隙；笔记本 04 对它作进一步拆分）。

# %%
print(f"wall time: {time.perf_counter() - notebook_start:.2f} s")
