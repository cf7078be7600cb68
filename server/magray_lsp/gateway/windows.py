"""Context windows learnt from providers that report them (Ollama's /api/show), once per model.

The router reads them through `hint` (a model without one uses the built-in table).
"""

from __future__ import annotations

import asyncio

from magray_lsp.catalog import Catalog, ModelRef
from magray_lsp.errors import MagrayError
from magray_lsp.routing.router import Router


class ContextWindows:
    """The windows asked so far, by model label (None: asked, unknown)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._known: dict[str, int | None] = {}
        self._asked = False

    def hint(self, ref: ModelRef) -> int | None:
        return self._known.get(ref.label)

    async def learn(self, router: Router, *, local_only: bool = False) -> None:
        """Ask providers that know their models' windows (Ollama) once per model; `local_only`
        (a private task) asks only those on this machine: it contacts no other host at all."""
        if self._asked:  # the configuration, hence the models, is fixed
            return
        skipped = False
        for ref in router.candidates():
            if ref.label in self._known or ref.kind != "ollama":
                continue
            provider = self.catalog.provider(ref.provider)
            if local_only and not provider.is_local:
                skipped = True  # asked by the next task that may use it
                continue
            ask = getattr(provider, "context_window", None)
            self._known[ref.label] = None
            if ask is None:
                continue
            try:
                self._known[ref.label] = await asyncio.wait_for(ask(ref.model), 2.0)
            except (TimeoutError, MagrayError):
                pass  # unknown: the built-in table applies, and we do not ask again
        self._asked = not skipped
