"""The tail of a run's output that the shim keeps for the status page (`Store.finish_run`, `run_logs`).

Built from ansible-runner's events as they arrive (each carries the lines ansible-playbook printed for it), so
nothing is read back from the run's directory, which is removed when the run ends. Bounded: a build that
prints megabytes keeps its last LOG_TAIL_BYTES. Redacted as the collection redacts what leaves a module: the
credentials of any URL, and the shim's own secrets wherever they appear. The text stays hostile (a PR's
build prints what it likes): whoever shows it escapes it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from .config import collection_module

LOG_TAIL_BYTES = 64 * 1024


class LogTail:
    def __init__(self, secrets: Iterable[str] = (), limit: int = LOG_TAIL_BYTES):
        self.secrets = tuple(secret for secret in secrets if secret)
        self.limit = limit
        self._chunks: deque[str] = deque()
        self._size = 0

    def add_event(self, event: dict) -> None:
        """Keep what an ansible-runner event printed (most events print nothing)."""
        text = event.get("stdout")
        if isinstance(text, str) and text:
            self.add(text + "\n")

    def add(self, text: str) -> None:
        self._chunks.append(text)
        self._size += len(text)
        # Characters, a bound on bytes only within a factor of 4: `text()` cuts the exact byte count. Keeping a
        # whole limit's worth of characters more lets a secret that straddles the cut be redacted before it.
        while len(self._chunks) > 1 and self._size - len(self._chunks[0]) >= 2 * self.limit:
            self._size -= len(self._chunks.popleft())

    def text(self) -> str:
        """The last `limit` bytes (UTF-8) of the output, redacted, starting at a whole line when one fits."""
        redact = collection_module("", "_redact")
        text = redact.redact_secrets(redact.redact_urls("".join(self._chunks)), self.secrets)
        data = text.encode("utf-8")
        if len(data) <= self.limit:
            return text
        tail = data[-self.limit :].decode("utf-8", errors="ignore")
        newline = tail.find("\n")
        return tail[newline + 1 :] if 0 <= newline < len(tail) - 1 else tail
