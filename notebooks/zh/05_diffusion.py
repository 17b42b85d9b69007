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

# %% [markdown] en_sha="45f53366e2b6"
# # 05 · 扩散模型：带有许多隐变量的 VAE
#
# 本笔记本配合原文《扩散模型原理》第 3 节。图中的标注、程序打印的结果和代码注释都用英文，与英文版共用同一份代码；§5 的图后附有图中标注对照。文章在这一节只写了标题就停下了：**扩散 (diffusion)** 模型只被提到名字，却从未得到解释。本笔记本补写这缺失的一节，所用的只有笔记本 03 和 04 已经搭建好的东西。
#
# **问题。** 笔记本 04 用 ELBO（式 (2.4)–(2.5)：重建项减去先验匹配项）训练了一个高斯 VAE。如果把单个隐变量 $z$ 换成一*串*隐变量 $x_1, \dots, x_T$，并且编码器完全不学习，会发生什么？
#
# **学习目标。** 学完本笔记本，你能够
# 1. 说出扩散模型的每个部分分别对应笔记本 03 中的哪个对象（隐变量、编码器、先验、解码器）；
# 2. 一步采样**前向过程 (forward process)** $q(x_t \mid x_0)$；
# 3. 从式 (2.4) 出发推导扩散模型的 ELBO，并看清它为什么会变成关于噪声的平方误差；
# 4. 对一个最优去噪器已知的模型估计这个 ELBO，解释它为什么始终低于 $\log p$（原因在反向一步的方差），消除这一间隙，并与训练出的网络作比较；
# 5. 用 DDPM 和 DDIM 采样，并测量它们各需要多少步。
#
# **阅读时间与路线图。** 核心路线约需 15 分钟阅读（运行不到一分钟）：§1 模型 · §2 前向过程（滑块）· §3 **噪声调度 (noise schedule)** · §4 ELBO · §5 精确去噪器的 ELBO · §6 学习噪声 · §7 采样（滑块）· §9 小结。选读部分另需约 17 分钟：§8 二维双月数据、练习、各个“深入一步”折叠块。

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

from helpers.data import two_moons
from helpers.denoiser import EpsNet, TrainedEpsModel, train_eps_model
from helpers.diffusion import (GaussianMixture1D, NoiseSchedule, ddim_sample, ddpm_sample,
                               ddpm_trajectory, diffusion_elbo, reverse_mean)
from helpers.bits import mean_and_se
from helpers.metrics import (mean_pairwise_distance, mmd, prepare_reference,
                             sliced_wasserstein_1, wasserstein_1)
from helpers.nets import Adam, frozen
from helpers.plots.diffusion import (plot_elbo_per_step, plot_eps_fit, plot_forward_process,
                                     plot_forward_strip, plot_moons, plot_reverse_step,
                                     plot_sampler_steps, plot_schedules, plot_w1_vs_steps)
from helpers.progress import progress_bar
from helpers.sampling import normal_pdf
from helpers.widgets import int_slider, slider_panel

notebook_start = time.perf_counter()

# %% [markdown] en_sha="7fa6d165bf5b"
# ## 1. 从笔记本 04 到许多隐变量
#
# 扩散模型就是笔记本 04 的 VAE（隐变量、编码器、先验、解码器），只是加了三条限制（Sohl-Dickstein et al. 2015; Ho et al. 2020; Luo 2022）：
#
# 1. **隐变量有许多个，每个都与数据一样大**：$x_1, \dots, x_T \in \mathbb{R}^d$，从数据 $x_0$ 出发构成一条链 $x_0 \to x_1 \to \dots \to x_T$。
# 2. **编码器是固定的。** 每一步把上一个点稍稍缩小，再加上一点高斯噪声：
#    $$x_t = \sqrt{\alpha_t}\, x_{t-1} + \sqrt{\beta_t}\, \varepsilon_t, \qquad
#      \varepsilon_t \sim N(0, I), \quad \alpha_t = 1 - \beta_t,$$
#    即 $q(x_t \mid x_{t-1}) = N(\sqrt{\alpha_t}\, x_{t-1}, \beta_t I)$。*噪声调度* $\beta_1, \dots, \beta_T$ 是人为选定的，而不是学出来的：这里没有 $\phi$。
# 3. **最后一个隐变量（几乎）是纯噪声**：无论 $x_0$ 是什么，$x_T \sim N(0, I)$。
#
# | 笔记本 03 / 04 | 扩散模型 |
# |---|---|
# | 隐变量 $z$ | 整条链 $x_{1:T} = (x_1, \dots, x_T)$ |
# | 编码器 $q_\phi(z \mid x)$ | $q(x_{1:T} \mid x_0) = \prod_t q(x_t \mid x_{t-1})$，固定 |
# | 先验 $p(z) = N(0, I)$ | $p(x_T) = N(0, I)$ |
# | 解码器 $p_\theta(x \mid z)$ | $p_\theta(x_{0:T-1} \mid x_T) = \prod_t p_\theta(x_{t-1} \mid x_t)$，需要学习 |
# | 先验匹配项 $\mathrm{KL}(q(z \mid x) \,\|\, p(z))$ | $L_T = \mathrm{KL}(q(x_T \mid x_0) \,\|\, N(0, I))$：不再含任何参数 |
#
# 所有的学习都集中在解码器上。解码器沿着链倒着走，这就是**反向过程 (reverse process)**，每次走一小步**去噪 (denoising)**。
#
# 实验数据：一个由三个高斯组成的一维混合分布，每个量在它上面都有精确答案；以及二维双月 (two moons) 数据。

# %%
mixture = GaussianMixture1D(weights=[0.4, 0.3, 0.3], means=[-1.5, 0.5, 2.0], stds=[0.25, 0.25, 0.5])
x_train = mixture.sample(4000, rng=0)      # shape (n, 1): data are rows
x_test = mixture.sample(4000, rng=1)       # held out: every score below is on these
test_ref = prepare_reference(x_test)       # x_test sorted once, for the many W1s
moons_train, moons_test = two_moons(8000, rng=0), two_moons(2000, rng=1)
print(f"mixture: {len(x_train)} training and {len(x_test)} held-out points; "
      f"exact mean log p(x) on the held-out points = {mixture.log_prob(x_test).mean():.3f} nats")
print(f"two moons: {len(moons_train)} training and {len(moons_test)} held-out points in 2-D")

# %% [markdown] en_sha="23a878cc98c3"
# ## 2. 前向过程：一步到位，还是一步一步走
#
# **任何 $x_t$ 都可以从 $x_0$ 一步跳到。** 高斯经过线性变换仍是高斯，因此给定 $x_0$ 时 $x_t$ 有闭式解。记 $\bar\alpha_t = \prod_{s \le t} \alpha_s$，则
# $$q(x_t \mid x_0) = N\big(\sqrt{\bar\alpha_t}\, x_0,\ (1 - \bar\alpha_t) I\big), \qquad
#   x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \varepsilon .$$
# `NoiseSchedule.q_sample` 直接跳过去（这又是笔记本 04 的重参数化技巧）。我们拿链本身来检验这一跳：在混合分布的样本上一步一步地迭代，比较三个具有精确值的统计量。
#
# <details><summary>深入一步：归纳法，以及三个统计量</summary>
#
# 用归纳法：若 $x_{t-1} = \sqrt{\bar\alpha_{t-1}}\,x_0 + \sqrt{1-\bar\alpha_{t-1}}\,\varepsilon'$，则 $x_t$ 的均值为 $\sqrt{\alpha_t \bar\alpha_{t-1}}\,x_0$，噪声方差为 $\alpha_t(1 - \bar\alpha_{t-1}) + \beta_t = 1 - \bar\alpha_t$。`q_sample` 把 $N(m, s^2)$ 的一次抽样写成 $m + s\,\varepsilon$。三个统计量是：均值 $\sqrt{\bar\alpha_t}\,\mathbb{E}[x_0]$，方差 $\bar\alpha_t \mathrm{Var}(x_0) + 1 - \bar\alpha_t$，以及残差 $x_t - \sqrt{\bar\alpha_t}\,x_0$ 与 $x_0$ 的相关系数，它等于 0。
# </details>

# %%
schedule = NoiseSchedule.cosine(100)     # the schedule of §§ 4-7; § 3 says why
rng = np.random.default_rng(2)
x0 = x_train[:, 0]
mean0, var0 = x0.mean(), x0.var()
x = x0.copy()
print(f"{'t':>4} {'statistic':<24} {'chain':>8} {'exact':>8} {'s.e.':>7}  {'off by':>10}")
for t in range(1, schedule.T + 1):
    # one step of the chain: x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) eps_t
    x = np.sqrt(schedule.alphas[t - 1]) * x + np.sqrt(schedule.betas[t - 1]) * rng.standard_normal(x.size)
    if t in (10, 50, 100):
        ab = schedule.alpha_bar[t - 1]
        resid = x - np.sqrt(ab) * x0          # the noise the chain added, in total
        n, s2 = x.size, 1 - ab                # s2: its exact variance
        # standard errors given x_0 (only the noise is random): mean s/sqrt(n); sample variance
        # of the Gaussian residual s2 sqrt(2/n); of x_t, that plus its covariance with x_0
        rows = [("mean", x.mean(), np.sqrt(ab) * mean0, np.sqrt(s2 / n)),
                ("variance", x.var(), ab * var0 + s2, np.sqrt((2 * s2**2 + 4 * ab * var0 * s2) / n)),
                ("corr(residual, x_0)", np.corrcoef(resid, x0)[0, 1], 0.0, 1 / np.sqrt(n)),
                ("variance of residual", resid.var(), s2, s2 * np.sqrt(2 / n))]
        for name, got, exact, se in rows:
            print(f"{t:>4} {name:<24} {got:8.4f} {exact:8.4f} {se:7.4f}  {(got - exact) / se:+5.1f} s.e.")

