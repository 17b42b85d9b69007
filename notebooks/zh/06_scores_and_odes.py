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

# %% [markdown] en_sha="56fe9a218f55"
# # 06 · 分数、随机微分方程与概率流常微分方程
#
# 本笔记本配合原文《扩散模型原理》第 3 节，是笔记本 05 的续篇。图中的标注、程序打印的结果和代码注释都用英文，§4 的图前附有图中标注对照。笔记本 05 把扩散模型构造成一个带有一串隐变量的 VAE（ELBO，式 (2.4)–(2.5)）。2020 年以来的论文还用另外两种语言描述它：**分数 (score)** 和**微分方程 (differential equations)**。本笔记本以笔记本 05 的混合分布为例，在这三种语言之间相互转换：在这个分布上，每个答案都能精确算出。
#
# **问题。** 笔记本 05 的网络预测的是噪声。它还在预测什么？除了沿着链倒着走，还能用它做什么？它的精确似然是多少？
#
# **学习目标。** 学完本笔记本，你能够
# 1. 把噪声预测换算成分数和对 $x_0$ 的预测；
# 2. 只用分数进行采样（朗之万动力学 (Langevin dynamics)），测量它的偏差，并说明模态彼此分离时为什么需要退火；
# 3. 把笔记本 05 的链写成随机微分方程 (stochastic differential equation, SDE)，以及与之对应的确定性方程，即**概率流常微分方程** (probability-flow ODE，下文简称概率流 ODE)，并验证 DDIM 就是该方程上的欧拉法；
# 4. 用这个常微分方程计算模型的精确对数似然，并与 ELBO 放在一起比较；
# 5. 把流匹配 (flow matching) 看作这个家族中的又一个成员，并说出哪些选择能让采样器在网络评估次数 (NFE) 很少时依然好用。
#
# **阅读时间与路线图。** 核心路线约需 14 分钟阅读，运行不到一分钟：§1 三种预测目标 · §2 朗之万动力学（滑块）· §4 概率流 ODE（滑块）· §5 精确的似然 · §6 少步采样（滑块）· §7 流匹配，以及网络评估花在哪里 · §8 小结、练习。选读部分另需约 10 分钟：§3 从链到随机微分方程、各个“深入一步”折叠块。

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

from helpers.bits import mean_and_se
from helpers.data import two_moons
from helpers.denoiser import train_eps_fn
from helpers.diffusion import (GaussianMixture1D, NoiseSchedule, ddim_trajectory, diffusion_elbo,
                               reverse_mean, timesteps)
from helpers.flow_matching import (euler_in_time, flow_clock_sample, flow_clock_times,
                                    midpoint_in_time, sigma_from_time, time_from_sigma,
                                    train_velocity, velocity_from_eps)
from helpers.metrics import prepare_reference, sliced_wasserstein_1, wasserstein_1
from helpers.noise_schedule import alpha_bar_from_sigma, cosine_alpha_bar, sigma_from_alpha_bar
from helpers.plots.diffusion import plot_moons
from helpers.plots.score import (plot_call_levels, plot_few_step, plot_langevin, plot_nfe_curves,
                                 plot_pf_ode)
from helpers.score import (karras_sigmas, langevin_sample, pf_ode_log_likelihood, pf_ode_sample,
                           pf_ode_velocity, score_from_eps)
from helpers.widgets import float_slider, int_slider, log_slider, slider_panel

notebook_start = time.perf_counter()

mixture = GaussianMixture1D(weights=[0.4, 0.3, 0.3], means=[-1.5, 0.5, 2.0], stds=[0.25, 0.25, 0.5])
x_train = mixture.sample(4000, rng=0)      # notebook 05's data and split
x_test = mixture.sample(4000, rng=1)
test_ref = prepare_reference(x_test)  # x_test sorted once: every W1 below compares with it

# %% [markdown] en_sha="8b8317814f55"
# ## 1. 网络可以预测的三种东西
#
# **噪声预测、干净点预测和分数是同一个量在三种单位下的表示。** 把连续噪声水平 $\bar\alpha \in (0, 1]$ 下的带噪点写成 $x = \sqrt{\bar\alpha}\, x_0 + \sqrt{1 - \bar\alpha}\, \varepsilon$。笔记本 05 的网络预测的是 $\varepsilon$。另外两种目标携带同样的信息（Luo 2022, §§ 3-4）：
#
# - 干净点，$\mathbb{E}[x_0 \mid x]$；
# - **分数**，$\nabla_x \log p_{\bar\alpha}(x)$：带噪数据对数密度的斜率，指向数据更密集的方向。
#
# **Tweedie 公式**把它们联系在一起：对于高斯噪声，
#
# $$\mathbb{E}[\varepsilon \mid x] = -\sqrt{1 - \bar\alpha}\; \nabla_x \log p_{\bar\alpha}(x),
# \qquad \mathbb{E}[x_0 \mid x] = \frac{x + (1 - \bar\alpha)\, \nabla_x \log p_{\bar\alpha}(x)}{\sqrt{\bar\alpha}}.$$
#
# 在混合分布上一切都是精确的：`mixture.score(x, alpha_bar)` 是闭式的分数，`mixture.eps_at(x, alpha_bar)` 是最好的噪声预测。下面用中心差分检验分数，用 `score_from_eps` 检验噪声预测，再用笔记本 05 的后验均值检验对干净点的预测：

# %%
grid = np.linspace(-4, 4, 801)[:, None]
print(f"{'alpha_bar':>9} {'max |score - finite difference|':>33} {'max |eps - Tweedie|':>21}")
for ab in (1.0, 0.9, 0.5, 0.1, 0.01):
    h = 1e-5
    log_p = mixture.marginal(ab).log_prob
    fd = (log_p(grid + h) - log_p(grid - h)) / (2 * h)
    score = mixture.score(grid, ab)
    tweedie = "" if ab == 1.0 else f"{np.abs(score_from_eps(mixture.eps_at(grid, ab), ab) - score).max():21.1e}"
    print(f"{ab:9.2f} {np.abs(score - fd).max():33.1e} {tweedie}")
schedule = NoiseSchedule.cosine(100)       # notebook 05's schedule
t = 50
ab_t = schedule.alpha_bar[t - 1]
x0_mean = mixture.posterior_x0(grid, t, schedule).mean
x0_tweedie = (grid + (1 - ab_t) * mixture.score(grid, ab_t)) / np.sqrt(ab_t)
print(f"t = {t} (alpha_bar = {ab_t:.3f}): max |E[x_0 | x] - Tweedie| = {np.abs(x0_mean - x0_tweedie).max():.1e}")

# %% [markdown] en_sha="f702d1d0dcb1"
# 这些差异只是舍入误差和有限差分本身的误差：三种目标彼此一致。网络可以用其中任何一种来训练，再把输出换算过去。
#
# ## 2. 只用分数采样：朗之万动力学
#
# **只用分数就能采样，但有限的步长会使结果带偏，相距很远的模态还需要退火。** 有了数据的分数 $\nabla_x \log p(x)$，**朗之万动力学**沿对数密度的上坡方向走一个大小为 $h$ 的步，再加上噪声，
#
# $$x \leftarrow x + \tfrac{h}{2}\, \nabla_x \log p(x) + \sqrt{h}\, z, \qquad z \sim N(0, I).$$
#
# 当 $h \to 0$ 且步数增多时，$x$ 服从 $p$。$h$ 有限时，这条链会略有偏差。对单个高斯 $N(\mu, s^2)$，分数是 $-(x - \mu)/s^2$，链是线性的，其平稳分布为 $N\big(\mu,\ s^2 / (1 - h / (4 s^2))\big)$：过宽，放大的倍数随 $h$ 增长。用 20000 条各走 250 步的链来测量它：

