from tests.unit.gateway.conftest import (  # noqa: F401 - shared loopback-provider fixtures
    anthropic_server,
    make_gateway,
    openai_server,
    primary,
    secondary,
    sleeps,
)
