"""`_http.post_request` builds what httpx's own `build_request` would, with the URL merged once.

The OpenAI adapter sends every chat request through it; the loopback fake checks the rest (the
adapter's tests), here the request itself is compared field by field, cookies included.
"""

from __future__ import annotations

import httpx
import pytest

from magray_lsp.providers._http import make_client, post_request

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "héllo ✓"}]}


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:9/v1", "http://127.0.0.1:9/v1/"])
async def test_the_same_request_as_build_request(base_url: str) -> None:
    client = make_client(
        base_url=base_url,
        timeout_seconds=7,
        headers={"Authorization": "Bearer sk-test", "Accept": "application/json"},
        max_concurrency=4,
    )
    try:
        for _ in range(2):  # the second one from the remembered endpoint
            ours = post_request(client, "/chat/completions", BODY)
            theirs = client.build_request("POST", "/chat/completions", json=BODY)
            assert str(ours.url) == str(theirs.url) == "http://127.0.0.1:9/v1/chat/completions"
            assert ours.headers.multi_items() == theirs.headers.multi_items()
            assert ours.content == theirs.content
            assert ours.extensions == theirs.extensions
        client.cookies.set("session", "abc", domain="127.0.0.1")
        with_cookie = post_request(client, "/chat/completions", BODY)
        expected = client.build_request("POST", "/chat/completions", json=BODY)
        assert with_cookie.headers["cookie"] == expected.headers["cookie"] == "session=abc"
    finally:
        await client.aclose()


async def test_each_client_has_its_own_endpoints() -> None:
    first = make_client(base_url="http://127.0.0.1:9/a", timeout_seconds=1, headers={},
                        max_concurrency=1)  # fmt: skip
    second = make_client(base_url="http://127.0.0.1:9/b", timeout_seconds=1, headers={},
                         max_concurrency=1)  # fmt: skip
    try:
        assert post_request(first, "/x", {}).url == httpx.URL("http://127.0.0.1:9/a/x")
        assert post_request(second, "/x", {}).url == httpx.URL("http://127.0.0.1:9/b/x")
    finally:
        await first.aclose()
        await second.aclose()
