import hashlib
import json
import multiprocessing as mp

import pytest

from vexpsim.arch.tilecost import (
    CachedProvider,
    ExtrapolatingProvider,
    TileCost,
    TileCostProvider,
    cache_key,
    config_id,
)


class Counting:
    """A deterministic fake provider: cost depends on every key field; counts calls."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def cost(self, kernel, shape, variant, cluster_config_id):
        self.calls.append((kernel, tuple(shape), variant, cluster_config_id))
        base = sum(shape) + len(kernel) + (100 if variant == "vexp" else 0)
        return TileCost(compute_cycles=float(base), bytes_in=8 * shape[0], bytes_out=shape[0],
                        region_cycles={"gemm": base / 2}, energy_pj=3.0 * base)


def test_tilecost_defaults_and_round_trip():
    c = TileCost(10.0, 64, 32, region_cycles={"softmax": 4.0}, error={"max_abs": 1e-3})
    assert c.cycles == 10.0
    assert TileCost.from_json(json.loads(json.dumps(c.to_json()))) == c
    with pytest.raises(ValueError):
        TileCost(-1.0, 0, 0)


def test_fake_provider_satisfies_protocol():
    assert isinstance(Counting(), TileCostProvider)


def test_config_id_is_order_independent_and_sensitive():
    a = config_id({"tcdm": 128, "cores": 8, "fpu": {"exp": 2}})
    assert a == config_id({"fpu": {"exp": 2}, "cores": 8, "tcdm": 128})
    assert a != config_id({"tcdm": 128, "cores": 8, "fpu": {"exp": 3}})
    assert len(a) == 16


def test_cache_round_trip_and_key_fields(tmp_path):
    inner = Counting()
    p = CachedProvider(inner, tmp_path)
    c1 = p.cost("gemm", (8, 8, 64, 2), "vexp", "cfgA")
    assert p.cost("gemm", (8, 8, 64, 2), "vexp", "cfgA") == c1
    assert (p.hits, p.misses, len(inner.calls)) == (1, 1, 1)
    # every key field matters
    p.cost("gemm", (8, 8, 64, 3), "vexp", "cfgA")
    p.cost("gemm", (8, 8, 64, 2), "baseline", "cfgA")
    p.cost("gemm", (8, 8, 64, 2), "vexp", "cfgB")
    p.cost("fa2", (8, 8, 64, 2), "vexp", "cfgA")
    assert p.misses == 5
    # a new provider (another process, later run) reads the same file: key is stable
    inner2 = Counting()
    q = CachedProvider(inner2, tmp_path)
    assert q.cost("gemm", (8, 8, 64, 2), "vexp", "cfgA") == c1 and not inner2.calls
    key = cache_key("gemm", (8, 8, 64, 2), "vexp", "cfgA")
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, separators=(",", ":"))
                            .encode()).hexdigest()
    stored = json.loads((tmp_path / digest[:2] / f"{digest}.json").read_text())
    assert stored["key"] == key


def test_cache_recomputes_corrupt_or_foreign_entries(tmp_path):
    inner = Counting()
    p = CachedProvider(inner, tmp_path)
    c = p.cost("gelu", (4, 16), "baseline", "x")
    path = p.path_for(cache_key("gelu", (4, 16), "baseline", "x"))
    path.write_text("{not json")
    assert p.cost("gelu", (4, 16), "baseline", "x") == c
    entry = json.loads(path.read_text())
    entry["key"]["shape"] = [5, 16]  # a file whose stored key does not match its name
    path.write_text(json.dumps(entry))
    assert p.cost("gelu", (4, 16), "baseline", "x") == c
    assert len(inner.calls) == 3


def _worker(directory: str) -> None:
    p = CachedProvider(Counting(), directory)
    for i in range(30):
        p.cost("gemm", (8, i % 10 + 1, 64, 1), "vexp", "c")


def test_cache_is_safe_under_concurrent_processes(tmp_path):
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(str(tmp_path),)) for _ in range(4)]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join()
        assert pr.exitcode == 0
    files = sorted(tmp_path.rglob("*.json"))
    assert len(files) == 10
    assert not [f for f in tmp_path.rglob(".tmp-*")]
    ref = Counting()
    for f in files:
        entry = json.loads(f.read_text())
        k = entry["key"]
        assert TileCost.from_json(entry["cost"]) == ref.cost(
            k["kernel"], tuple(k["shape"]), k["variant"], k["cluster_config_id"])


class Affine:
    """cost(n) = 100 + 37·(n-1) cycles, bytes 10 + 6n: extrapolation must be exact."""

    def __init__(self) -> None:
        self.ns: list[int] = []

    def cost(self, kernel, shape, variant, cid):
        n = shape[3]
        self.ns.append(n)
        return TileCost(100.0 + 37 * (n - 1), 10 + 6 * n, 4, region_cycles={"a": 5.0 * n},
                        energy_pj=2.0 * n, error={"max_abs": 0.1 * n})


def test_extrapolation_is_exact_for_affine_costs_and_runs_only_n_1_2():
    inner = Affine()
    p = ExtrapolatingProvider(inner, {"fa2": 3})
    c = p.cost("fa2", (32, 32, 64, 9, 1), "vexp", "x")
    assert inner.ns == [1, 2]
    assert c.compute_cycles == 100 + 37 * 8
    assert c.bytes_in == 10 + 6 * 9
    assert c.region_cycles == {"a": 45.0}
    assert c.energy_pj == pytest.approx(18.0)
    assert c.error == {"max_abs": pytest.approx(0.2)}  # worst of the two runs, not summed
    inner.ns.clear()
    p.cost("fa2", (32, 32, 64, 2, 1), "vexp", "x")
    p.cost("gemm", (32, 32, 64, 7), "vexp", "x")  # no repeat dim declared: passed through
    assert inner.ns == [2, 7]
