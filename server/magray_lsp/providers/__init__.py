"""Provider adapters, one module per wire protocol, created lazily by kind."""

from __future__ import annotations

import importlib

from magray_lsp.config.models import LimitsConfig, ProviderConfig, provider_kind
from magray_lsp.errors import ConfigError
from magray_lsp.providers.base import (
    Answer,
    ChatRequest,
    Completion,
    Message,
    ModelInfo,
    Provider,
    StreamEvent,
    TextDelta,
    Usage,
)

# kind → "module:Class"; imported on first use so start-up stays fast.
_ADAPTERS: dict[str, str] = {
    "openai": "magray_lsp.providers.openai:OpenAIProvider",
    "huggingface": "magray_lsp.providers.huggingface:HuggingFaceProvider",
    "anthropic": "magray_lsp.providers.anthropic:AnthropicProvider",
    "google": "magray_lsp.providers.google:GeminiProvider",
    "ollama": "magray_lsp.providers.ollama:OllamaProvider",
    "local": "magray_lsp.providers.local:LocalProvider",
}


def create_provider(name: str, cfg: ProviderConfig, limits: LimitsConfig | None = None) -> Provider:
    """Build the adapter for section `[llm.<name>]`, its answers held to `limits`."""
    kind = provider_kind(name, cfg)
    if kind is None:
        raise ConfigError(f'llm.{name}: unknown provider; set kind = "openai" (or another kind)')
    module_name, _, class_name = _ADAPTERS[kind].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    provider: Provider = cls(name, cfg)
    provider.max_answer_chars = (limits or LimitsConfig()).max_answer_chars
    return provider


__all__ = [
    "Answer",
    "ChatRequest",
    "Completion",
    "Message",
    "ModelInfo",
    "Provider",
    "StreamEvent",
    "TextDelta",
    "Usage",
    "create_provider",
]
