"""What `preview setup` did, kept beside the configuration: `<config>.state.json`, mode 0600.

GitHub never shows a webhook's secret again (the API answers "********"), so whether a hook still carries
our secret can't be read back. Setup records, per hook, a fingerprint of the secret it last sent; a re-run
sends the secret again only when the configured secret no longer matches (or the hook is not one we set).
The record also remembers the server address, so `destroy --webhooks` finds our hooks after the server is
gone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path

from .config_file import write_private


def secret_fingerprint(secret: str, repo: str, hook_id: int) -> str:
    """Ties the secret to one hook; the file holds no more than the configuration beside it already does."""
    return hmac.new(secret.encode(), f"{repo.lower()}#{hook_id}".encode(), hashlib.sha256).hexdigest()


@dataclass
class ProvisionState:
    path: Path
    server_address: str = ""
    webhook_url: str = ""
    terraform_dir: str = ""
    hooks: dict[str, dict] = field(default_factory=dict)  # repo (lower case) -> {"id", "url", "secret"}

    @classmethod
    def for_config(cls, config_path: Path) -> ProvisionState:
        path = config_path.with_name(f"{config_path.stem}.state.json")
        if not path.is_file():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            return cls(path)  # unreadable: act as on a first run (hooks get the secret once more)
        return cls(
            path,
            server_address=str(data.get("server_address", "")),
            webhook_url=str(data.get("webhook_url", "")),
            terraform_dir=str(data.get("terraform_dir", "")),
            hooks={str(k): v for k, v in (data.get("hooks") or {}).items() if isinstance(v, dict)},
        )

    def knows_secret(self, repo: str, hook_id: int, url: str, secret: str) -> bool:
        record = self.hooks.get(repo.lower()) or {}
        return (
            record.get("id") == hook_id
            and record.get("url") == url
            and hmac.compare_digest(str(record.get("secret", "")), secret_fingerprint(secret, repo, hook_id))
        )

    def remember_hook(self, repo: str, hook_id: int, url: str, secret: str) -> None:
        self.hooks[repo.lower()] = {"id": hook_id, "url": url, "secret": secret_fingerprint(secret, repo, hook_id)}

    def forget_hook(self, repo: str) -> None:
        self.hooks.pop(repo.lower(), None)

    def save(self) -> None:
        data = {
            "server_address": self.server_address,
            "webhook_url": self.webhook_url,
            "terraform_dir": self.terraform_dir,
            "hooks": self.hooks,
        }
        write_private(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")
