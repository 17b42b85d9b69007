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

# %% [markdown] en_sha="dae9ab65d520"
# # 07 · 在真实手写数字上比较扩散模型与 VAE（以每像素比特数计）；无分类器引导
#
# 本笔记本配合原文《扩散模型原理》第 2 节和第 3 节。图中的标注、程序打印的结果和代码注释都用英文，中英术语对照见文末的术语表。笔记本 04 把式 (2.6)–(2.8) 的高斯变分自编码器 (VAE) 拟合到 8×8 手写数字上；笔记本 05 和 06 则在每个答案都精确可知的玩具数据上构建了一个扩散模型，即“带有许多隐变量的 VAE”。在这里，两者在同一份真实数据上相遇，并用同一种单位打分。
#
# **问题。** 在手写数字上，两者中哪一个是更好的生成模型？好多少？它的样本是什么样子？另外，一个网络如何把它的样本引向某个类别？
#
# **学习目标。** 学完本笔记本，你能够
# 1. 把像素上的任意密度变成离散似然的一个界（**去量化 (dequantisation)**），以**每像素比特数 (bits per pixel)** 报告它，并与不需要神经网络的基线比较；
# 2. 在同一批留出的手写数字上计算 VAE 和扩散模型的界，找出扩散模型的比特花在了哪里，并把它们花得更好：离散的最后一步，以及更长的训练；
# 3. 检查样本并不是训练集的复制品；
# 4. 为**无分类器引导 (classifier-free guidance)** 训练一个网络，并测量引导权重带来了什么、又付出了什么代价。
#
# **阅读时间与路线图。** 阅读约需 15 分钟，运行约 30 秒；练习和“深入一步”折叠块另需约 8 分钟。§1 两个模型共用一种单位 · §2 VAE · §3 扩散模型 · §4 哪个更好、比特花在哪里、怎样花得更好 · §5 样本并排比较（滑块：NFE）· §6 无分类器引导（滑块：$w$）· §7 小结、练习、参考文献。

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

from helpers.bits import (LEVELS, bits_per_pixel, dequantise, independent_pixel_bits,
                          independent_pixel_probs, mean_and_se, paired_difference, to_pixels)
from helpers.bits_per_level import PixelHistogram, elbo_per_level
from helpers.data import load_digits_with_labels
from helpers.diffusion import NoiseSchedule, diffusion_elbo
from helpers.discrete_decoder import (choose_decoder, decoder_bits, discretised_gaussian_nll,
                                      predicted_x0)
from helpers.histogram_mixture import fit_histogram_mixture, histogram_mixture_bits
from helpers.likelihood_model import RECIPE, load_likelihood_model, validation_split
from helpers.guidance import ConditionalEpsNet, GuidedEpsFn, train_guided_eps_fn
from helpers.metrics import mean_pairwise_distance, nearest_neighbours
from helpers.nets import Adam, cosine_lr, frozen, torch_threads
from helpers.plots.bits import plot_bits_against_seconds, plot_bits_per_pixel, plot_cost_per_level
from helpers.plots.digits import plot_digits
from helpers.plots.guidance import plot_guided, plot_sample_mosaic, plot_tradeoff
from helpers.progress import progress_bar
from helpers.score import pf_ode_log_likelihood, pf_ode_sample
from helpers.vae_density import density_bounds, train_density_vae
from helpers.widgets import int_slider, slider_panel

notebook_start = time.perf_counter()

train_digits, test_digits = load_digits_with_labels("train"), load_digits_with_labels("test")
x_train, y_train = train_digits.x, train_digits.labels   # notebook 04's split
x_test, y_test = test_digits.x, test_digits.labels
pixels_train, pixels_test = to_pixels(x_train), to_pixels(x_test)   # integers 0..16
print(f"{len(pixels_train)} training and {len(pixels_test)} test digits, "
      f"{pixels_train.shape[1]} pixels each, values {pixels_train.min()}..{pixels_train.max()}")

# %% [markdown] en_sha="8aa9ac594d7b"
# ## 1. 两个模型共用一种单位
#
# **在每个像素自己的灰度级之内加噪声，任何密度都能变成离散像素概率的一个下界。** 手写数字的像素是 $0, 1, \dots, 16$，共 17 个灰度级。VAE 或扩散模型是连续变量 $x \in \mathbb{R}^{64}$ 上的一个*密度* $p(x)$，而密度不是概率：它在一点处可以取任意正数，所以“$\log p(x) = 120$”本身并不能说明模型对手写数字预测得有多好。解决办法（Theis et al. 2016）：把每个像素均匀地摊开到它自己的格子里，
#
# $$x = \frac{\text{pixel} + u}{17}, \qquad u \sim U[0, 1)^{64},$$
#
# 并把模型赋予一个离散手写数字的概率定义为它在该数字的格子上放置的概率质量。格子的体积为 $17^{-64}$，而 Jensen 不等式把对数移到格子上的平均之内：
#
# $$\log P(\text{pixel}) = \log \mathbb{E}_u\, p(x)\, 17^{-64} \;\ge\; \mathbb{E}_u \log p(x) - 64 \log 17.$$
#
# 下面的模型都用这个界来打分，并换算成**每像素比特数**：$-\log_2 P / 64$，越低越好。改在 $x' = 2x - 1$ 上工作的模型必须把这次拉伸算进去：$\log p(x) = \log p'(x') + 64 \log 2$（`bits_per_pixel(..., scale=2)`）。
#
# 有两个参照点不需要神经网络。均匀分布的像素每个要花 $\log_2 17 = 4.09$ 比特。而单独对待每个像素的最佳模型，是在训练集上计数得到的逐像素直方图（每个取值额外加一次计数，这样训练中从未出现过的取值就不会被赋予概率 0）：

# %%
bits_uniform = bits_per_pixel(0.0, 64)              # p(x) = 1 on the unit cube
bits_independent = independent_pixel_bits(pixels_train, pixels_test)   # one number per digit
print(f"uniform pixels:        {bits_uniform:.3f} bits per pixel (log2 17 = {math.log2(LEVELS):.3f})")
print(f"independent pixels:    {mean_and_se(bits_independent):.3f} bits per pixel on the test digits")
share_zero = (pixels_train == 0).mean(axis=0)       # per pixel: the share of digits where it is 0
print(f"pixels that are 0 in every training digit: {(share_zero == 1).sum()} of 64; "
      f"in at least 99 %: {(share_zero >= 0.99).sum()}; in at least 90 %: {(share_zero >= 0.9).sum()}")

