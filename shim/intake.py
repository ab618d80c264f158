"""Group commit: deliveries that arrive together are stored in one transaction.

Every delivery is committed with `synchronous=FULL` before its answer goes back, so each commit waits for
the disk. When a request finds no commit in progress, its own thread commits at once (the leader): its
delivery and whatever else is queued, at most `max_batch`, in one transaction (`Store.accept_batch`: one
fsync for all of them, each decided in order as if alone). Requests that arrive meanwhile queue up and
wait; when the commit ends, one of them leads the next, taking everything that gathered. Each request
is released only once the transaction holding its delivery is committed, with its own outcome. A failed
commit fails every delivery of its batch and stores none of them (their requests answer 500 and GitHub
records a failed delivery); an error in one delivery fails that one only.

No thread of its own and no wait added: at a quiet moment a delivery costs what a plain transaction does,
and under load the commit in progress is the window in which the next batch gathers. (Not a writer
thread: every delivery would pay two thread hand-offs, and under CPU load each waits for the interpreter
lock, which lengthens the tail.)
"""

from __future__ import annotations

import logging
import threading
import time

from .store import Delivery, Store, Stored

log = logging.getLogger("preview.shim.intake")

MAX_BATCH = 128


class IntakeError(RuntimeError):
    """The delivery could not be stored; nothing of it is."""


class _Ticket:
    __slots__ = ("delivery", "error", "settled", "stored")

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        self.settled = False
        self.stored: Stored | None = None
        self.error: BaseException | None = None


class GroupCommit:
    def __init__(self, store: Store, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: list[_Ticket] = []
        self._changed = threading.Condition()
        self._committing = False
        self.batches = 0  # committed transactions, for the tests and the benchmarks
        self.committed = 0  # deliveries in them

    def submit(self, delivery: Delivery, timeout: float = 60.0) -> Stored:
        """Store `delivery`; returns once it is committed. Raises IntakeError when it could not be."""
        ticket = _Ticket(delivery)
        deadline = time.monotonic() + timeout
        with self._changed:
            self._queue.append(ticket)
        while True:
            with self._changed:
                while self._committing and not ticket.settled:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        self._give_up(ticket, timeout)
                    self._changed.wait(remaining)
                if ticket.settled:
                    break
                self._committing = True
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                self._commit(batch)
            finally:
                with self._changed:
                    self._committing = False
                    self._changed.notify_all()
        if ticket.error is not None:
            raise IntakeError(str(ticket.error)) from ticket.error
        assert ticket.stored is not None
        return ticket.stored

    def queued(self) -> int:
        """Deliveries waiting for the next transaction."""
        with self._changed:
            return len(self._queue)

    def _give_up(self, ticket: _Ticket, timeout: float) -> None:
        # Called with the lock held. A ticket still queued is withdrawn, so it is not stored after its request
        # failed; one already in a committing batch may still land, and GitHub's redelivery of it is then a
        # duplicate, so nothing runs twice.
        if ticket in self._queue:
            self._queue.remove(ticket)
        raise IntakeError(f"not stored within {timeout:g}s")

    def _commit(self, batch: list[_Ticket]) -> None:
        commit_error: Exception | None = None
        try:
            results = self.store.accept_batch([ticket.delivery for ticket in batch])
        except Exception as exc:  # the commit failed: nothing of the batch is stored
            log.exception("intake: a batch of %d deliveries could not be committed", len(batch))
            commit_error = exc
            results = [exc] * len(batch)
        else:
            self.batches += 1
            self.committed += len(batch)
        with self._changed:
            for ticket, result in zip(batch, results, strict=True):
                if isinstance(result, Exception):
                    if result is not commit_error:
                        log.error("intake: delivery %s could not be stored: %r", ticket.delivery.guid, result)
                    ticket.error = result
                else:
                    ticket.stored = result
                ticket.settled = True
