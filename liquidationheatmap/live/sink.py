"""Where the recorder's rows go: lake Parquet files rolled every few minutes, and the truth files.

Each roll writes, per dataset, symbol and UTC day, one Parquet file
`<lake>/<dataset>/symbol=<S>/date=<D>/<S>-<dataset>-<D>-live-<stamp>.parquet` in the lake layout the
archive ingest writes (datasets.py columns and types, plus `symbol`, `interval` for klines, and the
exchange event time and our receive time), staged under `<lake>/_live_tmp/` and moved into place
with os.replace under the ingest's lake lock, then recorded in the ingest manifest (one manifest file
per roll). A reader never sees half a file, and `build` picks the new days up like ingested ones.

Liquidations go to the forceOrder truth layout (`<truth>/liquidations/<SYMBOL>/...csv`, the columns
simulate/truth.py writes) through `write_liquidation_truth` alone, so moving truth into the lake
changes one function.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from liquidationheatmap.datasets import get_spec
from liquidationheatmap.ingest.lake_writer import LakeBusy, lake_lock
from liquidationheatmap.ingest.manifest import ManifestRecord, new_run_id, utc_now, write_manifest
from liquidationheatmap.live.streams import AggTrade, ForceOrder
from liquidationheatmap.simulate.truth import LIQUIDATION_COLUMNS
from liquidationheatmap.simulate.writers import write_atomic

LIVE_TMP_DIR = "_live_tmp"
GAPS_DATASET = "liveGaps"
MARK_KLINES_DATASET = "markPriceKlines"
MARK_KLINES_INTERVAL = "1m"
LAKE_LOCK_WAIT_SECONDS = 30.0
_CHUNK_ROWS = 2048

_ARROW = {"BIGINT": pa.int64(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(), "INTEGER": pa.int32(),
          "VARCHAR": pa.string(), "TIMESTAMP": pa.timestamp("ms")}  # fmt: skip
# Columns a live file adds to the dataset's own: when the exchange sent it and when we got it (ms).
_TIMES = (("event_time", pa.int64()), ("received_time", pa.int64()))
GAP_SCHEMA = pa.schema(
    [("symbol", pa.string()), ("stream", pa.string()), ("gap_start", pa.int64()), ("gap_end", pa.int64()),
     ("first_missing_id", pa.int64()), ("last_missing_id", pa.int64()), ("missing_ids", pa.int64()),
     ("reason", pa.string()), ("received_time", pa.int64())]
)  # fmt: skip


def dataset_schema(dataset: str) -> pa.Schema:
    """The lake schema of a dataset's live files: datasets.py columns + symbol (+ interval) + times."""
    if dataset == GAPS_DATASET:
        return GAP_SCHEMA
    spec = get_spec(dataset)
    fields = [(c.name, _ARROW[c.lake_type]) for c in spec.columns]
    if "symbol" not in spec.column_names:
        fields.append(("symbol", pa.string()))
    if spec.has_interval:
        fields.append(("interval", pa.string()))
    return pa.schema([*fields, *_TIMES])


def _time_column(dataset: str) -> str:
    return "gap_start" if dataset == GAPS_DATASET else get_spec(dataset).time_column


def _day_of(value: int | datetime) -> date:
    if isinstance(value, datetime):
        return value.date()
    return datetime.fromtimestamp(value / 1000, tz=UTC).date()


def liquidation_truth_path(truth: Path, symbol: str, day: date, stamp: str) -> Path:
    return truth / "liquidations" / symbol / f"{symbol}-liquidations-{day.isoformat()}-live-{stamp}.csv"


def write_liquidation_truth(truth: Path, orders: list[ForceOrder], stamp: str) -> list[Path]:
    """Write forceOrders in the truth/liquidations layout, one atomic CSV per symbol and day."""
    groups: dict[tuple[str, date], list[ForceOrder]] = defaultdict(list)
    for order in orders:
        groups[(order.symbol, _day_of(order.time))].append(order)
    written = []
    for (symbol, day), rows in sorted(groups.items()):
        rows.sort(key=lambda o: o.time)
        text = ",".join(LIQUIDATION_COLUMNS) + "\n" + "".join(",".join(o.truth_row()) + "\n" for o in rows)
        path = liquidation_truth_path(truth, symbol, day, stamp)
        write_atomic(path, text.encode())
        written.append(path)
    return written


