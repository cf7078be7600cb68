"""The usage ledger: one SQLite file (WAL) shared by every magray-lsp process on the machine.

`store.py` is the file and its API (connections, transactions, the history), `entry.py` one row
and its money, `schema.py` the tables, rollups and migrations. The API is importable from here.
"""

from magray_lsp.cost.ledger.entry import (
    OUTCOMES,
    PICO,
    Action,
    LedgerEntry,
    Outcome,
    from_pico,
    latency_bucket,
    month_bounds,
    month_hours,
    new_id,
    to_pico,
)
from magray_lsp.cost.ledger.schema import SCHEMA_VERSION
from magray_lsp.cost.ledger.store import (
    DEFAULT_BUSY_TIMEOUT,
    Ledger,
    LedgerBusy,
    LedgerCorrupt,
    LedgerError,
    LedgerTx,
    default_ledger_path,
)

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "OUTCOMES",
    "PICO",
    "SCHEMA_VERSION",
    "Action",
    "Ledger",
    "LedgerBusy",
    "LedgerCorrupt",
    "LedgerEntry",
    "LedgerError",
    "LedgerTx",
    "Outcome",
    "default_ledger_path",
    "from_pico",
    "latency_bucket",
    "month_bounds",
    "month_hours",
    "new_id",
    "to_pico",
]
