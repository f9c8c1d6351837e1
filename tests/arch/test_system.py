import math

import pytest
import simpy

from vexpsim.arch.config import cluster_config_dict
from vexpsim.arch.system import (
    SCHEMA,
    FluidNetwork,
    SysOp,
    SysTile,
    describe_system,
    extrapolation_estimate,
    load_system_config,
    simulate_system,
)
from vexpsim.arch.tilecost import config_id
from vexpsim.errors import UserError


def cfg(**kw):
    base = {"hbm_latency_cycles": 0}
    base.update(kw)
    return load_system_config("occamy", base)


def test_default_config_has_a_source_for_every_value():
    c = load_system_config()
    assert (c.clusters, c.groups, c.clusters_per_group) == (24, 6, 4)  # snitch_cluster.md §1
    d = describe_system(c)
    assert set(d) == set(SCHEMA.fields)
    assert all(e["source"].strip() for e in d.values())
    assert [c.group_of(i) for i in (0, 3, 4, 23)] == [0, 0, 1, 5]
    # cluster-derived values come from the cluster config, not a second copy
    cc = cluster_config_dict(preset=c.cluster)
    assert (c.tcdm_bytes, c.compute_cores, c.harts) == (
        cc["tcdm"]["size"], cc["cores"], cc["cores"] + cc["dma_cores"])
    assert c.dma_bytes_per_cycle == cc["dma"]["width"]
    assert c.tile_budget_bytes == c.tcdm_bytes - c.tcdm_reserved_bytes
    assert c.cluster_config_id == config_id(cc)
    small = load_system_config("occamy", ["cluster=\"snitch_default\""])
    assert small.cluster_config_id != c.cluster_config_id


