"""Shared machinery for judging a heatmap against true liquidations.

Used by scoring (zone hit rate, distance to the top bins) and by the ensemble weight fit, so both rank
"top density" bins and line truth up with the prediction made one bucket before in exactly one way.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from python_models.truth import prepare_truth, require_columns, to_timestamp

HEATMAP_COLUMNS = ["symbol", "model", "bucket_start", "price_bin", "side", "live_notional"]
# 1e-9 keeps float noise (0.2 * 15 = 3.0000000000000004) from adding a bin to the top set.
_CEIL_TOLERANCE = 1e-9


def bin_sizes(symbols: pd.Series, price_bin_size: float | Mapping[str, float]) -> np.ndarray:
    """Bin size per row: one size for every symbol, or a mapping symbol -> size."""
    if isinstance(price_bin_size, Mapping):
        # Look each distinct symbol up once (a frame holds millions of rows and a handful of symbols).
        codes, uniques = pd.factorize(symbols.astype(str))
        names = [str(name) for name in uniques]
        missing = sorted({name for name in names if name not in price_bin_size})
        if (codes < 0).any():
            missing.append("<missing symbol>")
        if missing:
            raise ValueError(f"price_bin_size: no bin size for symbol(s) {missing}")
        out = np.array([float(price_bin_size[name]) for name in names], dtype="float64")[codes]
    else:
        out = np.full(len(symbols), float(price_bin_size))
    if not np.all(out > 0):
        raise ValueError(f"price_bin_size must be positive; got {price_bin_size!r}")
    return out


def edge_index(price_bin: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Integer index of a bin from its lower edge (rounded: edges are exact multiples up to float noise)."""
    return np.round(np.asarray(price_bin, dtype="float64") / size).astype("int64")


