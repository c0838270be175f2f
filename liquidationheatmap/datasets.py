"""What each Binance dataset holds: its columns in file order, their lake types, and its time column.

This is the lake's contract. Ingest decodes columns by position with these names and types, the
simulator writes files with these headers, and the dbt sources read these names. Column names and
units are Binance's own (see ../shared/reference/binance-data-formats.md); the lake adds `symbol`
where the file has none, and `interval` for klines and markPriceKlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Column:
    name: str
    lake_type: str  # DuckDB type in the lake
    numeric: bool = True


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    columns: tuple[Column, ...]
    time_column: str
    time_kind: str  # "epoch" (13/16-digit integer) or "text" ("YYYY-MM-DD HH:MM:SS", UTC)
    daily: bool
    monthly: bool
    has_interval: bool = False  # klines: an interval folder, and the file name omits the type
    id_column: str | None = None  # the row key inside a file, when the dataset has one

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _cols(*items: tuple[str, str] | tuple[str, str, bool]) -> tuple[Column, ...]:
    return tuple(Column(*item) for item in items)


# The candle columns of klines, and of markPriceKlines (whose volume columns Binance writes as 0).
KLINE_COLUMNS = _cols(
    ("open_time", "BIGINT"),
    ("open", "DOUBLE"),
    ("high", "DOUBLE"),
    ("low", "DOUBLE"),
    ("close", "DOUBLE"),
    ("volume", "DOUBLE"),
    ("close_time", "BIGINT"),
    ("quote_volume", "DOUBLE"),
    ("count", "BIGINT"),
    ("taker_buy_volume", "DOUBLE"),
    ("taker_buy_quote_volume", "DOUBLE"),
    ("ignore", "DOUBLE"),
)

DATASETS: dict[str, DatasetSpec] = {
    "aggTrades": DatasetSpec(
        name="aggTrades",
        columns=_cols(
            ("agg_trade_id", "BIGINT"),
            ("price", "DOUBLE"),
            ("quantity", "DOUBLE"),
            ("first_trade_id", "BIGINT"),
            ("last_trade_id", "BIGINT"),
            ("transact_time", "BIGINT"),
            ("is_buyer_maker", "BOOLEAN", False),
        ),
        time_column="transact_time",
        time_kind="epoch",
        daily=True,
        monthly=True,
        id_column="agg_trade_id",
    ),
    "trades": DatasetSpec(
        name="trades",
        columns=_cols(
            ("id", "BIGINT"),
            ("price", "DOUBLE"),
            ("qty", "DOUBLE"),
            ("quote_qty", "DOUBLE"),
            ("time", "BIGINT"),
            ("is_buyer_maker", "BOOLEAN", False),
        ),
        time_column="time",
        time_kind="epoch",
        daily=True,
        monthly=True,
        id_column="id",
    ),
    "klines": DatasetSpec(
        name="klines",
        columns=KLINE_COLUMNS,
        time_column="open_time",
        time_kind="epoch",
        daily=True,
        monthly=True,
        has_interval=True,
    ),
    # Binance's markPriceKlines archive (`.../markPriceKlines/<SYMBOL>/1m/<SYMBOL>-1m-<date>.zip`) has the
    # klines columns with the volume columns 0; the live recorder writes it from `@markPrice@1s`.
    "markPriceKlines": DatasetSpec(
        name="markPriceKlines",
        columns=KLINE_COLUMNS,
        time_column="open_time",
        time_kind="epoch",
        daily=True,
        monthly=True,
        has_interval=True,
    ),
    "fundingRate": DatasetSpec(
        name="fundingRate",
        columns=_cols(
            ("calc_time", "BIGINT"),
            ("funding_interval_hours", "INTEGER"),
            ("last_funding_rate", "DOUBLE"),
        ),
        time_column="calc_time",
        time_kind="epoch",
        daily=False,
        monthly=True,
    ),
    "metrics": DatasetSpec(
        name="metrics",
        columns=_cols(
            ("create_time", "TIMESTAMP", False),
            ("symbol", "VARCHAR", False),
            ("sum_open_interest", "DOUBLE"),
            ("sum_open_interest_value", "DOUBLE"),
            ("count_toptrader_long_short_ratio", "DOUBLE"),
            ("sum_toptrader_long_short_ratio", "DOUBLE"),
            ("count_long_short_ratio", "DOUBLE"),
            ("sum_taker_long_short_vol_ratio", "DOUBLE"),
        ),
        time_column="create_time",
        time_kind="text",
        daily=True,
        monthly=False,
    ),
    "bookDepth": DatasetSpec(
        name="bookDepth",
        columns=_cols(
            ("timestamp", "TIMESTAMP", False),
            ("percentage", "DOUBLE"),
            ("depth", "DOUBLE"),
            ("notional", "DOUBLE"),
        ),
        time_column="timestamp",
        time_kind="text",
        daily=True,
        monthly=False,
    ),
    # Ground truth, not Binance archive data: the simulator's `truth/` folder (the live recorder's
    # forceOrder events use the liquidations layout). Ingested like archive files (same verdicts
    # and manifest), so dbt reads truth from the lake on every engine.
    "liquidations": DatasetSpec(
        name="liquidations",
        columns=_cols(
            ("symbol", "VARCHAR", False),
            ("time", "BIGINT"),
            ("side", "VARCHAR", False),
            ("order_type", "VARCHAR", False),
            ("time_in_force", "VARCHAR", False),
            ("original_quantity", "DOUBLE"),
            ("price", "DOUBLE"),
            ("average_price", "DOUBLE"),
            ("order_status", "VARCHAR", False),
            ("last_fill_quantity", "DOUBLE"),
            ("accumulated_fill_quantity", "DOUBLE"),
        ),
        time_column="time",
        time_kind="epoch",
        daily=True,
        monthly=False,
    ),
    "positions": DatasetSpec(
        name="positions",
        columns=_cols(
            ("position_id", "BIGINT"),
            ("symbol", "VARCHAR", False),
            ("opened_at", "BIGINT"),
            ("side", "VARCHAR", False),
            ("entry_price", "DOUBLE"),
            ("quantity", "DOUBLE"),
            ("leverage", "INTEGER"),
            ("margin", "DOUBLE"),
            ("liquidation_price", "DOUBLE"),
            ("closed_at", "BIGINT"),
            ("close_reason", "VARCHAR", False),
            ("trader", "VARCHAR", False),
        ),
        time_column="opened_at",
        time_kind="epoch",
        daily=True,
        monthly=False,
        id_column="position_id",
    ),
}

DEFAULT_DATASETS: tuple[str, ...] = ("aggTrades", "metrics", "fundingRate", "bookDepth", "markPriceKlines")
# The truth datasets (folders of the simulator's `truth/`), ingested into the lake beside the archive's.
TRUTH_DATASETS: tuple[str, ...] = ("liquidations", "positions")
MARKETS: tuple[str, ...] = ("um", "cm")


def get_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(DATASETS)
        raise ValueError(f"unknown dataset {name!r}; known datasets: {known}") from None


def lake_files(lake: Path, dataset: str) -> list[Path]:
    """The Parquet files of one dataset in the lake (layout `<dataset>/symbol=*/date=*/*.parquet`)."""
    return sorted((Path(lake) / dataset).glob("*/*/*.parquet"))