# %% [markdown] en_sha="285de14bc6f2"
# 在这里，计数是一个很强的基线。手写数字的边框大部分几乎总是空白的（有 10 个像素在至少 99 % 的训练数字中为 0，有 16 个像素在至少 90 % 的训练数字中为 0），而直方图知道这样的像素取 0，只需花费不到一比特。任何对整幅图像联合建模的模型，都必须先学到这么多。
#
# **2.42 有多好？一个刻画像素之间如何关联的模型能做得更好，而且仍然不需要神经网络。** $K$ 个直方图的混合 (mixture of histograms)，$P(\text{pixels}) = \sum_k \pi_k \prod_j \theta_k[j, \text{pixel}_j]$，就是一个隐变量 $k$ 为离散变量、似然可以精确计算的 VAE。期望最大化算法 (expectation-maximisation, EM) 一两秒就能拟合它：

# %%
mixture = fit_histogram_mixture(pixels_train, n_components=20, max_iter=30, rng=0)
bits_mixture = histogram_mixture_bits(mixture, pixels_test)
print(f"mixture of {len(mixture.weights)} histograms: {mean_and_se(bits_mixture):.3f} bits per pixel; "
      f"minus independent pixels {paired_difference(bits_mixture, bits_independent):+.3f}")

# %% [markdown] en_sha="93af321687fb"
# 像素之间的关联大约值每像素 0.2 比特。一个胜过 2.42 的网络，学到了关于整幅图像的一些东西；要胜过 2.23，它知道的必须比 20 个原型更多。
#
# <details><summary>深入一步：混合的 K</summary>
#
# $K = 20$ 除了这一次查看之外，并没有在测试数字上调过；测试会检查 $K = 10$ 和 $K = 30$ 与它相差不超过 0.04 比特。EM 的目标（对数似然加上平滑项的对数先验）从不下降，而 $K = 1$ 恰好就是直方图（`tests/test_bits_per_level.py`）。自回归模型（按顺序用前面的像素预测每个像素，每个像素一个逻辑回归就行）还能做得更好。
# </details>
#
# <details><summary>深入一步：两个模型看到的数据</summary>
#
# 两个模型在同一份数据上训练：训练集中的手写数字，每个都用新抽取的 $u$ 去量化 16 次（种子固定），这样模型看到的是整个格子，而不是格子中的一个点。测试数字只去量化一次；于是每个测试数字的界都是其 $\mathbb{E}_u \log p(x)$ 的无偏估计，下面的标准误也包含了 $u$ 带来的噪声。
# </details>

# %%
x_train_dq = dequantise(np.tile(pixels_train, (16, 1)), rng=0)   # (16 * 1438, 64) in [0, 1)
y_train_dq = np.tile(y_train, 16)
x_test_dq = dequantise(pixels_test, rng=1)
print(f"training set {x_train_dq.shape}, test set {x_test_dq.shape}")

# %% [markdown] en_sha="4b14a16b4999"
# ## 2. 笔记本 04 的 VAE，作为像素的密度
#
# **要作为密度来打分，VAE 需要每个像素各有一个方差。** 笔记本 04 的解码器 $p_\theta(x \mid z) = N(f_\theta(z), c\,I)$ 对全部 64 个像素只用一个 $c$，并不合适：一个空白的边框像素在去量化之后服从 $[0, 1/17)$ 上的均匀分布，标准差约为 $0.017$，而笔画上的像素在不同数字之间相差好几个灰度级。单一的 $c$ 只能取在两者之间，在两边都多付了代价。因此这里的 VAE 为每个像素学习一个方差，它是 $z$ 的函数：
#
# $$p_\theta(x \mid z) = N\big(f_\theta(z),\ \mathrm{diag}\, v_\theta(z)\big),$$
#
# 即解码器返回 128 个数，而不是 64 个。其他一概不变（练习 1 试的是单一的、可学习的 $c$）。隐变量 16 维，两个各含 128 个 ReLU 单元的隐藏层，均值经 sigmoid 输出，优化器为 Adam，学习率按余弦衰减：

# %%
vae = train_density_vae(x_train_dq, z_dim=16, hidden=(128, 128), steps=1800, batch_size=128,
                        lr=4e-3, seed=0, desc="VAE with learned variance")
bounds = density_bounds(vae.model, x_test_dq, k=250, rng=0)   # the same draws for both bounds
bits_vae_elbo = bits_per_pixel(bounds.elbo, 64)
bits_vae_iwae = bits_per_pixel(bounds.iwae, 64)
print(f"training wall time {vae.train_s:.1f} s")
print(f"IWAE (K = {bounds.k}) below the ELBO, in bits per pixel, on every test digit: "
      f"{bool(np.all(bits_vae_iwae <= bits_vae_elbo))}")

# %% [markdown] en_sha="028cfa619d91"
# 重要性加权界（笔记本 04，§6）更紧：在每个数字上都低于 ELBO。两者的数值见 §4 的图。
#
# <details><summary>深入一步：VAE 的数值会变动多少</summary>
#
# 这个 VAE 的训练会把某一次运算在最后一位上的差异（换一种 CPU、换一个 torch 版本）在 1800 步后放大成每像素零点零几比特。预计 ELBO 在每像素约 2.53 到 2.67 比特之间，IWAE 比它低 0.06 到 0.08（这是我们在训练种子 0-3 和多种 CPU 运算方式下的测量结果）。§3 的扩散模型在我们试过的每种 CPU 上都打印出相同的数字。
# </details>
#
# ## 3. 同一份数据上的扩散模型
#
# **一个按笔记本 06 训练的网络，给扩散模型带来一个下界和一个似然。** 它在 $x' = 2x - 1 \in [-1, 1)$ 上工作，这是它的噪声调度所适合的范围。它的网络是笔记本 06 中面向连续噪声水平的 $\varepsilon_\theta(x, \sigma)$，只多了一个输入：数字的类别，或者一个**空 (null)** 标签。训练时，每个样例的标签以 0.2 的概率被替换为空标签（*标签丢弃 (label dropout)*），这样同一个网络既学到条件的 $\mathbb{E}[\varepsilon \mid x, y]$，也学到无条件的 $\mathbb{E}[\varepsilon \mid x]$。本节只用无条件的那一半；§6 两半都用。
#
# 训练循环就是笔记本 06 的那个（`train_eps_fn`），只是加上了标签。下面就是全部的训练过程：

