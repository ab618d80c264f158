# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Names of a preview, derived only from validated values: the one home of every naming rule.

Every name that reaches a file, a shell-free argv or a URL is built here from
the repository slug (our configuration) and the PR number (an integer), so the
shim, the filters and the modules can never disagree. The modules that find a
preview's traces by name (nginx files, work dirs, compose projects) read them
back with the same rules.
"""

from __future__ import annotations

import re

# Patterns end in \Z, not $: $ also matches before a trailing newline, which no name may carry.

# A GitHub login (a user or an organization, the owner of a repository): letters, digits and dashes, starting
# with a letter or a digit, at most 39 characters.
LOGIN = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
# A repository name as GitHub accepts it; `..` is refused anywhere, as the name may become part of a path.
REPO_RE = re.compile(rf"^(?!.*\.\.){LOGIN}/[A-Za-z0-9_.-]{{1,100}}\Z")
LOGIN_RE = re.compile(rf"^{LOGIN}\Z")
SHA_RE = re.compile(r"^[0-9a-f]{40}\Z")
DOMAIN_RE = re.compile(r"^(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z")

# A slug is at most 40 characters, so that a label (slug, "-pr-", nine digits) stays within the 63 characters
# of a DNS label: with a domain the label is the preview's subdomain.
MAX_SLUG = 40
SLUG = rf"[a-z0-9](?:[a-z0-9-]{{0,{MAX_SLUG - 2}}}[a-z0-9])?"
SLUG_RE = re.compile(rf"^{SLUG}\Z")
MAX_PR = 10**9
# A PR number as str(int) writes it, 1 to MAX_PR - 1: no sign, no leading zero.
PR = rf"[1-9][0-9]{{0,{len(str(MAX_PR - 1)) - 1}}}"
# Exactly the labels label() makes, and nothing else: the modules that read a label back from a file
# name, a work dir or a compose project count only these as a preview's.
LABEL_RE = re.compile(rf"^{SLUG}-pr-{PR}\Z")

# The compose project of a preview is this prefix and its label.
PROJECT_PREFIX = "preview-"
# The nginx files of a preview: <label><suffix> in the configs dir; a location block (path routing) or a
# server block (subdomain routing). The nginx role's base site includes each by this suffix.
NGINX_LOCATION_SUFFIX = ".location.conf"
NGINX_SERVER_SUFFIX = ".server.conf"
NGINX_SUFFIXES = (NGINX_LOCATION_SUFFIX, NGINX_SERVER_SUFFIX)
# Every answer through a preview's route carries this header, set to its label (the app behind the route
# cannot set it), so a route that nginx serves can be told from a file nginx never loaded.
ROUTE_HEADER = "X-Preview-Route"
# A preview's GitHub Deployment environment is this prefix and its label (one environment per PR, as GitHub
# keeps one active deployment per environment); the commit status on its head is this prefix and the slug.
GITHUB_PREFIX = "preview/"
# Each preview is told the URLs of the same PR number's previews of the other configured repositories, in
# variables of this prefix and the slug (uppercased, dashes as underscores).
SIBLING_URL_PREFIX = "PREVIEW_URL_"


class NamingError(ValueError):
    pass


def check_repo(repo: str) -> str:
    if not isinstance(repo, str) or not REPO_RE.match(repo):
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
        raise NamingError(
            f"not a valid slug (lowercase letters, digits, dashes; 1-{MAX_SLUG} chars, no dash at either end): {slug!r}"
        )
    return slug


def check_label(name: str) -> str:
    if not is_label(name):
        raise NamingError(f"not a preview label (<slug>-pr-<N>): {name!r}")
    return name


def is_label(name) -> bool:
    return isinstance(name, str) and bool(LABEL_RE.match(name))


def check_domain(domain: str) -> str:
    if not isinstance(domain, str) or not DOMAIN_RE.match(domain):
        raise NamingError(f"not a valid DNS domain: {domain!r}")
    return domain


def default_slug(repo: str) -> str:
    """Slug from the repository name: lowercase, runs of other characters become '-'."""
    name = check_repo(repo).split("/", 1)[1].lower()
    slug = re.sub(r"[^a-z0-9]+", "-", name).strip("-")[:MAX_SLUG].strip("-")
    return slug or "repo"


def label(slug: str, pr) -> str:
    """The preview's public label, e.g. ``hello-world-pr-2`` (URL path or subdomain)."""
    return f"{check_slug(slug)}-pr-{check_pr(pr)}"


def label_project(name: str) -> str:
    """The compose project of the preview labelled ``name``."""
    return PROJECT_PREFIX + check_label(name)


def project_name(slug: str, pr) -> str:
    """The compose project name (compose: lowercase, digits, dashes, start alnum)."""
    return label_project(label(slug, pr))


def project_label(project: str) -> str | None:
    """The label of a preview's compose project, or None for a project that is not a preview's."""
    if not isinstance(project, str) or not project.startswith(PROJECT_PREFIX):
        return None
    name = project[len(PROJECT_PREFIX) :]
    return name if is_label(name) else None


def nginx_file(name: str, domain: str = "") -> str:
    """The name of the nginx file of the preview labelled ``name``: a server block with a domain."""
    return check_label(name) + (NGINX_SERVER_SUFFIX if domain else NGINX_LOCATION_SUFFIX)


def nginx_file_label(file_name: str) -> str | None:
    """The label of a preview's nginx file, or None for any other file."""
    for suffix in NGINX_SUFFIXES:
        if file_name.endswith(suffix) and is_label(file_name[: -len(suffix)]):
            return file_name[: -len(suffix)]
    return None


def environment(name: str) -> str:
    """The GitHub Deployment environment of the preview labelled ``name``, e.g. ``preview/hello-pr-2``."""
    return GITHUB_PREFIX + check_label(name)


def status_context(slug: str) -> str:
    """The context of the commit status a repository's previews set on their head commit."""
    return GITHUB_PREFIX + check_slug(slug)


def sibling_url_variable(slug: str) -> str:
    """The variable that tells a preview where the same PR number's preview of the repository ``slug`` answers,
    e.g. ``PREVIEW_URL_API_SERVER`` for ``api-server``."""
    return SIBLING_URL_PREFIX + check_slug(slug).upper().replace("-", "_")


def sibling_urls(slugs, pr, domain: str = "", public_url: str = "http://localhost", scheme: str = "http") -> dict:
    """``sibling_url_variable(slug)`` -> that repository's preview URL of PR ``pr``, for each of ``slugs``."""
    return {sibling_url_variable(slug): url(slug, pr, domain, public_url, scheme) for slug in slugs}


def url(slug: str, pr, domain: str = "", public_url: str = "http://localhost", scheme: str = "http") -> str:
    """Where the preview answers: a subdomain when a domain is set, else a path."""
    name = label(slug, pr)
    if domain:
        return f"{scheme}://{name}.{check_domain(domain)}/"
    return f"{public_url.rstrip('/')}/{name}/"
