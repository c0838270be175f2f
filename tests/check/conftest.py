"""Small archive folders for the pre-flight tests."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from liquidationheatmap.archive_layout import ArchiveFile
from liquidationheatmap.checksum import checksum_line


class ArchiveFolder:
    def __init__(self, root: Path) -> None:
        self.root = root

    def zip(
        self,
        file: ArchiveFile,
        text: str = "1,100.0,0.5,1,1,1704067200000,false\n",
        checksum: bool = True,
        flat: bool = False,
    ) -> Path:
        """Write `file` as a zip (in the archive layout unless flat) with its .CHECKSUM."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{file.stem}.csv", text)
        path = self.root / (file.zip_name if flat else Path(file.relative_path()))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())
        if checksum:
            digest = hashlib.sha256(buffer.getvalue()).hexdigest()
            path.with_name(path.name + ".CHECKSUM").write_text(checksum_line(digest, file.zip_name))
        return path

    def csv(self, file: ArchiveFile, text: str = "1,100.0,0.5,1,1,1704067200000,false\n") -> Path:
        path = self.root / f"{file.stem}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def raw(self, relative: str, data: bytes = b"x") -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path


@pytest.fixture
def folder(tmp_path: Path) -> ArchiveFolder:
    return ArchiveFolder(tmp_path / "raw")