# %% [markdown] en_sha="77b2ac7de2aa"
# 链上的十二个统计量全都与闭式解吻合：最大偏差为 2.3 个标准误，而十二个里有一个超过 2，正是单凭偶然就会出现的情形。在下图中（每个点固定抽取一次 $\varepsilon$），请看随着 $t$ 增大，同一批点逐渐淡入 $N(0, 1)$：先是混合分布各个峰之间的空隙被填满，然后各个峰融为一体。红色曲线是 $x_t$ 的精确密度，它仍然是混合分布（`GaussianMixture1D.marginal`）。
#
# <details><summary>深入一步：exact 一列比较的是什么</summary>
#
# exact 一列用的是这份样本自身的 $x_0$ 均值和方差，因此比较的是链与公式，而不是样本与总体。
# </details>

# %%
noise_1d = np.random.default_rng(3).standard_normal(x_train.shape)
noise_2d = np.random.default_rng(4).standard_normal((2000, 2))
forward = dict(schedule=schedule, x0_1d=x_train, noise_1d=noise_1d, x0_2d=moons_train[:2000],
               noise_2d=noise_2d, mixture=mixture)
plot_forward_strip([1, 25, 50, 75, 100], **forward)

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_forward_process, int_slider("t", 30, 1, schedule.T), **forward)

# %% [markdown] en_sha="5980c80e952e"
# ## 3. 噪声调度，以及无需训练的那一项
#
# **噪声调度决定了 ELBO 在链的末端永久损失多少。** 限制 3 要求 $q(x_T \mid x_0) \approx N(0, I)$；近似得有多好，就是式 (2.5) 的先验匹配项：
# $$L_T = \mathrm{KL}\big(q(x_T \mid x_0) \,\|\, N(0, I)\big),$$
# 它是两个高斯之间的 KL散度（笔记本 04 的闭式解），没有任何参数能影响它。我们比较 DDPM 的**线性**调度（$\beta_t$ 从 $10^{-4}$ 到 $0.02$；Ho et al. 2020）与 Nichol & Dhariwal (2021) 的**余弦**调度。
#
# <details><summary>深入一步：余弦调度的公式</summary>
#
# $\bar\alpha_t = f(t)/f(0)$，其中 $f(t) = \cos^2\!\big(\tfrac{t/T + s}{1 + s} \tfrac{\pi}{2}\big)$，$s = 0.008$。
# </details>

# %%
print(f"{'T':>4} {'schedule':<8} {'alpha_bar_T':>12} {'L_T (nats, mean over data)':>28}")
for T in (10, 50, 100):
    for name, s in (("linear", NoiseSchedule.linear(T)), ("cosine", NoiseSchedule.cosine(T))):
        print(f"{T:>4} {name:<8} {s.alpha_bar[-1]:12.4f} {s.prior_kl(x_test).mean():28.4f}")

plot_schedules({"linear, T = 50": NoiseSchedule.linear(50),
                "linear, T = 1000": NoiseSchedule.linear(1000),
                "cosine, T = 50": NoiseSchedule.cosine(50),
                "cosine, T = 100": NoiseSchedule.cosine(100)})

# %% [markdown] en_sha="57ad06637fee"
# 在图中（虚线画在实线之上），请看左图：两条余弦调度曲线作为 $t/T$ 的函数重合；五十个线性步去除的信号远少于一千步。
#
# <details><summary>深入一步：怎样读这两幅图</summary>
#
# 作为 $t/T$ 的函数，余弦调度的 $\bar\alpha_t$ 对任何 $T$ 都相同，所以在右图中，五十步时每一步加入的噪声大约是一百步时的两倍。两条线性调度的 $\beta_t$ 相同（右图，都从 $10^{-4}$ 到 $0.02$），$\bar\alpha_t$ 却不同（左图）。
# </details>
#
# 线性调度是为 $T = 1000$ 设计的：只有 $T = 50$ 步时，$\bar\alpha_T$ 仍远离 0，$x_T$ 仍然记得 $x_0$，而 $L_T$ 在损失中占了看得见的一份。余弦调度对任意 $T$ 都能达到 $\bar\alpha_T \approx 0$，所以 $L_T$ 基本为 0。
#
# <details><summary>深入一步：两种调度的末端</summary>
#
# 对 $T = 50$ 的线性调度，从 $N(0, I)$ 出发运行反向过程是错的。余弦调度的最后一个 $\beta_T$ 被截断在 0.999。
# </details>
#
# **从这里开始，我们使用 $T = 100$ 的余弦调度。**
#
# ## 4. 扩散模型的 ELBO
#
# **扩散模型的 ELBO 就是式 (2.5)，只是中间多了一项：一串去噪步骤之和。** 在式 (2.4) 中取 $z = x_{1:T}$、编码器 $q(x_{1:T} \mid x_0)$，五行推导（见下）给出重建项 (reconstruction) 减去去噪匹配项 (denoising matching) 再减去先验匹配项 (prior matching)：
# $$\log p_\theta(x_0) \ge \underbrace{\mathbb{E}_{q}[\log p_\theta(x_0 \mid x_1)]}_{\text{reconstruction}}
#    - \underbrace{\sum_{t=2}^{T} \mathbb{E}_{q}\,\mathrm{KL}\big(q(x_{t-1} \mid x_t, x_0) \,\|\, p_\theta(x_{t-1} \mid x_t)\big)}_{\text{denoising matching}}
#    - \underbrace{\mathrm{KL}\big(q(x_T \mid x_0) \,\|\, p(x_T)\big)}_{L_T,\ \text{prior matching}}$$
#
# <details><summary>深入一步：逐行推导</summary>
#
# $$
# \begin{aligned}
# \log p_\theta(x_0) &\ge \mathbb{E}_{q}\Big[\log \frac{p_\theta(x_{0:T})}{q(x_{1:T} \mid x_0)}\Big] && (1)\\
# &= \mathbb{E}_{q}\Big[\log p(x_T) + \sum_{t=1}^{T} \log p_\theta(x_{t-1} \mid x_t)
#    - \sum_{t=1}^{T} \log q(x_t \mid x_{t-1})\Big] && (2)\\
# &= \mathbb{E}_{q}\Big[\log p(x_T) + \sum_{t=1}^{T} \log p_\theta(x_{t-1} \mid x_t)
#    - \log q(x_1 \mid x_0) - \sum_{t=2}^{T} \log \frac{q(x_{t-1} \mid x_t, x_0)\, q(x_t \mid x_0)}{q(x_{t-1} \mid x_0)}\Big] && (3)\\
# &= \mathbb{E}_{q}\Big[\log p_\theta(x_0 \mid x_1) + \log \frac{p(x_T)}{q(x_T \mid x_0)}
#    + \sum_{t=2}^{T} \log \frac{p_\theta(x_{t-1} \mid x_t)}{q(x_{t-1} \mid x_t, x_0)}\Big] && (4)\\
# &= \underbrace{\mathbb{E}_{q}[\log p_\theta(x_0 \mid x_1)]}_{\text{reconstruction}}
#    - \underbrace{\sum_{t=2}^{T} \mathbb{E}_{q}\,\mathrm{KL}\big(q(x_{t-1} \mid x_t, x_0) \,\|\, p_\theta(x_{t-1} \mid x_t)\big)}_{\text{denoising matching}}
#    - \underbrace{\mathrm{KL}\big(q(x_T \mid x_0) \,\|\, p(x_T)\big)}_{L_T,\ \text{prior matching}} && (5)
# \end{aligned}
# $$
# 第 2 行把两个联合分布都写成沿链的乘积。第 3 行利用链的马尔可夫性，$q(x_t \mid x_{t-1}) = q(x_t \mid x_{t-1}, x_0)$，再用贝叶斯公式把这一步反过来。第 4 行中的比值 $q(x_t \mid x_0) / q(x_{t-1} \mid x_0)$ 逐项相消：只剩下 $q(x_T \mid x_0)/q(x_1 \mid x_0)$，而其中的 $q(x_1 \mid x_0)$ 又被抵消。第 5 行把对数比值的期望写成 KL散度。
# </details>
#
# 每个反向步都必须匹配前向步的**后验**，*在给定 $x_0$ 的条件下*。这个后验是高斯分布，$q(x_{t-1} \mid x_t, x_0) = N\big(\tilde\mu_t,\ \tilde\beta_t I\big)$，其均值 $\tilde\mu_t$ 关于 $x_0$ 和 $x_t$ 是线性的，方差为 $\tilde\beta_t = \frac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t}\,\beta_t$。
#
# <details><summary>深入一步：用配方求出后验均值</summary>
#
# $$\tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1 - \bar\alpha_t}\,x_0
#   + \frac{\sqrt{\alpha_t}\,(1 - \bar\alpha_{t-1})}{1 - \bar\alpha_t}\,x_t .$$
#
# 由贝叶斯公式，$q(x_{t-1} \mid x_t, x_0) \propto q(x_t \mid x_{t-1})\, q(x_{t-1} \mid x_0)$，即关于 $x_{t-1}$ 的两个高斯之积（逐个坐标）：
# $$\log q(x_{t-1} \mid x_t, x_0) = -\frac{(x_t - \sqrt{\alpha_t}\,x_{t-1})^2}{2\beta_t}
#   - \frac{(x_{t-1} - \sqrt{\bar\alpha_{t-1}}\,x_0)^2}{2(1-\bar\alpha_{t-1})} + \text{const}.$$
# $-\tfrac12 x_{t-1}^2$ 的系数就是精度 $\frac{\alpha_t}{\beta_t} + \frac{1}{1-\bar\alpha_{t-1}} = \frac{1-\bar\alpha_t}{\beta_t(1-\bar\alpha_{t-1})}$（利用 $\alpha_t(1-\bar\alpha_{t-1}) + \beta_t = 1 - \bar\alpha_t$），它的倒数正是 $\tilde\beta_t$。$x_{t-1}$ 的系数为 $\frac{\sqrt{\alpha_t}}{\beta_t}x_t + \frac{\sqrt{\bar\alpha_{t-1}}}{1-\bar\alpha_{t-1}}x_0$，乘以 $\tilde\beta_t$ 就得到上面的 $\tilde\mu_t$。指数是二次式，分布就是高斯，所以配方就是全部的证明。检验 1 在网格上验证了这一点。
# </details>
#
# **检验 1：用数值验证贝叶斯公式**，在 $x_{t-1}$ 的网格上计算（笔记本 01 的 `normal_pdf`，归一化后用数值积分求矩），与 `q_posterior` 的公式对照。

