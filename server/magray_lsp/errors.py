"""One error taxonomy for every provider.

Whether an error is worth retrying on the same model, worth falling back to another model, or fatal
is a property of the error class, never of the call site.
"""

from __future__ import annotations


class MagrayError(Exception):
    """Base of every error magray-lsp raises on purpose."""


class ConfigError(MagrayError):
    """A configuration file or setting is invalid; the message names file, line and key."""


class ProviderError(MagrayError):
    """A provider call failed. Subclasses say what may be done about it."""

    retryable: bool = False  # try the same model again after a backoff
    fallback: bool = True  # try the next model in the plan

    def __init__(self, message: str, *, provider: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status

    def __str__(self) -> str:
        base = super().__str__()
        return f"{self.provider}: {base}" if self.provider else base


class RateLimited(ProviderError):
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status)
        self.retry_after = retry_after


class Timeout(ProviderError):
    retryable = True


class ServerError(ProviderError):
    retryable = True


class Unavailable(ProviderError):
    """Connection refused, DNS failure, model not installed or not loaded: nothing to retry here."""


class AuthError(ProviderError):
    """Bad or missing credentials: the next provider may still work."""


class BadRequest(ProviderError):
    """The request itself is wrong; another model would reject it too."""

    fallback = False


class ContextTooLong(ProviderError):
    """The prompt does not fit this model's window; a model with a larger window may take it."""


class ContentFiltered(ProviderError):
    """The provider refused the content; sending it elsewhere is not what the user wants."""

    fallback = False


class MalformedResponse(ServerError):
    """The provider answered with a body we cannot parse (treated like a server error)."""


class AnswerTooLong(ProviderError):
    """The answer (or the response body) passed its size limit and was cut off. Asking the same
    model again would run away again; another model may answer within the limit."""


class StreamInterrupted(ProviderError):
    """The stream broke after text already reached the caller; the answer is incomplete."""

    fallback = False


class BudgetExceeded(MagrayError):
    """The monthly budget's hard limit would be crossed by this request."""


class PrivacyViolation(MagrayError):
    """Private content was about to leave the machine; the request was stopped."""


class InvalidAnswer(ProviderError):
    """The answer arrived but is unusable (e.g. an edit that does not parse); try another model."""
