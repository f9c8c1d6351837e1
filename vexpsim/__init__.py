"""vexpsim: a cycle-approximate simulator of a Snitch-style RISC-V cluster with the VEXP
BF16 exponential extension."""

__version__ = "0.1.0"