# %%
mu, s = 1.0, 0.5
print(f"target N({mu}, {s}^2): variance {s**2:.4f}")
print(f"{'h':>6} {'measured variance':>20} {'predicted s^2 / (1 - h / 4s^2)':>32}")
for h in (0.02, 0.1, 0.4):
    x = langevin_sample(lambda z: -(z - mu) / s**2, np.zeros(20000), step_size=h, steps=250, rng=3)
    se = x.var() * math.sqrt(2 / (x.size - 1))  # standard error of a normal sample's variance
    print(f"{h:6.2f} {x.var():13.4f} ± {se:.4f} {s**2 / (1 - h / (4 * s**2)):32.4f}")

# %% [markdown] en_sha="846421a19001"
# 在 $h = 0.1$ 和 $0.4$ 时，测得的方差在两个标准误范围内与预测吻合，而偏离目标分别达 12 % 和 69 %。更小的步长能消除偏差，代价是需要更多的步。
#
# <details><summary>深入一步：最小的步长</summary>
#
# 在 $h = 0.02$ 时，预测的 2 % 只相当于两个标准误。对这里的每个 $h$，250 步都够了：链按 $(1 - h / (2 s^2))^k$ 忘掉它的起点，在 $h = 0.02$ 时 226 步后就低于 $10^{-4}$。
# </details>
#
# 模态彼此分离时，会出现一个更严重的问题。从宽的 $N(0, 3^2)$ 出发启动 2000 条链，用数据自身的分数、以 $h = 0.01$ 运行。离每个模态最近的链所占的比例应当趋向数据的比例（`mixture.mode_shares()`）。先在笔记本 05 的混合分布上做，再在把模态拉开到 $-4, 0, 4$ 的同一混合分布上做一遍（链的初始分布宽一倍）：
#
# <details><summary>深入一步：这些比例量的是什么</summary>
#
# 一个模态的比例，是离其成分均值最近的概率质量。用 2000 条链时，一个比例的标准误约为 0.011。在笔记本 05 的混合分布上，一千步之后各比例与数据的比例相差在大约两个标准误以内，但 $W_1$（0.050）仍高于它的下限（0.029）：接近了，但还没到。
# </details>

# %%
far = GaussianMixture1D(weights=[0.4, 0.3, 0.3], means=[-4.0, 0.0, 4.0], stds=[0.25, 0.25, 0.5])
x_init = np.random.default_rng(4).normal(0.0, 3.0, size=(2000, 1))
for name, mix, start, totals in (("notebook 05's mixture", mixture, x_init, (100, 1000)),
                                 ("modes at -4, 0, 4", far, 2 * x_init, (100, 1000, 2000))):
    print(f"{name}: the data's shares {np.round(mix.mode_shares(), 3)}")
    x, done = start, 0
    for total in totals:
        x = langevin_sample(lambda z, mix=mix: mix.score(z, 1.0), x, step_size=0.01,
                            steps=total - done, rng=total)
        done = total  # the same chains, continued
        print(f"  after {total:>5} steps: shares {np.round(mix.mode_shares(x), 3)}, "
              f"W1 to the data {wasserstein_1(x, mix.sample(4000, rng=1)):.3f}")
    if mix is far:
        plain_far = x
print(f"W1 floor (2000 against 4000 data points): {wasserstein_1(mixture.sample(2000, rng=5), test_ref):.3f}")

# %% [markdown] en_sha="64cc46aa8e78"
# 在笔记本 05 的混合分布上，普通的朗之万动力学正在接近目标：一千步之后，比例已接近数据的比例。把模态拉开，链就停在它们最初落入的地方，两千步都是如此：要跨过去，链必须逆着分数爬过一个密度极小的区域。于是这些比例说明的是链从哪里出发。
#
# **退火**（Song & Ermon 2019）解决了这个问题。用水平为 $\sigma$ 的噪声把数据模糊：模糊后的密度 $p_\sigma$ 没有空隙。在 $\sigma = 10$ 处运行一百步朗之万，然后在越来越小的水平上依次运行（从 10 到 0.01 共 20 个水平），步长 $h = 0.2\sigma^2$ 随水平一起缩小：
#
# <details><summary>深入一步：起点，以及单元格所用的变量</summary>
#
# 模糊后密度的分数在这里同样是精确的。链从 $\sigma = 10$ 时模糊数据自身的分散程度出发（数据的方差加上 $\sigma^2$）。在变量 $\bar x = x / \sqrt{\bar\alpha}$ 中，模糊后的数据为 $x_0 + \sigma \varepsilon$，其中 $\bar\alpha = 1 / (1 + \sigma^2)$，它们的分数是 $x$ 的分数的 $\sqrt{\bar\alpha}$ 倍。
# </details>

# %%
sigmas = np.geomspace(10.0, 0.01, 20)
far_var = np.sum(far.weights * (far.means**2 + far.stds**2)) - np.sum(far.weights * far.means) ** 2
xbar = np.random.default_rng(4).standard_normal((2000, 1)) * math.sqrt(sigmas[0] ** 2 + far_var)
for i, sigma in enumerate(sigmas):
    ab = alpha_bar_from_sigma(sigma)
    blurred_score = lambda z, ab=ab: np.sqrt(ab) * far.score(np.sqrt(ab) * z, ab)  # noqa: E731
    xbar = langevin_sample(blurred_score, xbar, step_size=0.2 * sigma**2, steps=100, rng=100 + i)
print(f"modes at -4, 0, 4: the data's shares {np.round(far.mode_shares(), 3)}")
print(f"  annealed, 20 levels x 100 steps: shares {np.round(far.mode_shares(xbar), 3)}, "
      f"W1 {wasserstein_1(xbar, far.sample(4000, rng=1)):.3f}")
print(f"  plain, 2000 steps:                shares {np.round(far.mode_shares(plain_far), 3)}, "
      f"W1 {wasserstein_1(plain_far, far.sample(4000, rng=1)):.3f}")
print(f"  floor (2000 against 4000 points of this mixture): "
      f"W1 {wasserstein_1(far.sample(2000, rng=5), far.sample(4000, rng=1)):.3f}")

# %% [markdown] en_sha="cb6ce0272386"
# 经过二十个水平的退火，链以正确的比例找到了各个模态：在大的 $\sigma$ 下，各模态相互重叠，链可以在它们之间自由移动。这就是通往扩散的桥梁：从大到小的噪声水平，每个水平上一个分数模型。扩散把每个水平上的朗之万步换成反向过程的一步。
#
# 调节*普通*朗之万动力学在笔记本 05 混合分布上的步长和步数（1000 条链，从宽的初始分布出发；标题给出比例）。看什么（都走 400 步）：取 $h = 0.001$ 时，链还没有安定下来（比例为 0.44、0.21、0.35）；取 $h = 0.1$ 时，比例为 0.39、0.30、0.31，接近数据的比例（0.40、0.32、0.28），但每个模态都过宽。

# %%
plot_langevin(0.01, 200, mixture=mixture, x_init=x_init[:1000], rng=0)

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_langevin, log_slider("step_size", 0.01, 1e-3, 0.1),
             int_slider("steps", 200, 10, 400, 10), mixture=mixture, x_init=x_init[:1000], rng=0)