# %%
x0_point, t = np.array([[0.7]]), 40
x_t_point, _ = schedule.q_sample(x0_point, t, rng=5)
ab_prev, ab, alpha, beta = (schedule.alpha_bar[t - 2], schedule.alpha_bar[t - 1],
                            schedule.alphas[t - 1], schedule.betas[t - 1])
grid = np.linspace(-6, 6, 200_001)
dx = grid[1] - grid[0]  # the densities vanish at +-6, so sums times dx are the integrals
bayes = (normal_pdf(grid, np.sqrt(ab_prev) * 0.7, np.sqrt(1 - ab_prev))        # q(x_{t-1}|x_0)
         * normal_pdf(x_t_point[0, 0], np.sqrt(alpha) * grid, np.sqrt(beta)))  # q(x_t|x_{t-1})
bayes /= bayes.sum() * dx
mean_grid = (grid * bayes).sum() * dx
var_grid = ((grid - mean_grid) ** 2 * bayes).sum() * dx
mean_formula, var_formula = schedule.q_posterior(x0_point, x_t_point, t)
print(f"t = {t}: posterior mean  quadrature {mean_grid:.8f}   formula {mean_formula[0, 0]:.8f}")
print(f"        posterior var   quadrature {var_grid:.8f}   formula {var_formula:.8f}")

# %% [markdown] en_sha="a56e8da55e0d"
# **从 KL 到关于噪声的平方误差。** 让反向步取后验自身的方差，$p_\theta(x_{t-1} \mid x_t) = N(\mu_\theta(x_t, t), \tilde\beta_t I)$。这时 KL 为 $\|\tilde\mu_t - \mu_\theta\|^2 / (2\tilde\beta_t)$：即笔记本 04 的式 (2.7)，用 $\tilde\beta_t$ 代替了 $c$。用噪声而不是 $x_0$ 来写 $\tilde\mu_t$（见下），就会想到让网络预测噪声（`reverse_mean`，Ho et al. 2020 的式 (11)）：
# $$\mu_\theta(x_t, t) = \frac{1}{\sqrt{\alpha_t}}\Big(x_t - \frac{\beta_t}{\sqrt{1 - \bar\alpha_t}}\,\varepsilon_\theta(x_t, t)\Big)
# \quad\Longrightarrow\quad
# \mathrm{KL}_t = \underbrace{\frac{\beta_t^2}{2\tilde\beta_t\,\alpha_t\,(1 - \bar\alpha_t)}}_{\lambda_t}
#   \,\|\varepsilon - \varepsilon_\theta(x_t, t)\|^2 .$$
# 每个去噪项都是对所加噪声的一次加权回归。去掉权重 $\lambda_t$，就得到 DDPM 的“简化”损失 (simple loss)：对随机的 $t$ 取 $\mathbb{E}\,\|\varepsilon - \varepsilon_\theta(x_t, t)\|^2$，它在每个 $t$ 上的最小值点都相同：$\mathbb{E}[\varepsilon \mid x_t]$。
#
# <details><summary>深入一步：两个方差相等的高斯之间的 KL</summary>
#
# 两个方差相等的高斯之间，KL 等于均值之差的平方距离除以两倍方差：即笔记本 04 的 $\|x - f_\theta(z)\|^2 / (2c)$，只不过用 $\tilde\beta_t$ 代替了解码器方差 $c$。
# </details>
#
# <details><summary>深入一步：用噪声表示后验均值</summary>
#
# 把 $x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\varepsilon)/\sqrt{\bar\alpha_t}$ 代入 $\tilde\mu_t$，它变成 $\tilde\mu_t = \big(x_t - \tfrac{\beta_t}{\sqrt{1 - \bar\alpha_t}}\,\varepsilon\big)/\sqrt{\alpha_t}$，$\mu_\theta$ 照搬的正是这个形式。
# </details>
#
# <details><summary>深入一步：用信噪比写出的权重，以及它的 U 形</summary>
#
# 记 $\mathrm{SNR}_t = \bar\alpha_t/(1-\bar\alpha_t)$（信噪比）。用 $x_0$ 表示时，均值的误差为 $\tilde\mu_t - \mu_\theta = c_t\,(x_0 - \hat x_0)$，其中 $c_t = \sqrt{\bar\alpha_{t-1}}\,\beta_t/(1-\bar\alpha_t)$；一行代数运算即可得到 $c_t^2/\tilde\beta_t = \mathrm{SNR}_{t-1} - \mathrm{SNR}_t$。又因为 $\|\varepsilon - \varepsilon_\theta\|^2 = \mathrm{SNR}_t\,\|x_0 - \hat x_0\|^2$，所以
# $$\mathrm{KL}_t = \tfrac12(\mathrm{SNR}_{t-1} - \mathrm{SNR}_t)\,\|x_0 - \hat x_0\|^2,
#   \qquad \lambda_t = \tfrac12\Big(\frac{\mathrm{SNR}_{t-1}}{\mathrm{SNR}_t} - 1\Big)$$
# （Kingma et al. 2021）：每一步为它去掉的那部分信噪比付出代价。练习 4 中的 U 形由此得到解释：比值 $\mathrm{SNR}_{t-1}/\mathrm{SNR}_t$ 在 $t = 2$ 时为 2.8，在链的中段为 1.06 到 1.08，在 $t = T$ 时为 1000，因为被截断的 $\beta_T = 0.999$ 把信噪比除以了一千。下面的单元格在每一步上检验这个恒等式。
# </details>
#
# **检验 2：KL 等于加权的噪声误差**，对任意一个（错误的）预测都成立：

# %%
x0_rows = x_test[:5]
for t in (2, 30, 90):
    x_t_rows, eps = schedule.q_sample(x0_rows, t, rng=t)
    eps_guess = 0.5 * eps + 0.3                         # any prediction will do
    mu_tilde, beta_tilde = schedule.q_posterior(x0_rows, x_t_rows, t)
    kl = ((mu_tilde - reverse_mean(schedule, x_t_rows, t, eps_guess)) ** 2).sum(1) / (2 * beta_tilde)
    b, a, ab = schedule.betas[t - 1], schedule.alphas[t - 1], schedule.alpha_bar[t - 1]
    lam = b**2 / (2 * beta_tilde * a * (1 - ab))
    noise_form = lam * ((eps - eps_guess) ** 2).sum(1)
    print(f"t = {t:>2}: lambda_t = {lam:8.3f};  KL {np.round(kl, 5)}  vs  weighted error "
          f"{np.round(noise_form, 5)}")
snr = schedule.alpha_bar / (1 - schedule.alpha_bar)   # SNR_t (Going deeper above), t = 1..T
ts = np.arange(2, schedule.T + 1)
lam_all = schedule.betas[ts - 1] ** 2 / (2 * schedule.beta_tilde[ts - 1] * schedule.alphas[ts - 1]
                                         * (1 - schedule.alpha_bar[ts - 1]))
