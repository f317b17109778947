"""A factor's HTTP tests run on the API tests' stack and fixtures (tests/api/conftest.py)."""
from tests.api.conftest import *  # noqa: F401,F403 - the fixtures: stack, api, clock
