"""Group commit: one background thread applies this process's ledger writes, many per transaction.

A request's ledger row (and its reservation, settlement or release) is ``submit``ted as a small
function of a ``LedgerTx``. The writer thread takes everything queued, runs each function in its
own SAVEPOINT inside one ``BEGIN IMMEDIATE`` transaction (so one refused reservation or duplicate
id fails alone), commits once, and only then resolves each submitter's future. A caller that
awaits the future therefore knows its row is committed: in WAL mode with ``synchronous=NORMAL``
a committed transaction is in the OS page cache and survives the process being killed.

Under load the batch grows by itself (everything that arrived while the previous batch was
committing goes into the next one), so 100 concurrent requests cost a handful of transactions,
and the event loop never touches SQLite on the hot path. A batch runs its jobs without savepoints
first; only when one of them fails on its own is it run again with one savepoint per job, so that
job fails alone. An event loop caller (``submit_async``) gets asyncio futures,
and a batch's futures on one loop are resolved by one call (one wake-up of the loop per batch).

After every batch, ``after_batch`` runs in the same transaction (the gateway computes its budget
status there), and its result is published as ``latest`` so readers need no query. The writer's
connections do not checkpoint the WAL inside a commit: its thread does, every
``CHECKPOINT_EVERY`` rows, when idle (other processes keep SQLite's own checkpoints).

A process's own rows mostly come from its row journal (`cost/journal.py`): the gateway appends a
row there (its commit) and returns, and ``journal`` wakes this thread, which inserts every record
waiting, with the journal's new offset, in one transaction (batching comes by itself under
load). Every transaction the writer runs (a reservation above all) takes the waiting records in
first, so a budget check in this process sees every row it acknowledged; ``journaled`` gives the
last status together with the records it does not count yet. On start the thread takes over the
journals of processes that are gone; on ``close`` it folds its own and removes it.

Nor do its commits fold the rows into the rollups (`Ledger.append`; readers count the rows past
the watermark meanwhile): its thread does, in a transaction of its own, once no row came for
``FOLD_IDLE`` seconds (between requests, so a fold never holds up a lone request's commit),
under a steady stream every ``FOLD_OVERDUE`` rows, when it starts (rows a process killed before
folding left behind) and when it closes.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any, Generic, TypeVar

from magray_lsp.cost import journal as row_journal
from magray_lsp.cost.journal import Journal, JournalRecord, JournalTail
from magray_lsp.cost.ledger import (
    Ledger,
    LedgerBusy,
    LedgerEntry,
    LedgerError,
    LedgerTx,
    to_pico,
)
from magray_lsp.cost.ledger.schema import UNFOLDED
from magray_lsp.errors import MagrayError

log = logging.getLogger(__name__)
T = TypeVar("T")
S = TypeVar("S")

#: at most this many writes per transaction (bounds how long the file lock is held)
MAX_BATCH = 512
#: rows committed between two checkpoints of the WAL, which the writer thread runs when it has
#: nothing else to do: SQLite's own (every 1,000 pages, inside whichever commit passes the mark,
#: a few ms with its fsyncs) would land on a request's path
CHECKPOINT_EVERY = 128
#: the writer thread folds the rows into the rollups once no row came for this long (one
#: transaction adds them all: a fraction of what each row's own trigger cost), or when this many
#: wait (a steady stream of rows); at most FOLD_BATCH rows a fold takes at once
FOLD_IDLE = 0.05
FOLD_OVERDUE = 512
FOLD_BATCH = 4096
#: after a failed transaction that carried journal records, wait this long before the next try,
#: twice as long after each further failure, up to JOURNAL_RETRY_MAX
JOURNAL_RETRY = 0.1
JOURNAL_RETRY_MAX = 5.0


#: a job's own failure (a refused reservation, a duplicate id, a bad amount): it fails alone
_OWN_FAILURES = (sqlite3.IntegrityError, MagrayError, ValueError)


class _JobFailed(Exception):
    """Aborts the transaction of a batch of one; carries its job's error."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class _OneFailed(Exception):
    """Aborts a batch run without savepoints: a job failed on its own; run it with them."""


class WriterBusy(MagrayError):
    """``write_now`` could not commit here (the writer thread, or another process, holds the
    file): nothing was done; submit the write instead."""