def price_index(price: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Integer index of the bin holding a price: floor(price / size), the same rule as the SQL marts."""
    return np.floor(np.asarray(price, dtype="float64") / size).astype("int64")


def resolve_bucket(bucket_starts: pd.Series, bucket: str | pd.Timedelta | None) -> pd.Timedelta:
    """The heatmap's bucket length: given (and checked against the data) or the smallest step seen."""
    starts = pd.Series(to_timestamp(bucket_starts).unique()).sort_values()
    if bucket is None:
        steps = starts.diff().dropna()
        steps = steps[steps > pd.Timedelta(0)]
        if steps.empty:
            raise ValueError("heatmap has a single bucket_start: pass bucket= explicitly (e.g. '5min')")
        return steps.min()
    length = pd.Timedelta(bucket)
    if length <= pd.Timedelta(0):
        raise ValueError(f"bucket must be positive; got {bucket!r}")
    misaligned = starts[starts != starts.dt.floor(length)]
    if not misaligned.empty:
        raise ValueError(
            f"heatmap bucket_start {misaligned.iloc[0]} is not a multiple of bucket={bucket!r}: "
            "pass the heatmap at bucket resolution (one timeframe)"
        )
    return length


def top_density_mask(groups: np.ndarray, values: np.ndarray, tie_key: np.ndarray, share: float) -> np.ndarray:
    """Mark, in every group, the ceil(share × n) bins with the highest positive value.

    n is the number of bins of the group with a value > 0; zero bins are never marked. Exactly that many
    bins are marked: equal values are ordered by ``tie_key`` ascending (the bin index, i.e. the lower
    price first), so a flat prediction cannot put every bin in its top set.
    """
    if not 0 < share <= 1:
        raise ValueError(f"top share must be in (0, 1]; got {share}")
    groups = np.asarray(groups)
    values = np.asarray(values, dtype="float64")
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    codes, _ = pd.factorize(groups)
    presorted = np.lexsort((np.asarray(tie_key), codes))
    mask = np.empty(len(values), dtype=bool)
    mask[presorted] = top_density_mask_sorted(codes[presorted], values[presorted], share)
    return mask


def top_density_mask_sorted(codes: np.ndarray, values: np.ndarray, share: float) -> np.ndarray:
    """top_density_mask for rows already sorted by group code, then tie key ascending.

    ``codes``: integer group codes (0..k-1). The ensemble fit sorts its rows once and calls this for
    every grid point, so each call sorts by value only.
    """
    if not 0 < share <= 1:
        raise ValueError(f"top share must be in (0, 1]; got {share}")
    values = np.asarray(values, dtype="float64")
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    positive = values > 0
    nonzero = np.bincount(codes[positive], minlength=codes.max() + 1)
    budget = np.ceil(share * nonzero - _CEIL_TOLERANCE)
    # lexsort is stable: rows of equal value keep their (tie key ascending) order.
    order = np.lexsort((-values, codes))
    sorted_codes = codes[order]
    first = np.r_[0, np.flatnonzero(np.diff(sorted_codes)) + 1]
    group_start = np.repeat(first, np.diff(np.r_[first, len(order)]))
    rank = np.arange(len(order)) - group_start
    mask = np.empty(len(order), dtype=bool)
    mask[order] = (rank < budget[sorted_codes]) & positive[order]
    return mask


def heatmap_with_truth(
    heatmap: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    price_bin_size: float | Mapping[str, float],
    bucket: str | pd.Timedelta | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Line true liquidations up with the heatmap bucket before the one they happened in.

    Returns ``(rows, scored)``:
    - rows: the heatmap (symbol, model, bucket_start, side, bin, live_notional) plus ``truth_notional``,
      the true notional liquidated in that bin and side during the *next* bucket;
    - scored: the true liquidations that can be judged (symbol, side, time, price, notional, bin,
      prior_bucket), i.e. whose prior bucket lies inside the heatmap's time range for that symbol.
      Their total is the denominator of the hit rate; truth outside the range is left out, truth inside
      the range where a model has no density counts as a miss.
    """
    require_columns(heatmap, HEATMAP_COLUMNS, "heatmap")
    length = resolve_bucket(heatmap["bucket_start"], bucket)
    rows = pd.DataFrame(
        {
            "symbol": heatmap["symbol"].astype(str).array,
            "model": heatmap["model"].astype(str).array,
            "bucket_start": to_timestamp(heatmap["bucket_start"]).to_numpy(),
            "side": heatmap["side"].astype(str).array,
            "bin": edge_index(heatmap["price_bin"].to_numpy(), bin_sizes(heatmap["symbol"], price_bin_size)),
            "live_notional": heatmap["live_notional"].astype("float64").to_numpy(),
        }
    )
    keys = ["symbol", "model", "bucket_start", "side", "bin"]
    duplicated = rows.duplicated(keys)
    if duplicated.any():
        first = rows.loc[duplicated, keys].iloc[0].to_dict()
        raise ValueError(
            f"heatmap: several rows for {first}; pass one timeframe at bucket resolution, one row per bin"
        )
    canonical = prepare_truth(truth)
    scored = canonical.assign(
        bin=price_index(canonical["price"].to_numpy(), bin_sizes(canonical["symbol"], price_bin_size)),
        prior_bucket=canonical["time"].dt.floor(length) - length,
    )
    span = rows.groupby("symbol")["bucket_start"].agg(["min", "max"])
    first_bucket = scored["symbol"].map(span["min"])
    last_bucket = scored["symbol"].map(span["max"])
    inside = (scored["prior_bucket"] >= first_bucket) & (scored["prior_bucket"] <= last_bucket)
    scored = scored.loc[inside.fillna(False).astype(bool)].reset_index(drop=True)
    per_bin = (
        scored.groupby(["symbol", "side", "prior_bucket", "bin"], as_index=False)["notional"]
        .sum()
        .rename(columns={"prior_bucket": "bucket_start", "notional": "truth_notional"})
    )
    rows = rows.merge(per_bin, on=["symbol", "side", "bucket_start", "bin"], how="left")
    rows["truth_notional"] = rows["truth_notional"].fillna(0.0)
    return rows, scored