# %%
STEPS, BATCH, LR, P_UNCOND, SIGMA_MIN = 600, 256, 2e-3, 0.2, 0.01
x0 = torch.as_tensor(2 * x_train_dq - 1, dtype=torch.float32)     # x' = 2x - 1
y0 = torch.as_tensor(y_train_dq)
with torch_threads(1):
    torch.manual_seed(0)
    net = ConditionalEpsNet(64, n_classes=10, hidden=256, n_layers=3, sigma_min=SIGMA_MIN)
    gen = torch.Generator().manual_seed(1)
    opt, history = Adam(net.parameters(), lr=LR), []
    start = time.perf_counter()
    for step in progress_bar(range(STEPS), desc="diffusion eps_theta(x, sigma, y)"):
        i = torch.randint(len(x0), (BATCH,), generator=gen)
        x, y = x0[i], y0[i]
        drop = torch.rand(BATCH, generator=gen) < P_UNCOND
        y = torch.where(drop, torch.full_like(y, net.null), y)     # label dropout
        log_sigma, ab, weight = net.draw_level(BATCH, gen)          # levels, weights 1 + sigma^2
        eps = torch.randn(x.shape, generator=gen)
        x_t = ab.sqrt() * x + (1 - ab).sqrt() * eps                 # x_t ~ q(x_t | x_0)
        loss = (weight * (eps - net(x_t, log_sigma, y)) ** 2).sum(1).mean()
        opt.param_groups[0]["lr"] = cosine_lr(LR, step, STEPS)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    diffusion_train_s = time.perf_counter() - start
# gradients off; float32 as trained (for the ELBO's and the samplers' many calls)
eps_theta = GuidedEpsFn(frozen(net), np.asarray(history), diffusion_train_s)
print(f"training wall time {diffusion_train_s:.1f} s; final loss {np.mean(history[-100:]):.1f} "
      f"(mean of the last 100 steps)")

# %% [markdown] en_sha="56dfc71e81dd"
# <details><summary>深入一步：同样的训练，一次调用</summary>
#
# `train_guided_eps_fn(2 * x_train_dq - 1, y_train_dq, n_classes=10, steps=600, seed=0, dtype="float32")` 运行的是同样的几行代码；有一个测试会检查它复现了本笔记本打印的、来自扩散模型的每个数字。
# </details>
#
# 这同一个网络的两种似然：沿 250 步余弦调度展开的**笔记本 05 的 ELBO**，反向方差取 $\sigma_t^2 = \beta_t$；以及在前 8 个测试数字上计算的**笔记本 06 的概率流 ODE 似然**（Heun 法，96 次评估）。
#
# <details><summary>深入一步：概率流 ODE 似然的代价与精度</summary>
#
# 概率流 ODE 似然对这个 ODE 所定义的模型是精确的，只差求解器的误差。每个数字每次评估要让网络处理 $2 \cdot 64 + 1 = 129$ 行输入（散度用有限差分计算），所以只算 8 个数字（在这 8 个数字上 ELBO 是 3.28，与 ODE 的 3.28 持平：比较两个界要用同样的数字）。用 96 次评估时，它与其极限的差约在 0.03 以内（只用 24 次时，它会让模型显得更好：好多少，留给练习 4）。它所评分的模型在 $x'$ 上加入了 $N(0, \sigma_{\min}^2)$ 噪声，$\sigma_{\min} = 0.01$，约为一个像素灰度级的十二分之一。$\sigma_t^2 = \beta_t$ 是在笔记本 06 §5 中给出更好的界的那个选择。
# </details>

# %%
schedule = NoiseSchedule.cosine(250)
elbo = diffusion_elbo(2 * x_test_dq - 1, eps_theta.eps_model(schedule), schedule, rng=0,
                      reverse_var="beta")
bits_diffusion_elbo = bits_per_pixel(elbo.elbo, 64, scale=2)
N_ODE, NFE_ODE = 8, 96
log_p_ode = pf_ode_log_likelihood(eps_theta.in_float64().eps_fn(),  # finite differences: float64
                                  2 * x_test_dq[:N_ODE] - 1, nfe=NFE_ODE, sigma_min=SIGMA_MIN)
bits_diffusion_ode = bits_per_pixel(log_p_ode, 64, scale=2)
print(f"diffusion, ELBO (T = {schedule.T}):       {mean_and_se(bits_diffusion_elbo):.3f} bits per pixel")
print(f"diffusion, ODE likelihood ({N_ODE} digits, {NFE_ODE} evaluations): "
      f"{mean_and_se(bits_diffusion_ode):.3f} bits per pixel")
# the ELBO's terms as costs in bits per pixel of x' (a density above 1 gives a negative cost),
# then the two constants: + log2 17 for the cells, - 1 for the stretch x' = 2x - 1
cost = {name: np.mean(v) / (64 * math.log(2)) for name, v in
        (("reconstruction", -elbo.reconstruction), ("denoising", elbo.denoising), ("prior", elbo.prior))}
print("ELBO as costs, bits per pixel: " + " + ".join(f"{k} {v:.3f}" for k, v in cost.items())
      + f" + log2 17 - 1 = {sum(cost.values()) + math.log2(LEVELS) - 1:.3f}")

# %% [markdown] en_sha="8b3739d83a44"
# ## 4. 哪个模型更好，好多少？
#
# **在这个预算下，两个模型都胜不过对像素取值计数。** 差值是在同一批数字上测量的，所以标准误来自逐个数字的差值（配对比较）。

# %%
rows = {"uniform pixels": bits_uniform,
        "independent pixels (exact)": bits_independent,
        "mixture of 20 histograms (exact)": bits_mixture,
        "VAE, ELBO": bits_vae_elbo,
        f"VAE, IWAE K = {bounds.k}": bits_vae_iwae,
        "diffusion, ELBO": bits_diffusion_elbo,
        f"diffusion, ODE ({N_ODE} digits)": bits_diffusion_ode}
