"""What the kernel counts that would make a benchmark unfair: connections refused or dropped
because a listen queue was full (TcpExt ListenOverflows and ListenDrops in /proc/net/netstat).
A SYN dropped there is retried after a second, which a latency figure would blame on us."""

from __future__ import annotations

from pathlib import Path


def listen_overflows() -> int:
    """ListenOverflows + ListenDrops so far, machine-wide; 0 where the kernel does not say."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return 0
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            counts = dict(zip(names.split()[1:], map(int, values.split()[1:]), strict=False))
            return counts.get("ListenOverflows", 0) + counts.get("ListenDrops", 0)
    return 0


def say_if_moved(before: int) -> None:
    moved = listen_overflows() - before
    if moved:
        print(f"!! the kernel dropped {moved} connections at a full listen queue: these figures are not fair")
    else:
        print("kernel listen overflows during the run: 0")
