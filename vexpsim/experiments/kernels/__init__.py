"""Kernel families: each module registers its kernels with vexpsim.experiments.kernelrun."""