# %% [markdown] en_sha="ea35a4bf93ea"
# ## 3. 从笔记本 05 的链到随机微分方程
#
# **步子缩小时，笔记本 05 的链变成一个随机微分方程，它的采样器则变成这个方程时间反向的对应方程。** 前向链分 $T$ 个小步加噪，$x_t = \sqrt{1 - \beta_t}\, x_{t-1} + \sqrt{\beta_t}\, \varepsilon_t$。随着 $T$ 增大、每个 $\beta_t$ 像 $1/T$ 一样缩小，它就变成**保方差随机微分方程 (variance-preserving stochastic differential equation)**（简称 SDE；Song et al. 2021），$W$ 为布朗运动：
#
# $$dx = -\tfrac{1}{2} \beta(\tau)\, x\, d\tau + \sqrt{\beta(\tau)}\, dW.$$
#
# <details><summary>深入一步：链的一步就是 SDE 的一步</summary>
#
# 让 $T$ 增大而保持调度的形状不变，使每个 $\beta_t$ 像 $1/T$ 一样缩小。保留到 $\beta_t$ 的一阶，一步为 $x_t - x_{t-1} \approx -\tfrac{1}{2} \beta_t x_{t-1} + \sqrt{\beta_t}\, \varepsilon_t$：这正是该 SDE 的 Euler–Maruyama 步，其中时间 $\tau$ 以步数计，一步对应 $\beta(\tau)\,d\tau = \beta_t$。
# </details>
#
# 沿时间反向运行时，随机微分方程有一个时间反向的对应方程（Anderson 1982），它需要一样前向方程用不到的东西：分数。
#
# $$dx = \big[-\tfrac{1}{2} \beta(\tau)\, x - \beta(\tau)\, \nabla_x \log p_\tau(x)\big]\, d\tau
# + \sqrt{\beta(\tau)}\, d\bar W.$$
#
# 它的 Euler–Maruyama 步与笔记本 05 中 $\sigma_t^2 = \beta_t$ 的祖先采样步有相同的噪声，两者的均值相差 $\beta_t^2$ 阶的量。用精确的分数，在 $x \in [-4, 4]$ 上测量它：随着 $T$ 增大，看单步中的最大差异，以及整条链上每步最大差异之和，一直比较到 $t = 0.9\,T$。
#
# <details><summary>深入一步：两种步并排来看</summary>
#
# 这里时间倒流（每步 $d\tau = -1$），$\bar W$ 也是一个倒着走的布朗运动。它从 $t$ 到 $t - 1$ 的 Euler–Maruyama 步为 $x_{t-1} = x_t + \beta_t \big(\tfrac{1}{2} x_t + \nabla \log p_t(x_t)\big) + \sqrt{\beta_t}\, z$。笔记本 05 中 $\sigma_t^2 = \beta_t$ 的祖先采样步有相同的噪声，均值为 $\big(x_t + \beta_t \nabla \log p_t(x_t)\big) / \sqrt{1 - \beta_t}$（即把其中的 $\varepsilon$ 换成分数后的 $\mu$）。
# </details>
#
# <details><summary>深入一步：为什么比较止于 0.9 T</summary>
#
# 余弦调度的最后几步无论 $T$ 多大都保持较大的 $\beta_t$（$\beta_{T-1} \approx 0.75$）：链在那里以一次没有任何随机微分方程能描述的跳跃结束。
# </details>

# %%
x_grid = np.linspace(-4, 4, 101)[:, None]
print(f"{'T':>6} {'max beta_t':>11} {'largest difference in a step':>30} {'summed over the steps':>23}")
for T in (100, 1000, 10000):
    sched = NoiseSchedule.cosine(T)
    t = np.arange(2, int(0.9 * T) + 1)
    b, ab = sched.betas[t - 1], sched.alpha_bar[t - 1]
    eps = mixture.eps_at(x_grid, ab)                                    # (x, step) table
    ddpm = reverse_mean(sched, x_grid, t, eps)
    sde = x_grid + b * (x_grid / 2 + score_from_eps(eps, ab))           # the exact score, by Tweedie
    diff = np.abs(ddpm - sde).max(axis=0)                               # per step
    print(f"{T:6d} {b.max():11.2e} {diff.max():30.2e} {diff.sum():23.2e}")

# %% [markdown] en_sha="057ec2e408a4"
# 步数增加十倍：每步的差异缩小一百倍，整条链的差异缩小十倍。在极限下，笔记本 05 中 $\sigma_t^2 = \beta_t$ 的采样器*就是*反向随机微分方程，它的噪声就是该方程自身的噪声。
#
# ## 4. 概率流 ODE
#
# 一个完全不含噪声的常微分方程 (ordinary differential equation, ODE)，在每个时刻都与该 SDE 具有*相同的边缘分布* $p_\tau$（Song et al. 2021）：这就是**概率流 ODE**。在 Karras et al. (2022) 的变量下它的形式最为简单：取 $\bar x = x / \sqrt{\bar\alpha}$，它等于 $x_0 + \sigma \varepsilon$，其中 $\sigma = \sqrt{(1 - \bar\alpha) / \bar\alpha}$，并把 $\sigma$ 本身当作时间。于是
#
# $$\frac{d\bar x}{d\sigma} = \hat\varepsilon\Big(\frac{\bar x}{\sqrt{1 + \sigma^2}},\
# \frac{1}{1 + \sigma^2}\Big),$$
#
# 即该水平上的噪声预测：把 $\sigma$ 降低 $d\sigma$，就去掉 $\hat\varepsilon\, d\sigma$ 的噪声。从较大的 $\sigma_{\max}$ 处的 $\bar x \sim N(0, 1 + \sigma_{\max}^2)$ 出发，一直积分到 $\sigma \approx 0$，它就确定性地把噪声映射为数据。
#
# <details><summary>深入一步：从随机微分方程到 $(\bar x, \sigma)$ 中的 ODE</summary>
#
# 反向随机微分方程混合了漂移项和新注入的噪声；这个 ODE 则完全不含噪声。把前向随机微分方程写成 $dx = f\, d\tau + g\, dW$，其中 $f = -\tfrac{1}{2}\beta x$，$g = \sqrt{\beta}$。它的边缘分布满足 Fokker-Planck 方程 $\partial_\tau p = -\nabla \cdot (f p) + \tfrac{1}{2} g^2 \nabla^2 p$。由于 $\nabla^2 p = \nabla \cdot (p \nabla \log p)$，噪声项也可以写成一个漂移：$\partial_\tau p = -\nabla \cdot \big[(f - \tfrac{1}{2} g^2 \nabla \log p)\, p\big]$。因此，流 $dx/d\tau = -\tfrac{1}{2}\beta\,(x + \nabla \log p_\tau(x))$ 不带任何噪声，却搬运着同样的 $p_\tau$。
#
# 再换变量。由 $d\bar\alpha/d\tau = -\beta \bar\alpha$、$\bar x = x / \sqrt{\bar\alpha}$ 和 $\sigma^2 = 1/\bar\alpha - 1$，得 $d\bar x/d\tau = -\tfrac{1}{2}\beta \nabla \log p / \sqrt{\bar\alpha} = \tfrac{1}{2}\beta \hat\varepsilon / \sqrt{\bar\alpha (1 - \bar\alpha)}$（§1：$\nabla \log p = -\hat\varepsilon / \sqrt{1 - \bar\alpha}$），以及 $d\sigma/d\tau = \beta / \big(2\sqrt{\bar\alpha (1 - \bar\alpha)}\big)$。两者之比就是 $d\bar x / d\sigma = \hat\varepsilon$。在这组变量下 $\bar x = x_0 + \sigma\varepsilon$：这正是方差爆炸型随机微分方程，§2 的退火朗之万动力学已经沿着它的各个水平走过一遍。下一个单元格从相同的点出发对两种形式积分：两者终点之间的最大差距为 0.007，这只是两种欧拉离散之间本身的差别（步数加倍，差距减半）。
# </details>

