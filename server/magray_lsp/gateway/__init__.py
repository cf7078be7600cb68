"""The one entry point for "run this Task": cache → router → resilience → provider → ledger.

`core.py` is `Gateway` (plan, stream, run); `events.py` what it yields and raises;
`caching.py` the response cache and single flight; `execution.py` the models tried in turn and
the provider call; `spending.py` the reservations; `rows.py` the ledger rows;
`chat_request.py` the request a task becomes; `windows.py` context windows learnt from
providers. The public names are importable from here.
"""

from magray_lsp.gateway.core import Gateway
from magray_lsp.gateway.events import Accept, AllModelsFailed, Fallback, GatewayEvent, Outcome

__all__ = ["Accept", "AllModelsFailed", "Fallback", "Gateway", "GatewayEvent", "Outcome"]