def test_bad_config_lists_every_problem_with_key(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('name = "x"\nclusters = -3\ndma_buffers = "two"\ncolour = 1\n')
    with pytest.raises(UserError) as exc:
        load_system_config(f)
    msgs = "\n".join(exc.value.problems)
    for needle in ("clusters: expected an integer in [1, 4096], got -3",
                   "dma_buffers: expected an integer", "colour: unknown key"):
        assert needle in msgs
    assert all(p.startswith(str(f)) for p in exc.value.problems)
    with pytest.raises(UserError, match="groups: must be <= clusters"):
        load_system_config("occamy", {"clusters": 2})
    with pytest.raises(UserError, match="tcdm_reserved_bytes: must be <"):
        load_system_config("occamy", ["tcdm_reserved_bytes=200000"])
    with pytest.raises(UserError, match="unknown system config"):
        load_system_config("nope")


def test_fluid_network_max_min_fair_shares():
    env = simpy.Environment()
    net = FluidNetwork(env, {"x": 64.0, "y": 16.0})
    done = {}

    def go(name, nbytes, links):
        yield net.transfer(nbytes, links)
        done[name] = env.now

    # A is limited to 16 by y; B gets the rest of x (48), not an even 32/32 split
    env.process(go("A", 160, ("x", "y")))
    env.process(go("B", 480, ("x",)))
    env.run()
    assert done == {"A": pytest.approx(10.0), "B": pytest.approx(10.0)}
    # equal flows on one link: half each, then the survivor speeds up
    env = simpy.Environment()
    net = FluidNetwork(env, {"x": 64.0})
    done.clear()
    env.process(go("A", 640, ("x",)))
    env.process(go("B", 1280, ("x",)))
    env.run()
    assert done["A"] == pytest.approx(20.0)  # 640 B at 32 B/cycle
    assert done["B"] == pytest.approx(20.0 + 640 / 64)
    assert net.bytes_by_link["x"] == 1920


def tiles(n, c, b_in, b_out=0, cluster=0, e=None):
    return [SysTile(cluster, c, b_in, b_out, e) for _ in range(n)]


def test_one_cluster_compute_bound_with_latency_and_outputs():
    lat = 50
    s = cfg(clusters=1, groups=1, hbm_latency_cycles=lat)
    n, c, b_in, b_out = 6, 1000.0, 6400, 3200
    r = simulate_system([SysOp("a", "gemm", tiles(n, c, b_in, b_out))], s)
    # first load, then n computes back to back (later transfers hide under compute), last store
    assert r.cycles == pytest.approx(lat + b_in / 64 + n * c + lat + b_out / 64)
    assert r.busy_cycles == [n * c]
    assert (r.bytes_read, r.bytes_written) == (n * b_in, n * b_out)


def test_one_cluster_bandwidth_bound_and_no_double_buffering():
    s = cfg(clusters=1, groups=1)
    n, c, b = 5, 5.0, 6400
    r = simulate_system([SysOp("a", "gemm", tiles(n, c, b))], s)
    assert r.cycles == pytest.approx(n * b / 64 + c)
    s1 = cfg(clusters=1, groups=1, dma_buffers=1)
    n, c, b = 4, 300.0, 6400
    r1 = simulate_system([SysOp("a", "gemm", tiles(n, c, b))], s1)
    assert r1.cycles == pytest.approx(n * (b / 64 + c))  # no overlap with one buffer
    r2 = simulate_system([SysOp("a", "gemm", tiles(n, c, b))], cfg(clusters=1, groups=1))
    assert r2.cycles == pytest.approx(b / 64 + n * c)


def test_clusters_of_a_group_share_its_link():
    s = cfg(clusters=4, groups=1)
    n_per, c, b = 5, 5.0, 6400
    ts = [t for k in range(4) for t in tiles(n_per, c, b, cluster=k)]
    r = simulate_system([SysOp("a", "gemm", ts)], s)
    # 4 clusters x 5 tiles x 6400 B through one 64 B/cycle group link
    assert r.cycles == pytest.approx(4 * n_per * b / 64 + c)
    assert r.bytes_by_link["group0_rd"] == 4 * n_per * b
    # same work on 4 groups of 1: each cluster has its own link, 4x faster transfers
    r4 = simulate_system([SysOp("a", "gemm", ts)], cfg(clusters=4, groups=4))
    assert r4.cycles == pytest.approx(n_per * b / 64 + c)


def test_hbm_bandwidth_bounds_the_whole_system():
    s = cfg(hbm_bytes_per_cycle=100.0)
    ts = [t for k in range(24) for t in tiles(3, 1.0, 6400, cluster=k)]
    r = simulate_system([SysOp("a", "gemm", ts)], s)
    assert r.cycles == pytest.approx(24 * 3 * 6400 / 100 + 1.0)


def test_dependencies_order_operators():
    s = cfg(clusters=2, groups=1)
    a = SysOp("a", "gemm", tiles(3, 100.0, 0, cluster=0))
    b = SysOp("b", "softmax", tiles(2, 10.0, 0, cluster=1), deps=("a",))
    r = simulate_system([a, b], s)
    assert r.op_span["a"] == (0.0, 300.0)
    assert r.op_span["b"] == (300.0, 320.0)
    assert r.wall_cycles_by_kind == {"gemm": 300.0, "softmax": 20.0}
    assert r.busy_cycles == [300.0, 20.0]
    # without the dependency they overlap
    r2 = simulate_system([a, SysOp("b", "softmax", b.tiles)], s)
    assert r2.cycles == 300.0
    with pytest.raises(ValueError, match="not defined before"):
        simulate_system([SysOp("b", "x", b.tiles, deps=("a",)), a], s)
    with pytest.raises(ValueError, match="cluster 7"):
        simulate_system([SysOp("a", "x", tiles(1, 1.0, 0, cluster=7))], s)


def test_energy_breakdown_by_hand():
    s = cfg(clusters=2, groups=1)
    ops = [SysOp("a", "gemm", tiles(2, 100.0, 640, 64, cluster=0, e=1000.0))]
    r = simulate_system(ops, s, {"main_memory_pj_per_byte": 50.0,
                                 "idle_pj_per_cluster_cycle": 40.5})
    idle = 2 * r.cycles - 200.0
    assert r.energy_pj["clusters_busy"] == 2000.0
    assert r.energy_pj["main_memory"] == pytest.approx((2 * 640 + 2 * 64) * 50.0)
    assert r.energy_pj["clusters_idle"] == pytest.approx(idle * 40.5)
    assert r.energy_pj["total"] == pytest.approx(sum(
        v for k, v in r.energy_pj.items() if k != "total"))
    # a tile without energy means no energy claim at all
    ops2 = [SysOp("a", "gemm", tiles(2, 100.0, 640))]
    assert simulate_system(ops2, s, {"main_memory_pj_per_byte": 1,
                                     "idle_pj_per_cluster_cycle": 1}).energy_pj is None


def test_predecessor_extrapolation_rule():
    s = cfg(clusters=8, groups=6)
    ts = [t for k in range(8) for t in tiles(2, 100.0, 640, 64, cluster=k)]
    est = extrapolation_estimate([SysOp("a", "attention", ts)], s)
    bwcf = 1 / math.ceil(8 / 6)
    assert est["latency_cycles"] == pytest.approx(2 * (100 + 704 / (64 * bwcf)))


def test_simulation_is_deterministic():
    s = cfg(clusters=6, groups=2, hbm_latency_cycles=37)
    ops = [SysOp(f"o{j}", "gemm", [SysTile((i * 7 + j) % 6, 10.0 + (i * 13) % 17,
                                           100 * (i % 5), 50 * (i % 3)) for i in range(40)],
                 deps=(f"o{j-1}",) if j else ()) for j in range(3)]
    a = simulate_system(ops, s).as_dict()
    b = simulate_system(ops, s).as_dict()
    assert a == b


def test_coarsening_keeps_totals_and_bounds_the_error():
    s = cfg(clusters=4, groups=1, hbm_latency_cycles=20)
    ops = [SysOp(f"o{j}", "gemm", [SysTile(i % 4, 300.0, 12800, 640, 5.0) for i in range(96)],
                 deps=(f"o{j-1}",) if j else ()) for j in range(3)]
    exact = simulate_system(ops, s)
    same = simulate_system(ops, s, max_units=24)  # 24 tiles per cluster-op: nothing merged
    assert same.as_dict() == exact.as_dict()
    coarse = simulate_system(ops, s, max_units=4)
    assert coarse.busy_cycles == exact.busy_cycles
    assert (coarse.bytes_read, coarse.bytes_written) == (exact.bytes_read, exact.bytes_written)
    assert coarse.cycles >= exact.cycles
    # bound: one unit (6 tiles) of transfer per operator and cluster, all clusters sharing
    unit_transfer = 4 * 6 * (12800 + 640) / 64
    assert coarse.cycles - exact.cycles <= 3 * unit_transfer
    with pytest.raises(ValueError, match="max_units"):
        simulate_system(ops, s, max_units=0)


def test_fluid_network_terminates_late_in_long_runs():
    # late in a run now + dt == now for tiny dt; the network must not spin on such flows
    env = simpy.Environment(initial_time=4_993_339_459.496576)
    net = FluidNetwork(env, {"x": 409.6, "y": 64.0})
    done = []

    def go(nbytes, links):
        yield net.transfer(nbytes, links)
        done.append(env.now)

    for k in range(7):
        env.process(go(1000.3 + 77.7 * k, ("x", "y") if k % 2 else ("x",)))
    for _ in range(10_000):
        if env.peek() == float("inf"):
            break
        env.step()
    assert len(done) == 7


def test_dma_channels_from_the_cluster_config(tmp_path):
    (tmp_path / "cl.toml").write_text('preset = "vexp_paper"\nname = "mchan"\n'
                                      "[dma]\nchannels = 4\n")
    (tmp_path / "sys.toml").write_text('name = "s"\ncluster = "cl.toml"\nclusters = 1\n'
                                       "groups = 1\nhbm_latency_cycles = 0\n")
    multi = load_system_config(tmp_path / "sys.toml")
    single = cfg(clusters=1, groups=1)
    assert (multi.dma_channels, single.dma_channels) == (4, 1)
    assert multi.cluster_config_id != single.cluster_config_id
    # bandwidth-bound tiles reading and writing equal amounts
    n, b = 8, 6400
    ops = [SysOp("a", "gemm", tiles(n, 1.0, b, b))]
    # one channel: all reads and writes share 64 B/cycle, the 1-cycle computes hide under it
    assert simulate_system(ops, single).cycles == pytest.approx(2 * n * b / 64)
    # four channels: reads stream at 64 B/cycle while writes go alongside; last write at end
    assert simulate_system(ops, multi).cycles == pytest.approx(n * b / 64 + 1.0 + b / 64)
