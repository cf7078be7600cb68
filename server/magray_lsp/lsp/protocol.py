"""pygls protocol with cancellable commands.

pygls runs `workspace/executeCommand` handlers under an id of their own, so `$/cancelRequest`
for the command only cancels the response future and the handler (and its provider stream, and
the tokens it is billed for) keeps running. This links the two: cancelling the response cancels
the handler's task.
"""

from __future__ import annotations

from asyncio import Future
from typing import Any

from pygls.protocol import LanguageServerProtocol


class MagrayProtocol(LanguageServerProtocol):
    def _execute_handler(
        self, msg_id: Any, handler: Any, callback: Any, args: Any = None, kwargs: Any = None
    ) -> None:
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        response: Any = getattr(callback, "keywords", {}).get("result_future")
        task = self._request_futures.get(msg_id)
        if response is None or task is None:
            return

        def cancel_handler(done: Future[Any]) -> None:
            if done.cancelled():
                task.cancel()

        response.add_done_callback(cancel_handler)
