"""pygls protocol with two fixes for a server that must not leave a client hanging.

- pygls runs `workspace/executeCommand` handlers under an id of their own, so `$/cancelRequest`
  for the command only cancels the response future and the handler (and its provider stream, and
  the tokens it is billed for) keeps running. Cancelling the response now cancels the handler.
- A request whose params do not deserialize is only logged by pygls; the client would wait for
  an answer forever. It now gets the JSON-RPC error as its response.
"""

from __future__ import annotations

from asyncio import Future
from typing import Any

from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol


class MagrayProtocol(LanguageServerProtocol):
    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if "id" in data and "method" in data:
                self._send_response(data["id"], error=exc.to_response_error())
            raise

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
