"""Transformer workloads: model shapes, operator graphs, tiling rules, analytical costs."""
