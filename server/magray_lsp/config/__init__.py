"""Configuration: pydantic models and the layered TOML loader."""

from magray_lsp.config.loader import LoadedConfig, load_config
from magray_lsp.config.models import MagrayConfig, ProviderConfig

__all__ = ["LoadedConfig", "MagrayConfig", "ProviderConfig", "load_config"]
