# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a Dockerfile says about the port its image listens on (private to the collection).

Reads the text only; stdlib only, since it runs inside AnsiballZ. Only the Dockerfile's own ``EXPOSE`` lines
count: a base image's are unknown without pulling it, and a value set by ``ARG`` or ``ENV`` is unknown
before the build, so both leave the port to the configuration.
"""

from __future__ import annotations

import re
import typing as t

# A parser directive (before any instruction or other comment) that changes the line continuation character.
ESCAPE_DIRECTIVE_RE = re.compile(r"#\s*escape\s*=\s*([\\`])\s*$", re.IGNORECASE)
DIRECTIVE_RE = re.compile(r"#\s*[a-z][a-z0-9_-]*\s*=", re.IGNORECASE)
# `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`: a heredoc, whose lines are the instruction's data, not instructions.
HEREDOC_RE = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
# One EXPOSE value: a port or a range of ports, and an optional protocol.
EXPOSE_VALUE_RE = re.compile(r"(\d+)(?:-(\d+))?(?:/([a-z]+))?", re.IGNORECASE)


class PortUnknown(ValueError):
    """The Dockerfile does not tell the port; the message says why."""


class Instruction(t.NamedTuple):
    keyword: str  # upper case
    arguments: str
    line: int  # where it starts, from 1


def instructions(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, continuation lines joined, comments and heredoc bodies left out."""
    escape = "\\"
    lines = text.splitlines()
    start = 0
    while start < len(lines) and DIRECTIVE_RE.match(lines[start].strip()):
        match = ESCAPE_DIRECTIVE_RE.fullmatch(lines[start].strip())
        if match:
            escape = match.group(1)
        start += 1
    found: list[Instruction] = []
    parts: list[str] = []
    first = 0
    heredocs: list[tuple[bool, str]] = []
    for number, line in enumerate(lines[start:], start + 1):
        if heredocs:
            dash, word = heredocs[0]
            if (line.lstrip("\t") if dash else line) == word:
                heredocs.pop(0)
            continue
        stripped = line.strip()
        if not parts and (not stripped or stripped.startswith("#")):
            continue
        if parts and stripped.startswith("#"):
            continue  # a comment inside a continued instruction is dropped, as Docker does
        if not parts:
            first = number
        if stripped.endswith(escape):
            parts.append(stripped[: -len(escape)])
            continue
        parts.append(stripped)
        keyword, dummy, arguments = " ".join(parts).strip().partition(" ")
        parts = []
        found.append(Instruction(keyword.upper(), arguments.strip(), first))
        heredocs = [(match.group(1) == "-", match.group(3)) for match in HEREDOC_RE.finditer(arguments)]
    return found


def _final_stage(found: t.Sequence[Instruction]) -> list[Instruction]:
    """The instructions of the stage that becomes the image, with those of the stages it is built FROM.

    ``FROM <earlier stage>`` inherits that stage's image config, its exposed ports included."""
    stages: list[tuple[str, list[Instruction]]] = []
    for instruction in found:
        if instruction.keyword == "FROM":
            words = [word for word in instruction.arguments.split() if not word.startswith("--")]
            name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else ""
            stages.append((name, [instruction]))
        elif stages:
            stages[-1][1].append(instruction)
    if not stages:
        return []
    chain: list[Instruction] = []
    seen: set[int] = set()
    index = len(stages) - 1
    while index not in seen:
        seen.add(index)
        name, body = stages[index]
        chain[:0] = body
        words = [word for word in body[0].arguments.split() if not word.startswith("--")]
        base = words[0].lower() if words else ""
        earlier = [position for position, (other, dummy) in enumerate(stages[:index]) if other and other == base]
        if not earlier:
            break
        index = earlier[-1]
    return chain


def exposed_port(text: str) -> int:
    """The first TCP port the final stage of the Dockerfile ``text`` exposes; PortUnknown says why not.

    ``EXPOSE 8080``, ``EXPOSE 8080/tcp``, ``EXPOSE 80 443`` (80), ``EXPOSE 53/udp 8080`` (8080) and
    ``EXPOSE 8000-8010`` (8000) all tell it. A variable (``EXPOSE $PORT``) before the first TCP port makes it
    unknown: it is set at build time, and could be any port.
    """
    stage = _final_stage(instructions(text))
    if not stage:
        raise PortUnknown("it has no FROM instruction")
    for instruction in stage:
        if instruction.keyword != "EXPOSE":
            continue
        for value in instruction.arguments.split():
            if "$" in value:
                raise PortUnknown(f"EXPOSE {value} (line {instruction.line}) is set at build time")
            match = EXPOSE_VALUE_RE.fullmatch(value)
            if not match:
                raise PortUnknown(f"EXPOSE {value} (line {instruction.line}) is not a port")
            if (match.group(3) or "tcp").lower() != "tcp":
                continue
            port = int(match.group(1))
            if not 0 < port < 65536:
                raise PortUnknown(f"EXPOSE {value} (line {instruction.line}) is not a port")
            return port
    raise PortUnknown("its final stage has no EXPOSE of a TCP port")
