"""Reading a source file for a headless action: size limits, binary detection, clear errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from magray_lsp.errors import MagrayError

MAX_FILE_BYTES = 10 * 1024 * 1024


class SourceError(MagrayError):
    """The file cannot be used as a source (missing, binary, too large, position out of range)."""


@dataclass(frozen=True, slots=True)
class Location:
    path: Path
    line: int  # 1-based, as users type it
    column: int | None = None  # 1-based


def parse_location(spec: str) -> Location:
    """Parse `FILE:LINE[:COL]`."""
    head = spec
    nums: list[int] = []
    for _ in range(2):  # peel up to two trailing numbers: COL then LINE
        base, sep, tail = head.rpartition(":")
        if not (sep and base and tail.isdigit()):
            break
        nums.insert(0, int(tail))
        head = base
    path = head
    if not nums:
        raise SourceError(f"{spec}: expected FILE:LINE or FILE:LINE:COL")
    if any(n < 1 for n in nums):
        raise SourceError(f"{spec}: lines and columns start at 1")
    return Location(Path(path), nums[0], nums[1] if len(nums) > 1 else None)


def read_source(path: Path) -> str:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except OSError as exc:
        raise SourceError(f"{path}: {exc.strerror or exc}") from None
    if not path.is_file():
        raise SourceError(f"{path}: not a regular file")
    if size > MAX_FILE_BYTES:
        raise SourceError(
            f"{path}: {size / 2**20:.1f} MB is over the {MAX_FILE_BYTES // 2**20} MB limit"
        )
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise SourceError(f"{path}: binary file")
    return data.decode("utf-8", errors="replace")
