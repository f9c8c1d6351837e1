"""Fixtures of the differential suite: toolchain presence (fail in CI, skip locally) and the
vexpsim functional ISS (skip until it exists)."""

from __future__ import annotations

import os

import pytest
import qemu_oracle
import vexpsim_side

INSTALL_HINT = "apt-get install -y binutils-riscv64-unknown-elf qemu-user"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def toolchain() -> None:
    """GNU binutils + qemu-riscv32 must be installed: a missing tool FAILS under CI=true (the
    suite must not pass vacuously there) and skips with the install command locally."""
    missing = qemu_oracle.missing_tools()
    if missing:
        msg = f"RISC-V toolchain missing ({', '.join(missing)}); install: {INSTALL_HINT}"
        if in_ci():
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="session")
def functional():
    """vexpsim.arch.functional (the ISS). Skips while the module does not exist; an import
    error inside an existing module is a failure, not a skip."""
    module = vexpsim_side.functional_module()
    if module is None:
        pytest.skip("vexpsim.arch.functional does not exist yet (the ISS is not merged)")
    return module
