"""Property: private content never reaches a non-local provider; no connection is even opened.

Thousands of random set-ups — which providers are configured and where they are (a loopback
address, `localhost`, another address of this machine, a DNS name, an HTTPS URL; any of them may
be marked `remote = true`), the privacy settings (workspace mode, path globs, marker files), the
document (a file, reached through the folder or a symlink to it, or an untitled buffer), routing
rules and pins, retries, and what each fake does (answers, 5xx, 429, context too long, hangs,
drops, garbage) — and, in a third of them, a simulated bug upstream (the router's plan replaced
by every candidate; additionally every adapter claiming to be local so the gateway's own check
passes as well).

The test decides on its own what is private (`expected_private`: from the generated settings and
the file, with a table for the globs) and what is remote (`Slot.remote`: from the URL it wrote
and the `remote` flag), never by asking the code under test; it then checks that the policy
agrees. Every provider sits behind a `Tripwire` that counts TCP connections, and the DNS names
resolve through a test resolver that counts lookups: for a private example, no remote endpoint
sees a connection and no remote name is looked up — whatever the bug — and while the router and
gateway are intact, no generation request is made to them at all.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import LOOP
from tests.elsewhere import Resolver, Tripwire, non_loopback_address
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.base import ContextTooLong, Drop, FakeServer, Hang, Malformed, Reply, Status
from tests.fakes.gemini import FakeGemini
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai import FakeOpenAI

from magray_lsp.catalog import Catalog
from magray_lsp.config.loader import load_config
from magray_lsp.config.models import PrivacyConfig
from magray_lsp.cost.ledger import Ledger
from magray_lsp.errors import MagrayError
from magray_lsp.gateway import Gateway
from magray_lsp.privacy.policy import MARKER_FILE, is_private
from magray_lsp.routing.router import Plan
from magray_lsp.task import Task

EXAMPLES = int(os.environ.get("MAGRAY_PRIVACY_EXAMPLES", "2000"))
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")  # what this test itself counts as this machine


@dataclass(frozen=True)
class Slot:
    """One fake provider, where the config says it is, and the tripwire in front of it."""

    kind: str
    model: str
    server: FakeServer
    tripwire: Tripwire
    host: str  # as written in the URL: an IP literal or a name
    scheme: str = "http"

    @property
    def url(self) -> str:
        path = "/v1" if self.kind in ("openai", "huggingface") else ""
        return f"{self.scheme}://{self.host}:{self.tripwire.port}{path}"

    def remote(self, flag: bool) -> bool:
        """The test's own answer: remote unless a loopback host written in the URL, unflagged."""
        return flag or self.host not in LOOPBACK_HOSTS

    def section(self, remote: bool) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "api_key": "sk-property-test",
            "base_url": self.url,
            "remote": remote,
            "timeout_seconds": 0.1,
            "models": {"default": self.model},
        }


@dataclass(frozen=True)
class Pool:
    slots: list[Slot]
    resolver: Resolver
    names: frozenset[str]  # the DNS names the slots use


@pytest.fixture(scope="module")
def pool() -> Iterator[Pool]:
    lan = non_loopback_address()  # another address of this machine: remote by any rule
    names = {f"fake-{i}.magray.test": lan or "127.0.0.1" for i in range(2)}
    resolver = Resolver(names)
    with ExitStack() as stack:
        stack.enter_context(resolver.active())

        def slot(kind: str, model: str, server: FakeServer, host: str, **kw: Any) -> Slot:
            fake = stack.enter_context(server)
            listen = lan if host in (lan, *names) and lan else "127.0.0.1"
            target = None if kw.get("scheme") == "https" else ("127.0.0.1", fake.port)
            wire = stack.enter_context(Tripwire(listen, target))
            return Slot(kind, model, fake, wire, host, **kw)

        far = lan or "fake-0.magray.test"  # without a second address, a name stands in
        slots = [
            slot("openai", "gpt-4o-mini", FakeOpenAI(), "127.0.0.1"),
            slot("openai", "gpt-4o", FakeOpenAI(), far),
            slot(
                "huggingface",
                "meta-llama/Llama-3.1-8B-Instruct",
                FakeOpenAI(),
                "fake-0.magray.test",
            ),
            slot("anthropic", "claude-3-5-haiku-latest", FakeAnthropic(), "127.0.0.1"),
            slot("anthropic", "claude-3-5-sonnet-latest", FakeAnthropic(), far),
            slot("google", "gemini-2.0-flash", FakeGemini(), "localhost"),
            slot("google", "gemini-1.5-pro", FakeGemini(), "fake-1.magray.test"),
            slot("ollama", "llama3.1", FakeOllama(), "127.0.0.1"),
            slot("ollama", "llama3.1", FakeOllama(), far),  # an Ollama on another machine
            slot("openai", "gpt-4o-mini", FakeOpenAI(), far, scheme="https"),
        ]
        yield Pool(slots, resolver, frozenset(names))