print("lambda_t = (SNR_{t-1} / SNR_t - 1) / 2 at every t >= 2:",
      np.allclose(lam_all, 0.5 * (snr[ts - 2] / snr[ts - 1] - 1), rtol=1e-9))

# %% [markdown] en_sha="85486852cf9a"
# ## 5. 先求精确答案：最好的去噪器
#
# **当 $x_t$ 的密度 $q_t$ 已知时，最好的去噪器也就已知**（Tweedie 公式）：$\mathbb{E}[\varepsilon \mid x_t] = -\sqrt{1 - \bar\alpha_t}\, \nabla \log q_t(x_t)$：噪声指向对数密度的下坡方向，而对数密度的这个斜率就是**分数 (score)**。对我们的混合分布，$q_t$ 也是混合分布，所以 `mixture.eps_star` 是精确的。
#
# 把它代入 §4 的 ELBO，就得到 **§4 的模型所能达到的最好 ELBO**（均值来自噪声预测，方差固定为 $\tilde\beta_t$）。它是否等于 $\log p$？`diffusion_elbo` 对每一步、每个数据点只抽取一个 $x_t$：每个数都是附有标准误的蒙特卡洛估计。

# %%
log_p = mixture.log_prob(x_test)[:, 0]
print(f"exact mean log p(x) = {log_p.mean():.3f} nats")
print(f"{'T':>5} {'ELBO with eps*':>16} {'gap log p - ELBO':>18}")
ideal = {}
for T in (10, 100, 1000):
    s = NoiseSchedule.cosine(T)
    ideal[T] = diffusion_elbo(x_test, lambda x, t, s=s: mixture.eps_star(x, t, s), s, rng=6)
    gap = log_p - ideal[T].elbo
    print(f"{T:>5} {ideal[T].elbo.mean():16.3f} {gap.mean():10.3f} ± {mean_and_se(gap).se:.3f}")

# %% [markdown] en_sha="a53e1513e851"
# 链越长，间隙越小，但缩小得很慢：步数增加一百倍，间隙只从 0.91 降到 0.42 nat。让间隙无法闭合的，是 §4 中唯一人为固定的东西：反向步的方差。
#
# **真实反向步的方差。** 链自身的反向步 $q(x_{t-1} \mid x_t)$，是把后验对 $x_t$ 无法确定的那部分 $x_0$ 取平均。记 $c_t$ 为 $\tilde\mu_t$ 中 $x_0$ 的权重（见下），由全方差公式得
# $$\mathrm{Var}(x_{t-1} \mid x_t) = \underbrace{\tilde\beta_t}_{\text{given } x_0}
#   + \underbrace{c_t^2\,\mathrm{Var}(x_0 \mid x_t)}_{x_0 \text{ unknown}} \;\ge\; \tilde\beta_t .$$
#
# <details><summary>深入一步：全方差公式的应用</summary>
#
# 后验均值 $\tilde\mu_t$ 关于 $x_0$ 是线性的，系数为 $c_t = \sqrt{\bar\alpha_{t-1}}\,\beta_t / (1 - \bar\alpha_t)$（这是一个权重，不是笔记本 04 中解码器的方差 $c$）。给定 $x_t$ 的方差，等于给定 $x_0$ 的方差的均值，加上均值的方差。
# </details>
#
# 只有当 $x_t$ 能确定 $x_0$ 时，$\tilde\beta_t$ 才是对的。对混合分布，$\mathrm{Var}(x_0 \mid x_t)$ 可以精确算出（`mixture.posterior_x0`），所以我们可以在 $x_t \sim q_t$ 上取平均来比较（$T = 100$）：

# %%
print(f"{'t':>4} {'beta_tilde_t':>13} {'true E[Var(x_t-1 | x_t)]':>25} {'beta_t':>10}")
for t in (2, 3, 5, 10, 30, 90):
    x_t, _ = schedule.q_sample(x_test, t, rng=t)
    var_x0 = mixture.posterior_x0(x_t, t, schedule).var                 # Var(x_0 | x_t), exact
    ab_prev, ab, beta = schedule.alpha_bar[t - 2], schedule.alpha_bar[t - 1], schedule.betas[t - 1]
    c_t = np.sqrt(ab_prev) * beta / (1 - ab)                             # x_0's weight in mu_tilde
    true_var = schedule.beta_tilde[t - 1] + c_t**2 * var_x0.mean()
    print(f"{t:>4} {schedule.beta_tilde[t - 1]:13.2e} {true_var:25.2e} {beta:10.2e}")

# %% [markdown] en_sha="e9fea6843756"
# 在 $t = 1$ 附近，真实方差远大于 $\tilde\beta_t$（$t = 2$ 时是 2.7 倍，$t = 3$ 时是 1.9 倍），而在表中列出的每一步上，它与 $\beta_t$ 的差别都在 4% 以内。
#
# <details><summary>深入一步：过窄的反向步要付出什么代价</summary>
#
# 过窄的反向步要在平方误差上付出代价：$\|\tilde\mu_t - \mu_\theta\|^2 / (2\sigma_t^2)$ 除以的方差，小于这一步必须覆盖的 $x_{t-1}$ 的分散程度。换用另一个 $\sigma_t^2$ 时，§4 的 KL 会多出一项反映两个方差之差的项 $\tfrac{d}{2}(\tilde\beta_t/\sigma_t^2 - 1 - \log(\tilde\beta_t/\sigma_t^2))$，平方误差则改为除以更宽的 $\sigma_t^2$。
# </details>
#
# Ho et al. (2020, §3.2) 试过两种固定的选择：$\sigma_t^2 = \tilde\beta_t$ 和 $\sigma_t^2 = \beta_t$。实验如下：同样的 $\varepsilon^*$ 和随机抽样，只改变方差（`reverse_var="beta"`）。

# %%
print(f"{'T':>5} {'gap, beta_tilde_t':>18} {'gap, beta_t':>14} {'difference':>16}")
with_beta = {}
for T in (10, 100, 1000):
    s = NoiseSchedule.cosine(T)
    with_beta[T] = diffusion_elbo(x_test, lambda x, t, s=s: mixture.eps_star(x, t, s), s, rng=6,
                                  reverse_var="beta")
    gap_tilde, gap_beta = log_p - ideal[T].elbo, log_p - with_beta[T].elbo
    diff = gap_tilde - gap_beta                          # same draws: a paired difference
    tilde, beta, paired = (mean_and_se(v) for v in (gap_tilde, gap_beta, diff))
    print(f"{T:>5} {tilde.mean:11.3f} ± {tilde.se:.3f} {beta.mean:7.3f} ± "
          f"{beta.se:.3f} {paired.mean:9.3f} ± {paired.se:.3f}")

# %% [markdown] en_sha="535bb706f5cd"
# 取 $\sigma_t^2 = \beta_t$ 时，间隙几乎闭合：$T = 100$ 时为 0.04 nat，$T = 1000$ 时与 0 相差不到一个标准误。取 $\tilde\beta_t$ 时，即使 $T = 1000$，间隙仍在 0.4 nat 左右。所以对较长的链来说，让间隙无法闭合的是方差，而不是反向步的高斯形式。
#
# <details><summary>深入一步：两种选择各在什么时候正确？</summary>
#
# 当给定 $x_t$ 就能知道 $x_0$ 时（例如数据只是单个点），$\tilde\beta_t$ 就是反向方差；它是可能的最小值。当数据服从 $N(0, I)$ 时，$\beta_t$ 是精确的（Ho et al. 2020 称这两者为两个极端）；对于像我们的混合分布这样分散的数据，它也很接近；而且它正是反向时间随机微分方程 (reverse-time SDE) 的噪声（笔记本 06）。Nichol & Dhariwal (2021) 则改为在两者之间学习 $\sigma_t^2$。训练不受影响：均值的损失仍是关于噪声的同一个平方误差，只是权重 $\lambda_t$ 不同，而简化损失本来就去掉了权重。笔记本 06 会从另一侧遇到同一个事实：用精确的分数，概率流常微分方程 (probability-flow ODE) 给出的似然恰好等于 $\log p$。
# </details>
#
# <details><summary>深入一步：每个 x_t 各自的真实方差，以及 β̃_t 永远合不上的间隙</summary>
#
# 用两项测量结束这段讨论（见下面的代码单元）。
#
# *真实方差。* 让每个反向步骤都取上面全方差公式给出的方差，每个 $x_t$ 各有自己的值：用 `schedule.reverse_step_variance` 配上精确的 $\mathrm{Var}(x_0 \mid x_t)$，`diffusion_elbo` 通过 `reverse_var` 接受这样一个关于 $(x_t, t)$ 的函数。于是每个反向步骤的均值和方差都是精确的。$T = 10$ 时，间隙降到 $\beta_t$ 的间隙之下，但并不为 0：剩下的是反向步骤取高斯形式的代价，而在十个粗糙的步骤上，真实的反向步骤并不是高斯的。
#
# *$\tilde\beta_t$ 的间隙为什么不再缩小。* $T$ 从 10 到 100 再到 1000 时，它的间隙从 0.91 降到 0.75 再到 0.42，但永远到不了 0。在数据附近，混合分布的密度在小噪声的尺度上是光滑的，所以那里 $\mathrm{Var}(x_0 \mid x_t) \approx 1/\mathrm{SNR}_t$。由 §4 的 SNR 形式，用精确的 $\hat x_0 = \mathbb{E}[x_0 \mid x_t]$，每一步约花费每维 $\tfrac12(\mathrm{SNR}_{t-1} - \mathrm{SNR}_t)/\mathrm{SNR}_t = \tfrac12(r_t - 1)$，其中 $r_t = \mathrm{SNR}_{t-1}/\mathrm{SNR}_t$。这是一个左黎曼和：步长趋于无穷小的极限在同一区间上只付 $\tfrac12\int \mathrm{Var}(x_0 \mid x)\,d\mathrm{SNR} = \tfrac12 \log r_t$。所以每一步多付 $\tfrac12(r_t - 1 - \log r_t) \ge 0$，只有在 $r_t \to 1$ 的地方多付的部分才消失。在 $t = 1$ 附近，余弦调度使 $1 - \bar\alpha_t$ 与 $t$ 成正比地增长（$t$ 远小于 $2sT$ 时，$s = 0.008$），于是 $\mathrm{SNR}_t \propto 1/t$，随着 $T$ 增大 $r_t \to t/(t-1)$（$T = 100$ 时 $r_2 = 2.77$，$T = 10{,}000$ 时为 2.01）：最初几步永远不会比这更细。它们多付的部分加起来是 $\tfrac12\sum_{n \ge 1} \big(\tfrac1n - \log(1 + \tfrac1n)\big) = \gamma/2 \approx 0.289$ nat 每维，$\gamma$ 是欧拉常数。下面的单元把 $\mathrm{SNR}_t > 1$ 的各步多付的部分加起来，与测得的间隙并排列出：$T = 100$ 时只是粗略的估计，从 $T = 1000$ 起就很接近了。
# </details>

