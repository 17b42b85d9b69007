"""Helpers for the companion notebooks of "Principles of diffusion models".

One idea per module, read top to bottom; the mathematics and the figures live apart:

=============================  ===============================================  ==========
module                         what it holds                                    notebook
=============================  ===============================================  ==========
``helpers.gaussian``           the Gaussian formulas, each written once:        02-05
                               log-densities, KL, the (d/2) log(2 pi c) term
``helpers.sampling``           eq. 1.1, inverse-CDF sampling                    01
``helpers.linear_gaussian``    the exact linear-Gaussian model                  02, 03
``helpers.evidence``           eqs. 2.1-2.3, the naive estimate of log p(x)     02
``helpers.naive_decoder``      a decoder trained on eq. 2.3 (torch)             02, 04
``helpers.elbo``               eqs. 2.4-2.5, the Monte-Carlo ELBO, eq. 2.4      03
                               line by line
``helpers.elbo_subgoals``      the two sub-goals: q's fit and the alternation   03
                               of phi and theta (re-exported by helpers.elbo)
``helpers.vae``                eqs. 2.6-2.8, the Gaussian VAE and its training  04
``helpers.vae_bounds``         eq. 2.8's negative ELBO from q, and the IWAE     04, 07
                               bound: written once for every VAE
``helpers.vae_grid``           train_vae's one model, or a vmap grid of them    04
``helpers.vae_analysis``       notebook 04's experiments around the VAE         04
``helpers.noise_schedule``     the forward chain: schedules, q(x_t | x_0),      05, 06
                               q(x_{t-1} | x_t, x_0), L_T; alpha_bar <-> sigma
``helpers.mixture``            exact 1-D test data: a Gaussian mixture, its     05, 06
                               eps* and score at any noise level
``helpers.diffusion``          the chained ELBO, DDPM and DDIM samplers         05
``helpers.denoiser``           the learned eps_theta and its training (torch)   05, 06
``helpers.score``              scores, Langevin dynamics, the probability-flow  06
                               ODE: few-step sampling, exact likelihood
``helpers.flow_matching``      flow matching's velocity model, its training     06
                               and its clock, read as the same ODE
``helpers.metrics``            W1, sliced W1 and MMD between samples            05
``helpers.bits``               bits per pixel: dequantisation, the              07
                               independent-pixel histogram, paired SEs
``helpers.histogram_mixture``  a mixture of histograms fitted by EM: a joint    07
                               model of pixels with no network
``helpers.bits_per_level``     the chained ELBO per noise level and per pixel,  07
                               and the exact histogram's chain
``helpers.discrete_decoder``   the discretised Gaussian last step (Ho et al.    07
                               2020, eq. 13), chosen on a validation split
``helpers.likelihood_model``   07's network trained for likelihood: committed   07
                               weights (make weights)
``helpers.guidance``           the class-conditional eps_theta, classifier-     07
                               free guidance
``helpers.data``               the bundled 8x8 digits; two moons                02, 04, 05
``helpers.nets``               the MLP, Adam (torch.optim's interface),         02, 04, 05
                               torch threads
``helpers.progress``           the progress bar of every long loop              02, 04, 05
``helpers.widgets``            the thin slider panel every notebook uses        all
``helpers.plots``              the figures: one module per notebook, plus the   all
                               digit mosaic and slider blitting (``plots.live``)
=============================  ===============================================  ==========

Private plumbing: ``_checks`` (input checks and seeds), ``_logsumexp`` and ``_distances`` (two
numerical kernels shared by several modules), ``_deprecated`` and ``_results`` (old names, old
tuple results and ``return_*`` flags, until release 0.4).

One vocabulary: training functions take ``steps``, ``batch_size``, ``lr``, ``seed`` and
``progress``, and their results hold ``train_s`` and ``history``; every function that draws
random numbers takes ``rng`` (an int seed, a Generator, or None); results are frozen dataclasses,
read by attribute, and no option changes a result's type; options are keyword-only. One name
each: ``z_dim`` for the latent dimension, ``k`` for the number of importance samples,
``chunk_size`` for the rows evaluated at once (``batch_size`` is the training minibatch), and
noise levels convert through ``helpers.noise_schedule`` (``sigma_from_alpha_bar``). Where this
departs from ../shared/API.md (``naive_mc_log_evidence``'s ``latent_dim`` is now ``z_dim``), the
old name still works until release 0.4.

Importing ``helpers`` is cheap: torch and matplotlib load only with the modules that need them.
"""

__version__ = "0.3.0"
# The installed distribution's name. Notebooks' set-up cells check it, so that another module
# called ``helpers`` (a helpers.py beside a notebook, say) is not mistaken for this package.
PROJECT = "diffusion-principles-notebooks"
