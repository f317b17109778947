"""Fixtures for the infrastructure tests: one in-process emulator per module."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from local import stack
from local.emulator import Emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """A running emulator with empty backends (moto's state is per process, not per server)."""
    with Emulator() as running:
        stack.reset(running.url)
        yield running
