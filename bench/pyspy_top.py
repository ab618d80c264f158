"""Summarise a py-spy `--format raw --subprocesses` profile: where the sampled time went.

    python bench/pyspy_top.py PROFILE.txt [--rate 200] [--top 12]

Prints the samples per process kind (the shim, the ansible-playbook controller, its forked workers,
each module's AnsiballZ process, anything else), then for each kind the functions with the most
samples of their own ("self", the innermost frame) and counting every frame on the stack
("total"). py-spy leaves idle threads out by default, so a sample is time on a CPU (or runnable).
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path

PROC_RE = re.compile(r'^process (\d+):"(.*)"$')
FRAME_RE = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def split_stack(stack: str) -> tuple[list[str], list[str]]:
    """(process cmdlines, outermost first; frames, outermost first)."""
    procs, frames = [], []
    # A cmdline may hold ';' (it is quoted); a frame never starts with 'process '.
    parts = stack.split(";")
    buf = ""
    for part in parts:
        if buf:
            buf += ";" + part
            if PROC_RE.match(buf):
                procs.append(PROC_RE.match(buf).group(2))
                buf = ""
            continue
        if part.startswith("process "):
            if PROC_RE.match(part):
                procs.append(PROC_RE.match(part).group(2))
            else:
                buf = part
            continue
        frames.append(part)
    return procs, frames


def kind_of(procs: list[str], frames: list[str]) -> str:
    if not procs:
        return "?"
    cmd = procs[-1]
    if not cmd.strip() and any("bin/ansible-playbook" in f for f in frames[:1]):
        return "ansible-playbook (cmdline not read)"
    match = re.search(r"AnsiballZ_(\w+)\.py", cmd)
    if match:
        return f"module {match.group(1)}"
    depth = sum(1 for p in procs if "ansible-playbook" in p)
    if "ansible-playbook" in cmd:
        return "ansible-playbook controller" if depth == 1 else "ansible-playbook worker (fork)"
    if "preview-shim" in cmd:
        return "preview-shim"
    words = cmd.split()
    return "other: " + " ".join(Path(w).name for w in words[:2])


REPO_ROOT = str(Path(__file__).resolve().parents[1]) + "/"


def short(frame: str) -> str:
    """`func (file)` with the file relative: to the checkout, site-packages, the stdlib, a module's payload."""
    match = FRAME_RE.match(frame)
    if not match:
        return frame
    path = match.group("file")
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif path.startswith(REPO_ROOT):
        path = path[len(REPO_ROOT) :]
    elif "/AnsiballZ_" in path:
        path = Path(path).name
    elif ".zip/" in path:  # inside a module's AnsiballZ payload
        path = "payload:" + path.split(".zip/", 1)[1]
    else:
        for marker in ("lib/python3.11/", "/ansible_collections/"):
            if marker in path:
                path = path.split(marker, 1)[1]
                break
    return f"{match.group('func')} ({path})"


def summarise(text: str, rate: float, top: int) -> str:
    per_kind = collections.Counter()
    self_time: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    total_time: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for line in text.splitlines():
        if not line.strip():
            continue
        stack, _sep, count = line.rpartition(" ")
        try:
            n = int(count)
        except ValueError:
            continue
        procs, frames = split_stack(stack)
        kind = kind_of(procs, frames)
        per_kind[kind] += n
        if frames:
            self_time[kind][short(frames[-1])] += n
            for func in {short(f) for f in frames}:
                total_time[kind][func] += n
    total = sum(per_kind.values())
    out = [f"{total} samples at {rate:g}/s = {total / rate:.2f} s sampled (idle threads not sampled)", ""]
    out.append("| process | samples | seconds | share |")
    out.append("| --- | --- | --- | --- |")
    for kind, n in per_kind.most_common():
        out.append(f"| {kind} | {n} | {n / rate:.2f} | {100 * n / total:.0f}% |")
    for kind, n in per_kind.most_common(6):
        out.append("")
        out.append(f"{kind}: top {top} by self / by total ({n} samples)")
        out.append("| self | fn | total | fn |")
        out.append("| --- | --- | --- | --- |")
        selfs = self_time[kind].most_common(top)
        totals = total_time[kind].most_common(top)
        for idx in range(max(len(selfs), len(totals))):
            s = selfs[idx] if idx < len(selfs) else ("", "")
            t = totals[idx] if idx < len(totals) else ("", "")
            s_share = f"{100 * s[1] / n:.0f}%" if s[1] != "" else ""
            t_share = f"{100 * t[1] / n:.0f}%" if t[1] != "" else ""
            out.append(f"| {s_share} | `{s[0]}` | {t_share} | `{t[0]}` |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("--rate", type=float, default=200.0, help="the sampling rate py-spy was given")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    print(summarise(Path(args.profile).read_text(errors="replace"), args.rate, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