# %%
# Going deeper (above). 1) T = 10 with the true variance of every reverse step, for each x_t
s = NoiseSchedule.cosine(10)
true_var = lambda x, t: s.reverse_step_variance(mixture.posterior_x0(x, t, s).var, t)
exact_steps = diffusion_elbo(x_test, lambda x, t: mixture.eps_star(x, t, s), s, rng=6,
                             reverse_var=true_var)
gap, gain = mean_and_se(log_p - exact_steps.elbo), mean_and_se(exact_steps.elbo - with_beta[10].elbo)
print(f"T = 10, true variance: gap {gap.mean:.3f} ± {gap.se:.3f} nats, "
      f"{gain.mean:.3f} ± {gain.se:.3f} below beta_t's (paired: the same draws)")
# 2) beta_tilde_t's overpayment 0.5 (r_t - 1 - log r_t), summed over the steps with SNR_t > 1
print(f"{'T':>7} {'predicted gap, beta_tilde_t':>28} {'measured (§5)':>15}")
for T in (100, 1000, 10_000, 100_000):
    ab = NoiseSchedule.cosine(T).alpha_bar
    snr = ab / (1 - ab)                                       # SNR_t, t = 1..T
    r = snr[:-1] / snr[1:]                                    # r_t = SNR_{t-1} / SNR_t, t >= 2
    over = 0.5 * (r - 1 - np.log(r))[snr[1:] > 1].sum()
    measured = f"{(log_p - ideal[T].elbo).mean():.3f}" if T in ideal else ""
    print(f"{T:>7} {over:28.3f} {measured:>15}")
print(f"the limit, gamma / 2 = {np.euler_gamma / 2:.3f} nats per dimension")

# %% [markdown] en_sha="01aefed3374f"
# 本笔记本余下的部分沿用 $\tilde\beta_t$，也就是 §4 中 KL 为纯平方误差的那个模型。另一种方差在哪里占了便宜？左图：$T = 100$ 时，用 $\varepsilon^*$ 算出的两种方差下的平均去噪项 $L_{t-1}$（图例中给出 $L_0$ 和 $L_T$）。右图：在第 $1..t$ 步上累加 $\tilde\beta_t$ 模型比另一个模型多损失的量；它的终点就是全部差值，0.71 nat。
#
# <details><summary>深入一步：为负的 $L_0$</summary>
#
# $L_0$ 是一个负对数密度，密度大于 1 时它可以小于 0。
# </details>

# %%
e100 = ideal[100]
plot_elbo_per_step({r"$\sigma_t^2 = \beta_t$": with_beta[100].per_step.mean(axis=1),
                    r"$\sigma_t^2 = \tilde\beta_t$": e100.per_step.mean(axis=1)},
                   {r"$\sigma_t^2 = \beta_t$": with_beta[100].prior.mean(),
                    r"$\sigma_t^2 = \tilde\beta_t$": e100.prior.mean()},
                   title="the gap sits in the first steps (T = 100, exact eps*)")

# %% [markdown] en_sha="63968a8c41da"
# 差值的一半仅来自第 2 步，93% 来自前十步，正是在这些步上，$\tilde\beta_t$ 比真实方差低得最多。
#
# **图中标注对照**（§6 中同类的图也适用）
#
# | 图中标注 | 含义 |
# |---|---|
# | each step's term $L_{t-1}$ | 每一步的项 $L_{t-1}$ |
# | where the difference builds up: steps 1..$t$ | 差值在哪里累积：第 1 到 $t$ 步 |
# | step $t$ (log scale) | 第 $t$ 步（对数刻度） |
# | $L_{t-1}$ (nats, mean over data) | $L_{t-1}$（单位 nat，对数据取平均） |
# | running sum of the difference (nats) | 差值的累加和（单位 nat） |
# | … minus …: … in all | 前者减去后者：合计 … |
# | the gap sits in the first steps (T = 100, exact eps\*) | 间隙集中在最初几步（$T = 100$，精确的 $\varepsilon^*$） |
# | -ELBO per step: learned against exact | 每一步的 $-$ELBO：学到的与精确的对比 |
# | exact eps\* / learned eps_theta | 精确的 $\varepsilon^*$ / 学到的 $\varepsilon_\theta$ |

