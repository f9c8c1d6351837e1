"""A small energy table with round numbers, so accounting tests can be counted by hand."""

import textwrap

import pytest

TOY = """
[meta]
name = "toy"
technology = "test"
frequency_hz = 500_000_000
[events.int_alu]
pj = 2.0
component = "core"
source = "test"
[events.int_mul]
pj = 3.0
component = "core"
source = "test"
[events.int_lsu]
pj = 2.5
component = "core"
source = "test"
[events.l0_fetch]
pj = 0.5
component = "icache"
source = "test"
[events.fpu_addmul_fp64]
pj = 10.0
component = "fpu"
source = "test"
[events.fpu_exp_bf16x4]
pj = 7.0
component = "fpu"
source = "test"
[events.tcdm_read]
pj = 8.0
component = "tcdm"
source = "test"
[events.tcdm_write]
pj = 9.0
component = "tcdm"
source = "test"
[events.tcdm_conflict]
pj = 4.0
component = "tcdm"
source = "test"
[events.ssr_element]
pj = 0.25
component = "ssr"
source = "test"
[events.dma_byte_main_to_tcdm]
pj = 40.0
component = "dma"
source = "test"
[events.dma_byte_tcdm_to_main]
pj = 41.0
component = "dma"
source = "test"
[events.narrow_byte_main]
pj = 0.5
component = "interconnect"
source = "test"
[events.main_memory_byte]
pj = 30.0
component = "main_memory"
source = "test"
[events.dma_byte_tcdm_to_tcdm]
pj = 0.5
component = "dma"
source = "test"
[events.barrier_wait_cycle]
pj = 1.0
component = "core"
source = "test"
[leakage.core]
mw = 1.0
component = "core"
per = "hart"
source = "test"
[leakage.fpu]
mw = 2.0
component = "fpu"
per = "compute_core"
source = "test"
[leakage.exp]
mw = 0.5
component = "fpu"
per = "compute_core"
feature = "exp"
source = "test"
[leakage.dmafpu]
mw = 1.5
component = "fpu"
per = "dma_core"
source = "test"
[leakage.tcdm]
mw = 10.0
component = "tcdm"
per = "cluster"
source = "test"
"""


@pytest.fixture
def toy_table(tmp_path):
    """Path of the toy table (500 MHz: 1 mW for 1 cycle = 2 pJ)."""
    p = tmp_path / "toy.toml"
    p.write_text(textwrap.dedent(TOY))
    return p
