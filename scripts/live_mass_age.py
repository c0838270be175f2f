"""How old is the mass a map puts where price goes, against the true open positions? A diagnostic.

On a built (simulated) warehouse's working database, for every 1 h scoring window with judged truth
(int_scoring__windows, int_scoring__window_truth_cells) that ends by --until: the live notional on
the window's traversed bins at t, split by the age at t of the level (the model: int_levels__variants,
live while not yet closed, shrunk by the open-interest factor) or of the true position (the oracle:
truth/positions open at t, quantity x liquidation price), summed over the windows. If a model kept
positions too long or closed them too soon, its age profile would differ from the oracle's.

    uv run python scripts/live_mass_age.py <warehouse.duckdb> [--model binance_standard] [--until 2026-10-04]

Reads truth/positions (as the oracle does): use it on simulated builds only, never in a model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liquidationheatmap.publish import working_database

QUERY = """
with w as (
    select window_start as t, side, low_bin, high_bin, score_bin_size as s
    from int_scoring__windows
    where horizon_hours = 1 and window_start + interval 1 hour <= timestamp '{until}'
        and (window_start, side) in (
            select window_start, side from int_scoring__window_truth_cells where horizon_hours = 1)
),
timeline as (select bucket_number, bucket_start, cum_log_shrink from int_buckets__timeline),
levels as (
    select side, opened_at, closed_bucket_number, liquidation_price as lp, opened_quantity as qty,
        opened_cum_log_shrink as c0
    from int_levels__variants
    where model = '{model}' and opened_at < timestamp '{until}'
),
model_mass as (
    select date_diff('minute', levels.opened_at, w.t) / 60.0 as age_h,
        levels.qty * exp(timeline.cum_log_shrink - levels.c0) * levels.lp as v
    from w
    inner join levels
        on levels.side = w.side and floor(levels.lp / w.s) between w.low_bin and w.high_bin
        and levels.opened_at < w.t
    inner join timeline on timeline.bucket_start = w.t - interval 5 minute
    where levels.closed_bucket_number is null or levels.closed_bucket_number > timeline.bucket_number
),
oracle_mass as (
    select date_diff('minute', p.opened_at, w.t) / 60.0 as age_h, p.quantity * p.liquidation_price as v
    from w
    inner join stg_truth__positions as p
        on p.side = w.side and floor(p.liquidation_price / w.s) between w.low_bin and w.high_bin
        and p.opened_at <= w.t and (p.closed_at is null or p.closed_at > w.t)
)
select source,
    round(sum(case when age_h < 1 then v end) / sum(v), 3) as "under 1 h",
    round(sum(case when age_h >= 1 and age_h < 6 then v end) / sum(v), 3) as "1-6 h",
    round(sum(case when age_h >= 6 and age_h < 24 then v end) / sum(v), 3) as "6-24 h",
    round(sum(case when age_h >= 24 then v end) / sum(v), 3) as "24 h and more"
from (select '{model}' as source, * from model_mass union all select 'oracle', * from oracle_mass)
group by source order by source
"""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("warehouse", type=Path)
    parser.add_argument(
        "--model", default="binance_standard", help="model variant (default binance_standard)"
    )
    parser.add_argument("--until", default="2100-01-01", help="only windows ending by this date (YYYY-MM-DD)")
    args = parser.parse_args()
    con = duckdb.connect(str(working_database(args.warehouse)), read_only=True)
    print(f"{args.warehouse}: share of the live notional on the traversed bins of the 1 h windows, by age")
    print(
        con.sql(QUERY.format(model=args.model.replace("'", ""), until=args.until)).df().to_string(index=False)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