# %% [markdown] en_sha="0bc4a54d6c97"
# ## 6. 学习噪声
#
# **一个只学预测噪声的小网络，离最好的 ELBO 只差零点零几 nat。**
#
# 网络（`EpsNet`）是一个有 4 个隐藏层、每层 64 个单元的 MLP，输入为 $x_t$ 和 $t/T$ 的正弦特征。它的输出写成 $\varepsilon_\theta = \sqrt{1 - \bar\alpha_t}\, x_t + \sqrt{\bar\alpha_t}\, F_\theta(x_t, t)$（“跳连形式”），按构造在 $t = T$ 处就是精确的。
#
# <details><summary>深入一步：为什么用跳连形式</summary>
#
# 余弦调度终止于 $\bar\alpha_T \approx 2 \times 10^{-7}$，此时 $x_T$ 是纯噪声，最好的预测是 $\varepsilon^* \approx x_T$。两个采样器在那里都要除以 $\sqrt{\bar\alpha_t}$ 或 $\sqrt{\alpha_t}$，这会把网络的任何微小误差急剧放大。采用跳连形式，MLP $F_\theta$ 只需学习其余部分（它学的是 Salimans & Ho 2022 的 "v" 目标）。
# </details>
#
# 这就是完整的训练循环（`train_eps_model(x_train, schedule, seed=0)` 运行的是同样的几行代码）。可以随意修改、重新运行：试试更少的步数、恒定的学习率，或 `skip=False`，看看 §7 的采样器表格如何变化。
#
# <details><summary>深入一步：辅助函数，以及 <code>skip=False</code> 的效果</summary>
#
# 它在 4000 个混合分布的点上训练。有一个测试检查 `train_eps_model` 与这个单元格给出逐位相同的损失；第 8 节用它来训练双月数据。`skip=False` 几乎不改变最终损失，0.499 对 0.500，但 §7 中使用学到的网络的 DDIM 在 100 步时与数据的距离是 0.64，而不是 0.047。
# </details>
# %%
torch.set_num_threads(1)  # a small network: one thread is faster here, and repeatable on one machine
steps, batch_size, lr = 1500, 256, 5e-3
torch.manual_seed(0)
net = EpsNet(d=1, alpha_bar=schedule.alpha_bar)              # 4 hidden layers of 64 units
opt = Adam(net.parameters(), lr=lr)
gen = torch.Generator().manual_seed(1)
x0_all = torch.tensor(x_train, dtype=torch.float32)
alpha_bar = torch.tensor(schedule.alpha_bar, dtype=torch.float32)
history, start = [], time.perf_counter()
for step in progress_bar(range(steps), desc="training eps_theta"):
    x0 = x0_all[torch.randint(len(x0_all), (batch_size,), generator=gen)]  # x_0 ~ data
    t = torch.randint(1, schedule.T + 1, (batch_size,), generator=gen)   # t ~ U{1, ..., T}
    eps = torch.randn(x0.shape, generator=gen)                           # eps ~ N(0, I)
    ab = alpha_bar[t - 1, None]                                          # alpha_bar_t, per row
    x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * eps                         # x_t ~ q(x_t | x_0)
    loss = ((eps - net(x_t, t)) ** 2).sum(1).mean()                      # L_simple (Ho et al. eq. 14)
    opt.param_groups[0]["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))  # cosine decay
    opt.zero_grad()
    loss.backward()
    opt.step()
    history.append(loss.item())
eps_theta = TrainedEpsModel(frozen(net), schedule, np.array(history), time.perf_counter() - start)
print(f"final loss {np.mean(eps_theta.history[-100:]):.3f} (mean of the last 100 steps)")

# %% [markdown] en_sha="b9eb43545281"
# $\varepsilon_\theta$ 离 $\varepsilon^*$ 有多近？在 $x_t$ 几乎没有概率质量的地方，网络没有见过数据，所以我们在数据所在之处测量差异：对加噪到第 $t$ 步的留出点计算 RMS。

# %%
print(f"{'t':>4} {'RMS(eps_theta - eps*) at x_t ~ q_t':>36} {'RMS(eps*)':>10}")
for t in (1, 10, 50, 90):
    x_t, _ = schedule.q_sample(x_test, t, rng=7)
    exact = mixture.eps_star(x_t, t, schedule)
    print(f"{t:>4} {np.sqrt(np.mean((eps_theta(x_t, t) - exact) ** 2)):36.3f} "
          f"{np.sqrt(np.mean(exact ** 2)):10.3f}")
plot_eps_fit(eps_theta, mixture, schedule, [1, 10, 50, 90])

# %% [markdown] en_sha="1d6a2456683d"
# 学到的 ELBO 与理想 ELBO 使用相同的随机抽样（`rng=6`）计算，因此两者之差的标准误很小。三者的大小关系必然是“学到的 (learned) ≤ 理想的 (ideal) ≤ $\log p$”：

# %%
learned = diffusion_elbo(x_test, eps_theta, schedule, rng=6)
rows = [("learned eps_theta", learned.elbo), ("ideal eps*", ideal[100].elbo), ("exact log p", log_p),
        ("ideal - learned", ideal[100].elbo - learned.elbo), ("log p - ideal", log_p - ideal[100].elbo)]
for name, v in rows:
    m = mean_and_se(v)                                 # same draws: differences are paired
    print(f"{name:<18} {m.mean:8.3f} ± {m.se:.3f} nats")
plot_elbo_per_step({"exact eps*": ideal[100].per_step.mean(axis=1),
                    "learned eps_theta": learned.per_step.mean(axis=1)},
                   {"exact eps*": ideal[100].prior.mean(), "learned eps_theta": learned.prior.mean()},
                   title="-ELBO per step: learned against exact")

# %% [markdown] en_sha="e5728682d4c0"
# 逐步来看，两条曲线看起来一样；右边的累计和显示出网络的全部欠缺，0.042 nat，它在链的早期就积累起来了（到第 20 步已占 86%）。
#
# <details><summary>深入一步：欠缺出现在哪里</summary>
#
# 上面的 RMS 表也正是在链的早期（$t = 10$）发现了网络在所列四个步中的最大误差。
# </details>
#
# ## 7. 采样：DDPM 与 DDIM
#
# **同一个网络给出两种采样器，步数少时它们差别最大。** **DDPM**（Ho et al. 2020）对模型自己的链进行采样：从 $x_T \sim N(0, I)$ 出发，依次抽取 $x_{t-1} \sim N(\mu_\theta(x_t, t), \sigma_t^2 I)$，直到 $x_0$，方差取 §5 中的任一种；步数较少时，经过等间隔的时间步。**DDIM**（Song, Meng & Ermon 2021）使用同一个网络，但不加新的噪声：每一步先预测 $x_0$，再沿着预测出的噪声移动到下一个时间步。只有 $x_T$ 是随机的。
#
# 我们用样本到留出数据的一维 Wasserstein 距离 $W_1$ 来给样本打分。从数据本身新抽的一份样本，距离也不为 0：这个**下限 (floor)**（数据 200 次抽样的平均值）是任何采样器平均而言所能达到的最好成绩。每个采样器的 $W_1$ 是五个种子上的平均值，附有标准误。
#
# <details><summary>深入一步：子链，以及为什么要抽那么多次</summary>
#
# 步数较少时，DDPM 沿一条子链走，子链的 $\bar\alpha$ 取自完整的链。单次抽样的 $W_1$ 噪声很大，所以下限要抽 200 次、采样器要用五个种子：值得关注的差异只有零点零几。
# </details>

# %%
n_samples, seeds = 4000, (9, 19, 29, 39, 49)
floors = [wasserstein_1(mixture.sample(n_samples, rng=1000 + i), test_ref) for i in range(200)]
floor = np.mean(floors)                 # 200 data draws: one draw's W1 is noisy and skewed
exact_eps = lambda x, t: mixture.eps_star(x, t, schedule)  # noqa: E731
steps_list = [5, 10, 20, 100]
samplers = {"DDPM (beta_tilde)": lambda m, k, r: ddpm_sample(m, schedule, n_samples, steps=k, rng=r),
            "DDPM (beta)": lambda m, k, r: ddpm_sample(m, schedule, n_samples, steps=k, rng=r,
                                                       reverse_var="beta"),
            "DDIM": lambda m, k, r: ddim_sample(m, schedule, n_samples, steps=k, rng=r)}
runs, curves, errors = {}, {}, {}
for label, model in (("exact eps*", exact_eps), ("learned", eps_theta)):
    for name, sampler in samplers.items():
        # at 100 steps the exact rows reach the floor, so there DDIM alone measures the
        # network's own error (the two DDPM runs would cost 1000 more network calls)
        ks = steps_list[:-1] if label == "learned" and name != "DDIM" else steps_list
        w = np.array([[wasserstein_1(sampler(model, k, seed), test_ref) for k in ks]
                      for seed in seeds])                      # (seeds, steps)
        runs[name, label] = w
        curves[f"{name}, {label}"] = np.append(w.mean(0), [np.nan] * (len(steps_list) - len(ks)))
        errors[f"{name}, {label}"] = [mean_and_se(column).se for column in w.T]
print(f"floor (data samples of {n_samples}, 200 draws): W1 = {floor:.3f} ± {mean_and_se(floors).se:.3f}")
print(f"{'sampler':<30}" + "".join(f"{k:>13}" for k in steps_list) + "   <- steps")
for label, w in curves.items():
    print(f"{label:<30}" + "".join(f"{v:7.3f} ±{e:.3f}" for v, e in zip(w, errors[label]))
          + f"{'not run':>13}" * int(np.isnan(w[-1])))
plot_w1_vs_steps(steps_list, curves, floor)

# %% [markdown] en_sha="e24013778d30"
# 经得起标准误检验的结论：
#
# - 用全部 100 步时，精确的 $\varepsilon^*$ 让每个采样器都到达下限（在标准误范围内），所以单用 DDIM 就能测出网络自身的误差：比下限高出 0.014。
# - 步数少时，采样器比网络更重要。对两个模型而言，在 5、10 和 20 步时，DDIM 都胜过 $\sigma_t^2 = \tilde\beta_t$ 的 DDPM。但 $\sigma_t^2 = \beta_t$ 的 DDPM，也就是在 §5 中弥合了 ELBO 间隙的那个方差，在使用精确 $\varepsilon^*$ 时于 5 步和 10 步上胜过前两者：问题出在加噪过少的粗糙 DDPM 步，而不在随机性本身。
# - 在 5 步和 10 步时，使用*学到的*网络的 DDIM 胜过使用精确 $\varepsilon^*$ 的 DDIM，差距远超标准误。差异从何而来？只在一个步上换用网络，即第一步：
#
# <details><summary>深入一步：配对的运行，以及为什么最好的去噪器不是最好的输入</summary>
#
# 网络的两种 DDPM 采样器在 100 步时没有运行（表中的 "not run"，图中它们的曲线止于 20 步）：精确的几行表明，在那里看不出任何采样器自身带来的误差，而这两次运行还要多花 1000 次网络调用。
#
# 对每个种子，DDIM 与 DDPM 从同一个 $x_T$ 出发，所以它们之差测得比标准误所显示的更精确。对单独看待的每一步而言，$\varepsilon^*$ 是最好的噪声预测，这也正是 ELBO 所要求的；但这并不意味着，对一次跳 25 步的采样器来说它就是最好的输入。
# </details>

# %%
first_step_only = lambda x, t: eps_theta(x, t) if t == schedule.T else exact_eps(x, t)  # noqa: E731
ab_T = schedule.alpha_bar[-1]
x0_hat_at_T = lambda model, x: (x - np.sqrt(1 - ab_T) * model(x, schedule.T)) / np.sqrt(ab_T)  # noqa: E731
x_T = np.random.default_rng(0).standard_normal((n_samples, 1))
for name, model in (("eps*", exact_eps), ("the network", eps_theta)):
    x0_hat = x0_hat_at_T(model, x_T)
    print(f"x0 predicted at t = T by {name:<11}: mean {x0_hat.mean():5.2f}, sd {x0_hat.std():.2f}")
# eps* everywhere, except that the first x0 prediction is 0.15 + 0.5 x_T, spread like the network's
spread_first = lambda x, t: ((x - np.sqrt(ab_T) * (0.15 + 0.5 * x)) / np.sqrt(1 - ab_T)  # noqa: E731
                             if t == schedule.T else exact_eps(x, t))
for k in (5, 10):
    w = {name: [wasserstein_1(ddim_sample(m, schedule, n_samples, steps=k, rng=seed), test_ref)
                for seed in seeds] for name, m in (("net", first_step_only), ("spread", spread_first))}
    print(f"DDIM, {k:>2} steps: eps* everywhere {curves['DDIM, exact eps*'][steps_list.index(k)]:.3f}, "
          f"network at t = T only {np.mean(w['net']):.3f} ± {mean_and_se(w['net']).se:.3f}, "
          f"0.15 + 0.5 x_T at t = T only {np.mean(w['spread']):.3f}, "
          f"network everywhere {curves['DDIM, learned'][steps_list.index(k)]:.3f}")

# %% [markdown] en_sha="7d683a1dd195"
# 对这个网络而言，仅在第一步使用它就带来了全部收益（换别的训练种子，5 步时仍是全部，10 步时则少一些；见下文）。在 $t = T$ 处，$\varepsilon^*$ 对 $x_0$ 的第一次预测就是数据的均值 0.15，对每个样本都一样，之后寥寥几个粗糙的步无法补回缺失的分散。网络的预测则随 $x_T$ 而变，问题全在这份分散：处处使用 $\varepsilon^*$，只把它的第一次预测换成 $0.15 + 0.5\,x_T$，效果同样好（第三列）。用 100 步时，网络带来的收益消失了。
#
# <details><summary>深入一步：三个训练种子，以及分散程度的作用</summary>
#
# $\varepsilon^*$ 在那里预测均值，是因为 $x_T$ 几乎不包含关于 $x_0$ 的信息（$\bar\alpha_T \approx 2 \times 10^{-7}$）。没有什么阻止网络给出分散的预测：在 §6 的跳连形式下，它在 $t = T$ 处的噪声误差等于 $F_\theta \approx -\hat x_0$ 的误差乘以 $\sqrt{\bar\alpha_T} \approx 5 \times 10^{-4}$，所以损失几乎约束不了它在那里对 $x_0$ 的预测。
#
# 用 `train_eps_model(x_train, schedule, seed=s)` 重跑同样的单元格（$W_1$，DDIM，五个采样种子；tests/test_notebook_claims_05.py 会重新计算这些数）：
#
# | 训练种子 | 处处用网络，5 / 10 步 | 只在 $t = T$ 处用网络 | 占收益的比例 | $t = T$ 处 $\hat x_0$ 的标准差 |
# |---|---|---|---|---|
# | 0 | 0.178 / 0.088 | 0.171 / 0.085 | 106% / 107% | 0.52 |
# | 1 | 0.214 / 0.081 | 0.185 / 0.091 | 137% / 82% | 0.36 |
# | 2 | 0.206 / 0.076 | 0.210 / 0.100 | 95% / 60% | 0.44 |
#
# 5 步时，对每个种子而言，第一步都带来了大约全部的收益；10 步时，对种子 1 和 2，后面的步也起作用。不同训练种子之间的差别（最多 0.036）是采样种子上 ± 值的十倍，所以表中的 ± 低估了重新训练一个网络时数值会变动多少。把 $\varepsilon^*$ 的第一次预测换成 $0.15 + s\,x_T$，5 / 10 步时得到：$s = 0$（即原本的 $\varepsilon^*$）为 0.293 / 0.137，$s = 0.2$ 为 0.238 / 0.113，$s = 0.5$ 为 0.165 / 0.081，$s = 0.8$ 为 0.108 / 0.055：第一跳保留的分散越多，粗糙的步需要恢复的就越少。
# </details>
#
# 下面把一次运行画成图（精确的 $\varepsilon^*$，1000 个样本，以便滑块能快速重绘；标题给出每个采样器的 $W_1$，其下限比表中的要高；这里只有一个种子，所以 DDPM 与 DDIM 的先后可能与表中的平均值相反）：

# %%
floor_1000 = np.mean([wasserstein_1(mixture.sample(1000, rng=1000 + i), test_ref) for i in range(200)])
print(f"floor with 1000 samples (200 draws): W1 = {floor_1000:.3f}")
plot_sampler_steps(10, eps_model=exact_eps, schedule=schedule, mixture=mixture, held_out=x_test,
                   n=1000, rng=0)

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_sampler_steps, int_slider("steps", 10, 1, schedule.T), eps_model=exact_eps,
             schedule=schedule, mixture=mixture, held_out=x_test, n=1000, rng=0)

