"""Fixtures for the context package tests."""

from __future__ import annotations

import pytest
from tests.unit.context.context_samples import SAMPLES


@pytest.fixture(params=sorted(SAMPLES))
def language(request: pytest.FixtureRequest) -> str:
    return str(request.param)
