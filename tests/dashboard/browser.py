"""Headless Debian Chromium driven from its command line, and a tiny DOM to read what it rendered.

No npm, no downloaded browser: ``scripts/install-system-deps.sh`` installs ``chromium``. Without
it the browser tests skip on a developer machine and fail under CI.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    # let the page's fetch and first render finish in virtual time; the refresh timer (15 s) never
    # fires within it
    "--virtual-time-budget=8000",
)
_TIMEOUT = 120.0  # a hang guard on a loaded machine, not a performance limit


def chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        message = "chromium is not installed (bash scripts/install-system-deps.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


async def _run(url: str, *extra: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="magray-chromium-") as profile:
        proc = await asyncio.create_subprocess_exec(
            chromium(),
            *_FLAGS,
            f"--user-data-dir={profile}",
            *extra,
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "TZ": "UTC"},  # the page shows times in the browser's zone
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), _TIMEOUT)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
    assert proc.returncode == 0, f"chromium failed ({proc.returncode}): {err.decode()[-2000:]}"
    return out


async def dump_dom(url: str) -> Dom:
    """The page's DOM after its scripts ran, parsed."""
    return Dom.parse((await _run(url, "--dump-dom", "--window-size=1400,1000")).decode())


async def screenshot(url: str, path: Path, height: int = 1650) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    await _run(url, f"--screenshot={path}", f"--window-size=1400,{height}", "--hide-scrollbars")
    size = await asyncio.to_thread(lambda: path.stat().st_size)
    assert size > 10_000, "the screenshot is (nearly) empty"


# --- a tiny DOM -----------------------------------------------------------------------------------

_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def walk(self) -> Iterator[Node]:
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.walk()

    def find_all(self, match: Callable[[Node], bool]) -> list[Node]:
        return [n for n in self.walk() if match(n)]

    def by_id(self, ident: str) -> Node:
        found = self.find_all(lambda n: n.attrs.get("id") == ident)
        assert len(found) == 1, f"expected one #{ident}, found {len(found)}"
        return found[0]

    def cell(self, key: str) -> Node:
        found = self.find_all(lambda n: n.tag == "td" and n.attrs.get("data-key") == key)
        assert len(found) == 1, f"expected one cell {key!r}, found {len(found)}"
        return found[0]

    def rows(self) -> list[Node]:
        return self.find_all(lambda n: n.tag == "tr")


class Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self._stack = [self.root]

    @classmethod
    def parse(cls, html: str) -> Dom:
        dom = cls()
        dom.feed(html)
        dom.close()
        return dom

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self._stack[-1].children.append(node)
        if tag not in _VOID:
            self._stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._stack) - 1, 0, -1):
            if self._stack[i].tag == tag:
                del self._stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self._stack[-1].children.append(data)

    # shortcuts

    def by_id(self, ident: str) -> Node:
        return self.root.by_id(ident)

    def text(self, ident: str) -> str:
        return self.by_id(ident).text.strip()

    @property
    def state(self) -> str:
        body = self.root.find_all(lambda n: n.tag == "body")
        return body[0].attrs.get("data-state", "") if body else ""

    def table(self, ident: str, key: str) -> dict[str, Node]:
        """The rows of tbody ``ident`` by their ``data-<key>`` attribute."""
        return {
            row.attrs[f"data-{key}"]: row
            for row in self.by_id(ident).rows()
            if f"data-{key}" in row.attrs
        }
