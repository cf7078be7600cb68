"""Writes tests/data/ledger_v4.sql and ledger_v4_figures.json: a schema-4 ledger as magray-lsp
wrote it while a trigger kept the rollups inside each row's own transaction, and the figures
that version reported for it. The same 400 requests, windows and filters as make_ledger_v3.py.
Run with a schema-4 magray-lsp (commit d63ec11) first on the path:
``PYTHONPATH=<that checkout>/server python tests/data/make_ledger_v4.py``. Kept for the record;
tests/unit/cost/test_ledger_migration_v5.py only reads its output."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_ledger_v3 import main

if __name__ == "__main__":
    main(4, "its rollups kept by a trigger inside each request's transaction")
