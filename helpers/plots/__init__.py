"""Figures, apart from the mathematics they draw: one module per notebook topic.

========================  ==============================================  ==========
module                    what it draws                                   notebook
========================  ==============================================  ==========
``plots.sampling``        inverse-CDF sampling, eq. 1.1                   01
``plots.evidence``        the naive estimate of eq. 2.3, its cost         02
``plots.elbo``            eq. 2.4's gap, eq. 2.5's terms, mean field      03
``plots.vae``             VAE training, latent map, the c slider          04
``plots.diffusion``       the chain, its ELBO, DDPM and DDIM              05
``plots.score``           Langevin, the probability-flow ODE, few steps   06
``plots.digits``          the one mosaic of 8x8 digits                    02, 04
``plots.figure``          ``new_figure`` and the PNG every figure shows   all
``plots.live``            slider redraws by blitting                      all
``plots.canvas``          the canvas: cached text, a quick PNG            all
========================  ==============================================  ==========

Every plotting function returns a bare ``matplotlib.figure.Figure``. A function driven by a
slider builds its figure through ``plots.live.live_figure``, so a slider panel redraws only what
moves; called anywhere else it draws a fresh figure.
"""
