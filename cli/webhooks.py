"""The repositories' webhooks: check the token's access, create or repair our hook, remove it; with a GitHub
App, check its installation instead (an App's events come from the App's own webhook).

Our hook is the one whose `config.url` is our webhook URL (GitHub refuses a second hook with the same config
and overlapping events, so listing and matching on the URL is how registration stays idempotent). It gets
`content_type: json` (GitHub's default is `form`, which the shim refuses), our secret, and the events
`[issue_comment, pull_request]`. A PATCH always carries the secret: GitHub removes a hook's secret when a
PATCH omits it.
"""

from __future__ import annotations

from dataclasses import dataclass

import click

from shim import github_auth

from ._collection import GitHubClient, GitHubError
from .inventory import url_host
from .provision_state import ProvisionState

# Sorted, as GitHub lists a hook's events: pull requests, and the `/preview` commands in their comments.
EVENTS = ["issue_comment", "pull_request"]
HOOK_SCOPE = "admin:repo_hook"
# Classic-token scopes that let a token create, update and delete repository hooks.
HOOK_ADMIN_SCOPES = {HOOK_SCOPE, "repo"}
FINE_GRAINED_HINT = "a fine-grained token needs the repository permissions Webhooks: read and write, Metadata: read"


def webhook_url(address: str, domain: str = "", scheme: str = "") -> str:
    """Where GitHub delivers: `https://<domain>/...` with a domain, else `http://<server address>/...`."""
    if domain:
        return f"{scheme or 'https'}://{domain}/webhook/github"
    return f"http://{url_host(address)}/webhook/github"


def client(api_url: str, token: str) -> GitHubClient:
    if not token:
        raise click.ClickException(
            "no GitHub token: set github.token in the configuration (preview init) or GITHUB_TOKEN"
        )
    return GitHubClient(api_url, token)


def app_client(config, repo: str) -> GitHubClient:
    """A client with the GitHub App's installation token for `repo` (`config`: the shim's Config)."""
    try:
        tokens = github_auth.source(config)
        if tokens is None:
            raise github_auth.TokenUnavailable("no GitHub App in the configuration (github.app_id)")
        token = tokens.token_for(repo)
    except github_auth.TokenUnavailable as exc:
        raise click.ClickException(f"the GitHub App has no access to {repo}: {exc}") from None
    return GitHubClient(config.github_api_url, token)


def check_app_access(config, repo: str) -> dict:
    """Fail unless the GitHub App is installed on `repo` and its token sees the repository; returns the
    repository object. An App's events come from its own webhook, so no hook permission is asked for."""
    try:
        repository = app_client(config, repo).request("GET", f"/repos/{repo}")[2]
    except GitHubError as error:
        raise click.ClickException(
            f"checking {repo}: the GitHub App's installation token cannot read the repository ({error}); "
            "give the App the repository permission Metadata: read and install it on the repository"
        ) from None
    return repository if isinstance(repository, dict) else {}


def app_webhook_note(url: str) -> str:
    """What to set in the App's settings instead of a repository hook."""
    return (
        f"  a GitHub App delivers through its own webhook: in the App's settings set the Webhook URL to {url}, "
        "the Webhook secret to webhook_secret, and subscribe to Pull request and Issue comment events "
        "(docs/github-app.md); no repository hook is registered"
    )


def _scopes(headers: dict[str, str]) -> set[str] | None:
    """The scopes of a classic token (`X-OAuth-Scopes`); None for tokens that have none (fine-grained)."""
    if "x-oauth-scopes" not in headers:
        return None
    return {scope.strip() for scope in headers["x-oauth-scopes"].split(",") if scope.strip()}


def _has(headers: dict[str, str]) -> str:
    scopes = _scopes(headers)
    if scopes is None:
        return FINE_GRAINED_HINT
    return f"the token has the scopes: {', '.join(sorted(scopes)) or 'none'}"


def access_error(error: GitHubError, repo: str, doing: str) -> click.ClickException:
    """A GitHub failure on `repo` as a message that names what to fix."""
    if error.status is None:
        return click.ClickException(f"{doing} {repo}: {error} (check github.api_url and the network)")
    if error.status == 401:
        return click.ClickException(
            f"{doing} {repo}: GitHub rejected the token (401: missing, malformed, expired or revoked). "
            "Check github.token in the configuration, or GITHUB_TOKEN"
        )
    if error.status in (403, 404) and "/hooks" in error.url:
        return click.ClickException(
            f"{doing} {repo}: the token may not manage the repository's webhooks (GitHub answered {error.status}). "
            f"A classic token needs the {HOOK_SCOPE} scope; {_has(error.headers)}. "
            f"Give the token {HOOK_SCOPE} (and repo, for private repositories), then run `preview init --force`"
        )
    if error.status in (403, 404):
        return click.ClickException(
            f"{doing} {repo}: the token cannot see the repository (GitHub answered {error.status}; it answers 404 "
            f"for private repositories a token has no access to). Check the name; a classic token needs the repo "
            f"scope for private repositories and {HOOK_SCOPE} for webhooks; {_has(error.headers)}"
        )
    return click.ClickException(f"{doing} {repo}: {error}")