# %%
# Going deeper (optional): the probability-flow ODE in (x, t) and in (xbar, sigma), each with
# 1000 Euler steps from the same points, on notebook 05's cosine schedule in continuous time
abar = cosine_alpha_bar                         # alpha_bar(t) for t in [0, 1]
beta = lambda t, h=1e-6: (math.log(abar(t - h)) - math.log(abar(t + h))) / (2 * h)  # -d log abar/dt
t_fine = np.linspace(0.9, 0.1, 1001)            # from much noise to little
x_vp = np.random.default_rng(11).standard_normal((500, 1))
xbar = xbar_start = x_vp / math.sqrt(abar(t_fine[0]))
for t0, t1 in zip(t_fine[:-1], t_fine[1:]):
    # dx/dt = -beta/2 (x + score), and dxbar/dsigma = eps_hat
    x_vp = x_vp + (t1 - t0) * -0.5 * beta(t0) * (x_vp + mixture.score(x_vp, abar(t0)))
    s0, s1 = (math.sqrt(1 / abar(t) - 1) for t in (t0, t1))
    xbar = xbar + (s1 - s0) * pf_ode_velocity(mixture.eps_at, xbar, s0)
gap = np.abs(x_vp / math.sqrt(abar(t_fine[-1])) - xbar).max()
print(f"largest gap between the two ends, in xbar: {gap:.3f}; "
      f"mean distance each point travels: {np.abs(xbar - xbar_start).mean():.1f}")

# %% [markdown] en_sha="78883acb1ad8"
# **DDIM 就是这个常微分方程上的欧拉法 (Euler's method)。** 取 DDIM 在笔记本 05 调度中的时间步及其水平 $\sigma_\tau$，从每个水平到下一个水平做一步欧拉步（最后一步走到 $\sigma = 0$）。从相同的起点出发，结果应当就是 DDIM 的样本：

# %%
steps = 10
ddim = ddim_trajectory(lambda x, t: mixture.eps_star(x, t, schedule), schedule, 2000, steps=steps, rng=6)
levels = np.append(sigma_from_alpha_bar(schedule.alpha_bar[timesteps(schedule, steps) - 1]), 0.0)
xbar = ddim.states[0] * np.sqrt(1 + levels[0] ** 2)   # DDIM's own x_T, in the variable xbar
for sigma, sigma_next in zip(levels[:-1], levels[1:]):
    xbar = xbar + (sigma_next - sigma) * pf_ode_velocity(mixture.eps_at, xbar, sigma)  # Euler
print(f"{steps} steps: max |Euler on the ODE - DDIM| = {np.abs(xbar - ddim.samples).max():.1e}")

# %% [markdown] en_sha="0b4badcc57b2"
# 两者在舍入误差内一致：笔记本 05 的确定性采样器从一开始就是一个常微分方程求解器。
#
# 调节 $\sigma$：左图是该水平上 $\bar x$ 的精确密度，右图是速度 $d\bar x / d\sigma$（精确的 $\hat\varepsilon$）。随着 $\sigma$ 下降，每个点逆着速度方向移动，朝最近的峰靠拢；各个峰只在 $\sigma$ 较小时才出现。在 $\sigma = 0.3$ 的图中，请看各个峰恰好位于速度由负变正穿过零的地方：两侧的点都朝它们移动。
#
# <details><summary>深入一步：左图的密度</summary>
#
# 它是每个方差都增大 $\sigma^2$ 的混合分布。
# </details>
#
# **图中标注对照**
#
# | 图中标注 | 含义 |
# |---|---|
# | exact density of xbar | $\bar x$ 的精确密度 |
# | xbar = x / sqrt(alpha_bar) | $\bar x = x / \sqrt{\bar\alpha}$ |
# | density | 密度 |
# | velocity d xbar / d sigma | 速度 $d\bar x / d\sigma$ |
# | points move against it as sigma falls | $\sigma$ 下降时，各点逆着速度移动 |
# | sigma = …  (alpha_bar = …) | 当前的 $\sigma$（以及对应的 $\bar\alpha$） |

# %%
plot_pf_ode(0.3, mixture=mixture)     # the slider starts at 1, before the bumps appear

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_pf_ode, log_slider("sigma", 1.0, 0.01, 10.0), mixture=mixture)

# %% [markdown] en_sha="26cf194d6dd6"
# ## 5. 精确的似然
#
# 常微分方程是一个可逆映射，所以变量替换公式能精确给出它所产生的密度：沿一条路径，$\frac{d}{d\sigma} \log p_\sigma(\bar x(\sigma)) = -\nabla \cdot v$，其中 $v$ 为速度。从数据（$\sigma_{\min} = 0.002$）一直积分到 $\sigma_{\max} = 80$，在这里，该处的分布几乎就是 $N(0, 1 + \sigma_{\max}^2)$，于是
#
# $$\log p(x_0) = \log N\big(\bar x(\sigma_{\max});\ 0,\ (1 + \sigma_{\max}^2) I\big)
# + \int_{\sigma_{\min}}^{\sigma_{\max}} \nabla \cdot v\big(\bar x(\sigma), \sigma\big)\, d\sigma$$
#
# （Song et al. 2021, Chen et al. 2018）。`pf_ode_log_likelihood` 用 Heun 法对两者积分，散度用中心差分计算。使用精确的 $\hat\varepsilon$ 时，结果应当是数据经 $\sigma_{\min}$ 模糊后的对数密度；误差来自求解器，评估次数多时，来自顶层分布的误差也与之相当：
#
# <details><summary>深入一步：另外两部分有多精确</summary>
#
# 顶层分布与 $N(0, 1 + \sigma_{\max}^2)$ 的差异在数据上平均约为 $10^{-6}$ nat，但在尾部的个别点上可达 0.007 nat。中心差分是确定性的，在这里的一维或二维情形下精确到约 $10^{-7}$ nat；大模型则使用散度的随机估计。
# </details>

# %%
x_eval = np.linspace(-2.5, 3.5, 61)[:, None]
exact_log_p = mixture.log_prob_xbar(x_eval[:, 0], 0.002)   # at sigma_min = 0.002, the default
print(f"{'NFE':>5} {'max |ODE log-likelihood - log p|':>34}   (61 points in -2.5..3.5, Heun, nats)")
for nfe in (8, 32, 128, 512):
    err = np.abs(pf_ode_log_likelihood(mixture.eps_at, x_eval, nfe=nfe) - exact_log_p).max()
    print(f"{nfe:5d} {err:34.4f}")

# %% [markdown] en_sha="65ef12a55cf8"
# 最差点的误差在 128 次评估时为 0.08 nat，512 次时为 0.011。求似然比采样（§6）需要更多次评估：每个点都必须被准确地搬运，而不仅仅是整个分布。
#
# <details><summary>深入一步：收敛速度，以及顶层分布所占的份额</summary>
#
# 最差点的误差从 32 次评估到 128 次下降为 1/14，从 128 次到 512 次下降为 1/7（二阶求解器的理想值是 1/16）。512 次时的 0.011 中，约 0.006 来自顶层分布的偏差，0.005 来自求解器。
# </details>
#
# 现在来看一个学到的模型：`train_eps_fn` 在*连续*噪声水平上（0.002 到 80 之间的每个 $\sigma$）训练笔记本 05 的网络（这里每层 32 个单元），并把它作为一个 `eps_fn` 返回。在笔记本 05 的链上，同一个网络给出两种反向方差下的 ELBO。全部在同样的 1000 个留出点上计算，单位为每点 nat；概率流 ODE 用 256 次评估：

