"""sha256 of files and Binance's `.CHECKSUM` files (`<64 hex>  <zip name>`, newline optional)."""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_checksum_file(path: Path) -> str:
    """The sha256 hex digest a `.CHECKSUM` file states. Raises ValueError if it states none."""
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    digest = text.split()[0].lower() if text else ""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"{path}: no sha256 digest in checksum file")
    return digest


def checksum_line(digest: str, file_name: str) -> str:
    """The line Binance writes (sha256sum's format)."""
    return f"{digest}  {file_name}\n"
