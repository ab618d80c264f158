"""`/preview <command>` comments: asked of GitHub off the request thread, applied, acknowledged with a reaction.

The intake keeps a command as it keeps an approval label: a claim, stored and answered at once (the body is
never kept, only the command its first line named). `CommandVerifier.run_once`, run by the converger, asks
GitHub whether the sender may write to the repository (the permission API that approves labels), applies a
permitted command to the PR's desired state (`Store.settle_command`, `policy.command_decision`), then reacts on
the comment: `+1` when applied, `confused` when refused or not applicable, and a refused sender also gets one
short reply. A command GitHub cannot answer for stays stored and is asked again after a backoff, across
restarts too; so does an acknowledgement GitHub did not take. The commands of one PR settle in the order
their comments came.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import quote

from .approvals import RETRY_AFTER, RETRY_MAX, GitHubUnavailable, PermissionClient, configured_tokens
from .backoff import Backoff
from .config import Config
from .store import Store
from .vocabulary import Command, CommandOutcome

log = logging.getLogger("preview.shim.commands")

# The reaction each outcome gets on the command's comment.
REACTION = {
    CommandOutcome.APPLIED: "+1",
    CommandOutcome.NOT_APPLICABLE: "confused",
    CommandOutcome.REFUSED: "confused",
}
# GitHub's answers that say the comment (or the PR) is gone: an acknowledgement that can never land.
GONE = frozenset({404, 410, 422})


def refusal(sender: str, command: Command) -> str:
    """The one reply a sender without write permission gets."""
    return (
        f"@{sender} `{command.line}` was not run: only people with write, maintain or admin permission on this"
        " repository can use `/preview` commands."
    )


class CommandClient(PermissionClient):
    """The permission check, a reaction and a reply, through the collection's GitHub client."""

    def react(self, repo: str, comment_id: int, content: str) -> bool:
        """Add the reaction (GitHub answers 200 for one already there); False when the comment is gone."""
        return self._post(repo, f"{self._repo_path(repo)}/issues/comments/{comment_id}/reactions", {"content": content})

    def reply(self, repo: str, pr: int, body: str) -> bool:
        """Comment on the PR; False when it is gone."""
        return self._post(repo, f"{self._repo_path(repo)}/issues/{pr}/comments", {"body": body})

    @staticmethod
    def _repo_path(repo: str) -> str:
        owner, name = repo.split("/", 1)
        return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    def _post(self, repo: str, path: str, body: dict) -> bool:
        try:
            self._client(repo).request("POST", path, body=body)
        except self._error as exc:
            if exc.status in GONE:
                return False
            raise GitHubUnavailable(str(exc)) from exc
        return True


class CommandVerifier:
    """Settle and acknowledge every stored command that is due; the others wait for their retry time."""

    def __init__(
        self,
        store: Store,
        client: CommandClient | None,
        clock: Callable[[], float] = time.monotonic,
        retry_after: float = RETRY_AFTER,
    ):
        self.store = store
        self.client = client
        self.backoff = Backoff(retry_after, RETRY_MAX, clock)

    @classmethod
    def from_config(cls, config: Config, store: Store) -> CommandVerifier:
        tokens = configured_tokens(config)
        return cls(store, CommandClient(config.github_api_url, tokens, config.collections_path) if tokens else None)

    def due(self) -> list[dict]:
        """The stored commands not waiting for a retry time: every settled one, and the oldest unsettled one of
        each PR (a later command of a PR never overtakes an earlier one)."""
        commands = self.store.commands()
        self.backoff.retain(self._key(command) for command in commands)
        due, first_seen = [], set()
        for command in commands:
            if not command["outcome"]:
                pr = (command["repo"], command["pr"])
                if pr in first_seen:
                    continue
                first_seen.add(pr)
            if self.backoff.ready(self._key(command)):
                due.append(command)
        return due

    def run_once(self) -> int:
        """Settle and acknowledge every due command; returns how many PRs got a run to do."""
        moved = 0
        for command in self.due():
            key = self._key(command)
            where = (
                f"repo={command['repo']} pr={command['pr']} comment={command['comment_id']}"
                f" command={command['command']} sender={command['sender']}"
            )
            if self.client is None:
                log.warning(
                    "%s outcome=command_unverified reason=no github.token or github.app_id to ask GitHub with", where
                )
                self.backoff.failed(key)
                continue
            try:
                outcome = command["outcome"]
                if not outcome:
                    allowed = self.client.may_approve(command["repo"], command["sender"])
                    outcome, ran = self.store.settle_command(command["repo"], command["comment_id"], allowed)
                    moved += ran
                    log.info("%s outcome=%s", where, outcome)
                self._acknowledge(command, CommandOutcome(outcome), where)
            except GitHubUnavailable as exc:
                log.warning("%s outcome=command_waits reason=%s; asking again later", where, exc)
                self.backoff.failed(key)
                continue
            self.store.forget_command(command["repo"], command["comment_id"])
            self.backoff.succeeded(key)
        return moved

    def _acknowledge(self, command: dict, outcome: CommandOutcome, where: str) -> None:
        """The reaction, then (refused) the reply: a reaction given twice is one, so a retry after a failed reply
        repeats nothing anyone sees."""
        repo = command["repo"]
        landed = self.client.react(repo, command["comment_id"], REACTION[outcome])
        if landed and outcome == CommandOutcome.REFUSED:
            landed = self.client.reply(repo, command["pr"], refusal(command["sender"], Command(command["command"])))
        if not landed:
            log.warning("%s acknowledged=no reason=the comment or the pull request is gone", where)

    @staticmethod
    def _key(command: dict) -> tuple:
        return command["repo"], command["comment_id"]
