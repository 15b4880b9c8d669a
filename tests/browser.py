"""Headless Chromium for tests of rendered HTML: a screenshot and the DOM after scripts ran."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
]


def chromium_path() -> str:
    """The Chromium binary; skips the test when absent, except in CI where it must be installed."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed (scripts/test.sh installs it)")
    pytest.skip("chromium is not installed")


def _run(args: list[str]) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium_path(), *_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=120, check=True,
        )


def screenshot(html: Path, png: Path, width: int = 1200, height: int = 1600) -> Path:
    """Render ``html`` in headless Chromium and save a PNG screenshot."""
    _run([f"--window-size={width},{height}", f"--screenshot={png}", html.resolve().as_uri()])
    return png


def dump_dom(html: Path) -> str:
    """The serialised DOM of ``html`` as Chromium built it."""
    return _run(["--dump-dom", html.resolve().as_uri()]).stdout


def is_blank(png: Path) -> bool:
    """True when every pixel of the PNG has the same colour (nothing rendered)."""
    import struct
    import zlib

    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, ctype = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, _depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    bpp = {2: 3, 6: 4}.get(ctype, 3)
    stride = width * bpp + 1
    rows = [raw[i * stride + 1:(i + 1) * stride] for i in range(height)]
    # filtered rows: a uniform image has every row filter-decoded to the same bytes; compare distinct
    # byte values across the image instead of fully unfiltering.
    distinct = set()
    for row in rows[:: max(1, height // 200)]:
        distinct.update(row[:: bpp * 7])
        if len(distinct) > 3:
            return False
    return True