@pytest.fixture(scope="module")
def roots() -> Iterator[dict[str | None, Path]]:
    """One workspace per marker placement (None: no marker file), and a symlink to each."""
    with tempfile.TemporaryDirectory(prefix="magray-property-") as tmp:
        out: dict[str | None, Path] = {}
        for i, marker in enumerate([None, "", "secret", "secret/inner"]):
            root = Path(tmp) / f"ws{i}"
            for folder in ("secret/inner", "docs", "src"):
                (root / folder).mkdir(parents=True, exist_ok=True)
            if marker is not None:
                (root / marker / MARKER_FILE).touch()
            (Path(tmp) / f"link{i}").symlink_to(root, target_is_directory=True)
            out[marker] = root
        yield out


# Which file each glob covers, written out by hand (gitignore-like semantics, see policy.py).
GLOBS: dict[str, set[str]] = {
    "secret/**": {"secret/keys.py", "secret/inner/x.py"},
    "*.py": {"app.py", "secret/keys.py", "secret/inner/x.py"},
    "src/": {"src/m.rs"},
    "**/keys.py": {"secret/keys.py"},
    "docs/*.md": {"docs/a.md"},
    "nothing/": set(),
}


def expected_private(privacy: dict[str, Any], file: str | None, marker: str | None) -> bool:
    """Private by the test's own reading of the settings: local mode; a glob listing the file;
    a marker in the file's folder or above (for an untitled buffer: at the root only)."""
    if privacy["mode"] == "local":
        return True
    if file is None:
        return marker == ""
    if any(file in GLOBS[pattern] for pattern in privacy["private_paths"]):
        return True
    return marker is not None and (marker == "" or file.startswith(marker + "/"))


# A hang costs a (short) client timeout, so it is one choice in many: thousands of examples
# stay fast.
FAILURES = st.sampled_from(
    [
        Reply(text="fine"),
        Reply(text="fine", chunks=["fi", "ne"]),
        Status(500, "internal"),
        Status(503, "overloaded"),
        Status(429, "slow down", headers={"retry-after": "0"}),
        Status(401, "bad key"),
        ContextTooLong(),
        Drop(),
        Malformed(),
        Status(502, "bad gateway"),
        Status(404, "no such model"),
        Hang(seconds=1.0),
    ]
)

SECTIONS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=9),  # which slot
        st.booleans(),  # marked remote?
        st.lists(FAILURES, max_size=3),  # what its next requests get
    ),
    min_size=1,
    max_size=5,
    unique_by=lambda s: s[0],
)
PRIVACY = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(["auto", "auto", "local"]),
        "private_paths": st.lists(st.sampled_from(sorted(GLOBS)), max_size=2),
    }
)
FILES = st.sampled_from(
    [None, "app.py", "secret/keys.py", "secret/inner/x.py", "docs/a.md", "src/m.rs"]
)
MARKERS = st.sampled_from([None, "", "secret", "secret/inner"])
SPELLINGS = st.sampled_from(["real", "link"])  # how the folder and the file are named
BUGS = st.sampled_from(["none", "none", "router", "router+gateway"])

_ids = itertools.count()
STATS = {
    "private": 0,
    "private_untitled": 0,
    "public_reached_remote": 0,
    "public_connected_remote": 0,
    "private_answered_locally": 0,
    "stopped": 0,
    "stopped_by_transport_guard": 0,
}


async def _no_sleep(delay: float) -> None:
    return None


def spelled(root: Path, how: str) -> Path:
    return root if how == "real" else root.with_name(root.name.replace("ws", "link"))