class _Job:
    __slots__ = ("body", "error", "future", "loop", "result")

    def __init__(
        self,
        body: Callable[[LedgerTx], Any],
        future: Future[Any] | asyncio.Future[Any] | None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.body = body
        #: a thread's future, or (with ``loop``) an asyncio future of that loop; None: the
        #: caller reads ``result`` / ``error`` itself (``write_now``)
        self.future = future
        self.loop = loop
        self.result: Any = None
        self.error: BaseException | None = None


class LedgerWriter(Generic[S]):
    """The process's single ledger writer thread. Thread-safe; ``close`` drains it.
    ``journal``: this process's row journal, which ``journal`` appends to (None: rows are
    committed to SQLite only)."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        after_batch: Callable[[LedgerTx], S] | None = None,
        max_batch: int = MAX_BATCH,
        fold_idle: float = FOLD_IDLE,
        journal: Journal | None = None,
    ) -> None:
        self.ledger = ledger
        self._journal = journal
        #: records appended to the journal, not in SQLite yet (in journal order)
        self._journaled: list[JournalRecord] = []
        self._tail = JournalTail()  # their running totals (`journaled`)
        self._journal_retry = 0.0  # monotonic time before which a failed fold is not retried
        self._journal_backoff = JOURNAL_RETRY
        self._journal_stuck = False  # closing, and its records could not be folded
        self._failed_journal: Journal | None = None  # a journal that could not be appended to
        self._fold_idle = fold_idle
        self._after_batch = after_batch
        self._max_batch = max_batch
        self._queue: list[_Job] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)  # (`_inline` takes ``_lock`` alone)
        self._closing = False
        # journals of processes that are gone: the thread takes them over first (busy until
        # then, so a flush waits for their rows too)
        self._busy = self._take_over_due = row_journal.others(ledger.path, journal)
        self._local = threading.local()  # per connection thread: autocheckpoint turned off
        self._uncheckpointed = 0  # rows committed since the last checkpoint
        self._checkpoint_due = False
        self._unfolded = 0  # rows committed since the last fold
        self._committed_at = 0.0  # monotonic time of the last commit
        self._timing_fold = False  # the thread waits for the rows' idle time to fold them
        # first of all, whatever a process killed before its fold left behind
        self._fold_due = _rows_to_fold(ledger)
        #: checkpoints the writer thread ran, and the rows its folds added to the rollups
        self.checkpoints = 0
        self.folded = 0
        #: the last ``after_batch`` result and the monotonic time of its commit
        self.latest: tuple[float, S] | None = None
        #: transactions committed and writes applied, for benchmarks and tests
        self.batches = 0
        self.writes = 0
        #: of which committed on the caller's thread, the writer being idle
        self.inline = 0
        self._thread = threading.Thread(target=self._run, name="magray-ledger-writer", daemon=True)
        self._thread.start()

    # -- submitting ---------------------------------------------------------------------------

    def submit(self, body: Callable[[LedgerTx], T]) -> Future[T]:
        """Queue ``body``; its future resolves (to its result) once its transaction committed,
        or fails with the exception ``body`` raised or the ``LedgerError`` of the commit."""
        future: Future[T] = Future()
        self._enqueue([_Job(body, future)])
        return future

    def submit_async(self, body: Callable[[LedgerTx], T]) -> asyncio.Future[T]:
        """``submit`` for a coroutine: an asyncio future of the running loop, resolved on it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._enqueue([_Job(body, future, loop)])
        return future

    def journal(self, entry: LedgerEntry, reservation_id: str | None, reserved_pico: int) -> bool:
        """Commit ``entry`` by appending it to the journal (its reservation, of
        ``reserved_pico``, is dropped when it is folded) and wake the thread to fold it. False,
        having done nothing: there is no journal (any more); commit it to SQLite instead."""
        cost = entry.cost_usd
        cost_pico = 0 if cost is None else to_pico(cost)
        with self._lock:
            journal = self._journal
            if journal is None or self._closing:
                return False
            try:
                end = journal.append(entry, reservation_id)
            except OSError as exc:  # a full disk: the rest go to SQLite directly
                log.error("the ledger journal %s failed (%s); writing to SQLite", journal.path, exc)
                self._journal = None
                self._failed_journal = journal
                return False
            record = JournalRecord(
                entry,
                reservation_id,
                end,
                reserved_pico,
                cost_pico,
                cost is None and entry.input_tokens + entry.output_tokens > 0,
                int(entry.ts / 3600),  # the hour it counts in (`hour_of`)
            )
            self._journaled.append(record)
            self._tail = self._tail.plus(record)
            self._cond.notify()
        return True

    def journaled(
        self, month_start_hour: int, upto: int = -1
    ) -> tuple[tuple[float, S] | None, JournalTail]:
        """The last status (``latest``) and what the journal's records it does not count yet
        add — those past byte ``upto`` when the status is a snapshot that held the journal up
        to there (`journaled_past`) — counting a row's cost only from ``month_start_hour`` on.
        Kept as running totals: constant time however many rows wait (under load hundreds do),
        but for the records already in that snapshot and a month that turned while rows
        waited."""
        with self._lock:
            return self.latest, self._tail_past(month_start_hour, upto)

    def journaled_past(
        self, read: Callable[[], tuple[T, int]], month_start_hour: int
    ) -> tuple[T, int, JournalTail]:
        """``read()`` — a read of the ledger and the journal's offset in that same snapshot
        (`journal_name`) — and what the records that snapshot does not hold add (`journaled`).
        Under the lock: no record committed after the snapshot leaves the journaled ones
        before they are counted."""
        with self._lock:
            result, upto = read()
            return result, upto, self._tail_past(month_start_hour, upto)

    def _tail_past(self, month_start_hour: int, upto: int) -> JournalTail:
        """Under the lock: `journaled`'s totals."""
        records, tail = self._journaled, self._tail
        if not records:
            return tail
        held = 0  # the records ``upto`` says the snapshot holds: a prefix, a batch at most
        while held < len(records) and records[held].end <= upto:
            tail = tail.plus(records[held], -1)
            held += 1
        if held < len(records) and records[held].hour < month_start_hour:  # rare
            tail = JournalTail()
            for record in records[held:]:
                tail = tail.plus(record, spent=record.hour >= month_start_hour)
        return tail

    @property
    def journal_name(self) -> str | None:
        journal = self._journal or self._failed_journal
        return None if journal is None else journal.name

    def _enqueue(self, jobs: list[_Job]) -> None:
        with self._cond:
            if self._closing:
                raise LedgerError(f"the ledger writer for {self.ledger.path} is closed")
            self._queue.extend(jobs)
            if len(self._queue) == len(jobs):
                self._cond.notify()

    def record(self, entry: LedgerEntry) -> Future[None]:
        return self.submit(lambda tx: tx.record(entry))

    def write(self, body: Callable[[LedgerTx], T]) -> Future[T]:
        """``submit``, except that when the writer is idle ``body`` is committed right here, on
        the calling thread (no thread hop: the cheapest way for a lone request), unless another
        process holds the write lock: then it is queued rather than waited for."""
        future: Future[T] = Future()
        job = _Job(body, future)
        if not self._inline([job]):
            self._enqueue([job])
        return future

    def write_now(self, body: Callable[[LedgerTx], T]) -> T:
        """Commit ``body`` right here and return its result (or raise its error), with no
        future at all; raises ``WriterBusy``, having done nothing, when the writer is not idle
        or another process holds the write lock (the caller submits it instead)."""
        job = _Job(body, None)
        if not self._inline([job]):
            raise WriterBusy(f"the ledger writer for {self.ledger.path} is busy")
        if job.error is not None:
            raise job.error
        result: T = job.result
        return result

    def _inline(self, batch: list[_Job]) -> bool:
        """Commit ``batch`` on the calling thread if the writer is idle and no other process
        holds the write lock (then without waiting for it); False: nothing was done."""
        with self._lock:  # the condition's lock, without its Python-level wrapper
            idle = not (self._queue or self._busy or self._closing)
            if idle:
                self._busy = True  # the thread leaves the file to us meanwhile
        if not idle:
            return False
        try:
            self._commit(batch, nowait=True)
        except LedgerBusy:
            return False
        finally:
            with self._lock:
                self._busy = False
                if self._queue or self._checkpoint_due or self._fold_due or self._journaled:
                    self._cond.notify_all()
                elif self._unfolded and not self._timing_fold:  # rows to fold: time it
                    self._cond.notify_all()
        self.inline += len(batch)
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Block until everything submitted so far is committed (or failed); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy or (self._journaled and not self._journal_stuck):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def close(self, timeout: float | None = 30.0) -> None:
        """Commit what is queued and journaled (then remove the journal), then stop the
        thread. Later ``submit``s raise."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + len(self._journaled) + (1 if self._busy else 0)

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        if self._take_over_due:
            try:
                self._take_over()
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        while True:
            with self._cond:
                self._wait_for_work()
                # a WAL far behind is checkpointed, and rows far behind folded, even under a
                # steady stream of rows
                fold = self._fold_due or self._unfolded >= FOLD_OVERDUE
                overdue = fold or self._uncheckpointed >= 8 * CHECKPOINT_EVERY
                batch: list[_Job] = []
                journal = self._journal_due()
                if (self._queue or journal) and not overdue:
                    batch = self._queue[: self._max_batch]
                    del self._queue[: self._max_batch]
                    journal = True  # a commit (of the journal's records, if only those)
                elif fold or (self._closing and self._unfolded):
                    self._fold_due, fold = False, True
                elif self._closing and not self._queue and not journal:  # drained and folded
                    self._retire_journal()
                    self._cond.notify_all()
                    return
                else:
                    self._checkpoint_due = False
                self._busy = True
            try:
                if journal:
                    self._commit(batch)
                elif fold:
                    self._fold()
                else:
                    self._checkpoint()
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _checkpoint(self) -> None:
        """Copy the WAL's committed pages into the database file (PASSIVE: never waits for,
        nor blocks, readers and writers of any process)."""
        self._uncheckpointed = 0
        try:
            self.ledger.read("PRAGMA wal_checkpoint(PASSIVE)")
        except LedgerError as exc:  # another process may be checkpointing: next time
            log.info("ledger checkpoint skipped: %s", exc)
        self.checkpoints += 1

    def _journal_due(self) -> bool:
        """Under ``_cond``: whether journaled records wait to be committed now."""
        if not self._journaled or self._journal_stuck:
            return False
        return self._closing or time.monotonic() >= self._journal_retry

    def _take_over(self) -> None:
        """Fold the journals of processes that are gone (`journal.take_over`)."""
        try:
            if row_journal.take_over(self.ledger):
                self._fold_due = True  # their rows into the rollups too
        except (LedgerError, OSError) as exc:  # the next writer (or `stats`) takes them over
            log.warning("could not fold the ledger journals of processes that are gone: %s", exc)

    def _retire_journal(self) -> None:
        """Closing: remove the journal when all of its records are in SQLite (and then its
        offset); otherwise leave it, unlocked, for the next process to take over."""
        for journal in (self._journal, self._failed_journal):
            if journal is None:
                continue
            folded = not self._journaled
            journal.close(remove=folded)
            if not folded:
                log.warning(
                    "the ledger journal %s keeps %d rows not in the ledger yet; the next "
                    "magray-lsp process takes them over",
                    journal.path,
                    len(self._journaled),
                )
                continue
            try:
                self.ledger.write(partial(row_journal.forget, name=journal.name))
            except LedgerError as exc:  # an offset without a file: the next take-over drops it
                log.info("could not drop the offset of the ledger journal: %s", exc)

    def _wait_for_work(self) -> None:
        """Under ``_cond``: until there is something to do (busy: a caller is committing
        inline; its turn first). Rows waiting to be folded are, once none came for a while."""
        while not self._closing:
            if not self._busy:
                if self._queue or self._checkpoint_due or self._fold_due:
                    return
                if self._journaled:
                    wait = self._journal_retry - time.monotonic()
                    if wait <= 0:
                        return
                    self._cond.wait(wait)
                    continue
                if self._unfolded:
                    idle = time.monotonic() - self._committed_at
                    if idle >= self._fold_idle:
                        self._fold_due = True
                        return
                    self._timing_fold = True
                    self._cond.wait(self._fold_idle - idle)
                    self._timing_fold = False
                    continue
            self._cond.wait()

    def _fold(self) -> None:
        """Fold the rows past the watermark into the rollups: this process's and any other's."""
        self._unfolded = 0
        try:
            folded = self.ledger.fold(FOLD_BATCH)
        except LedgerError as exc:  # the next fold (or the next writer) takes them
            log.warning("folding ledger rows into the rollups failed: %s", exc)
            return
        self.folded += folded
        self._uncheckpointed += folded
        if folded == FOLD_BATCH:
            self._fold_due = True  # more may wait
        elif self._uncheckpointed >= CHECKPOINT_EVERY:
            self._checkpoint_due = True

    def _commit(self, batch: list[_Job], *, nowait: bool = False) -> None:
        """Apply ``batch`` in one transaction; if it fails, every job fails with its error.
        ``nowait``: if another process holds the lock, raise ``LedgerBusy``, jobs untouched."""
        status: list[S] = []
        kind = "manual_nowait" if nowait else "manual_waits"
        # the journal's records first: this transaction's checks see every row acknowledged
        journal = self._journal or self._failed_journal
        with self._lock:
            records = [] if self._journal_stuck else self._journaled[: self._max_batch]

        def body(tx: LedgerTx, savepoints: bool) -> None:
            status.clear()  # ``Ledger.write`` re-runs the body once after a corrupt file
            # a thread has a connection for each kind of write (`Ledger.append`'s nowait)
            if not getattr(self._local, kind, False):
                tx.execute("PRAGMA wal_autocheckpoint = 0")  # this connection: see _checkpoint
                setattr(self._local, kind, True)
            if records:
                assert journal is not None
                row_journal.fold_in(tx, journal.name, records)
            if len(batch) == 1 and not records:  # alone (the usual case): no savepoint needed
                try:
                    batch[0].result = batch[0].body(tx)
                except _OWN_FAILURES as exc:
                    raise _JobFailed(exc) from exc
            elif not savepoints:  # nobody fails (the usual case): two statements fewer per job
                # (with journal records, a job that fails does so alone: they still commit)
                for job in batch:
                    try:
                        job.result, job.error = job.body(tx), None
                    except _OWN_FAILURES as exc:
                        raise _OneFailed from exc
            else:
                for job in batch:
                    job.result, job.error = None, None
                    tx.execute("SAVEPOINT job")
                    try:
                        job.result = job.body(tx)
                    except _OWN_FAILURES as exc:
                        # this job's own failure: undo it alone; any other SQLite error fails
                        # the transaction (and so every job)
                        job.error = exc
                        tx.execute("ROLLBACK TO job")
                    tx.execute("RELEASE job")
            if self._after_batch is not None:
                try:
                    status.append(self._after_batch(tx))
                except (sqlite3.Error, MagrayError) as exc:  # the rows still count
                    log.warning("ledger status after a write failed: %s", exc)

        append = self.ledger.append
        try:
            try:
                append(lambda tx: body(tx, savepoints=False), nowait=nowait)
            except _OneFailed:  # rolled back: again, each job in its own savepoint
                append(lambda tx: body(tx, savepoints=True), nowait=nowait)
        except _JobFailed as failed:  # a batch of one whose job failed: nothing committed
            batch[0].error = failed.error
            _resolve(batch)
            return  # its journal records (if any) wait for the thread's next transaction
        except Exception as exc:
            if nowait and isinstance(exc, LedgerBusy):
                raise
            # the transaction itself failed: so did every job in it
            log.warning("ledger write of %d rows failed: %s", len(batch) + len(records), exc)
            if records:
                with self._lock:  # they stay journaled: tried again shortly (not when closing)
                    self._journal_retry = time.monotonic() + self._journal_backoff
                    self._journal_backoff = min(2 * self._journal_backoff, JOURNAL_RETRY_MAX)
                    self._journal_stuck = self._closing
            for job in batch:
                job.result, job.error = None, exc
            _resolve(batch)
            return
        n = len(batch) + len(records)
        self.batches += 1
        self.writes += n
        self._uncheckpointed += n
        self._committed_at = time.monotonic()  # the thread folds when idle (`_wait_for_work`)
        self._unfolded += n
        if self._uncheckpointed >= CHECKPOINT_EVERY:
            self._checkpoint_due = True
        with self._lock:  # the status and the records it counts change together
            for record in records:
                self._tail = self._tail.plus(record, -1)
            del self._journaled[: len(records)]
            self._journal_backoff = JOURNAL_RETRY
            if status:
                self.latest = (time.monotonic(), status[0])
            elif records:
                self.latest = None  # a status without them would miss their cost
        _resolve(batch)


def _rows_to_fold(ledger: Ledger) -> bool:
    try:
        return bool(ledger.read(f"SELECT EXISTS (SELECT 1 FROM requests WHERE {UNFOLDED})")[0][0])
    except LedgerError:
        return True  # the thread's fold will say what is wrong


def _resolve(batch: list[_Job]) -> None:
    """Settle every job's future: threads' futures here, each loop's asyncio futures by one call
    on that loop (directly when this is that loop's own thread)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
    for job in batch:
        if job.loop is None:
            _settle(job)
        else:
            by_loop.setdefault(job.loop, []).append(job)
    for loop, jobs in by_loop.items():
        if _running_loop() is loop:
            _settle_all(jobs)
        else:
            try:
                loop.call_soon_threadsafe(_settle_all, jobs)
            except RuntimeError:  # that loop is closed: nobody is waiting any more
                pass


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _settle_all(jobs: list[_Job]) -> None:
    for job in jobs:
        _settle(job)


def _settle(job: _Job) -> None:
    future = job.future
    if future is None or future.done():  # read by its caller, or cancelled: nobody waits
        return
    if job.error is not None:
        future.set_exception(job.error)
    else:
        future.set_result(job.result)
