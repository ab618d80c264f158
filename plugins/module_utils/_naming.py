# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Names of a preview, derived only from validated values.

Every name that reaches a file, a shell-free argv or a URL is built here from
the repository slug (our configuration) and the PR number (an integer), so the
shim, the filters and the modules can never disagree.
"""

from __future__ import annotations

import re

REPO_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_PR = 10**9


class NamingError(ValueError):
    pass


def check_repo(repo: str) -> str:
    if not isinstance(repo, str) or not REPO_RE.match(repo) or ".." in repo:
        raise NamingError(f"not a repository full name (owner/name): {repo!r}")
    return repo


def check_pr(pr) -> int:
    if isinstance(pr, bool):
        raise NamingError(f"not a pull request number: {pr!r}")
    try:
        number = int(pr)
    except (TypeError, ValueError):
        raise NamingError(f"not a pull request number: {pr!r}") from None
    if str(number) != str(pr).strip() or not 0 < number < MAX_PR:
        raise NamingError(f"not a pull request number: {pr!r}")
    return number


def check_sha(sha: str) -> str:
    if not isinstance(sha, str) or not SHA_RE.match(sha):
        raise NamingError(f"not a 40-hex commit SHA: {sha!r}")
    return sha


def check_slug(slug: str) -> str:
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise NamingError(f"not a valid slug (lowercase letters, digits, dashes; 1-40 chars): {slug!r}")
    return slug


def check_domain(domain: str) -> str:
    if not isinstance(domain, str) or not DOMAIN_RE.match(domain):
        raise NamingError(f"not a valid DNS domain: {domain!r}")
    return domain


def default_slug(repo: str) -> str:
    """Slug from the repository name: lowercase, runs of other characters become '-'."""
    name = check_repo(repo).split("/", 1)[1].lower()
    slug = re.sub(r"[^a-z0-9]+", "-", name).strip("-")[:40].strip("-")
    return slug or "repo"


def label(slug: str, pr) -> str:
    """The preview's public label, e.g. ``hello-world-pr-2`` (URL path or subdomain)."""
    return f"{check_slug(slug)}-pr-{check_pr(pr)}"


def project_name(slug: str, pr) -> str:
    """The compose project name (compose: lowercase, digits, dashes, start alnum)."""
    return f"preview-{label(slug, pr)}"


def url(slug: str, pr, domain: str = "", public_url: str = "http://localhost", scheme: str = "http") -> str:
    """Where the preview answers: a subdomain when a domain is set, else a path."""
    name = label(slug, pr)
    if domain:
        return f"{scheme}://{name}.{check_domain(domain)}/"
    return f"{public_url.rstrip('/')}/{name}/"
