"""HuggingFace: the Inference Providers router or a TGI endpoint, both OpenAI Chat Completions.

The wire protocol is OpenAI's (the HF token is the Bearer key); what differs is the error bodies.
TGI answers ``{"error": "...", "error_type": "validation"}`` with a plain-string message and words
"prompt too long" its own way; the router adds 402 for spent credits and 503 while a model loads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from magray_lsp.config.models import BUILTIN_BASE_URL
from magray_lsp.errors import ContextTooLong, ProviderError, RateLimited, ServerError, Unavailable
from magray_lsp.providers._http import retry_after_seconds
from magray_lsp.providers.openai import ErrorInfo, OpenAIProvider

# TGI's validation errors for a prompt (plus requested output) larger than the model's window.
_TGI_TOO_LONG = re.compile(
    r"`inputs` tokens \+ `max_new_tokens` must be <=|`inputs` must have less than \d+ tokens|"
    r"`max_new_tokens` must be <=",
)


class HuggingFaceProvider(OpenAIProvider):
    """``[llm.huggingface]``: router.huggingface.co/v1 by default, or a TGI endpoint's base_url."""

    kind = "huggingface"
    default_base_url = BUILTIN_BASE_URL["huggingface"]

    def _classify(
        self, status: int | None, info: ErrorInfo, headers: Mapping[str, str]
    ) -> ProviderError:
        if _TGI_TOO_LONG.search(info.message):
            return ContextTooLong(info.message, provider=self.name, status=status)
        if info.type == "overloaded":  # TGI's queue is full
            return RateLimited(
                info.message,
                provider=self.name,
                status=status,
                retry_after=retry_after_seconds(headers),
            )
        if status == 424 or info.type == "generation":  # TGI: the generation itself failed
            return ServerError(info.message, provider=self.name, status=status)
        if status == 402:  # out of included credits: waiting does not help, another provider may
            return Unavailable(info.message, provider=self.name, status=status)
        return super()._classify(status, info, headers)