print(f"{'model':32} {'worse than the histogram on average':>36}")
for name, bits in rows.items():
    if np.ndim(bits) and bits is not bits_independent:
        print(f"{name:32} {str(paired_difference(bits, bits_independent).mean > 0):>36}")
print(f"training: VAE wall time {vae.train_s:.1f} s, diffusion wall time {diffusion_train_s:.1f} s "
      f"(1800 and {STEPS} steps, one thread each)")
plot_bits_per_pixel(rows, reference="independent pixels (exact)")

# %% [markdown] en_sha="37f1ee052ea1"
# 看每个模型落在虚线（直方图）的哪一侧：每个网络都在它的右侧，混合模型在它的左侧。各个界给出的比特数都是上界，而且两个网络都远未收敛（见本节最后一张图）。
#
# ### 扩散模型的比特花在了哪里
#
# **网络多付的比特大多付在低于一个灰度级的噪声水平上，其中近一半付在几乎总是空白的像素上。** 笔记本 05 的 ELBO 是对步求和，而在每一步之内又是对像素求和；`elbo_per_level` 把这两个求和分开保存。为了把链本身的松弛与网络的误差区分开，用直方图密度的*精确* $\mathbb{E}[\varepsilon \mid x_t]$ 来驱动同一条链（每个像素都是若干截断正态之和，每个灰度级一个：`PixelHistogram`）。两者都在前 60 个测试数字上运行，使用相同的随机抽样：

# %%
n_cond = 60                       # the first 60 test digits (§6 uses them too)
x_cond, y_cond = 2 * x_test_dq[:n_cond] - 1, y_test[:n_cond]
histogram = PixelHistogram.from_pixels(pixels_train)
costs_network = elbo_per_level(x_cond, eps_theta.eps_model(schedule), schedule, rng=0,
                               reverse_var="beta")
costs_histogram = elbo_per_level(x_cond, histogram.eps_model(schedule), schedule, rng=0,
                                 reverse_var="beta")
bits_uncond = bits_per_pixel(-costs_network.per_digit, 64, scale=2)     # the network's ELBO
bits_chain = bits_per_pixel(-costs_histogram.per_digit, 64, scale=2)
print(f"first {n_cond} test digits, bits per pixel: histogram {bits_independent[:n_cond].mean():.3f}; "
      f"the chain with its exact eps {bits_chain.mean():.3f}; with the network {bits_uncond.mean():.3f}")
blank = share_zero >= 0.9                       # the 16 mostly blank pixels
below = costs_network.sigma < 2 / LEVELS        # one grey level of x' = 2x - 1
gap = (costs_network.per_pixel - costs_histogram.per_pixel) / (64 * math.log(2))
print(f"network minus exact eps: {gap.sum():.2f}; at sigma < 2/17: {gap[below].sum():.2f}; "
      f"on the {blank.sum()} mostly blank pixels: {gap[:, blank].sum():.2f}")
plot_cost_per_level(costs_network, costs_histogram,
                    {"mostly blank (0 in 90 % of digits)": blank, "the rest": ~blank})

# %% [markdown] en_sha="3e8e8e5072e2"
# 看右图中曲线在哪里上升。（左图的代价是 $x'$ 上密度的代价；换成手写数字的每像素比特数，要加上 $\log_2 17 - 1 = 3.09$。）
#
# - **链本身的松弛是 0.18 比特：** 用精确的噪声预测，它得 2.62 分，而直方图在这些数字上是 2.44。250 个高斯步无法精确地终止于一个在每个格子上都平坦的密度。
# - **网络又多出 0.80，其中 0.69 出现在 $\sigma < 2/17$ 处，** 这时的问题是一个像素处在相邻两个灰度级中的哪一个。在 $\sigma \approx 0.3$ 到 1 之间，全部像素和其余像素的曲线反而*下降*：在那里，网络看得到其他像素，预测得比直方图更好。
# - **这 0.80 中有 0.38 付在 16 个几乎总是空白的像素上。** 空白像素在 $[0, 1/17)$ 上均匀分布；终止于更宽的高斯分布的链，会把密度漏到相邻的灰度级上。§5 的样本中，这表现为斑点。
#
# ### 把比特花得更好：离散的最后一步，以及更长的训练
#
# **在高于一个灰度级处停止这条链，并以 17 个灰度级上的概率结束它。** Ho et al. (2020，式 13) 用一个高斯分布落在像素格子上的质量来为每个像素打分：
#
# $$P(v \mid x_{t_0}) = \Phi\Big(\frac{e_{v+1} - \hat x_0}{s}\Big) - \Phi\Big(\frac{e_v - \hat x_0}{s}\Big),$$
#
# 其中格子边界为 $e_v = 2v/17 - 1$（最外侧的格子包含两端的尾部），$\hat x_0$ 是网络由 $x_{t_0}$ 对干净数字的猜测。$t_0$ 以下的步被舍弃。$t_0$ 和宽度 $s$ 在从训练数字中划出的 **238 个验证集 (validation split) 数字**上选取，从不使用测试数字。这就是**离散化高斯解码器 (discretised Gaussian decoder)**。
#
# <details><summary>深入一步：为什么解码器这几行能与其他行比较</summary>
#
# 解码器给出的是像素本身的概率，所以不需要加上格子体积或拉伸：$t_0$ 以上的链上各项、解码器和先验项一起，界定的是与 §1 的去量化界相同的 $\log P(\text{pixels})$。Ho et al. 把解码器放在 $t = 1$；在 $t_0$ 处停下、使用 $\hat x_0$ 并在验证集数字上选宽度，是我们的变体。
# </details>
#
# **哪个模型为什么而训练。** §3 的网络是现场训练的，为的是*样本*和引导（笔记本 06 的加权，在 $\sigma$ 上平坦）；§5 和 §6 使用它。为了似然，我们还加载第二个网络：架构和加权都相同、没有标签，在另外 1200 个训练数字上训练，步数是 §3 的 40.5 倍。这需要几分钟，所以由一个固定种子的脚本生成（`make weights`），笔记本只加载它：

