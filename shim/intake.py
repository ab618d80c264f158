"""Group commit: deliveries that arrive together are stored in one transaction.

Every delivery is committed with `synchronous=FULL` before its answer goes back, so each commit waits for
the disk. Request threads therefore hand their verified deliveries to one writer and wait: the writer takes
everything that gathered while its previous transaction committed (at most `max_batch`), stores it in one
transaction (`Store.accept_batch`: one fsync for all of them, each decided in order as if alone), and only
then releases each request with its own outcome. A failed commit fails every delivery of the batch and
stores none of them (their requests answer 500 and GitHub records a failed delivery); an error in one
delivery fails that one only.

No wait is added to gather a batch: at a quiet moment a delivery is committed at once, and under load the
commit in progress is the window in which the next batch gathers.
"""

from __future__ import annotations

import logging
import threading

from .store import Delivery, Store, Stored

log = logging.getLogger("preview.shim.intake")

MAX_BATCH = 128
# The writer thread ends after this long without work and starts again with the next delivery, so an app
# that is dropped (tests create many) leaves no thread behind.
IDLE_EXIT = 5.0


class IntakeError(RuntimeError):
    """The delivery could not be stored; nothing of it is."""


class _Ticket:
    __slots__ = ("delivery", "done", "error", "stored")

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        self.done = threading.Event()
        self.stored: Stored | None = None
        self.error: BaseException | None = None


class GroupCommit:
    def __init__(self, store: Store, max_batch: int = MAX_BATCH, idle_exit: float = IDLE_EXIT) -> None:
        self.store = store
        self.max_batch = max_batch
        self.idle_exit = idle_exit
        self._queue: list[_Ticket] = []
        self._wake = threading.Condition()
        self._writing = False
        self.batches = 0  # committed transactions, for the metrics and the tests
        self.committed = 0  # deliveries in them

    def submit(self, delivery: Delivery, timeout: float = 60.0) -> Stored:
        """Store `delivery`; returns once it is committed. Raises IntakeError when it could not be."""
        ticket = _Ticket(delivery)
        with self._wake:
            self._queue.append(ticket)
            if not self._writing:
                self._writing = True
                threading.Thread(target=self._write, name="intake-writer", daemon=True).start()
            self._wake.notify()
        if not ticket.done.wait(timeout):
            # Still queued or mid-commit: the request fails, and GitHub's delivery with it; if the commit then
            # lands, the redelivery is answered `duplicate`, so nothing runs twice.
            raise IntakeError(f"not stored within {timeout:g}s")
        if ticket.error is not None:
            raise IntakeError(str(ticket.error)) from ticket.error
        assert ticket.stored is not None
        return ticket.stored

    def queued(self) -> int:
        """Deliveries waiting for the next transaction."""
        with self._wake:
            return len(self._queue)

    def _write(self) -> None:
        while True:
            with self._wake:
                if not self._queue:
                    self._wake.wait(self.idle_exit)
                if not self._queue:
                    self._writing = False
                    return
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                results = self.store.accept_batch([ticket.delivery for ticket in batch])
            except Exception as exc:  # the commit failed: nothing of the batch is stored
                log.exception("intake: a batch of %d deliveries could not be committed", len(batch))
                for ticket in batch:
                    ticket.error = exc
                    ticket.done.set()
                continue
            self.batches += 1
            self.committed += len(batch)
            for ticket, result in zip(batch, results, strict=True):
                if isinstance(result, Exception):
                    log.error("intake: delivery %s could not be stored: %r", ticket.delivery.guid, result)
                    ticket.error = result
                else:
                    ticket.stored = result
                ticket.done.set()
