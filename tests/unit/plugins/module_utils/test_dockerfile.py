"""The port a Dockerfile's EXPOSE tells, read from the text alone (_dockerfile)."""

from __future__ import annotations

import pytest

from ansible_collections.preview.envs.plugins.module_utils._dockerfile import PortUnknown, exposed_port, instructions


@pytest.mark.parametrize(
    ("text", "port"),
    [
        ("FROM base\nEXPOSE 8080\n", 8080),
        ("FROM base\nEXPOSE 8080/tcp\n", 8080),
        ("FROM base\nexpose 8080/TCP\n", 8080),
        ("FROM base\nEXPOSE 80 443\n", 80),
        ("FROM base\nEXPOSE 53/udp 8080/tcp\n", 8080),
        ("FROM base\nEXPOSE 53/udp\nEXPOSE 9000\n", 9000),
        ("FROM base\nEXPOSE 8000-8010\n", 8000),
        # Continuation lines, a comment inside one, and a comment before the instruction.
        ("FROM base\n# the app\nEXPOSE \\\n  # first the web port\n  3000 \\\n  9229\n", 3000),
        # The escape directive changes the continuation character.
        ("# escape=`\nFROM base\nEXPOSE `\n  5000\n", 5000),
        # Only the final stage is the image; a build stage's EXPOSE is not the app's.
        ("FROM base AS build\nEXPOSE 9999\nFROM base\nEXPOSE 8080\n", 8080),
        # A final stage built FROM an earlier stage inherits its exposed ports.
        ('FROM base AS runtime\nEXPOSE 4000\nFROM runtime\nCMD ["app"]\n', 4000),
        ("FROM --platform=linux/amd64 base As Runtime\nEXPOSE 4000\nFROM runtime\n", 4000),
        # A heredoc's lines are data, not instructions.
        ("FROM base\nEXPOSE 8080\nRUN <<EOF\nFROM other\nEXPOSE 1\nEOF\n", 8080),
        ("FROM base\nRUN <<-'END' sh\n\tFROM other\n\tEND\nEXPOSE 7000\n", 7000),
    ],
)
def test_the_first_tcp_port_of_the_final_stage(text, port):
    assert exposed_port(text) == port


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('FROM base\nCMD ["app"]\n', "its final stage has no EXPOSE of a TCP port"),
        ("FROM base\nEXPOSE 53/udp\n", "its final stage has no EXPOSE of a TCP port"),
        ('FROM base AS build\nEXPOSE 8080\nFROM base\nCMD ["app"]\n', "its final stage has no EXPOSE"),
        ("FROM base\nARG PORT=8080\nEXPOSE $PORT\n", r"EXPOSE \$PORT \(line 3\) is set at build time"),
        ("FROM base\nEXPOSE ${PORT:-80}/tcp 8080\n", r"EXPOSE \$\{PORT:-80\}/tcp \(line 2\) is set at build time"),
        ("FROM base\nEXPOSE http\n", r"EXPOSE http \(line 2\) is not a port"),
        ("FROM base\nEXPOSE 70000\n", r"EXPOSE 70000 \(line 2\) is not a port"),
        ("FROM base\nEXPOSE 0\n", r"EXPOSE 0 \(line 2\) is not a port"),
        ("EXPOSE 8080\n", "it has no FROM instruction"),
        ("", "it has no FROM instruction"),
    ],
)
def test_an_unknown_port_says_why(text, reason):
    with pytest.raises(PortUnknown, match=reason):
        exposed_port(text)


def test_instructions_keep_the_line_they_start_on():
    found = instructions("# syntax=docker/dockerfile:1\n\nFROM base\nRUN a \\\n  b\nEXPOSE 1\n")
    assert [(item.keyword, item.arguments.split(), item.line) for item in found] == [
        ("FROM", ["base"], 3),
        ("RUN", ["a", "b"], 4),
        ("EXPOSE", ["1"], 6),
    ]