# %%
likelihood_model = load_likelihood_model(dtype="float32")  # §3's recipe, 40.5x the steps: make weights
model = likelihood_model.eps_model(schedule)
split = validation_split(len(pixels_train))      # 1200 train the network, 238 choose t0 and s
pixels_val = pixels_train[split.validation]
x_val = 2 * dequantise(pixels_val, rng=5) - 1
elbo_val = diffusion_elbo(x_val, model, schedule, rng=0, reverse_var="beta")
sigma = costs_network.sigma
choice = choose_decoder(pixels_val, x_val, model, schedule, elbo_val.per_step, elbo_val.prior,
                        rng=1)                   # every candidate t0 and s: a grid
print(f"searched {len(choice.steps)} stopping steps (sigma {sigma[choice.steps[0] - 1]:.3f} to "
      f"{sigma[choice.steps[-1] - 1]:.3f}) x {len(choice.stds)} widths s "
      f"({choice.stds[0]:.2f} to {choice.stds[-1]:.2f})")
print(f"chosen on validation: stop at t0 = {choice.t} (sigma = {sigma[choice.t - 1]:.2f}), "
      f"s = {choice.std:.2f}; validation {choice.bits.min():.3f} bits per pixel")

def bits_on_test_digits(eps_model, elbo_terms):
    """Bits per pixel of the test digits: the chain's terms above t0 plus the discrete decoder."""
    return decoder_bits(pixels_test, 2 * x_test_dq - 1, eps_model, schedule, elbo_terms.per_step,
                        elbo_terms.prior, t=choice.t, std=choice.std, rng=2)

elbo_likelihood = diffusion_elbo(2 * x_test_dq - 1, model, schedule, rng=0, reverse_var="beta")
decoder_rows = {"independent pixels (exact)": bits_independent,
                "mixture of 20 histograms (exact)": bits_mixture,
                "§3's network, ELBO": bits_diffusion_elbo,
                "§3's network, discrete decoder": bits_on_test_digits(eps_theta.eps_model(schedule),
                                                                      elbo),
                "trained 40.5x longer, ELBO": bits_per_pixel(elbo_likelihood.elbo, 64, scale=2),
                "trained 40.5x longer, discrete decoder": bits_on_test_digits(model, elbo_likelihood)}
for name, bits in list(decoder_rows.items())[2:]:
    print(f"{name:38} {mean_and_se(bits):.3f}, minus the histogram "
          f"{paired_difference(bits, bits_independent):+.3f}")
# the decoder's last step alone, per pixel group, against the histogram's whole cost there
x0_hat = predicted_x0(2 * x_test_dq - 1, model, schedule, choice.t, rng=2)
hist_cost = -np.log2(independent_pixel_probs(pixels_train)[np.arange(64), pixels_test])
for group, cols in (("mostly blank", blank), ("the rest", ~blank)):
    last = discretised_gaussian_nll(pixels_test[:, cols], x0_hat[:, cols], choice.std)
    print(f"{group:13} pixels, bits per pixel: the decoder's last step alone "
          f"{last.mean() / (cols.sum() * math.log(2)):.3f}, the histogram {hist_cost[:, cols].mean():.3f}")
plot_bits_per_pixel(decoder_rows, reference="independent pixels (exact)")

# %% [markdown] en_sha="2703b2cd282c"
# 单靠这个解码器，§3 的网络就从 3.43 降到 2.71，无需重新训练（它沿用训练更久的网络的 $t_0$ 和 $s$：§3 的网络见过验证集数字）。训练 40.5 倍之久后，ELBO 是 2.62，加上解码器后是 **2.25，比直方图低 0.18 ± 0.01**，但还没有低于混合模型的 2.23。解码器的收益全在笔画上：在几乎总是空白的像素上，单是它的最后一步，花费就超过直方图在那里的全部花费（每像素 0.76 对 0.14 比特），因为一个宽度 $s$ 无法让灰度级 0 像数据中那样确定。
#
# <details><summary>深入一步：ELBO 的加权</summary>
#
# 为了似然，通常的建议是用 ELBO 自己的加权（$\log \sigma$ 均匀分布，权重为 1：Kingma et al. 2021）。我们最初提交的网络就用了它，其余配方相同：ELBO 2.685，解码器 2.360（`benchmarks/results/digits-2026-12-07-likelihood.json`），都比这个网络的 2.62 和 2.25 差。每种各只有一个训练种子，但在这样的训练长度下，这种加权并没有换来比特；`make bench` 在 §3 的 600 步下训练两种加权。
# </details>
#
# **更长的训练，来自 `make bench`：** §2 和 §3 的两个模型分别训练 1、3、9 和 27 倍的时长（一次运行；数字抄自 `benchmarks/results/digits-2026-12-07-issue31.json`）：

# %%
BENCH = {"VAE, IWAE": ((3.1, 9.9, 28.4, 85.8), (2.481, 2.356, 2.612, 3.180)),
         "VAE, ELBO": ((3.1, 9.9, 28.4, 85.8), (2.558, 2.528, 2.963, 3.883)),
         "diffusion, ODE": ((2.7, 8.6, 23.6, 80.4), (3.286, 3.039, 2.864, 2.491)),
         "diffusion, ELBO": ((2.7, 8.6, 23.6, 80.4), (3.426, 3.160, 2.841, 2.617))}
plot_bits_against_seconds(BENCH, histogram=float(bits_independent.mean()),
                          joint=("mixture of 20 histograms", float(bits_mixture.mean())),
                          best=("VAE stopped at its best", 9.9, 2.356))

# %% [markdown] en_sha="5299e872b788"
# 看两种形状：VAE 的测试界在 10 s 时最好，之后变差（它过拟合了），而扩散模型的界一直在下降。如果在最好的时候停下，VAE 的 IWAE 2.36 仍高于训练更久的网络加上解码器的 2.25。
#
# <details><summary>深入一步：基准测试的这些运行衡量的是什么</summary>
#
# `make bench BENCH_ARGS="--only digits"` 以 3 倍、9 倍和 27 倍的步数训练两个模型（其中概率流 ODE 似然在 64 个数字上用 128 次评估）。VAE 在*训练*数字上的 ELBO 一直在改善（每像素 2.19、2.02、1.90 比特），而它的测试界却变差了：这就是过拟合。它的最佳点是在测试数字上挑出来的，这对它稍有利；训练更久的网络的解码器则是在验证集数字上选的。扩散模型最好的是 80 s 时的概率流 ODE 似然，在它的 64 个数字上为 2.49 ± 0.04，与直方图在这些数字上的 2.45 持平；只有训练得更久的那个已提交网络，加上解码器，才低于直方图。
# </details>