# %% [markdown] en_sha="b2a154e6a7b4"
# 再来拖动学到的模型的一次 DDPM 运行，它只计算一次：滑块只是选取一个已存储的状态。观察三个峰如何在链的后半段从 $N(0, 1)$ 中浮现出来。

# %%
trajectory = ddpm_trajectory(eps_theta, schedule, 2000, rng=10).states
plot_reverse_step(70, trajectory=trajectory, mixture=mixture, schedule=schedule)

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_reverse_step, int_slider("step", 70, 0, schedule.T), trajectory=trajectory,
             mixture=mixture, schedule=schedule)

# %% [markdown] en_sha="4769ba4afac6"
# ## 8. 二维双月数据
#
# **这套方法原样搬到二维也能用；评判它的样本却不能只看一个数。** 在双月数据上使用同样的网络、损失和噪声调度，只训练 800 步而不是 1500 步。我们用**切片 (sliced)** Wasserstein-1 距离和采用高斯核的平方 MMD 来比较点云，并列出下限（数据的两次抽样）和上限（没有模型：$N(0, I)$）。
#
# <details><summary>深入一步：两种距离</summary>
#
# 切片 $W_1$ 是在 128 个随机投影方向上 $W_1$ 的平均值；换一组方向，它只变动约 0.001，远小于各次数据抽样之间的差别。MMD 一列是无偏估计，当两份样本一致时，它可能略低于 0。
# </details>

# %%
eps_moons = train_eps_model(moons_train, schedule, steps=800, seed=1, desc="training on moons")
moons_ddpm = ddpm_sample(eps_moons, schedule, 2000, d=2, rng=11)
moons_floor = two_moons(2000, rng=12)
# the sliced W1's directions drawn once; one MMD kernel for every row, as wide as the mean
# distance between held-out points (500 of them are enough to measure it)
moons_ref = prepare_reference(moons_test, n_projections=128, rng=14,
                              bandwidth=mean_pairwise_distance(moons_test[:500]))
gauss = np.random.default_rng(13).standard_normal((2000, 2))
print(f"{'2000 points against held-out':<30} {'sliced W1':>10} {'MMD':>10}")
for name, pts in (("floor: another data draw", moons_floor), ("DDPM, learned (T = 100)", moons_ddpm),
                  ("ceiling: N(0, I)", gauss)):
    print(f"{name:<30} {sliced_wasserstein_1(pts, moons_ref):10.4f} "
          f"{mmd(pts, moons_ref):10.1e}")
floor_draws = [sliced_wasserstein_1(two_moons(2000, rng=100 + i), moons_ref) for i in range(10)]
print(f"sliced W1 of 10 more data draws: {min(floor_draws):.4f} to {max(floor_draws):.4f}")
plot_moons({"held-out data": moons_test, "DDPM samples": moons_ddpm, "N(0, I)": gauss})

# %% [markdown] en_sha="409133bb6d4e"
# 样本的切片 $W_1$ 只是上限的一小部分。请在图中看数字所遗漏的东西：有几个点串在两个月牙的尖端之间，而数据在那里一个点也没有。
#
# <details><summary>深入一步：下限的散布与 MMD 的带宽</summary>
#
# 与下限相比，单个数字无法区分样本与数据。用这个很宽的核（宽 2.8，比任何一个月牙都宽），MMD 也分辨不出样本和数据，却能立刻标出 $N(0, I)$。换成宽 0.5 的核，它就能把两者分开：样本的 MMD 约为 1e-3，是数据各次抽样之间散布（约 2e-4）的好几倍。要报告不止一种距离，并说明用的是哪个带宽。那个下限只是数据的另一次抽样，再抽十次，数值会分布在最后打印的那个范围内。在这个带宽下（三行共用同一个核，其宽度是留出数据点之间的平均距离），样本和数据的 MMD 都在 0 附近的噪声范围内。
# </details>