# %%
eps_fn = train_eps_fn(x_train, steps=1250, hidden=32, seed=0, dtype="float32",
                      desc="eps_theta(x, sigma), continuous levels")
held_out = x_test[:1000]
ode_ll = pf_ode_log_likelihood(eps_fn.in_float64(), held_out, nfe=256)  # finite differences: float64
ode_exact = pf_ode_log_likelihood(mixture.eps_at, held_out, nfe=256)
eps_on_chain = lambda x, t: eps_fn(x, schedule.alpha_bar[t - 1])   # noqa: E731 - at 05's levels
elbo_tilde = diffusion_elbo(held_out, eps_on_chain, schedule, rng=7).elbo
elbo_beta = diffusion_elbo(held_out, eps_on_chain, schedule, rng=7, reverse_var="beta").elbo
log_p = mixture.log_prob(held_out[:, 0])
print(f"log p(x), the data's own density           {mean_and_se(log_p): .3f}")
print(f"ODE log-likelihood, exact eps (256 NFE)    {mean_and_se(ode_exact): .3f}")
print(f"ODE log-likelihood, learned eps_fn         {mean_and_se(ode_ll): .3f}")
print(f"ELBO on notebook 05's chain, beta_tilde    {mean_and_se(elbo_tilde): .3f}")
print(f"ELBO on notebook 05's chain, beta          {mean_and_se(elbo_beta): .3f}")
print("paired differences, point by point:")
print(f"  log p - ODE (exact)                      {mean_and_se(log_p - ode_exact): .3f}")
print(f"  log p - ODE (learned)                    {mean_and_se(log_p - ode_ll): .3f}")
print(f"  log p - ELBO (beta_tilde)                {mean_and_se(log_p - elbo_tilde): .3f}")
print(f"  log p - ELBO (beta)                      {mean_and_se(log_p - elbo_beta): .3f}")

# %% [markdown] en_sha="36e957cec955"
# 请看*配对*差值：对概率流 ODE 的几行，其标准误远小于均值的标准误。
#
# - 使用精确 $\hat\varepsilon$ 的概率流 ODE 重现了 $\log p$，误差在 0.002 nat 以内；学到的那个比它低 0.020 ± 0.006 nat，这是这个网络不完美的代价。
# - 这条链的 ELBO 在 $\tilde\beta_t$ 下比 $\log p$ 低 0.725 ± 0.056 nat，在 $\beta_t$ 下与它的差在噪声范围之内（$-0.015 \pm 0.034$）。
# - 同一个网络，三个模型：确定性的流，其似然由 ODE 给出；以及取每一种反向方差的*离散*链，其似然由 ELBO 从下方界定。报告其中一种的论文，不能与报告另一种的论文直接比较。
#
# <details><summary>深入一步：界会高于 log p 吗？0.73 是网络造成的吗？</summary>
#
# ELBO 不可能超过它所属模型的对数似然，而任何模型平均而言都胜不过数据自身的密度（KL 散度永不为负），所以在 $\beta_t$ 下真正的差距至少为 0：$-0.015$ 只是 1000 个点、每步一次抽样带来的噪声。在全部 4000 个测试点上、对三次抽样取平均，它是 $+0.058 \pm 0.010$。用精确的 $\varepsilon^*$ 驱动同一条链（相同的抽样），ELBO 只提高 $0.036 \pm 0.010$ nat（$\tilde\beta_t$）和 $0.023 \pm 0.007$ nat（$\beta_t$），与网络给 ODE 带来的代价相当。所以 $\tilde\beta_t$ 下那 0.73 nat 几乎全部来自反向方差（笔记本 05 第 5 节说明了 $\tilde\beta_t$ 为什么太窄），而不是网络。
#
# 网络自身的代价取决于这一次训练：同一配方的种子 1 和 2，在 ODE 上比 $\log p$ 低 0.039 ± 0.010 和 0.075 ± 0.013 nat，而种子 0 是 0.020。
# </details>
#
# ## 6. 少步采样
#
# **这里的每个采样器都是常微分方程求解器，代价以网络评估次数 (NFE) 计；评估次数少时，高阶求解器可能反而落后。** **欧拉法**（= DDIM）每步用一次评估。**Heun 法**（Karras et al. 2022）先做一步欧拉步，在其终点处计算速度，再用两个斜率的平均值重新走这一步：每步两次评估，误差随步长的平方下降。两者都沿 Karras et al. 网格（$\rho = 7$）上的水平行进，在小 $\sigma$ 处较密。各用五个采样种子，以 2000 个样本对比 4000 个留出点：
#
# <details><summary>深入一步：网格</summary>
#
# $\sigma_i = \big(\sigma_{\max}^{1/\rho} + \tfrac{i}{N} (\sigma_{\min}^{1/\rho} - \sigma_{\max}^{1/\rho})\big)^\rho$，$i = 0, \dots, N$。
# </details>

# %%
nfe_list = [4, 8, 16, 32, 64]
seeds = (9, 19, 29, 39, 49)
floor = mean_and_se([wasserstein_1(mixture.sample(2000, rng=100 + i), test_ref) for i in range(30)])
print(f"floor (2000 data points against the 4000, 30 draws): W1 = {floor:.3f}")
print(f"{'solver, eps':<24}" + "".join(f"{k:>14}" for k in nfe_list) + "   <- NFE")
curves, runs = {}, {}
for eps_name, fn in (("exact", mixture.eps_at), ("learned", eps_fn)):
    for solver in ("euler", "heun"):
        w = np.array([[wasserstein_1(pf_ode_sample(fn, 2000, nfe=k, solver=solver, rng=seed), test_ref)
                       for k in nfe_list] for seed in seeds])          # (seeds, NFE)
        label = f"{solver.capitalize()}, {eps_name}"
        runs[label] = w
        by_nfe = [mean_and_se(column) for column in w.T]
        curves[label] = (np.array([m.mean for m in by_nfe]), np.array([m.se for m in by_nfe]))
        print(f"{label:<24}" + "".join(f"{m:8.3f} ±{e:.3f}" for m, e in zip(*curves[label])))
for eps_name in ("exact", "learned"):  # same seeds, same starting points: a paired comparison
    d = runs[f"Euler, {eps_name}"] - runs[f"Heun, {eps_name}"]
    print(f"{'Euler - Heun, ' + eps_name:<24}" + "".join(
        f"{m.mean:8.3f} ±{m.se:.3f}" for m in map(mean_and_se, d.T)))
plot_nfe_curves(nfe_list, curves, floor=floor.mean)