# %% [markdown] en_sha="8c6eb4a1e999"
# ## 5. 样本并排比较
#
# **拿样本与样本比，而不是与解码器的均值比。** VAE 先采样得到 $z \sim N(0, I)$，它的解码器再给出每个像素的均值 $f_\theta(z)$ 和方差 $v_\theta(z)$。很多论文展示的是均值（第一行）；模型的一个真正样本还要加上解码器的噪声（第二行），应当拿来与扩散模型那一行比较的正是这一行。扩散模型用 Heun 法从噪声出发求解概率流 ODE（笔记本 06）。它们下面是真实的测试数字。

# %%
def to_image(x_model):
    """From the diffusion model's x' = 2x - 1 back to pixels in [0, 1]."""
    return np.clip((x_model + 1) / 2, 0, 1)

with torch.no_grad():
    z = torch.randn(20, 16, generator=torch.Generator().manual_seed(3))
    decoded = vae.model.decode_with_var(z)                  # f_theta(z) and v_theta(z)
    noise = torch.randn(decoded.mean.shape, generator=torch.Generator().manual_seed(4))
    vae_means = decoded.mean.numpy()
    vae_samples = np.clip((decoded.mean + decoded.var.sqrt() * noise).numpy(), 0, 1)
diffusion_samples = to_image(pf_ode_sample(eps_theta.eps_fn(), 20, nfe=24, d=64,
                                           sigma_min=SIGMA_MIN, rng=3))
plot_digits([vae_means, vae_samples, diffusion_samples, x_test[:20]],
            row_labels=["VAE mean", "VAE sample", "diffusion", "real"],
            title="samples and held-out digits", ncols=20)

# %% [markdown] en_sha="61be49f502c4"
# 看什么：VAE 的样本是其均值的一个更粗糙的版本，均值本身是平滑的、大多能认出来的数字；扩散模型的样本更粗糙，许多难以辨认，边框上有灰色的斑点：这正是 §4 的比特在空白像素上发现的外漏。在训练数字中 99 % 都为空白的 10 个像素上数一数，也数一数 §4 中训练更久、花费比特更少的那个网络：

# %%
nearly_blank = share_zero >= 0.99
long_samples = to_image(pf_ode_sample(likelihood_model.eps_fn(), 20, nfe=24, d=64,
                                      sigma_min=SIGMA_MIN, rng=3))    # §4's 40.5x network
speckle, speckle_long = ((s[:, nearly_blank] >= 1 / LEVELS).mean()     # level 1 or more
                         for s in (diffusion_samples, long_samples))
print(f"nearly blank pixels at level 1 or more: diffusion samples {speckle:.0%} (trained 40.5x "
      f"longer: {speckle_long:.0%}), real test digits {(pixels_test[:, nearly_blank] > 0).mean():.1%}")

# %% [markdown] en_sha="a9c1c5922d76"
# 训练更久的网络斑点更少（14 % 对 39 %），但仍远多于真实数字。
#
# 模型会复制它们的训练数字吗？下面在每个扩散样本旁边给出离它最近的训练数字（像素空间中的欧氏距离），并作为对比，给出每个测试数字到离它最近的训练数字的距离：测试数字从未被模型见过，所以它的距离代表了“新”数字应有的距离。

# %%
reference = dequantise(pixels_train, rng=2)       # training digits on the samples' scale, (v + u) / 17
nearest = nearest_neighbours(diffusion_samples, reference)
index, dist = nearest.index, nearest.distance
dist_test = nearest_neighbours(x_test_dq, reference).distance
print(f"distance to the nearest training digit: samples median {np.median(dist):.2f} "
      f"(min {dist.min():.2f}); test digits median {np.median(dist_test):.2f} (min {dist_test.min():.2f})")
plot_digits([diffusion_samples[:10], reference[index[:10]]], row_labels=["sample", "nearest train"],
            title="diffusion samples and their nearest training digits", ncols=10)

# %% [markdown] en_sha="9ae519d3e06c"
# 没有一个样本是复制品：即使是离训练集最近的样本，与任何训练数字的距离也至少有 1.41，比测试数字到其最近训练数字距离的中位数（0.99）还远。样本的粗糙也会增加距离。
#
# **滑块。** ODE 求解器的网络评估次数。只评估一次时，求解器从噪声直接跳到网络对干净数字的猜测上：接近平均数字。

# %%
# NBVAL_IGNORE_OUTPUT
def sample_digits(nfe):
    return to_image(pf_ode_sample(eps_theta.eps_fn(), 30, nfe=nfe, d=64, sigma_min=SIGMA_MIN, rng=4))

slider_panel(plot_sample_mosaic, int_slider("nfe", 8, 1, 40), sample=sample_digits)

# %% [markdown] en_sha="1f1396651643"
# ## 6. 无分类器引导
#
# **一个知道类别的网络，可以用多样性换取更易辨认的数字。** 取引导权重 $w \ge 0$（Ho & Salimans 2022），
#
# $$\hat\varepsilon = (1 + w)\, \varepsilon_\theta(x, \sigma, y) - w\, \varepsilon_\theta(x, \sigma, \varnothing).$$
#
# $w = 0$ 时，它就是条件模型本身；更大的 $w$ 把样本推向那些毫无疑问属于类别 $y$ 的数字。
#
# <details><summary>深入一步：用分数表示的引导</summary>
#
# 用分数来表示（笔记本 06，§1），这就是 $\nabla \log p(x \mid y) + w \nabla \log p(y \mid x)$：该类别的分数，加上一个隐式分类器 $p(y \mid x) \propto p(x \mid y) / p(x)$ 的分数的 $w$ 倍。所以引导大致是从 $p(x \mid y)\, p(y \mid x)^w$ 这样的分布中采样。它的前身，*分类器*引导 (classifier guidance)（Dhariwal & Nichol 2021），加上的是一个单独训练的分类器的梯度；无分类器的形式只需要这一个网络。
# </details>
#
# 为了测量**保真度 (fidelity)**，给每个生成的数字贴上离它最近的训练数字的标签（最近邻分类器）；贴上的正是所要求类别的比例，说明这些数字有多容易辨认。**多样性 (diversity)** 是同一类别中两个样本之间的平均距离，再除以该类别真实测试数字的同一距离。