# %% [markdown] en_sha="b39c91f91dd6"
# ## 9. 小结
#
# - 扩散模型是这样一个 VAE：它的隐变量 $x_1..x_T$ 与数据一样大，编码器是固定的加噪链，先验匹配项 $L_T$ 中没有可学的东西；余弦调度对任意 $T$ 都使 $L_T \approx 0$。
# - $q(x_t \mid x_0)$ 有闭式解，所以训练时从不需要运行这条链。
# - 在式 (2.4) 中取 $z = x_{1:T}$，得到“重建项 − 去噪匹配项 − 先验匹配项”；每个去噪项都是关于噪声的加权平方误差，去掉权重就得到 DDPM 的简化损失。
# - 用精确的 $\varepsilon^*$ 和后验方差 $\tilde\beta_t$ 时，ELBO 始终低于 $\log p$（即使 $T = 1000$ 也差 0.42 nat）：真实的反向步更宽，为 $\tilde\beta_t + c_t^2\,\mathrm{Var}(x_0 \mid x_t)$。取 $\sigma_t^2 = \beta_t$ 时，间隙几乎闭合（$T = 100$ 时为 0.04 nat）。一个训练好的小网络比理想情况低 0.04 nat。
# - 步数少时，采样器比网络更重要：采用后验方差的 DDPM 在每个粗糙步上加的噪声太少，因而落后；DDIM 和 $\sigma_t^2 = \beta_t$ 的 DDPM 表现更好。在 5 或 10 步时，DDIM 用学到的网络比用精确的 $\varepsilon^*$ 还要好：网络对 $x_0$ 的第一次预测几乎不受约束，它保留的分散正是粗糙的步所缺少的。
#
# ## 练习（先预测，再检验）
#
# 四个有待检验的预测（先打开练习，作出预测，再打开解答）。
#
# <details><summary>四道练习</summary>
#
# 1. **一条短的线性链。** 预测 $T = 10$ 时线性调度的 $L_T$，再预测用 $\varepsilon^*$ 时它的 ELBO 间隙。
# 2. **最少需要多少步？** 在看 §7 的表之前，猜一猜在 5、10、20 和 100 这几个步数中，六个采样器各自最少需要多少步才能与留出数据相距 0.1 以内（$W_1$；下限为 0.033）。
# 3. **改为预测 $x_0$ 而不是 $\varepsilon$。** 把网络的目标改写为 $x_0$（此时 $\varepsilon_\theta = (x_t - \sqrt{\bar\alpha_t}\,\hat x_0)/\sqrt{1 - \bar\alpha_t}$）。这样一来，损失会更看重哪些步 $t$，又会更轻视哪些步？
# 4. **ELBO 的权重。** §4 发现，每个去噪项都是 $\lambda_t$ 乘以关于噪声的平方误差，而简化损失去掉了 $\lambda_t$。预测 $\lambda_t$ 沿链如何变化（余弦调度，$T = 100$）：在小 $t$ 处最大、在大 $t$ 处最大，还是大致不变？
# </details>
#
# <details><summary>检验与解答</summary>
#
# 1. 检验时新建一个单元格（这样不会改动 §5 的 `ideal`）：`s = NoiseSchedule.linear(10)`，`e = diffusion_elbo(x_test, lambda x, t: mixture.eps_star(x, t, s), s, rng=6)`，然后 `print(mean_and_se(log_p - e.elbo))`。
#    $\bar\alpha_{10} = 0.90$，所以 §3 的表给出 $L_T = 1.76$ nat。间隙要大得多：$T = 10$ 时为 10.76 ± 0.25 nat，而且几乎全部来自 $t = 2$ 这一步（它的项 $L_1$ 平均为 11.2 nat；打印 `e.per_step.mean(1)` 即可看到）。线性调度的第一步极小，$\beta_1 = 10^{-4}$，第二步为 $\beta_2 = 2.3 \times 10^{-3}$，是 $1 - \bar\alpha_1$ 的 23 倍：所以 $\tilde\beta_2 \approx 10^{-4}$ 远比真实的反向步窄，该怪的是 §5 中固定的方差，而不是粗糙的步长。在那次 `diffusion_elbo` 调用中加上 `reverse_var="beta"`，$T = 10$ 时的间隙就降到 0.49 ± 0.02。链的终点造成的损失比 $L_T$ 看上去的要小：其中只有 0.44 nat，即边缘分布 $q(x_T)$ 相对于 $N(0, 1)$ 的 KL散度，是任何从 $N(0, 1)$ 出发的反向过程都必然损失的。
# 2. 检验：§7 的表。
#    有两个只需 10 步：使用学到的网络的 DDIM（0.088 ± 0.002），以及 $\sigma_t^2 = \beta_t$ 且使用精确 $\varepsilon^*$ 的 DDPM（0.094 ± 0.005）。其余四个需要 20 步（0.067 到 0.086）；在 10 步时它们为 0.108 到 0.158。滑块显示的是 1000 个样本的单次运行，其下限平均为 0.055，因此它的标题无法判定这么小的差异：请看表格，表中的数是五个种子上的平均值，并附有标准误。
# 3. 采样器并不在乎网络学的是哪个目标：无论哪种，它的均值误差都是 $c_t$ 乘以 $\hat x_0$ 的误差。损失却在乎。由公式可知 $\varepsilon - \varepsilon_\theta = \sqrt{\bar\alpha_t/(1-\bar\alpha_t)}\,(\hat x_0 - x_0)$，所以关于 $\varepsilon$ 的损失等于关于 $x_0$ 的损失乘以 $\bar\alpha_t/(1-\bar\alpha_t)$：$t = 2$ 时为 571（打印 `schedule.alpha_bar[1] / (1 - schedule.alpha_bar[1])` 即可看到），$t = T$ 时却只有 $2 \times 10^{-7}$。与噪声损失相比，关于 $x_0$ 的损失对 $t = 1$ 附近的步看得轻得多，对 $t = T$ 附近的步则看得重得多：它会把 §7 中噪声损失放任不管的那个 $t = T$ 处的 $x_0$ 预测约束住。以 $\varepsilon$ 为目标的损失不加调整就很好用（Ho et al. 2020, sec. 3.2）。
# 4. 检验：`t = np.array([2, 10, 50, 90, 99, 100]); b, a, ab, bt = (schedule.betas[t - 1], schedule.alphas[t - 1], schedule.alpha_bar[t - 1], schedule.beta_tilde[t - 1])`，然后 `print(b**2 / (2 * bt * a * (1 - ab)))`。
#    它呈 U 形：$t = 2$ 时为 0.886，$t = 10$ 时为 0.110，$t = 50$ 时为 0.032（在链的中段为 0.03 到 0.04），$t = 90$ 时为 0.107，$t = 99$ 时为 1.50，$t = 100$ 时约为 500，余弦调度在这里把 $\beta_T$ 截断在 0.999（§4 自己的检验已经显示 $\lambda_{90} > \lambda_{30}$）。用真正的 ELBO 训练，会把力气花在链的两端：每次抽到 $t = 100$（概率为百分之一，与其他每一步相同），其权重约为 $t = 50$ 处一次抽样的 15,000 倍（$499.6 / 0.032$）。对这个 `EpsNet` 来说，那里变化不大，因为它在 $t = T$ 处的输出按构造是固定的（§6）。简化损失对每一步一视同仁；Ho et al. (2020) 发现它能给出更好的样本，Kingma et al. (2021) 则对一般的加权方式做了研究。
# </details>
#
# ## 参考文献
#
# <details><summary>参考文献与术语表</summary>
#
# - J. Sohl-Dickstein, E. Weiss, N. Maheswaranathan, S. Ganguli (2015). *Deep unsupervised learning using nonequilibrium thermodynamics.* ICML.（这条链及其 ELBO，§1、§4。）
# - J. Ho, A. Jain, P. Abbeel (2020). *Denoising diffusion probabilistic models.* NeurIPS.（线性调度、eps 参数化、其 §3.2 中两种固定的反向方差、简化损失、DDPM 采样；§3–7。）
# - J. Song, C. Meng, S. Ermon (2021). *Denoising diffusion implicit models.* ICLR.（DDIM，§7。）
# - Y. Song, J. Sohl-Dickstein, D. P. Kingma, A. Kumar, S. Ermon, B. Poole (2021). *Score-based generative modeling through stochastic differential equations.* ICLR.（反向时间随机微分方程，以及 DDIM 所离散化的概率流 ODE，§5、§7。）
# - A. Nichol, P. Dhariwal (2021). *Improved denoising diffusion probabilistic models.* ICML.（余弦调度、学习反向方差、更少的采样步数，§3、§5、§7。）
# - C. Luo (2022). *Understanding diffusion models: a unified perspective.* arXiv:2208.11970.（把扩散模型看作分层 VAE，§4 的推导。）
# - D. P. Kingma, T. Salimans, B. Poole, J. Ho (2021). *Variational diffusion models.* NeurIPS.（ELBO 对 $T$ 和对加权方式的依赖，§5 与练习 4。）
# - T. Salimans, J. Ho (2022). *Progressive distillation for fast sampling of diffusion models.* ICLR.（我们网络输出背后的 "v" 参数化，§6。）
#
# **术语表。** 扩散 diffusion · 前向 / 反向过程 forward / reverse process · 噪声调度 noise schedule · 去噪 denoising · 分数 score · 证据下界 (ELBO) evidence lower bound · 先验匹配项 prior matching · 重建项 reconstruction · KL散度 KL divergence · 采样 sampling。
# </details>

# %%
print(f"wall time: {time.perf_counter() - notebook_start:.2f} s")