# %% [markdown] en_sha="736120eb5be7"
# 标准误允许我们说的是：
#
# - 在 32 次和 64 次评估时，使用精确 $\hat\varepsilon$ 的 Heun 法领先欧拉法，但只领先配对差值的大约两个标准误；使用学到的网络时，两者相差在两个标准误以内。
# - 在 8 次和 16 次评估时，这里欧拉法反而*领先* Heun 法。在 $\rho = 7$ 下，8 次评估的预算只够 Heun 法走 4 步（水平为 80、17.5、2.52、0.17、0.002），它的第三步从 $\sigma = 2.5$ 跳到 0.17，横跨了密度从一个峰变成三个峰的整个区间。在这一步上 Heun 法*走得不够远*，而欧拉法走过了头（测量见下文）。只有当每一步相对于速度变化的尺度足够小时，Heun 法的优势才会显现。
#
# <details><summary>深入一步：64 次评估时还剩下什么</summary>
#
# 到 64 次时，Heun 法（0.049 ± 0.009）已经与从同一批起点出发的精确 ODE 一致（0.048，用 2000 次评估）：高出下限的部分来自五个种子的随机性，而不是求解器的误差。
# </details>
#
# <details><summary>深入一步：拆开 Heun 法的第三步</summary>
#
# 欧拉法的预测步 $\bar x + (\sigma' - \sigma)\,\hat\varepsilon = \hat x_0 + \sigma' \hat\varepsilon$ 落在 $\hat x_0$ 附近，也就是几个峰之间那个模糊的猜测。在那里、在 $\sigma' = 0.17$ 处的斜率指向最近的峰：大约为零，对一半的点甚至方向相反。把它与起点的斜率平均，步长就减了一半，所以 Heun 法走得不够远。
#
# 下一个单元格（可选）从 Heun 法自己在 $\sigma = 2.52$ 处的点出发（8 次评估，精确 $\hat\varepsilon$），用三种方式走到 0.17（欧拉法、Heun 法，以及作为精确 ODE 的 200 个小步），比较每种方式把点移动了多远：Heun 法是精确移动距离的 0.61 倍（中位数），欧拉法是 1.33 倍。然后它只把这一步换成欧拉步来运行 Heun 法：7 次评估得到 $W_1 = 0.269$，好于欧拉法 8 次评估的 0.304。校正步只在一步跨越了速度的全部变化时才有害。
# </details>

# %%
# Going deeper (optional): Heun's step from sigma = 2.52 to 0.17 at 8 evaluations, exact eps
levels = karras_sigmas(4)                        # Heun's four steps at 8 evaluations

def heun_step(xbar, sigma, sigma_next):
    """Euler's predictor, Heun's corrected step, and the ratio of the slopes at both ends."""
    slope = pf_ode_velocity(mixture.eps_at, xbar, sigma)
    euler = xbar + (sigma_next - sigma) * slope
    slope_next = pf_ode_velocity(mixture.eps_at, euler, sigma_next)
    return euler, xbar + (sigma_next - sigma) * (slope + slope_next) / 2, slope_next / slope

def heun_start(seed):                            # Heun's first two steps, 80 -> 17.5 -> 2.52
    xbar = np.random.default_rng(seed).standard_normal((2000, 1)) * math.sqrt(1 + levels[0] ** 2)
    for sigma, sigma_next in zip(levels[:2], levels[1:3]):
        xbar = heun_step(xbar, sigma, sigma_next)[1]
    return xbar

xbar = heun_start(seeds[0])
euler, heun, slope_ratio = heun_step(xbar, levels[2], levels[3])
exact, fine = xbar, np.geomspace(levels[2], levels[3], 201)
for sigma, sigma_next in zip(fine[:-1], fine[1:]):
    exact = heun_step(exact, sigma, sigma_next)[1]   # 200 small steps: the exact ODE
print(f"step sigma = {levels[2]:.2f} -> {levels[3]:.2f}, seed {seeds[0]}: the slope at Euler's end "
      f"points backwards for {np.mean(slope_ratio < 0):.0%} of the points")
for name, x in (("exact ODE", exact), ("Euler", euler), ("Heun", heun)):
    move = "" if x is exact else f", median {np.median((x - xbar) / (exact - xbar)):.2f} x the exact move"
    print(f"  {name:<10} sd of the points {x.std():.1f}{move}")
w = [wasserstein_1(heun_step(heun_step(heun_start(seed), levels[2], levels[3])[0],
                             levels[3], levels[4])[1], test_ref) for seed in seeds]
print(f"Heun, but Euler for this one step (7 NFE): W1 = {mean_and_se(w):.3f}")

# %% [markdown] en_sha="e220a14677d7"
# 网格的形状与求解器同样重要。在同一范围上用 8 次评估的欧拉法，一次在 $\rho = 7$ 的网格上，一次在关于 $\sigma$ 均匀的网格上（$\rho = 1$）：

# %%
for rho in (1.0, 7.0):
    levels = karras_sigmas(8, rho=rho)
    w = []
    for seed in seeds:
        xbar = np.random.default_rng(seed).standard_normal((2000, 1)) * math.sqrt(1 + levels[0] ** 2)
        for sigma, sigma_next in zip(levels[:-1], levels[1:]):
            xbar = xbar + (sigma_next - sigma) * pf_ode_velocity(mixture.eps_at, xbar, sigma)
        w.append(wasserstein_1(xbar, test_ref))
    print(f"Euler, 8 NFE, rho = {rho:.0f}: W1 = {mean_and_se(w):.3f}"
          f"   (levels {', '.join(f'{v:.3g}' for v in levels)})")

# %% [markdown] en_sha="90ee2813f657"
# 均匀网格把八步中的七步花在 $\sigma = 10$ 以上，而那里什么也没有发生，然后一步从 10 跳到 0.002。$\rho = 7$ 的网格则把步放在速度发生变化的地方。调节 NFE，从相同的起点比较两个求解器（精确的 $\hat\varepsilon$，1000 个样本，一个种子；可信的是表中的平均值）。在 8 次评估时，请看 Heun 法有一部分样本被留在了太靠外的位置：$-3$ 附近堆起一簇，还有约十分之一落在坐标轴范围之外（标题给出了比例）：这正是上面说的“走得不够远”。

# %%
plot_few_step(8, eps_fn=mixture.eps_at, mixture=mixture, held_out=test_ref, n=1000, rng=0)

# %%
# NBVAL_IGNORE_OUTPUT
slider_panel(plot_few_step, int_slider("nfe", 8, 1, 64), eps_fn=mixture.eps_at,
             mixture=mixture, held_out=test_ref, n=1000, rng=0)

# %% [markdown] en_sha="7365ac1ba52d"
# ## 7. 流匹配是这个家族的一员
#
# **流匹配是换了一种计时方式的概率流 ODE。** 它来自 Lipman et al. (2023) 和 Liu et al. (2023) 的 rectified flow（即整流流），写法中不出现噪声水平和分数。它在一个数据点与一次噪声抽样之间取一条直线路径，$x_t = (1 - t)\, x_0 + t\, \varepsilon$，$t \in [0, 1]$，并训练速度场 $v_\theta(x_t, t)$ 去匹配这条路径自身的速度 $\varepsilon - x_0$。采样时对 $dx/dt = v_\theta$ 从 $t = 1$（噪声）积分到 $t = 0$。（Lipman et al. 的时间方向相反，$t = 0$ 是噪声；我们沿用扩散模型的约定。）
#
# 两边除以 $1 - t$，$x_t / (1 - t) = x_0 + \frac{t}{1 - t}\, \varepsilon$ 正是 $\sigma = t / (1 - t)$ 处的 $\bar x$：同一个常微分方程，只是用时间 $t$ 代替了 $\sigma$。下面的单元在混合分布上检验这一点：从相同的起点出发，在两种计时上各走 10 步欧拉法，网格相互对应：
#
# <details><summary>深入一步：从速度到噪声预测</summary>
#
# 在一条路径上，$x_t + (1 - t)(\varepsilon - x_0) = \varepsilon$；对给定的 $x_t$ 取期望，最优速度 $v = \mathbb{E}[\varepsilon - x_0 \mid x_t]$ 与最优噪声预测之间的关系为 $\hat\varepsilon = x_t + (1 - t)\, v$，再令 $\bar x = x_t / (1 - t)$，链式法则就把 $dx_t / dt = v$ 变成 $d\bar x / d\sigma = \hat\varepsilon$。
# </details>

