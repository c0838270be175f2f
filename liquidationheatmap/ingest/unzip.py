"""Inflate the CSV inside a Binance zip to a file, in chunks (never the whole member in memory)."""

from __future__ import annotations

import shutil
import zipfile
import zlib
from pathlib import Path

from liquidationheatmap.ingest.decode import FileRejected

_CHUNK = 4 << 20


def extract_csv(zip_path: Path, stem: str, destination: Path) -> Path:
    """Write the zip's CSV member to `destination`; FileRejected when the zip is broken.

    A truncated or corrupted zip shows up as a bad central directory, a bad local header, a
    deflate error or a CRC mismatch at the end of the member; all of them reject the file.
    """
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            wanted = [info for info in members if Path(info.filename).name == f"{stem}.csv"]
            if not wanted and len(members) == 1:
                wanted = members
            if not wanted:
                names = ", ".join(info.filename for info in members) or "nothing"
                raise FileRejected(f"{zip_path.name}: zip holds no {stem}.csv (it holds {names})")
            with archive.open(wanted[0]) as source, destination.open("wb") as target:
                shutil.copyfileobj(source, target, _CHUNK)
    except FileRejected:
        destination.unlink(missing_ok=True)
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        destination.unlink(missing_ok=True)
        raise FileRejected(f"{zip_path.name}: corrupt or truncated zip ({error})") from None
    return destination
