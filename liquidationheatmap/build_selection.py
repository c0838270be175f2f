"""What a `build` must run: the dbt nodes that what changed since the last complete build can affect.

A *complete* build is one that ran every node that its changes could affect and succeeded (the
first build, a `--full-refresh`, or a build whose selection this module made). After it, the
inputs it was built from are recorded beside the warehouse in `<stem>.build_state/`:

- `inputs.json`: the fingerprint of what dbt's `state:modified` cannot see (the vars the build
  passed, the dbt target, the lake's path, the versions of dbt, its adapter, DuckDB and the Python
  models' libraries), a sha256 of every project file (dbt_project/, python_models/, profiles.yml),
  and the lake's files per dataset (path, size, modification time: a new or re-ingested file is a
  change), plus `dirty`: nodes that builds since then ran or failed outside a complete build;
- `manifest.json`: dbt's manifest of that build, the `--state` that `state:modified` compares with.

The next build compares its inputs with those (`plan`) and selects, for `dbt build --select`:
the staging models of each changed lake dataset and their descendants (`source:<source>+`),
`state:modified+` when files under dbt_project/ changed, the dbt Python models and their descendants
when python_models/ changed, the models missing from the working database and their descendants,
and the dirty nodes and their descendants. Everything is built when there is no record, the last
build was interrupted, `--full-refresh` is asked for, or the fingerprint, dbt_project.yml or
profiles.yml changed. Nothing changed: dbt is not run at all (it would select nothing after its
start-up, parse and connection: seconds for nothing), and nothing is published.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from liquidationheatmap.settings import PROJECT_ROOT

INPUTS_FORMAT = 1
# The libraries whose version can change what a model computes (dbt itself, its adapter, DuckDB, and
# what the dbt Python models import).
VERSIONED = ("dbt-core", "dbt-duckdb", "duckdb", "pandas", "numpy", "scipy")
CODE_SKIP = {"target", "logs", "dbt_packages", "__pycache__", ".user.yml"}
# Project files whose change can reach every node in ways state:modified does not follow (vars,
# configs, the profile): a change to them builds everything.
GLOBAL_FILES = ("dbt_project/dbt_project.yml", "profiles.yml", "dbt_project/packages.yml")
DBT_CODE = "dbt_project/"
PYTHON_CODE = "python_models/"
LAKE_SOURCE = re.compile(r"/(\w+)/(?:\*/\*/\*\.parquet|manifest-)")


def state_folder(warehouse: Path) -> Path:
    """`<stem>.build_state/` beside the warehouse: the record of the last complete build."""
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.stem + ".build_state")


def _scan(folder: str, depth: int, prefix: str, listing: dict[str, list[int]]) -> None:
    """The Parquet files `depth` folders below `folder` (lake_files' `*/*/*.parquet` for 2) into
    `listing`, by os.scandir: a year's lake is 2,500 files, listed in about half the time of
    Path.glob and its stat calls (the nothing-new build is little more than this listing)."""
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    with entries:
        for entry in entries:
            try:
                if depth > 0:
                    if entry.is_dir():
                        _scan(entry.path, depth - 1, f"{prefix}{entry.name}/", listing)
                elif entry.name.endswith(".parquet") and entry.is_file():
                    info = entry.stat()
                    listing[prefix + entry.name] = [info.st_size, info.st_mtime_ns]
            except FileNotFoundError:  # removed while listed (a re-ingest replacing it)
                continue


def _lake_listing(lake: Path, dataset: str) -> dict[str, list[int]]:
    folder = Path(lake) / dataset
    listing: dict[str, list[int]] = {}
    if dataset == "_manifest":
        for path in folder.glob("manifest-*.parquet"):
            try:
                info = path.stat()
            except FileNotFoundError:
                continue
            listing[path.name] = [info.st_size, info.st_mtime_ns]
    else:
        _scan(str(folder), 2, "", listing)
    return dict(sorted(listing.items()))


def _loading_manifest_files(lake: Path, listing: dict[str, list[int]]) -> dict[str, list[int]]:
    """The ingest manifest's files that record a load. A run that found every file unchanged (or
    only rejected some) writes a manifest file too, but every model and macro reads the manifest's
    `status = 'loaded'` rows only (incremental_days.sql, test_scope.sql, walk_forward.py), so such a
    file changes nothing a build makes."""
    if not listing:
        return listing
    import duckdb

    folder = Path(lake) / "_manifest"
    paths = ", ".join("'" + str(folder / name).replace("'", "''") + "'" for name in listing)
    try:
        with duckdb.connect() as con:
            loading = {
                Path(name).name
                for (name,) in con.execute(
                    f"select filename from read_parquet([{paths}], filename = true, union_by_name = true) "
                    "where status = 'loaded' group by 1"
                ).fetchall()
            }
    except duckdb.Error:
        return listing  # unreadable: count every file as a change
    return {name: value for name, value in listing.items() if name in loading}


def lake_listing(lake: Path, datasets: Iterable[str]) -> dict[str, dict[str, list[int]]]:
    """Per dataset, every lake file's size and modification time (the manifest's: its files that
    record a load)."""
    listing = {dataset: _lake_listing(lake, dataset) for dataset in datasets}
    if "_manifest" in listing:
        listing["_manifest"] = _loading_manifest_files(lake, listing["_manifest"])
    return listing


def code_hashes(dbt_project: Path, root: Path = PROJECT_ROOT) -> dict[str, str]:
    """sha256 of every project file that dbt or the dbt Python models read: the dbt project (named
    `dbt_project/...` wherever it is), python_models/ and profiles.yml."""
    files = {"profiles.yml": root / "profiles.yml"}
    for prefix, top in ((DBT_CODE, Path(dbt_project)), (PYTHON_CODE, root / "python_models")):
        for path in top.rglob("*"):
            relative = path.relative_to(top)
            if CODE_SKIP.intersection(relative.parts) or path.suffix in (".pyc", ".duckdb", ".tmp"):
                continue
            if path.is_file():
                files[prefix + relative.as_posix()] = path
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in sorted(files.items())}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def fingerprint(lake: Path, dbt_vars: dict, target: str | None) -> dict:
    """What changes a build's results that dbt's state comparison does not see."""
    return {
        "vars": json.loads(json.dumps(dbt_vars, sort_keys=True, default=str)),
        "target": target or "dev",
        "lake": str(Path(lake).resolve()),
        "versions": {package: _version(package) for package in VERSIONED},
    }


@dataclass
class Inputs:
    fingerprint: dict
    code: dict[str, str]
    lake: dict[str, dict[str, list[int]]]
    built_at: str = ""
    warehouse: str = ""
    dirty: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "format": INPUTS_FORMAT,
            "built_at": self.built_at,
            "warehouse": self.warehouse,
            "fingerprint": self.fingerprint,
            "code": self.code,
            "lake": self.lake,
            "dirty": self.dirty,
        }


def current_inputs(
    lake: Path, warehouse: Path, dbt_project: Path, datasets: Sequence[str], dbt_vars: dict, target=None
) -> Inputs:
    """This build's inputs, to compare with the recorded ones (`plan`) and record after it."""
    return Inputs(
        fingerprint=fingerprint(lake, dbt_vars, target),
        code=code_hashes(dbt_project),
        lake=lake_listing(lake, datasets),
        warehouse=str(Path(warehouse).resolve()),
    )


