"""`magray-lsp dashboard`: a read-only, loopback-only web page and /metrics over the usage ledger.

``server.start_dashboard`` runs it in any asyncio loop (the CLI's, or the language server's for
``magray.showUsage``); ``queries`` and ``metrics_text`` compute what it shows from ``reader``.
"""
