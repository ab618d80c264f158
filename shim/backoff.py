"""Per-key retry times: a key that failed waits, twice as long after every failure in a row, up to a cap."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable


class Backoff:
    """Not locked: a caller shared between threads holds its own lock around it."""

    def __init__(self, first: float, cap: float, clock: Callable[[], float] = time.monotonic):
        self.first = first
        self.cap = cap
        self.clock = clock
        self._failures: dict[Hashable, int] = {}
        self._not_before: dict[Hashable, float] = {}

    def failed(self, key: Hashable) -> float:
        """Record a failure of `key`; returns the seconds it waits now."""
        failures = self._failures.get(key, 0) + 1
        self._failures[key] = failures
        delay = min(self.cap, self.first * 2 ** (failures - 1))
        self._not_before[key] = self.clock() + delay
        return delay

    def succeeded(self, key: Hashable) -> None:
        self._failures.pop(key, None)
        self._not_before.pop(key, None)

    def ready(self, key: Hashable) -> bool:
        return self._not_before.get(key, float("-inf")) <= self.clock()

    def retain(self, keys: Iterable[Hashable]) -> None:
        """Forget every key but `keys` (those that no longer exist need no retry time)."""
        keep = set(keys)
        for key in [key for key in self._failures if key not in keep]:
            self.succeeded(key)

    def __len__(self) -> int:
        return len(self._failures)
