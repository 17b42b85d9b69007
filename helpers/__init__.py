"""Helpers for the companion notebooks of "Principles of diffusion models".

One module per notebook topic, read top to bottom:

========================  ==============================================  ==========
module                    what it holds                                   notebook
========================  ==============================================  ==========
``helpers.sampling``      eq. 1.1, inverse-CDF sampling                   01
``helpers.evidence``      eqs. 2.1-2.3, the exact linear-Gaussian model   02
``helpers.elbo``          eqs. 2.4-2.5, KL and the Monte-Carlo ELBO       03
``helpers.vae``           eqs. 2.6-2.8, the Gaussian VAE (torch)          04
``helpers.data``          the bundled 8x8 digits                          02, 04
``helpers.widgets``       the thin slider panel every notebook uses       all
========================  ==============================================  ==========

Importing ``helpers`` is cheap: torch and matplotlib load only with the modules that need them.
"""

__version__ = "0.1.0"
