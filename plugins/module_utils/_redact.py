# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Credentials taken out of text that leaves a module: results, logs, PR comments.

Git prints its remote's URL in errors, and build output may echo anything, so every text that
can carry a clone URL such as ``https://x-access-token:TOKEN@github.com/o/r.git`` passes here first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

REDACTED = "***"
# A secret shorter than this is too likely to be an ordinary substring of the text to be replaced.
MIN_SECRET_LENGTH = 8

# user:password@ after any scheme; a lone user@ only after http(s), where a credential in the URL is the
# only way to authenticate (GitHub takes a token as the user name), whereas ssh://git@host names an account.
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#@:]*:[^\s/?#@]*@")
_HTTP_USER = re.compile(r"(?i)\b(https?://)[^\s/?#@:]+@")


def redact_urls(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced: ``scheme://***@host``."""
    if not text:
        return text
    text = _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)
    return _HTTP_USER.sub(rf"\1{REDACTED}@", text)


def redact_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each exact secret value (long enough to be one) replaced."""
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def url_credentials(url: str) -> list[str]:
    """The secrets a URL carries (see ``redact_urls``), to be masked wherever they appear on their own."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    values = [parts.password]
    if parts.scheme.lower() in ("http", "https"):
        values.append(parts.username)
    return [value for value in values if value and len(value) >= MIN_SECRET_LENGTH]
