import math

import numpy as np
import pytest

from vexpsim.experiments.workloads.tiling import (
    TilingParams,
    fa2_block,
    gemm_block,
    rows_per_tile,
    tile_bytes,
    tile_op,
)
from vexpsim.experiments.workloads.transformer import build_graph, load_model

BUDGET = 128 * 1024 - 8 * 1024


def gemm_need(tm, tn, tk, e=2, nb=2):
    return nb * (tm * tk + tk * tn) * e + 4 * tm * tn + nb * tm * tn * e


@pytest.mark.parametrize("name,seq", [("gpt2-small", 100), ("vit-b16", None),
                                      ("gpt3-13b", 40), ("gptj", 24)])
@pytest.mark.parametrize("split", ["head", "rowblock"])
def test_tiles_cover_every_output_element_exactly_once(name, seq, split):
    m = load_model(name)
    p = TilingParams(clusters=24, budget_bytes=BUDGET, attention_split=split)
    for op in build_graph(m, seq):
        tiles = tile_op(op, m, p)
        assert all(0 <= t.cluster < 24 for t in tiles)
        if op.kind == "gemm":
            M, N, K = op.dims["M"], op.dims["N"], op.dims["K"]
            count = np.zeros((M, N), dtype=np.int32)
            for t in tiles:
                m0, m1, n0, n1 = t.cover
                count[m0:m1, n0:n1] += 1
                tm, tn, tk, nk = t.shape
                assert (tm, tn) == (m1 - m0, n1 - n0) and nk * tk >= K > (nk - 1) * tk
        elif op.kind == "attention":
            count = np.zeros((op.dims["heads"], op.dims["L"]), dtype=np.int32)
            for t in tiles:
                h, r0, r1 = t.cover
                count[h, r0:r1] += 1
        else:
            count = np.zeros(op.dims["rows"], dtype=np.int32)
            for t in tiles:
                count[t.cover[0]:t.cover[1]] += 1
                assert t.shape == (t.cover[1] - t.cover[0], op.dims["cols"])
        assert (count == 1).all(), op.name


@pytest.mark.parametrize("M,N,K", [(1024, 2304, 768), (1, 50257, 768), (197, 768, 3072),
                                   (5, 7, 20)])
def test_gemm_block_fits_tcdm_and_is_the_best_reuse(M, N, K):
    tm, tn, tk = gemm_block(M, N, K, 2, BUDGET)
    assert gemm_need(tm, tn, tk) <= BUDGET
    assert tm % 8 == 0 and tn % 8 == 0 and tm <= max(8, 8 * math.ceil(M / 8))
    reuse = tm * tn / (tm + tn)
    for a in range(8, 257, 8):  # no feasible block of the same depth reuses data better
        for b in range(8, 257, 8):
            if a <= 8 * math.ceil(M / 8) and b <= 8 * math.ceil(N / 8) and \
                    gemm_need(a, b, tk) <= BUDGET:
                assert a * b / (a + b) <= reuse + 1e-12


def fa2_need(b, d):
    return b * d * 2 + 4 * b * d + 2 * 2 * b * d * 2 + 4 * b * b + 8 * b


def test_fa2_and_row_rules_fit_and_are_maximal():
    for d in (64, 80, 128, 256):
        b = fa2_block(d, 2, BUDGET)
        assert fa2_need(b, d) <= BUDGET and (b == 128 or fa2_need(2 * b, d) > BUDGET)
    for rows, cols, n_in in ((1024, 768, 1), (197, 3072, 1), (64, 1024, 2), (1, 50257, 1)):
        r = rows_per_tile(rows, cols, n_in, 2, BUDGET)
        assert r == 1 or 2 * (n_in + 1) * r * cols * 2 <= BUDGET
        assert r * 2 > min(256, rows) or 2 * (n_in + 1) * 2 * r * cols * 2 > BUDGET


def test_attention_tiles_causal_column_blocks_and_placement():
    m = load_model("gpt2-small")  # no Br/Bc in the file: the TCDM rule picks them
    op = next(o for o in build_graph(m, 200) if o.kind == "attention")
    p = TilingParams(clusters=8, budget_bytes=BUDGET)
    tiles = tile_op(op, m, p)
    bc = fa2_block(64, 2, BUDGET)
    for t in tiles:
        h, r0, r1 = t.cover
        assert t.shape == (r1 - r0, bc, 64, math.ceil(r1 / bc), 1)
        assert t.cluster == h % 8
    rb = tile_op(op, m, TilingParams(clusters=8, budget_bytes=BUDGET,
                                     attention_split="rowblock"))
    assert [t.cluster for t in rb] == [i % 8 for i in range(len(rb))]
    vit = load_model("vit-b16")  # Br = Bc = 32 from the predecessor's file, non-causal
    op = next(o for o in build_graph(vit) if o.kind == "attention")
    vt = tile_op(op, vit, p)
    assert {t.shape for t in vt} == {(32, 32, 64, 7, 0), (197 - 6 * 32, 32, 64, 7, 0)}


def test_tile_bytes_account_for_reuse():
    m = load_model("gpt2-small")
    p = TilingParams(clusters=24, budget_bytes=BUDGET)
    for op in build_graph(m, 64)[:12]:
        tiles = tile_op(op, m, p)
        b_in = sum(tile_bytes(t.kernel, t.shape)[0] for t in tiles)
        b_out = sum(tile_bytes(t.kernel, t.shape)[1] for t in tiles)
        if op.kind in ("layernorm", "gelu", "residual", "softmax"):
            assert b_in + b_out - (2 * 2 * op.dims["cols"] * (len(tiles) - 1)
                                   if op.kind == "layernorm" else 0) == op.bytes
        if op.kind == "gemm":  # re-reads of A and B across blocks: at least the minimum
            M, N, K = op.dims["M"], op.dims["N"], op.dims["K"]
            assert b_out == M * N * 2 and b_in >= (M * K + K * N) * 2
