"""The scaling rule reproduces the factors energy_refs.md §3 states, and the shipped table
follows it."""

import pytest

from vexpsim.energy.model import load_energy_table
from vexpsim.energy.scaling import energy_scale, node_nm, scale_polynomial
from vexpsim.errors import UserError


def test_the_documented_factors():
    assert scale_polynomial("22fdx", 0.8) == pytest.approx(0.204, abs=1e-3)
    assert scale_polynomial("gf12lp+", 0.8) == pytest.approx(0.0962, abs=1e-4)
    assert energy_scale("22fdx", 0.8, "gf12lp+", 0.8) == pytest.approx(0.47, abs=0.005)
    assert energy_scale(45, 0.9, "GF12LP+", 0.8) == pytest.approx(0.114, abs=0.001)
    assert energy_scale(20, 0.8, 14, 0.8) == pytest.approx(0.63, abs=0.005)
    assert energy_scale(14, 0.8, 14, 0.7) == pytest.approx(0.73, abs=0.01)
    assert energy_scale(14, 0.8, 14, 0.8) == 1.0


def test_the_table_follows_the_rule():
    m = load_energy_table()
    k22 = energy_scale("22fdx", 0.8, "gf12lp+", 0.8)
    # FPnew FP64 FMA 26.7 pJ (D1) and FP8x8 12.9 pJ (D2) at 22FDX
    assert m.events["fpu_addmul_fp64"].pj == pytest.approx(26.7 * k22, rel=0.01)
    assert m.events["fpu_addmul_fp8x8"].pj == pytest.approx(12.9 * k22, rel=0.01)
    # Horowitz 8 KB SRAM read 10 pJ at 45 nm 0.9 V
    assert m.events["icache_l1_fetch"].pj == pytest.approx(10 * energy_scale(45, 0.9, 14, 0.8),
                                                         rel=0.05)


def test_bad_nodes():
    with pytest.raises(UserError, match="unknown technology node"):
        node_nm("tsmc-n3e")
    with pytest.raises(UserError, match="outside the scaling table"):
        scale_polynomial(3, 0.8)
    assert node_nm("16nm") == 16.0