# %%
start = np.random.default_rng(10).standard_normal((2000, 1))        # x at t = 1, noise
t_grid = np.linspace(80 / 81, 0.002 / 1.002, 11)                     # sigma from 80 to 0.002
v_exact = velocity_from_eps(mixture.eps_at)                          # v = (eps_hat - x_t) / (1 - t)
x_t = euler_in_time(v_exact, start * (1 - t_grid[0]) * math.sqrt(1 + 80**2), t_grid)  # same start
xbar = start * math.sqrt(1 + 80**2)
sigma_grid = sigma_from_time(t_grid)                                 # sigma = t / (1 - t)
for s0, s1 in zip(sigma_grid[:-1], sigma_grid[1:]):
    xbar = xbar + (s1 - s0) * pf_ode_velocity(mixture.eps_at, xbar, s0)
print(f"max |flow matching end / (1 - t) - probability-flow end| = "
      f"{np.abs(x_t / (1 - t_grid[-1]) - xbar).max():.1e};  "
      f"W1 of each to held-out: {wasserstein_1(x_t / (1 - t_grid[-1]), test_ref):.3f}, "
      f"{wasserstein_1(xbar, test_ref):.3f}")

# %% [markdown] en_sha="a9fcf2067576"
# 两者在舍入误差内一致：在 $t$ 上对流匹配方程做一步欧拉步，*就是*在 $\sigma$ 上对概率流 ODE 做一步欧拉步。同一个 ODE，两种计时方式。
#
# <details><summary>深入一步：两边的步为什么一致，又在哪里不一致</summary>
#
# 两边的步只有在三个条件下才一致：路径的两个系数 $1 - t$ 和 $t$ 关于 $t$ 是仿射的；状态经过缩放，$\bar x = x_t / (1 - t)$；两套网格相互对应。这时它们一致，是因为 $(t_1 - t_0) / \big((1 - t_0)(1 - t_1)\big) = \sigma_1 - \sigma_0$。在笔记本 05 的余弦路径上，系数不是仿射的，在 $t$ 上的欧拉法就不是 DDIM；高阶求解器在两种计时方式之间也有差别。（十步太少，得不到好的样本，两个距离都显示了这一点。）
# </details>
#
# 现在用相同的训练步数在双月数据上训练两者（`train_eps_fn`、`train_velocity`），并分别用 Heun 法和关于 $t$ 的中点法采样；流匹配网络通过 $\hat\varepsilon = x_t + (1 - t)\, v$ 转换过来（`fm.eps_fn`）：

# %%
moons_train, moons_test = two_moons(8000, rng=0), two_moons(2000, rng=1)
moons_ref = prepare_reference(moons_test, n_projections=64, rng=14)  # directions drawn once
eps_moons = train_eps_fn(moons_train, steps=1000, seed=1, dtype="float32", desc="eps_theta on moons")
# flow matching: the straight path x_t = (1 - t) x_0 + t eps, loss || v_theta(x_t, t) - (eps - x_0) ||^2
fm = train_velocity(moons_train, steps=1000, batch_size=256, lr=5e-3, seed=1, desc="v_theta on moons")
print(f"training wall time {eps_moons.train_s:.1f} s (ours), wall time {fm.train_s:.1f} s (flow matching)")
moons_floor, gauss = two_moons(2000, rng=12), np.random.default_rng(13).standard_normal((2000, 2))
print(f"{'2000 points against held-out':<42} {'sliced W1':>10}")
rows = [("floor: another data draw", moons_floor), ("N(0, I)", gauss)]
for nfe in (8, 16, 32):
    rows += [(f"ours, Heun, {nfe} NFE", pf_ode_sample(eps_moons, 2000, nfe=nfe, d=2, rng=11)),
             (f"flow matching, Heun, {nfe} NFE", pf_ode_sample(fm.eps_fn, 2000, nfe=nfe, d=2, rng=11))]
for nfe in (8, 16, 32):   # the midpoint rule on flow matching's uniform clock t = sigma / (1 + sigma)
    rows += [(f"ours, midpoint in t, {nfe} NFE", flow_clock_sample(eps_moons, 2000, nfe=nfe, d=2, rng=11)),
             (f"flow matching, midpoint in t, {nfe} NFE",
              flow_clock_sample(fm.eps_fn, 2000, nfe=nfe, d=2, rng=11))]
for name, pts in rows:
    print(f"{name:<42} {sliced_wasserstein_1(pts, moons_ref):10.4f}")
plot_moons({"held-out data": moons_test, "ours, Heun 8 NFE": rows[2][1],
            "ours, midpoint in t, 8 NFE": rows[8][1]})

# %% [markdown] en_sha="b1a90acd9489"
# **评估次数少时，采样器比网络更要紧。** 用 $\rho = 7$ 网格上的 Heun 法，两个网络在 8 次评估时都失败（切片 $W_1$ 大于 1：点铺满了整个方框）。中点法 $x' = x + h\, v(x + \tfrac{h}{2} v(x, t), t + \tfrac{h}{2})$ 用在流匹配的计时上（它在 $t = \sigma / (1 + \sigma)$ 上是均匀的，`flow_clock_sample`），同样 8 次调用就把我们的网络带到 0.082（下限是 0.033）。这里变了两样东西：步进规则和网格。把每种规则放到每种网格上试一试：

# %%
v_moons = velocity_from_eps(eps_moons)                  # dx_t / dt on flow matching's clock
start = np.sqrt(1 + 80**2) * np.random.default_rng(11).standard_normal((2000, 2))  # xbar at 80
grids = {"rho = 7": lambda steps: time_from_sigma(karras_sigmas(steps)),
         "flow clock": lambda steps: flow_clock_times(steps)}
print(f"{'8 calls, ours':<30} {'rho = 7 grid':>13} {'flow clock':>11}")
for rule, integrate, steps in (("Euler (8 steps)", euler_in_time, 8),
                               ("midpoint (4 steps)", midpoint_in_time, 4)):
    ends = []
    for grid in grids.values():
        t = grid(steps)
        x = integrate(v_moons, (1 - t[0]) * start, t) / (1 - t[-1])   # back to xbar
        ends.append(sliced_wasserstein_1(x, moons_ref))
    print(f"{rule:<30} {ends[0]:13.3f} {ends[1]:11.3f}")

# %% [markdown] en_sha="564c5fcbf030"
# 最要紧的是规则：在同一种网格上，Heun 法（1.22）比中点法差将近十倍。Heun 法的第二个斜率取在长步的远端、接近 $\hat x_0$ 的地方，§6 发现那里的斜率很小；中点法则在半途取它。欧拉法和网格各自带来的差别都不到 2.5 倍。它的调用都花在了哪里？

# %%
def call_levels(sample):
    """The noise level sigma of every network call a sampler makes, in order."""
    seen = []
    def recording(x, alpha_bar):
        seen.append(sigma_from_alpha_bar(alpha_bar))
        return eps_moons(x, alpha_bar)
    sample(recording)
    return seen

calls = {"Heun, rho = 7 grid": call_levels(lambda f: pf_ode_sample(f, 10, nfe=8, d=2, rng=11)),
         "Euler, rho = 7 grid": call_levels(
             lambda f: pf_ode_sample(f, 10, nfe=8, d=2, rng=11, solver="euler")),
         "midpoint in t, flow clock": call_levels(
             lambda f: flow_clock_sample(f, 10, nfe=8, d=2, rng=11))}
