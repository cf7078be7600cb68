"""Which providers and models exist for this configuration, and how names resolve.

A model is addressed as `provider.alias` (`openai.code`), `provider/model-id`, or just `provider`
(its `default` alias). The in-process `local` provider is always present as the embedded default
unless `[llm.local] enabled = false`.
"""

from __future__ import annotations

from dataclasses import dataclass

from magray_lsp.config.loader import LoadedConfig
from magray_lsp.config.models import BUILTIN_DEFAULT_MODEL, ProviderConfig, provider_kind
from magray_lsp.errors import ConfigError
from magray_lsp.providers import Provider, create_provider

LOCAL = "local"


@dataclass(frozen=True, slots=True)
class ModelRef:
    provider: str  # section name, e.g. "openai" or "vllm"
    kind: str  # wire protocol
    model: str  # the provider's model id
    alias: str | None = None

    @property
    def label(self) -> str:
        return f"{self.provider}.{self.alias}" if self.alias else f"{self.provider}/{self.model}"


class Catalog:
    """Providers of one effective configuration; adapters are created on first use."""

    def __init__(self, loaded: LoadedConfig) -> None:
        self.loaded = loaded
        self.sections: dict[str, ProviderConfig] = dict(loaded.config.llm)
        self.sections.setdefault(LOCAL, ProviderConfig(kind="local"))
        self._providers: dict[str, Provider] = {}

    def enabled(self) -> list[str]:
        """Usable provider names, in configuration order (the embedded local model last)."""
        names = [
            n for n in self.sections if n not in self.loaded.disabled and self.sections[n].enabled
        ]
        return sorted(names, key=lambda n: provider_kind(n, self.sections[n]) == "local")

    def disabled_reason(self, name: str) -> str | None:
        if name not in self.sections:
            return f"no [llm.{name}] section in the configuration"
        return self.loaded.disabled.get(name) or (
            None if self.sections[name].enabled else "disabled"
        )

    def provider(self, name: str) -> Provider:
        reason = self.disabled_reason(name)
        if reason:
            raise ConfigError(f"provider {name} is not available: {reason}")
        if name not in self._providers:
            self._providers[name] = create_provider(
                name, self.sections[name], self.loaded.config.limits
            )
        return self._providers[name]

    def resolve(self, spec: str) -> ModelRef:
        """Resolve `provider.alias`, `provider/model-id` or `provider` to a ModelRef."""
        if "/" in spec:
            name, model = spec.split("/", 1)
            alias = None
        else:
            name, _, alias_part = spec.partition(".")
            alias = alias_part or "default"
            model = ""
        cfg = self.sections.get(name)
        if cfg is None:
            known = ", ".join(self.sections)
            raise ConfigError(f"unknown provider {name!r} in {spec!r} (configured: {known})")
        kind = provider_kind(name, cfg) or "openai"
        if alias is not None:
            model = cfg.models.get(alias, "")
            if not model and alias == "default":
                model = BUILTIN_DEFAULT_MODEL[kind]
            if not model:
                aliases = ", ".join(sorted(cfg.models)) or "none"
                raise ConfigError(f"{spec}: no model alias {alias!r} (aliases: {aliases})")
        if not model:
            raise ConfigError(f"{spec}: empty model id")
        return ModelRef(name, kind, model, alias)

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()