@dataclass
class RollResult:
    files: list[str] = field(default_factory=list)  # lake-relative paths published
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    truth_files: list[Path] = field(default_factory=list)
    manifest: Path | None = None


class LakeSink:
    """Rows buffered in memory per (dataset, symbol) until `roll` publishes them."""

    def __init__(self, lake: Path, truth: Path, source_url: str) -> None:
        self.lake = Path(lake)
        self.truth = Path(truth)
        self.source_url = source_url
        self._rows: dict[tuple[str, str], list[tuple]] = defaultdict(list)
        self._liquidations: list[ForceOrder] = []
        self._sequence = 0
        self._staging_root = self.lake / LIVE_TMP_DIR
        shutil.rmtree(self._staging_root, ignore_errors=True)  # what a killed recorder left
        # pyarrow imports pandas on its first conversion of Python objects (seconds, holding the GIL):
        # pay that now, before the stream is read, not in the middle of the first roll.
        pa.array([1.0], type=pa.float64())

    # --- adding rows (values in the dataset schema's order) ----------------------------------------
    def add_trade(self, t: AggTrade) -> None:
        self._rows[("aggTrades", t.symbol)].append(
            (t.agg_trade_id, t.price, t.quantity, t.first_trade_id, t.last_trade_id, t.transact_time,
             t.is_buyer_maker, t.symbol, t.event_time, t.received_time)
        )  # fmt: skip

    def add_metrics(self, row: dict, received_time: int) -> None:
        created = datetime.fromtimestamp(row["create_time"] / 1000, tz=UTC).replace(tzinfo=None)
        self._rows[("metrics", row["symbol"])].append(
            (created, row["symbol"], row["sum_open_interest"], row["sum_open_interest_value"],
             None, None, None, None, row["create_time"], received_time)
        )  # fmt: skip

    def add_funding(self, row: dict, received_time: int) -> None:
        self._rows[("fundingRate", row["symbol"])].append(
            (row["calc_time"], row["funding_interval_hours"], row["last_funding_rate"], row["symbol"],
             row["calc_time"], received_time)
        )  # fmt: skip

    def add_mark_kline(self, row: dict, received_time: int) -> None:
        self._rows[(MARK_KLINES_DATASET, row["symbol"])].append(
            (row["open_time"], row["open"], row["high"], row["low"], row["close"], row["volume"],
             row["close_time"], row["quote_volume"], row["count"], row["taker_buy_volume"],
             row["taker_buy_quote_volume"], row["ignore"], row["symbol"], MARK_KLINES_INTERVAL,
             row["close_time"], received_time)
        )  # fmt: skip

    def add_gap(self, symbol: str, stream: str, start: int, end: int, first_id: int | None,
                last_id: int | None, reason: str, received_time: int) -> None:  # fmt: skip
        missing = None if first_id is None or last_id is None else last_id - first_id + 1
        self._rows[(GAPS_DATASET, symbol)].append(
            (symbol, stream, start, end, first_id, last_id, missing, reason, received_time)
        )

    def add_liquidation(self, order: ForceOrder) -> None:
        self._liquidations.append(order)

    @property
    def pending_rows(self) -> int:
        return sum(len(rows) for rows in self._rows.values()) + len(self._liquidations)

    def buffered(self, dataset: str, symbol: str) -> list[tuple]:
        return self._rows.get((dataset, symbol), [])

    # --- publishing ---------------------------------------------------------------------------------
    def detach(self) -> tuple[dict, list]:
        """Take what is buffered (cheap, in the recorder's loop); `roll` then publishes it elsewhere."""
        rows, liquidations = self._rows, self._liquidations
        self._rows, self._liquidations = defaultdict(list), []
        return rows, liquidations

    def restore(self, detached: tuple[dict, list]) -> None:
        """Put back rows a failed roll could not publish, so the next roll tries again."""
        rows, liquidations = detached
        for key, values in rows.items():
            self._rows[key][:0] = values
        self._liquidations[:0] = liquidations

    def roll(self, detached: tuple[dict, list] | None = None) -> RollResult:
        """Publish rows (default: everything buffered): Parquet into the lake, manifest rows, truth CSVs."""
        rows_by_key, liquidations = detached if detached is not None else self.detach()
        result = RollResult()
        if not any(rows_by_key.values()) and not liquidations:
            return result
        run_id = new_run_id()
        self._sequence += 1
        stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{self._sequence:05d}-{run_id[-6:]}"
        staging = self._staging_root / run_id
        staging.mkdir(parents=True, exist_ok=True)
        staged: dict[str, tuple[Path, ManifestRecord]] = {}
        try:
            for (dataset, symbol), rows in sorted(rows_by_key.items()):
                if not rows:
                    continue
                table = _to_table(rows, dataset_schema(dataset))
                time_column = _time_column(dataset)
                table = table.sort_by("agg_trade_id" if dataset == "aggTrades" else time_column)
                for day, part in _split_days(table, time_column):
                    relative, record = self._stage(staging, run_id, dataset, symbol, day, stamp, part)
                    staged[relative] = record
                    result.rows[dataset] += part.num_rows
            self._publish(staged)
            result.files = sorted(staged)
            records = [record for _, record in staged.values()]
            result.manifest = write_manifest(self.lake, run_id, records)
            if liquidations:
                result.truth_files = write_liquidation_truth(self.truth, liquidations, stamp)
                result.rows["liquidations"] += len(liquidations)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return result

    def close(self) -> None:
        """Remove the (empty) staging folder: nothing of the recorder stays outside the lake layout."""
        shutil.rmtree(self._staging_root, ignore_errors=True)

    def _stage(self, staging: Path, run_id: str, dataset: str, symbol: str, day: date, stamp: str,
               table: pa.Table) -> tuple[str, tuple[Path, ManifestRecord]]:  # fmt: skip
        spec_interval = MARK_KLINES_INTERVAL if dataset == MARK_KLINES_DATASET else None
        middle = spec_interval or dataset
        stem = f"{symbol}-{middle}-{day.isoformat()}-live-{stamp}"
        relative = f"{dataset}/symbol={symbol}/date={day.isoformat()}/{stem}.parquet"
        path = staging / f"{stem}.parquet.part"
        pq.write_table(table, path, compression="zstd")
        column = table.column(_time_column(dataset))
        low, high = column[0].as_py(), column[-1].as_py()
        if dataset == "aggTrades":
            times = column.to_pylist()
            low, high = min(times), max(times)
        record = ManifestRecord(
            run_id=run_id, ingested_at=utc_now(), source_path=f"{self.source_url}#{stem}", file_name=stem,
            dataset=dataset, symbol=symbol, market="um", frequency="live", period=day.isoformat(),
            kline_interval=spec_interval, size_bytes=path.stat().st_size, sha256=None,
            checksum_verdict="unverified", rows_loaded=table.num_rows, rows_rejected=0,
            first_event_time=_as_time(low), last_event_time=_as_time(high), status="loaded",
            reason="recorded live", output_paths=[relative],
        )  # fmt: skip
        return relative, (path, record)

    def _publish(self, staged: dict[str, tuple[Path, ManifestRecord]]) -> None:
        deadline = time.monotonic() + LAKE_LOCK_WAIT_SECONDS
        while True:
            try:
                with lake_lock(self.lake):
                    for relative, (source, _) in staged.items():
                        target = self.lake / relative
                        target.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(source, target)
                return
            except LakeBusy:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def _to_table(rows: list[tuple], schema: pa.Schema) -> pa.Table:
    """Rows to an Arrow table a chunk at a time, yielding the GIL between chunks: converting Python
    objects holds it, and the recorder's loop (in another thread) must keep reading meanwhile."""
    batches = []
    for start in range(0, len(rows), _CHUNK_ROWS):
        columns = zip(*rows[start : start + _CHUNK_ROWS], strict=True)
        arrays = [pa.array(values, type=f.type) for values, f in zip(columns, schema, strict=True)]
        batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
        time.sleep(0)
    return pa.Table.from_batches(batches, schema=schema)


def _split_days(table: pa.Table, time_column: str) -> list[tuple[date, pa.Table]]:
    """The table's rows per UTC day of `time_column` (epoch ms or timestamp), in the table's order."""
    times = table.column(time_column)
    if pa.types.is_timestamp(times.type):
        times = pc.cast(times, pa.int64())
    day_numbers = pc.divide(times, 86_400_000)  # non-negative ms: integer division floors
    parts = []
    for number in sorted(pc.unique(day_numbers).to_pylist()):
        day = date.fromordinal(date(1970, 1, 1).toordinal() + number)
        parts.append((day, table.filter(pc.equal(day_numbers, number))))
    return parts


def _as_time(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC).replace(tzinfo=None)
