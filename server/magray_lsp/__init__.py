"""magray-lsp: an LLM-backed language server that routes each request to the right provider."""

__version__ = "0.1.0"