def check_access(github: GitHubClient, repo: str) -> dict:
    """Fail unless the token sees `repo` and may manage its hooks; returns the repository object."""
    try:
        repository = github.request("GET", f"/repos/{repo}")[2]
        headers = github.request("GET", f"/repos/{repo}/hooks", query={"per_page": 1})[1]
    except GitHubError as error:
        raise access_error(error, repo, "checking") from None
    scopes = _scopes(headers)
    if scopes is not None and not scopes & HOOK_ADMIN_SCOPES:
        raise click.ClickException(
            f"checking {repo}: the token can list the webhooks but not create or delete them: it needs the "
            f"{HOOK_SCOPE} scope; {_has(headers)}"
        )
    return repository if isinstance(repository, dict) else {}


@dataclass(frozen=True)
class HookChange:
    repo: str
    action: str  # created, updated, unchanged, removed, absent
    hook_id: int | None = None
    detail: str = ""

    def line(self, url: str) -> str:
        hook = f" hook {self.hook_id}" if self.hook_id else ""
        detail = f" ({self.detail})" if self.detail else ""
        return f"  {self.repo}: {self.action}{hook} -> {url}{detail}"


def _ours(github: GitHubClient, repo: str, url: str) -> list[dict]:
    hooks = github.paginate(f"/repos/{repo}/hooks", {"per_page": 100})
    return [hook for hook in hooks if (hook.get("config") or {}).get("url") == url]


def _config(url: str, secret: str) -> dict:
    return {"url": url, "content_type": "json", "insecure_ssl": "0", "secret": secret}


def _drift(hook: dict, repo: str, url: str, secret: str, state: ProvisionState) -> list[str]:
    config = hook.get("config") or {}
    drift = []
    if config.get("content_type") != "json":
        drift.append(f"content_type was {config.get('content_type')!r}")
    if str(config.get("insecure_ssl", "0")) != "0":
        drift.append("TLS verification was off")
    if sorted(hook.get("events") or []) != EVENTS:
        drift.append(f"events were {sorted(hook.get('events') or [])}")
    if not hook.get("active", True):
        drift.append("it was inactive")
    if not config.get("secret"):
        drift.append("it had no secret")
    elif not state.knows_secret(repo, hook["id"], url, secret):
        drift.append("the secret changed, or was not set by this configuration")
    return drift


def ensure_hook(github: GitHubClient, repo: str, url: str, secret: str, state: ProvisionState) -> HookChange:
    """Create our hook on `repo`, or bring it back to our settings; never a second one."""
    try:
        ours = _ours(github, repo, url)
        if not ours:
            body = {"name": "web", "active": True, "events": EVENTS, "config": _config(url, secret)}
            hook = github.request("POST", f"/repos/{repo}/hooks", body)[2]
            state.remember_hook(repo, hook["id"], url, secret)
            return HookChange(repo, "created", hook["id"])
        hook = ours[0]
        extra = f"{len(ours) - 1} more hook(s) with this URL left alone" if len(ours) > 1 else ""
        drift = _drift(hook, repo, url, secret, state)
        if not drift:
            return HookChange(repo, "unchanged", hook["id"], extra)
        body = {"active": True, "events": EVENTS, "config": _config(url, secret)}
        github.request("PATCH", f"/repos/{repo}/hooks/{hook['id']}", body)
        state.remember_hook(repo, hook["id"], url, secret)
        return HookChange(repo, "updated", hook["id"], "; ".join(filter(None, [*drift, extra])))
    except GitHubError as error:
        raise access_error(error, repo, "setting the webhook of") from None


def remove_hooks(github: GitHubClient, repo: str, url: str, state: ProvisionState) -> HookChange:
    """Delete every hook of `repo` that delivers to `url`."""
    try:
        ours = _ours(github, repo, url)
        for hook in ours:
            github.request("DELETE", f"/repos/{repo}/hooks/{hook['id']}")
    except GitHubError as error:
        raise access_error(error, repo, "removing the webhook of") from None
    state.forget_hook(repo)
    if not ours:
        return HookChange(repo, "absent")
    return HookChange(repo, "removed", ours[0]["id"], f"{len(ours)} hooks" if len(ours) > 1 else "")


def url_for(settings, address: str = "") -> str:
    """Our webhook URL for a configuration (`cli.config_file.Settings`) and a server address.

    provision.webhook_url wins; with preview.domain it is `https://<domain>/webhook/github` (or
    preview.url_scheme, when the file sets it); else `http://<address>/webhook/github`.
    """
    if settings.provision.get("webhook_url"):
        return settings.provision["webhook_url"]
    domain = settings.shim.preview.get("domain", "")
    if not domain and not address:
        raise click.ClickException(
            "the webhook URL is unknown: no server address and no preview.domain; pass --host ADDRESS "
            "(or set provision.webhook_url)"
        )
    return webhook_url(address, domain, settings.shim.preview.get("url_scheme", ""))