async def run_example(
    pool: Pool,
    roots: dict[str | None, Path],
    sections: list[tuple[int, bool, list[Any]]],
    privacy: dict[str, Any],
    file: str | None,
    marker: str | None,
    root_spelling: str,
    file_spelling: str,
    bug: str,
    pin: int | None,
    attempts: int,
    rule: bool,
    ledger_dir: Path,
) -> None:
    real_root = roots[marker]
    root = spelled(real_root, root_spelling)
    path = None if file is None else spelled(real_root, file_spelling) / file
    private = expected_private(privacy, file, marker)
    assert is_private(path, root, PrivacyConfig(**privacy)) is private, (path, root, privacy)
    tag = f"PRIVATE-MARKER-{next(_ids)}-{os.getpid()}"
    llm: dict[str, Any] = {"local": {"enabled": False}}
    remote_slots: list[Slot] = []
    for index, flag, script in sections:
        slot = pool.slots[index]
        slot.server.reset()
        slot.server.script(*script)
        slot.tripwire.reset()
        llm[f"p{index}"] = slot.section(flag)
        if slot.remote(flag):
            remote_slots.append(slot)
    lookups_before = pool.resolver.lookups
    labels = [f"p{i}.default" for i, _, _ in sections]
    routing: dict[str, Any] = {"default": labels[0]}
    if rule:
        routing["rules"] = {"private": list(reversed(labels)), "explain": labels}
    config = {
        "llm": llm,
        "routing": routing,
        "privacy": privacy,
        "retry": {"max_attempts": attempts, "base_delay_seconds": 0, "deadline_seconds": 5},
    }
    loaded = load_config(settings=config, env={}, include_user=False)
    gw = Gateway(
        Catalog(loaded),
        ledger=Ledger(ledger_dir / "ledger.sqlite3"),
        workspace=str(root),
        sleep=_no_sleep,
    )
    task = Task(
        action="explain",
        system="You explain code.",
        prompt=f"def handler():\n    return '{tag}'\n",
        context_tokens=50,
        max_output_tokens=30,
        private=private,
        model_pin=labels[pin % len(labels)] if pin is not None else None,
        source_path=str(path or ""),
    )
    # (class, its own `is_local` entry or None): a subclass that inherits `is_local` must get the
    # inherited one back, not a copy of whatever its parent held while it was being patched
    lying: list[tuple[type, Any]] = []
    try:
        if bug == "none":
            await gw.run(task)
        else:
            public_plan = gw.plan(replace(task, private=False, model_pin=None))
            if bug == "router+gateway":  # every adapter claims to be local
                names = {c.ref.provider for c in public_plan.candidates}
                classes = {type(gw.catalog.provider(name)) for name in names}
                lying = [(cls, cls.__dict__.get("is_local")) for cls in classes]
                for cls, _ in lying:
                    cls.is_local = property(lambda self: True)  # type: ignore[attr-defined]
            async for _ in gw.executor.execute(task, Plan(public_plan.candidates), None):
                pass
        if private:
            STATS["private_answered_locally"] += 1
    except MagrayError as exc:
        STATS["stopped"] += private
        STATS["stopped_by_transport_guard"] += "locality guard" in str(exc)
    finally:
        for cls, own in lying:
            if own is None:
                delattr(cls, "is_local")
            else:
                cls.is_local = own  # type: ignore[attr-defined]
        await gw.aclose()

    def leaked(slot: Slot) -> list[Any]:
        return [r for r in slot.server.requests if tag in json.dumps(r.body)]

    if private:
        STATS["private"] += 1
        STATS["private_untitled"] += file is None
        for slot in remote_slots:
            assert leaked(slot) == [], f"private code reached remote {slot.url}"
            # refused before connecting, whatever was broken upstream
            assert slot.tripwire.accepted == 0, f"a connection to remote {slot.url}"
            if bug != "router+gateway":
                assert slot.server.requests == []
        assert pool.resolver.lookups == lookups_before, "a remote name was looked up"
    else:
        STATS["public_reached_remote"] += any(leaked(s) for s in remote_slots)
        STATS["public_connected_remote"] += any(s.tripwire.accepted for s in remote_slots)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_private_content_never_reaches_a_remote_fake(
    pool: Pool, roots: dict[str | None, Path], tmp_path: Path
) -> None:
    loop = Resolver.new_loop(LOOP.factory)  # the loop the server runs on

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same thousands of cases every run: CI failures reproduce
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        sections=SECTIONS,
        privacy=PRIVACY,
        file=FILES,
        marker=MARKERS,
        root_spelling=SPELLINGS,
        file_spelling=SPELLINGS,
        bug=BUGS,
        pin=st.none() | st.integers(min_value=0, max_value=4),
        attempts=st.integers(min_value=1, max_value=3),
        rule=st.booleans(),
    )
    def example(**kw: Any) -> None:
        loop.run_until_complete(run_example(pool, roots, ledger_dir=tmp_path, **kw))

    try:
        example()
    finally:
        loop.close()
    # The property is only meaningful if both sides were exercised: private examples that were
    # answered by a local model or stopped, and public ones whose code did reach a remote fake
    # and connected to remote tripwires (so the recording really sees requests and connections).
    assert STATS["private"] > EXAMPLES // 10, STATS
    assert STATS["private_untitled"] > 0, STATS
    assert STATS["private_answered_locally"] > 0 and STATS["stopped"] > 0, STATS
    assert STATS["public_reached_remote"] > 0 and STATS["public_connected_remote"] > 0, STATS
    # the simulated router+gateway bugs were really caught at the transport
    assert STATS["stopped_by_transport_guard"] > 0, STATS
    assert pool.resolver.lookups > 0, "public examples resolve the test names"
    print(f"\nprivacy property: {EXAMPLES} examples, {STATS}")