spread, width = moons_train.std(0).max(), 0.1    # the data's spread (larger sd); a moon's width
for name, sigmas in calls.items():
    print(f"{name:<28} calls inside [{width}, {spread:.1f}]: "
          f"{sum(width <= s <= spread for s in sigmas)} of {len(sigmas)}")
plot_call_levels(calls, band=(width, spread), band_label="from a moon's width to the data's spread")

# %% [markdown] en_sha="864f35c7335f"
# 看阴影带，双月就是在这些噪声水平上成形的：带的上方，噪声遮住了整体布局；带的下方，双月已经清晰。Heun 法的 $\rho = 7$ 网格一步就跨过这条带，从 2.5 直接到 0.17（中间的每个点是两次调用）；流匹配计时则把八次调用中的五次放在带内。
#
# <details><summary>深入一步：一次训练，以及五个种子上的比赛</summary>
#
# 本笔记本的表只是两个网络各自的一次训练，训练步数相同，所以说明不了多少名次：流匹配网络没有跳跃连接，并且均匀地抽取 $t$；换成欧拉法（`solver="euler"`），16 次评估时的顺序就反过来了（切片 $W_1$：流匹配 0.14，我们的 0.17）。`benchmarks/flow_matching_seeds.py` 在相同的训练时间下、用五个种子训练两者（流匹配用它已发表的方案），并在两者上尝试每一种采样器：在流匹配计时上用中点法，我们在 8、16、32 次评估时的切片 $W_1$ 中位数为 0.035、0.030 和 0.031，而流匹配配上它最好的采样器为 0.121、0.122 和 0.124。在那里，数据的两次独立抽样平均相距 0.041，所以我们已到了这个下限。
# </details>
#
# ## 8. 小结
#
# - 噪声预测、干净点预测和分数是同一个量在三种单位下的表示（Tweedie 公式）。
# - 朗之万动力学只用分数就能采样，但有一个随步长增长的偏差。模态彼此分离时，它需要在一系列噪声水平上退火，而这正是扩散模型赖以建立的思想。
# - 笔记本 05 的链趋于保方差随机微分方程。概率流 ODE 不含噪声，却具有相同的边缘分布，而 DDIM 就是其上的欧拉法。
# - 概率流 ODE 给出精确的对数似然（这个网络损失 0.020 ± 0.006 nat）；ELBO 界定的则是另一个模型，即离散链。
# - 少步采样就是求解 ODE，而最要紧的是步进规则：Heun 法的长步走得不够远，流匹配计时上的中点法只用 8 次调用就能画出两个月牙，而 Heun 法在这里失败。
#
# ## 练习（先预测，再检验）
#
# 1. **另一个步长下的朗之万偏差。** 对 §2 的高斯（$s = 0.5$），预测取 $h = 0.2$ 时朗之万动力学稳定下来的方差。
#    <details><summary>检验，然后看解答</summary>
#    把 `(0.02, 0.1, 0.4)` 改为 `(0.2,)`。$s^2 / (1 - h/(4s^2)) = 0.25 / (1 - 0.2) = 0.3125$，大了四分之一。该单元格打印出 0.3162 ± 0.0032。</details>
# 2. **求似然需要多少次评估。** 根据 §5 的表（128 次评估时 0.084 nat，512 次时 0.011），预测 256 次和 64 次时的最大误差。
#    <details><summary>检验，然后看解答</summary>
#    把 NFE 列表改为 `(64, 256)`。在 log-NFE 上取中点，256 次时约为 0.03；如果每翻一倍误差约缩小为 1/4 的规律仍然成立，64 次时约为 0.3。该单元格打印出 256 次时 0.0261，64 次时 0.3027。</details>
# 3. **网格的形状。** 预测在 $\rho = 3$ 的网格上用 8 次评估的欧拉法的 $W_1$，它介于 §6 的 1.154（$\rho = 1$）和 0.304（$\rho = 7$）之间。更接近哪一个？
#    <details><summary>检验，然后看解答</summary>
#    把 `(1.0, 7.0)` 改为 `(3.0,)`。更接近 $\rho = 7$：0.364 ± 0.007（$\rho = 5$ 给出 0.308）。只要八个水平中有几个落在 $\sigma \approx 1$ 以下（模态正是在那里分开的），其余的就无关紧要了。
#    </details>
# 4. **轮到 Heun 了。** §6 发现欧拉法在 8 和 16 次评估时领先，Heun 法在 32 次时略微领先。预测两者在 128 次评估时的结果（精确 $\hat\varepsilon$，种子 9）。
#    <details><summary>检验，然后看解答</summary>
#    运行 `[wasserstein_1(pf_ode_sample(mixture.eps_at, 2000, nfe=128, solver=s, rng=9), x_test) for s in ("euler", "heun")]`。对这个种子，两者都是 0.049：步长足够小时，求解器就不再重要。这比下限的均值（30 次抽样上为 0.039 ± 0.003）高 0.010，完全在下限单次抽样的散布范围（约 0.017）之内。</details>
#
# ## 参考文献
#
# <details><summary>参考文献</summary>
#
# - A. Hyvärinen (2005). *Estimation of non-normalized statistical models by score matching.* JMLR.（不需要归一化常数就能学习分数，§1。）
# - P. Vincent (2011). *A connection between score matching and denoising autoencoders.* Neural Computation.（去噪就是分数匹配 (score matching)：§1 中的噪声目标。）
# - Y. Song, S. Ermon (2019). *Generative modeling by estimating gradients of the data distribution.* NeurIPS.（退火朗之万动力学，§2。）
# - B. D. O. Anderson (1982). *Reverse-time diffusion equation models.* Stochastic Processes and their Applications.（反向随机微分方程，§3。）
# - Y. Song, J. Sohl-Dickstein, D. P. Kingma, A. Kumar, S. Ermon, B. Poole (2021). *Score-based generative modeling through stochastic differential equations.* ICLR.（VP-SDE、概率流 ODE 及其似然，§3–5。）
# - R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud (2018). *Neural ordinary differential equations.* NeurIPS.（瞬时变量替换公式，§5。）
# - T. Karras, M. Aittala, T. Aila, S. Laine (2022). *Elucidating the design space of diffusion-based generative models.* NeurIPS.（变量 $\bar x, \sigma$、Heun 法、$\rho$ 网格，§4、§6。）
# - C. Lu, Y. Zhou, F. Bao, J. Chen, C. Li, J. Zhu (2022). *DPM-Solver: a fast ODE solver for diffusion probabilistic model sampling in around 10 steps.* NeurIPS.（专为这个常微分方程设计的求解器，§6。）
# - Y. Lipman, R. T. Q. Chen, H. Ben-Hamu, M. Nickel, M. Le (2023). *Flow matching for generative modeling.* ICLR.（§7。）
# - X. Liu, C. Gong, Q. Liu (2023). *Flow straight and fast: learning to generate and transfer data with rectified flow.* ICLR.（§7。）
# - C. Luo (2022). *Understanding diffusion models: a unified perspective.* arXiv:2208.11970.（三种等价的预测目标，§1。）
#
# **术语表。** 分数 score · 朗之万动力学 Langevin dynamics · 随机微分方程 (SDE) stochastic differential equation · 概率流常微分方程 probability-flow ODE · 扩散 diffusion · 去噪 denoising · 证据下界 (ELBO) evidence lower bound · 似然 likelihood · 采样 sampling · 噪声调度 noise schedule · 流匹配 flow matching。
# </details>

# %%
print(f"wall time: {time.perf_counter() - notebook_start:.2f} s")
