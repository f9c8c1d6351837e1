"""Tiling rules: each operator of the graph becomes cluster tiles (kernel name + shape, the key
under which a tile is priced and cached) and the tiles are placed on clusters.

Rules (also in docs/system.md). B = TCDM bytes available for tiles (tcdm_bytes minus
tcdm_reserved_bytes), nb = dma_buffers (2: double buffering), e = bytes per element.

GEMM  C[M,N] = A[M,K]·B[K,N]  -> kernel "gemm", shape (tm, tn, tk, nk)
    One tile = one tm x tn output block, computed over nk = ceil(K/tk) chunks of depth tk
    (K padded up to nk·tk). TCDM holds nb buffers of the A and B chunks, an FP32 accumulator
    and nb output buffers:  nb·(tm·tk + tk·tn)·e + 4·tm·tn + nb·tm·tn·e <= B.
    Among tm, tn in multiples of 8 up to 256 (and up to M, N rounded up to 8) and tk in
    {64, 128, 256} up to K (K < 64: tk = K rounded up to 16; a floor of 64 keeps the
    per-chunk loop overhead small), choose the feasible triple with the largest reuse
    tm·tn/(tm+tn) (flops per byte moved), then the largest tk, then the largest tm.
    Edge blocks have tm, tn = the remainder. Blocks are numbered
    row-major and placed round-robin: block i -> cluster i mod C.
    Tile bytes: in = (tm + tn)·nk·tk·e, out = tm·tn·e.

attention (FlashAttention-2) -> kernel "fa2", shape (br, bc, d, tc, causal)
    One tile = one head's block of br query rows (the last block may be shorter), iterating
    over tc key/value blocks of bc rows: tc = ceil(S/bc), or for the causal mask the blocks
    up to the block holding the row block's last key (S padded up to tc·bc). Br = Bc from
    the model file (the predecessor's, vexp_details.md §4.4) or else the largest power of
    two in 8..128 with  br·d·e (Q) + 4·br·d (O acc) + nb·2·bc·d·e (K, V) + 4·br·bc (S/P)
    + 8·br (m, l) <= B.  Placement, split="head" (default, the predecessor's one head per
    cluster): every tile of head h on cluster h mod C; split="rowblock": all tiles
    round-robin over the clusters. Bytes: in = br·d·e + 2·tc·bc·d·e, out = br·d·e.

layernorm / gelu / residual / softmax -> kernel of the same name, shape (rows, cols)
    One tile = r whole rows; r = the largest power of two <= 256 (and <= the row count)
    with nb·(n_in + 1)·r·cols·e <= B (n_in = 2 for residual, else 1); r = 1 if even one
    row does not fit (the kernel then streams the row in chunks). Round-robin placement.
    Bytes: in = n_in·r·cols·e (+ 2·cols·e gamma/beta for layernorm), out = r·cols·e.

Every tile carries `cover`, the index box of the op's output it produces, so tests can check
that the tiles of an op cover every output element exactly once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .transformer import DTYPE_BYTES, ModelConfig, Op

__all__ = ["Tile", "TilingParams", "tile_op", "gemm_block", "fa2_block", "rows_per_tile",
           "REPEAT_DIMS"]

# index of the repeat count in each kernel's shape (for ExtrapolatingProvider)
REPEAT_DIMS = {"gemm": 3, "fa2": 3}


@dataclass(frozen=True)
class TilingParams:
    clusters: int
    budget_bytes: int
    buffers: int = 2
    attention_split: str = "head"


@dataclass(frozen=True)
class Tile:
    kernel: str
    shape: tuple[int, ...]
    cluster: int
    cover: tuple[int, ...]  # gemm (m0, m1, n0, n1); fa2 (head, r0, r1); rowwise (r0, r1)


def gemm_block(M: int, N: int, K: int, e: int, budget: int, nb: int = 2
               ) -> tuple[int, int, int]:
    """(tm, tn, tk) by the rule in the module docstring."""
    mmax = min(256, 8 * math.ceil(M / 8))
    nmax = min(256, 8 * math.ceil(N / 8))
    kmax = 16 * math.ceil(K / 16)
    best: tuple | None = None
    tks = [tk for tk in (64, 128, 256) if tk <= kmax] or [min(64, kmax)]
    for tk in tks:
        for tm in range(8, mmax + 1, 8):
            for tn in range(8, nmax + 1, 8):
                need = nb * (tm * tk + tk * tn) * e + 4 * tm * tn + nb * tm * tn * e
                if need > budget:
                    break
                key = (tm * tn / (tm + tn), tk, tm)
                if best is None or key > best[0]:
                    best = (key, (tm, tn, tk))
    if best is None:
        raise ValueError(f"no GEMM tile fits {budget} bytes of TCDM")
    return best[1]


def fa2_block(d: int, e: int, budget: int, nb: int = 2) -> int:
    """Br = Bc by the rule in the module docstring."""
    best = None
    for b in (8, 16, 32, 64, 128):
        need = b * d * e + 4 * b * d + nb * 2 * b * d * e + 4 * b * b + 8 * b
        if need <= budget:
            best = b
    if best is None:
        raise ValueError(f"no FA-2 block fits {budget} bytes of TCDM for d={d}")
    return best


def rows_per_tile(rows: int, cols: int, n_in: int, e: int, budget: int, nb: int = 2) -> int:
    r = 1
    while r * 2 <= min(256, rows) and nb * (n_in + 1) * (r * 2) * cols * e <= budget:
        r *= 2
    return r


def tile_op(op: Op, model: ModelConfig, p: TilingParams) -> list[Tile]:
    """The tiles of one operator, with their clusters, in execution order."""
    e = DTYPE_BYTES[op.dtype]
    C = p.clusters
    tiles: list[Tile] = []
    if op.kind == "gemm":
        M, N, K = op.dims["M"], op.dims["N"], op.dims["K"]
        tm, tn, tk = gemm_block(M, N, K, e, p.budget_bytes, p.buffers)
        nk = math.ceil(K / tk)
        i = 0
        for m0 in range(0, M, tm):
            for n0 in range(0, N, tn):
                m1, n1 = min(M, m0 + tm), min(N, n0 + tn)
                tiles.append(Tile("gemm", (m1 - m0, n1 - n0, tk, nk), i % C, (m0, m1, n0, n1)))
                i += 1
    elif op.kind == "attention":
        H, L, S, d, causal = (op.dims[k] for k in ("heads", "L", "S", "d", "causal"))
        if model.fa2_br and model.fa2_bc:
            br, bc = model.fa2_br, model.fa2_bc
        else:
            br = bc = fa2_block(d, e, p.budget_bytes, p.buffers)
        if p.attention_split not in ("head", "rowblock"):
            raise ValueError(f"attention_split {p.attention_split!r}")
        i = 0
        for h in range(H):
            for r0 in range(0, L, br):
                r1 = min(L, r0 + br)
                keys = min(S, S - L + r1) if causal else S
                tc = math.ceil(keys / bc)
                cluster = h % C if p.attention_split == "head" else i % C
                tiles.append(Tile("fa2", (r1 - r0, bc, d, tc, causal), cluster, (h, r0, r1)))
                i += 1
    elif op.kind in ("layernorm", "gelu", "residual", "softmax"):
        rows, cols = op.dims["rows"], op.dims["cols"]
        n_in = 2 if op.kind == "residual" else 1
        r = rows_per_tile(rows, cols, n_in, e, p.budget_bytes, p.buffers)
        for i, r0 in enumerate(range(0, rows, r)):
            r1 = min(rows, r0 + r)
            tiles.append(Tile(op.kind, (r1 - r0, cols), i % C, (r0, r1)))
    else:
        raise ValueError(f"no tiling rule for op kind {op.kind!r}")
    return tiles


def tile_bytes(kernel: str, shape: tuple[int, ...], e: int = 2) -> tuple[int, int]:
    """(bytes in, bytes out) of a tile by the rules above."""
    if kernel == "gemm":
        tm, tn, tk, nk = shape
        return (tm + tn) * nk * tk * e, tm * tn * e
    if kernel == "fa2":
        br, bc, d, tc, _ = shape
        return br * d * e + 2 * tc * bc * d * e, br * d * e
    rows, cols = shape
    n_in = 2 if kernel == "residual" else 1
    extra = 2 * cols * e if kernel == "layernorm" else 0
    return n_in * rows * cols * e + extra, rows * cols * e