# %%
def classify(images):
    """The label of each image's nearest training digit (Euclidean distance on the pixels)."""
    return y_train[nearest_neighbours(images, reference).index]

real_accuracy = float(np.mean(classify(x_test_dq) == y_test))
real_spread = np.array([mean_pairwise_distance(x_test_dq[y_test == c]) for c in range(10)])
print(f"classifier accuracy on the real test digits: {real_accuracy:.3f}")

W_VALUES, PER_CLASS = (0, 1, 2, 3, 4, 5, 6), 20
labels = np.repeat(np.arange(10), PER_CLASS)
guided, accuracy, diversity = {}, {}, {}
for w in W_VALUES:
    x_model = pf_ode_sample(eps_theta.eps_fn(y=labels, w=w), len(labels), nfe=16, d=64,
                            sigma_min=SIGMA_MIN, rng=5)       # the same starting noise for every w
    images = to_image(x_model).reshape(10, PER_CLASS, 64)
    guided[w] = images
    accuracy[w] = float(np.mean(classify(images.reshape(-1, 64)) == labels))
    diversity[w] = float(np.mean([mean_pairwise_distance(images[c]) for c in range(10)]
                                 / real_spread))
    print(f"w = {w}: accuracy {accuracy[w]:.3f}, diversity {diversity[w]:.2f}")
plot_tradeoff(W_VALUES, [accuracy[w] for w in W_VALUES], [diversity[w] for w in W_VALUES],
              real_accuracy)

# %% [markdown] en_sha="b237cc023f1e"
# 准确率从 0.660 开始上升，$w = 2$ 时为 0.985，此后一直接近 1，而多样性从 1.13 降到 0.69。$w = 0$ 时的 1.13 高于真实数字的散布，但这并不全是多样性：这些样本中有三分之一被认成了别的类别，这也会增大距离。
#
# **滑块。** 引导权重：每个类别一行，每个 $w$ 都使用相同的初始噪声。

# %%
# NBVAL_IGNORE_OUTPUT
first_six = {w: images[:, :6] for w, images in guided.items()}
slider_panel(plot_guided, int_slider("w", 0, 0, 6), samples=first_six, accuracy=accuracy,
             diversity=diversity)

# %% [markdown] en_sha="b65d931154b1"
# **引导以似然为代价。** 带引导的采样器仍然是一条由高斯步组成的链，所以它有一个 ELBO：就是笔记本 05 的那个，只是均值中用的是引导后的 $\hat\varepsilon$。在测试数字上*用它们自己的标签*为条件链打分：得到 $\log p(x \mid y)$ 的一个界。对于满足 $p(x) = \sum_y p(y)\, p(x \mid y)$ 且十个类别等可能的单个模型，知道标签最多能节省每像素 $\log_2 10 / 64 = 0.052$ 比特。然后增大 $w$：

# %%
# the first 60 test digits of §4 (x_cond, y_cond), the same draws for every w
print(f"unconditional: ELBO of log p(x) {mean_and_se(bits_uncond):.3f} bits per pixel")
# one eps_model per w, sharing the network's calls: equal draws give every w the same x_t
for w, eps_model in zip((0, 1, 3), eps_theta.eps_models(schedule, y=y_cond, ws=(0, 1, 3))):
    e = diffusion_elbo(x_cond, eps_model, schedule, rng=0, reverse_var="beta")
    bits = bits_per_pixel(e.elbo, 64, scale=2)
    print(f"w = {w}: ELBO of log p(x | y) {mean_and_se(bits):.3f} bits per pixel, "
          f"minus unconditional {paired_difference(bits, bits_uncond):+.3f}")

# %% [markdown] en_sha="cc29fccdae44"
# 加入引导后，界迅速变差：在 $w = 1$ 时比无条件模型的界差了每像素 0.14 比特，到 $w = 3$ 时差了 2.4 比特。带引导的链集中在每个类别最典型的数字上。因此，应当报告不带引导的模型的似然；引导是采样时的一个选择，它放弃一部分似然，换来容易辨认的样本。
#
# <details><summary>深入一步：为什么这里标签的价值超过 0.052</summary>
#
# 在 $w = 0$ 时，条件界比无条件界好每像素 0.19 比特，超过了仅凭标签所能带来的 0.052。网络的两半是两个不同的模型，而不是 $p(x \mid y)$ 及其自身的平均 $p(x)$；条件的那一半只不过是这些测试数字的一个更好的模型。（它见过五分之四的训练行，无条件的那一半只见过五分之一；练习 5 会改变标签丢弃概率，看这个差距怎样变化。）
# </details>

