"""Number formats, exponential models and NumPy reference kernels (no simulator imports)."""
