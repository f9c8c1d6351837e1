"""hostmem.tune_allocator: applied once per process, accepted by glibc, switchable off."""

import os
import platform
import subprocess
import sys

import pytest

_SNIPPET = ("from vexpsim.arch.hostmem import tune_allocator as t; "
            "print(t(), t())")


def _run(env_extra: dict) -> str:
    env = dict(os.environ, **env_extra)
    env.pop("VEXPSIM_NO_MALLOPT", None) if not env_extra else None
    return subprocess.run([sys.executable, "-c", _SNIPPET], capture_output=True, text=True,
                          env=env, check=True).stdout.split()


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="mallopt is glibc's")
def test_tune_allocator_once_and_off_switch():
    assert _run({}) == ["True", "False"]  # accepted once, then a no-op
    assert _run({"VEXPSIM_NO_MALLOPT": "1"}) == ["False", "False"]