# %% [markdown] en_sha="73b5a394cbac"
# ## 7. 小结
#
# - **去量化**把连续像素上的任意密度变成离散似然的一个界，$\log P \ge \mathbb{E}_u \log p(x) - 64 \log 17$；每像素比特数把所有模型放在同一种单位下，并计入了变量替换。
# - **先看基线。** 逐像素直方图（2.42 比特）胜过了只训练几秒钟的两个模型；20 个直方图的混合（2.23）说明了对整幅图像联合建模的价值。
# - **比特花在哪里。** 扩散网络的代价大多出现在低于一个灰度级的噪声上，其中很多付在空白像素上（也就是样本中的斑点）。在这个水平之上接一个离散解码器，再加上 40.5 倍的训练，就把它降到 2.25，低于直方图。
# - **VAE** 需要为每个像素学习方差；扩散模型的概率流 ODE 似然需要足够的求解器步数：步数太少时，它会让模型显得更好（练习 4）。
# - **样本**不是训练数字的复制品。
# - **无分类器引导**以多样性和似然换取可辨认性。
#
# ### 练习（先预测，再检验）
#
# 1. **所有像素共用一个 $c$。** 笔记本 04 的 VAE 只有一个解码器方差。预测用笔记本 04 的 `train_vae`、并采用 §2 的架构和步数学习 $c$ 时它的每像素比特数。
#
#    <details><summary>检验用的代码</summary>
#
#    先 `from helpers.vae import negative_elbo, train_vae`，然后 `r = train_vae(x_train_dq.astype("float32"), c=0.05, learn_c=True, z_dim=16, hidden=(128, 128), activation="relu", decoder_mean="sigmoid", steps=1800, lr=4e-3, progress=False)`，再计算 `bits_per_pixel(-negative_elbo(r.model, torch.as_tensor(x_test_dq, dtype=torch.float32), float(r.c[0]), rng=0).detach().numpy(), 64).mean()`。
#    </details>
#
#    <details><summary>解答</summary>
#
#    约为每像素 3.4 比特，而 §2 的 VAE 约为 2.6，直方图为 2.42。学到的 $c$ 约为 0.013，即所有像素上的平均平方误差：对空白边框来说远远太宽（去量化后，边框像素取值的方差为 $(1/17)^2 / 12 = 3 \cdot 10^{-4}$），对笔画来说又太窄。
#    </details>
#
# 2. **格子与比特。** 假设一个模型把全部概率质量均匀地放在一个测试数字每个像素的正确格子之内。它的每像素比特数是多少？对于在该格子上取值为 $17^{64}$ 的密度，`bits_per_pixel(log_p, 64)` 会给出什么？
#
#    <details><summary>解答</summary>
#
#    0 比特：离散概率为 1。密度在体积为 $17^{-64}$ 的格子上为 $17^{64}$，所以 $\log p = 64 \log 17$，而 `bits_per_pixel(64 * np.log(17), 64)` 给出 0.0。这里的界是精确的，因为密度在格子内是平坦的（对常数而言，Jensen 不等式取等号）。
#    </details>
#
# 3. **让扩散模型多训练一些步。** 预测如果网络训练 1800 步而不是 600 步（所需时间为三倍），扩散模型的 ELBO 和概率流 ODE 似然会如何变化。
#
#    <details><summary>检验用的代码</summary>
#
#    `eps3 = train_guided_eps_fn(2 * x_train_dq - 1, y_train_dq, n_classes=10, steps=1800, seed=0, progress=False)`，然后用 `eps3` 代替 `eps_theta` 运行 §3 的单元格。
#    </details>
#
#    <details><summary>解答</summary>
#
#    两者都会改善：ELBO 从每像素 3.426 比特降到 3.160，概率流 ODE 似然从 3.28 降到 3.00，仍高于直方图的 2.42（`make bench` 训练得还要更久）。基准测试对同样三倍的训练给出 3.04，那是另一次测量：它的概率流 ODE 似然在 64 个数字上用 128 次求值，而 §3 在 8 个数字上用 96 次。
#    </details>
#
# 4. **更少的评估次数。** 预测 §3 的概率流 ODE 似然在用 24 次而不是 96 次网络评估时的值。模型看起来会更好还是更差？
#
#    <details><summary>检验用的代码</summary>
#
#    `bits_per_pixel(pf_ode_log_likelihood(eps_theta.in_float64().eps_fn(), 2 * x_test_dq[:8] - 1, nfe=24, sigma_min=SIGMA_MIN), 64, scale=2).mean()`
#    </details>
#
#    <details><summary>解答</summary>
#
#    更好，但好得不对：每像素 2.880 比特，比 96 次评估时的 3.28 低 0.40。求解器的误差是一种偏差，而不是会在各个数字之间平均掉的噪声，而在这里它偏向对模型有利的一方。一个似然总要用更多次评估来核对（笔记本 06 的 §5 在混合分布上用了 512 次）。
#    </details>
#
# 5. **标签的价值。** 对单个模型而言，知道标签最多能使似然改善每像素 $\log_2 10 / 64$ 比特。推导这个上限。§6 测得 0.19，超过了它。然后把标签丢弃概率从 0.2 改为 0.5 重新训练，并预测 §6 中条件减无条件的差距（$w = 0$，同样的 60 个数字）会变大还是变小。
#
#    <details><summary>检验用的代码</summary>
#
#    `train_guided_eps_fn(2 * x_train_dq - 1, y_train_dq, n_classes=10, p_uncond=0.5, steps=600, seed=0, progress=False)`
#    </details>
#
#    <details><summary>解答</summary>
#
#    $\log p(x \mid y) = \log p(x) + \log p(y \mid x) - \log p(y)$，而十个类别等可能时 $-\log p(y) = \log 10$，同时 $\log p(y \mid x) \le 0$：增益至多为每个数字 $\log 10$ nat，即每像素 $0.052$ 比特。这个上限只对单个模型及其自身的边缘分布成立；网络的条件与无条件两半是两个模型，各自在不同份额的行上训练。丢弃概率取 0.5 时，差距从每像素 0.19 比特缩小到 0.08（标准误 0.01），主要是因为无条件界改善了，从 3.42 降到 3.34。
#    </details>
#
# ### 参考文献
#
# - L. Theis, A. van den Oord, M. Bethge (2016). *A note on the evaluation of generative models.* ICLR.
# - J. Ho, X. Chen, A. Srinivas, Y. Duan, P. Abbeel (2019). *Flow++: improving flow-based generative models with variational dequantization and architecture design.* ICML.
# - D. P. Kingma, T. Salimans, B. Poole, J. Ho (2021). *Variational diffusion models.* NeurIPS.
# - J. Ho, A. Jain, P. Abbeel (2020). *Denoising diffusion probabilistic models.* NeurIPS（式 13，离散解码器）.
# - A. P. Dempster, N. M. Laird, D. B. Rubin (1977). *Maximum likelihood from incomplete data via the EM algorithm.* JRSS B.
# - P. Dhariwal, A. Nichol (2021). *Diffusion models beat GANs on image synthesis.* NeurIPS（分类器引导）.
# - J. Ho, T. Salimans (2022). *Classifier-free diffusion guidance.* arXiv:2207.12598.
# - Y. Burda, R. Grosse, R. Salakhutdinov (2016). *Importance weighted autoencoders.* ICLR.
#
# **术语表。** 去量化 dequantisation · 每像素比特数 bits per pixel · 无分类器引导 classifier-free guidance · 证据下界 (ELBO) evidence lower bound · 变分自编码器 variational autoencoder · 重要性采样 importance sampling · 扩散 diffusion · 概率流常微分方程 probability-flow ODE · 似然 likelihood · 采样 sampling · 直方图混合 mixture of histograms · 期望最大化 expectation-maximisation · 离散化高斯解码器 discretised Gaussian decoder · 验证集 validation split。

# %%
print(f"wall time: {time.perf_counter() - notebook_start:.1f} s")
