"""The `ChatRequest` a task becomes for one model, and its prompt-cache marks kept through
redaction."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from magray_lsp.catalog import Catalog, ModelRef
from magray_lsp.privacy.outbound import Outbound
from magray_lsp.providers.base import ChatRequest, Message
from magray_lsp.routing.pricing import output_cap
from magray_lsp.task import Task


def request_for(catalog: Catalog, workspace: str, task: Task, ref: ModelRef) -> ChatRequest:
    cfg = catalog.sections[ref.provider]
    defaults = cfg.defaults
    user = Message("user", task.prompt, cache_prefix=task.prompt_prefix)
    return ChatRequest(
        model=ref.model,
        messages=(Message("system", task.system), user),
        max_tokens=output_cap(task, cfg),  # the number the estimate and reservation used
        temperature=defaults.temperature,
        top_p=defaults.top_p,
        prompt_cache_key=prompt_cache_key(workspace, task) if task.prompt_prefix else None,
    )


def prompt_cache_key(workspace: str, task: Task) -> str:
    """One key per workspace file: requests about one file share its context. A hash, so the
    path itself never leaves the machine."""
    where = f"{workspace}\0{task.source_path}".encode()
    return "magray-" + hashlib.sha256(where).hexdigest()[:32]


def with_cache_prefix(request: ChatRequest, outbound: Outbound) -> ChatRequest:
    """The request as sent, its messages' cache prefixes kept through redaction (which rebuilds
    the messages): a prefix counts in its redacted length when its redacted text still starts
    the redacted message, and is dropped (nothing marked for caching) otherwise."""
    sent, redaction = outbound.request, outbound.redaction
    if sent is request or redaction is None:
        return sent
    messages = []
    for before, after in zip(request.messages, sent.messages, strict=True):
        prefix = redaction.seal(before.split()[0]) if before.cache_prefix else ""
        kept = len(prefix) if prefix and after.content.startswith(prefix) else 0
        messages.append(replace(after, cache_prefix=kept))
    return replace(sent, messages=tuple(messages))