def read_inputs(warehouse: Path) -> Inputs | None:
    """The recorded inputs of the last complete build, or None (no record, or an unknown format)."""
    folder = state_folder(warehouse)
    try:
        data = json.loads((folder / "inputs.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("format") != INPUTS_FORMAT or not (folder / "manifest.json").exists():
        return None
    return Inputs(
        fingerprint=data["fingerprint"],
        code=data["code"],
        lake=data["lake"],
        built_at=data.get("built_at", ""),
        warehouse=data.get("warehouse", ""),
        dirty=list(data.get("dirty", [])),
    )


def _write_json(path: Path, data: dict) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    os.replace(temporary, path)


def record_complete(warehouse: Path, inputs: Inputs, manifest: Path) -> None:
    """After a complete build's dbt succeeded: its manifest and inputs become the reference."""
    folder = state_folder(warehouse)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / "manifest.json.tmp"
    shutil.copyfile(manifest, temporary)
    os.replace(temporary, folder / "manifest.json")
    inputs.built_at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    inputs.dirty = []
    _write_json(folder / "inputs.json", inputs.as_json())


def record_dirty(warehouse: Path, names: Iterable[str]) -> None:
    """Nodes a build ran (or failed) outside a complete build: the next complete build rebuilds them
    and their descendants, whatever else changed (a build of your `--select`, or a failed build)."""
    path = state_folder(warehouse) / "inputs.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # no record: the next build builds everything anyway
    data["dirty"] = sorted(set(data.get("dirty", [])) | set(names))
    _write_json(path, data)


def rebase(warehouse: Path) -> None:
    """A copied warehouse whose views were pointed at its own files (publish.relocate): its record
    names it, so its next build with nothing new has nothing to publish either."""
    path = state_folder(warehouse) / "inputs.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    data["warehouse"] = str(Path(warehouse).resolve())
    _write_json(path, data)


def forget(warehouse: Path) -> None:
    """Drop the record (the next build builds everything)."""
    (state_folder(warehouse) / "inputs.json").unlink(missing_ok=True)


@dataclass
class Plan:
    """What a build runs: `select` None is every node; an empty `select` with `run_dbt` False is
    nothing; `state` is the folder of the manifest `state:modified` compares with."""

    reason: str
    select: list[str] | None = None
    run_dbt: bool = True
    publish: bool = True
    complete: bool = True
    state: Path | None = None


def _manifest(warehouse: Path) -> dict:
    return json.loads((state_folder(warehouse) / "manifest.json").read_text(encoding="utf-8"))


def source_selectors(manifest: dict) -> dict[str, str]:
    """Lake dataset -> `source:<source>.<table>`, from the sources' external_location (the path of
    their files; dbt_project/macros/lake_scan.sql reads every dataset through its source)."""
    selectors = {}
    for source in manifest.get("sources", {}).values():
        meta = {**(source.get("meta") or {}), **((source.get("config") or {}).get("meta") or {})}
        found = LAKE_SOURCE.search(str(meta.get("external_location", "")))
        if found:
            selectors[found.group(1)] = f"source:{source['source_name']}.{source['name']}"
    return selectors


def expected_relations(manifest: dict) -> dict[str, str]:
    """Relation name -> node name of every model and seed the build materialises in the database."""
    relations = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") not in ("model", "seed"):
            continue
        config = node.get("config") or {}
        if not config.get("enabled", True) or config.get("materialized") == "ephemeral":
            continue
        relations[(node.get("alias") or node["name"]).lower()] = node["name"]
    return relations


def existing_relations(working: Path) -> set[str] | None:
    import duckdb

    try:
        con = duckdb.connect(str(working), read_only=True)
    except duckdb.Error:
        return None
    try:
        rows = con.execute("select table_name from information_schema.tables").fetchall()
    finally:
        con.close()
    return {name.lower() for (name,) in rows}


def _days(paths: Iterable[str]) -> list[str]:
    return sorted({part[5:] for path in paths for part in Path(path).parts if part.startswith("date=")})


def describe_lake_change(before: dict, after: dict) -> str:
    """`1 new day (2025-03-03)`, `2 re-ingested days (..)`, `1 new file` (the manifest)."""
    new = [p for p in after if p not in before]
    changed = [p for p in after if p in before and after[p] != before[p]]
    removed = [p for p in before if p not in after]
    parts = []
    for label, paths in (("new", new), ("re-ingested", changed), ("removed", removed)):
        if not paths:
            continue
        days = _days(paths)
        if days:
            span = days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}"
            parts.append(f"{len(days)} {label} day{'s' if len(days) > 1 else ''} ({span})")
        else:
            parts.append(f"{len(paths)} {label} file{'s' if len(paths) > 1 else ''}")
    return ", ".join(parts)


def _differences(before: dict, after: dict, prefix: str = "") -> list[str]:
    keys = sorted(set(before) | set(after))
    return [f"{prefix}{key}" for key in keys if before.get(key) != after.get(key)]


def plan(
    warehouse: Path,
    working: Path,
    now: Inputs,
    *,
    previous_state: str | None,
    full_refresh: bool,
    select: Sequence[str] | None,
    exclude: Sequence[str] | None,
) -> Plan:
    """Compare the inputs of this build with those of the last complete build (module docstring)."""
    if select or exclude:
        return Plan("your selection", select=list(select or []) or None, complete=False)
    if full_refresh:
        return Plan("--full-refresh: every node")
    recorded = read_inputs(warehouse)
    if not working.exists():
        return Plan("no working database yet: every node")
    if recorded is None:
        return Plan("no record of a complete build: every node")
    if previous_state == "building":
        return Plan("the previous build was interrupted: every node")
    changed = _differences(recorded.fingerprint, now.fingerprint)
    if changed:
        words = {"target": "the dbt target", "lake": "the lake's path"}
        detail = []
        for key in changed:
            if key == "vars":
                names = _differences(recorded.fingerprint["vars"], now.fingerprint["vars"])
                detail.append(f"vars ({', '.join(names)})")
            elif key == "versions":
                names = _differences(recorded.fingerprint["versions"], now.fingerprint["versions"])
                detail.append(f"versions ({', '.join(names)})")
            else:
                detail.append(words.get(key, key))
        return Plan(f"{' and '.join(detail)} changed since the build of {recorded.built_at}: every node")
    code = _differences(recorded.code, now.code)
    global_changes = [path for path in code if path in GLOBAL_FILES]
    if global_changes:
        return Plan(f"{', '.join(global_changes)} changed: every node")
    manifest = _manifest(warehouse)
    selectors: list[str] = []
    reasons: list[str] = []
    state = None
    dbt_files = [path for path in code if path.startswith(DBT_CODE)]
    if dbt_files:
        selectors.append("state:modified+")
        state = state_folder(warehouse)
        shown = ", ".join(Path(p).name for p in dbt_files[:3]) + (", ..." if len(dbt_files) > 3 else "")
        reasons.append(f"{len(dbt_files)} dbt file{'s' if len(dbt_files) > 1 else ''} changed ({shown})")
    if any(path.startswith(PYTHON_CODE) for path in code):
        python = sorted(
            node["name"]
            for node in manifest.get("nodes", {}).values()
            if node.get("resource_type") == "model" and node.get("language") == "python"
        )
        selectors += [f"{name}+" for name in python]
        reasons.append("python_models/ changed")
    sources = source_selectors(manifest)
    lake_changes: dict[str, list[str]] = {}  # "1 new day (2025-03-03)" -> the datasets it is true of
    for dataset in sorted(set(recorded.lake) | set(now.lake), key=lambda d: (d.startswith("_"), d)):
        before, after = recorded.lake.get(dataset, {}), now.lake.get(dataset, {})
        if before == after:
            continue
        if dataset not in sources:
            return Plan(f"{dataset}: changed, and no dbt source reads it by path: every node")
        selectors.append(f"{sources[dataset]}+")
        lake_changes.setdefault(describe_lake_change(before, after), []).append(dataset)
    reasons += [f"{', '.join(datasets)}: {change}" for change, datasets in lake_changes.items()]
    present = existing_relations(working)
    if present is None:
        return Plan("the working database does not open: every node")
    missing = sorted(
        name for relation, name in expected_relations(manifest).items() if relation not in present
    )
    if missing:
        selectors += [f"{name}+" for name in missing]
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        reasons.append(f"{len(missing)} relation{'s' if len(missing) > 1 else ''} missing ({shown})")
    if recorded.dirty:
        selectors += [f"{name}+" for name in recorded.dirty]
        reasons.append(
            f"{len(recorded.dirty)} node{'s' if len(recorded.dirty) > 1 else ''} left by a failed or "
            "partial build"
        )
    if selectors:
        return Plan("; ".join(reasons), select=list(dict.fromkeys(selectors)), state=state)
    since = f"nothing new since the build of {recorded.built_at}"
    if previous_state != "published" or recorded.warehouse != now.warehouse or not Path(warehouse).exists():
        # dbt's work is done, but the last publication did not happen (or was for another path).
        return Plan(f"{since}; publishing it", select=[], run_dbt=False)
    return Plan(since, select=[], run_dbt=False, publish=False)
