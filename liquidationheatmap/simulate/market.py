"""The market of one symbol, minute by minute: order flow, price impact, positions and liquidations.

Each minute is processed as whole arrays: the minute's taker orders (new openings drawn from the
population, plus the closings scheduled by earlier openings) are merged by time; each order moves
the log mid-price by a news shock and by its own square-root impact. The path is then scanned for
the first order after which the mid crosses an open position's liquidation price; every position
that price liquidates is closed by a forced market order, which moves price on and may liquidate
more (a cascade), and the rest of the minute is shifted by that move. Only then are fills,
new positions and metrics recorded. Python loops run per minute and per liquidation event, never
per trade or per position.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from liquidationheatmap.margin import margin_table
from liquidationheatmap.simulate.book import (
    CLOSED,
    LIQUIDATED,
    MARKET_MAKER,
    TAKER,
    NewPositions,
    PositionBook,
)
from liquidationheatmap.simulate.traders import (
    TraderParams,
    bankruptcy_prices,
    holding_seconds,
    liquidation_prices,
    max_leverage_at,
    mm_leverages,
    order_notionals,
    taker_leverages,
)

MINUTE_MS = 60_000
FIVE_MIN_MS = 300_000
DAY_MS = 86_400_000
FUNDING_MS = 8 * 3_600_000


@dataclass(frozen=True)
class SymbolSpec:
    """Exchange facts the files must respect: price tick, quantity step, and where price starts."""

    symbol: str
    tick_decimals: int
    step_decimals: int
    start_price: float

    @property
    def tick(self) -> float:
        return 10.0**-self.tick_decimals

    @property
    def step(self) -> float:
        return 10.0**-self.step_decimals


SYMBOLS: dict[str, SymbolSpec] = {
    "BTCUSDT": SymbolSpec("BTCUSDT", 1, 3, 80_000.0),
    "ETHUSDT": SymbolSpec("ETHUSDT", 2, 3, 3_000.0),
    "SOLUSDT": SymbolSpec("SOLUSDT", 2, 2, 150.0),
}


def symbol_spec(symbol: str) -> SymbolSpec:
    try:
        return SYMBOLS[symbol]
    except KeyError:
        known = ", ".join(SYMBOLS)
        raise ValueError(f"cannot simulate {symbol!r}: known symbols are {known}") from None


@dataclass(frozen=True)
class MarketParams:
    """Price process and order flow. Every number is documented in docs/simulator.md."""

    minute_vol: float = 4e-4  # std of the news part of a 1-minute log return at average activity
    drift_per_day: float = 0.0  # log drift added to the mid-price, spread evenly over the minutes
    activity_halflife_min: float = 45.0  # trading activity: log AR(1), mean 1
    activity_sd: float = 0.8  # stationary std of log activity
    liquidation_excitation: float = 0.005  # activity *= 1 + this * liquidations in the previous minute ...
    excitation_cap: float = 2.0  # ... at most this factor
    t_dof: float = 3.0  # Student-t news shocks
    impact_coef: float = 4e-4  # d log p = sign * impact_coef * sqrt(notional / impact_depth)
    impact_depth: float = 1e6  # at 1 M trades a day; scales with trades_per_day (a smaller market is thinner)
    fills_p: float = 0.6  # aggTrades per order ~ Geometric(fills_p) (mean 1/p), at most qty steps
    trades_per_fill_p: float = 0.5  # raw trades per aggTrade ~ Geometric(p)
    sentiment_halflife_min: float = 240.0
    sentiment_weight: float = 0.04  # P(open long) = 0.5 + weight * tanh(sentiment) + ...
    momentum_weight: float = 0.02  # ... + weight * tanh(15-minute return / its typical size) ...
    funding_feedback: float = 100.0  # ... - feedback * premium
    premium_per_imbalance: float = 1e-3  # premium index = this * taker long/short imbalance
    liquidation_delay_ms: float = 40.0  # mean delay of each cascade round
    initial_dispersion: float = 0.01  # log std of the entry prices of the positions open at the start
    top_trader_notional: float = 20_000.0  # taker positions at least this large are "top traders"
    bookdepth_exponent: float = 0.75


def funding_cap(symbol: str, on: date) -> float:
    """Binance's funding clamp: 75 % of the first bracket's maintenance margin ratio (0.30 % for BTCUSDT)."""
    return 0.75 * margin_table(symbol, on=on).brackets[0].maint_margin_ratio


@dataclass
class DayResult:
    """Everything one simulated day produced, ready for the writers."""

    symbol: str
    day: date
    fills: dict[
        str, np.ndarray
    ]  # agg_trade_id, price_ticks, qty_steps, first/last_trade_id, time, buyer_maker
    metrics: dict[str, np.ndarray]  # 288 snapshots at the end of each 5-minute period of the day
    funding: list[tuple[int, float]]  # (calc_time ms, rate)
    depth: dict[str, np.ndarray]  # one row per snapshot and percentage
    liquidations: dict[str, np.ndarray]
    positions: dict[str, np.ndarray]  # positions closed this day (and, on the last day, still open)
    minute_mid: np.ndarray = field(default_factory=lambda: np.empty(0))  # log mid at each minute end
    # Log mid per minute: open, high, low, close (1440 x 4). Liquidations trigger on the mid, so this
    # is the market's mark price; the writers turn it into markPriceKlines.
    minute_mark: np.ndarray = field(default_factory=lambda: np.empty((0, 4)))


@dataclass
class _Minute:
    """Per-minute order arrays in execution order."""

    time: np.ndarray
    side: np.ndarray
    qty: np.ndarray
    pre: np.ndarray
    post: np.ndarray
    kind: np.ndarray  # 0 open, 1 close, 2 liquidation
    ref: np.ndarray  # open: index among the minute's openings; close: slot; liquidation: pid


class MarketSimulator:
    """One symbol's market; call `run_day` for consecutive days."""

    def __init__(
        self,
        symbol: str,
        start: date,
        trades_per_day: int,
        seed: int,
        params: MarketParams | None = None,
        traders: TraderParams | None = None,
    ) -> None:
        if trades_per_day <= 0:
            raise ValueError("trades_per_day must be positive")
        self.spec = symbol_spec(symbol)
        self.params = params or MarketParams()
        self.traders = traders or TraderParams()
        if self.traders.hold_min_s < 60:
            raise ValueError("hold_min_s must be at least 60 s (closings land in a later minute)")
        if not 0.0 <= self.traders.maker_share <= 1.0:
            raise ValueError(f"maker_share must be between 0 and 1; got {self.traders.maker_share}")
        seq = np.random.SeedSequence([int(seed), zlib.crc32(symbol.encode())])
        self.rng = np.random.Generator(np.random.PCG64(seq))
        self.start = start
        self.next_day = start
        self.table = margin_table(symbol, on=start)
        self.cap = funding_cap(symbol, start)
        self.book = PositionBook()
        self.book.top_min_steps = max(
            1, math.ceil(self.params.top_trader_notional / self.spec.start_price / self.spec.step)
        )
        self.logmid = math.log(self.spec.start_price)
        self.log_activity = 0.0
        self.excitation = 1.0
        self.sentiment = 0.0
        self.recent_returns = np.zeros(15)
        # Steady state: every opening is later closed (or liquidated) by another order.
        self.open_rate = trades_per_day / (2.0 * self._fills_per_order()) / 1440.0
        # Depth in proportion to activity keeps the dynamics (volatility from flow, cascades) the same
        # at any trades_per_day: flow variance ~ orders / depth, cascade impact ~ sqrt(population / depth).
        self.depth = self.params.impact_depth * trades_per_day / 1_000_000
        self.next_pid = 1
        self.next_agg_id = 1_000_000_000 + int(self.rng.integers(0, 100_000_000))
        self.next_trade_id = 3 * self.next_agg_id
        self.premium_sum = 0.0
        self.premium_n = 0
        self.premium_now = 0.0
        start_ms = _ms(start)
        self._populate(start_ms)
        self.premium_now = self.params.premium_per_imbalance * self.book.imbalance()

    def _fills_per_order(self) -> float:
        """E[min(Geometric(p), qty steps)] over the order-size law, by quadrature (no random draws)."""
        t = self.traders
        u = (np.arange(4096) + 0.5) / 4096
        low, high = t.size_min**-t.size_alpha, t.size_max**-t.size_alpha
        notional = (low - u * (low - high)) ** (-1.0 / t.size_alpha)
        q = self._qty_steps(notional, self.spec.start_price)
        p = self.params.fills_p
        return float(np.mean((1 - (1 - p) ** q) / p))

    # ----- positions -----------------------------------------------------------------------------

    def _make_positions(
        self,
        opened_at: np.ndarray,
        side: np.ndarray,
        qty: np.ndarray,
        entry: np.ndarray,
        close_at: np.ndarray,
        not_before: int = 0,
    ) -> NewPositions:
        """A taker position and its counterpart for each opening (ids interleaved): a market maker,
        or with probability 1 - maker_share another taker, whose holding time runs from the later of
        its opening and ``not_before`` (the start, for the population already open then)."""
        m = len(side)
        qf = qty / 10**self.spec.step_decimals  # correctly rounded: prints as the step decimal
        notional = qf * entry
        cap = max_leverage_at(self.table, notional)
        lev_t = np.minimum(taker_leverages(self.rng, m, self.traders), cap)
        lev_m = np.minimum(mm_leverages(self.rng, m, self.traders), cap)
        trader_m = np.full(m, MARKET_MAKER, np.int8)
        close_m = np.full(m, -1, np.int64)
        # Only a market with some taker-to-taker openings draws for them: the default stream is unchanged.
        if self.traders.maker_share < 1.0:
            taker = self.rng.random(m) >= self.traders.maker_share
            k = int(taker.sum())
            lev_m[taker] = np.minimum(taker_leverages(self.rng, k, self.traders), cap[taker])
            trader_m[taker] = TAKER
            hold = holding_seconds(self.rng, k, self.traders)
            close_m[taker] = self._close_times(np.maximum(opened_at[taker], not_before), hold)
        pid_t = self.next_pid + 2 * np.arange(m, dtype=np.int64)
        self.next_pid += 2 * m

        def both(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            out = np.empty(2 * m, dtype=np.result_type(a, b))
            out[0::2], out[1::2] = a, b
            return out

        sides = both(side, -side)
        entries = both(entry, entry)
        qtys = both(qty, qty)
        qfs = both(qf, qf)
        levs = both(lev_t, lev_m)
        margin = np.round(qfs * entries / levs, 8)  # the truth file holds exactly the numbers used
        lp = liquidation_prices(sides, entries, qfs, margin, self.table)
        return NewPositions(
            pid=both(pid_t, pid_t + 1),
            side=sides,
            trader=both(np.full(m, TAKER, np.int8), trader_m),
            opened_at=both(opened_at, opened_at),
            entry=entries,
            qty=qtys,
            leverage=levs,
            margin=margin,
            lp=lp,
            close_at=both(close_at, close_m),
            partner=both(pid_t + 1, pid_t),
        )

    def _close_times(self, opened_at: np.ndarray, hold_s: np.ndarray) -> np.ndarray:
        close_at = opened_at + np.rint(hold_s * 1000).astype(np.int64)
        # No event sits exactly on a minute mark, so "open at a 5-minute mark" is unambiguous.
        return close_at + (close_at % MINUTE_MS == 0)

    def _qty_steps(self, notional: np.ndarray, price: float) -> np.ndarray:
        return np.maximum(1, np.rint(notional / price / self.spec.step)).astype(np.int64)

    def _populate(self, start_ms: int) -> None:
        """Positions already open at the start, as a stationary population would hold them."""
        t = self.traders
        mean_hold = t.hold_median_s * math.exp(t.hold_sigma**2 / 2)
        n0 = int(self.open_rate / 60.0 * mean_hold)
        # Positions alive at a given instant are length-biased: lognormal(mu + sigma^2, sigma).
        hold = np.clip(
            t.hold_median_s * np.exp(t.hold_sigma**2 + t.hold_sigma * self.rng.standard_normal(n0)),
            t.hold_min_s,
            t.hold_max_s,
        )
        age = np.maximum(self.rng.random(n0) * hold, 1.0)
        opened_at = start_ms - np.rint(age * 1000).astype(np.int64)
        opened_at = np.minimum(opened_at, start_ms - 1)
        close_at = self._close_times(np.full(n0, start_ms), np.maximum(hold - age, 1.0))
        side = np.where(self.rng.random(n0) < 0.5, 1, -1).astype(np.int64)
        price0 = self.spec.start_price
        qty = self._qty_steps(order_notionals(self.rng, n0, t), price0)
        ticks = np.rint(
            price0 * np.exp(self.params.initial_dispersion * self.rng.standard_normal(n0)) / self.spec.tick
        )
        entry = ticks / 10**self.spec.tick_decimals
        order = np.argsort(opened_at, kind="stable")
        new = self._make_positions(
            opened_at[order], side[order], qty[order], entry[order], close_at[order], not_before=start_ms
        )
        # Those the start price has already crossed were liquidated before the start: drop the pair.
        lp = new.lp.reshape(-1, 2)
        s = new.side.reshape(-1, 2)
        # Those within half a percent would not have survived the path to here either.
        crossed = ((s > 0) & (lp >= price0 * 0.995)) | ((s < 0) & (lp <= price0 * 1.005))
        keep = np.repeat(~crossed.any(axis=1), 2)
        self.book.add(NewPositions(**{k: getattr(new, k)[keep] for k in NewPositions.__dataclass_fields__}))
        self.book.longs.merge(self.book)
        self.book.shorts.merge(self.book)

    # ----- one day -------------------------------------------------------------------------------

    def run_day(self, last_day: bool = False) -> DayResult:
        day = self.next_day
        self.next_day = day + timedelta(days=1)
        self.table = margin_table(self.spec.symbol, on=day)
        day_ms = _ms(day)
        fills: list[dict[str, np.ndarray]] = []
        liqs: list[dict[str, np.ndarray]] = []
        funding: list[tuple[int, float]] = []
        snaps: dict[str, list] = {k: [] for k in ("time", "oi", "mid", "tc", "tq", "tl", "ts", "buy", "sell")}
        depth_t: list[np.ndarray] = []
        depth_mid: list[np.ndarray] = []
        depth_sigma: list[float] = []
        minute_mid = np.empty(1440)
        minute_mark = np.empty((1440, 4))
        buy = sell = 0
        for m in range(1440):
            t0 = day_ms + m * MINUTE_MS
            if t0 % FUNDING_MS == 0:
                funding.append(self._funding(t0))
            activity = math.exp(self.log_activity - self.params.activity_sd**2 / 2) * self.excitation
            sigma = self.params.minute_vol * math.sqrt(activity)
            if self.params.drift_per_day:
                self.logmid += self.params.drift_per_day / 1440.0
            start_mid = self.logmid
            minute = self._run_minute(t0, sigma, activity)
            f = self._fill(minute, t0) if len(minute.time) else None
            if f is not None:
                fills.append(f["fills"])
                if len(f["liqs"]["pid"]):
                    liqs.append(f["liqs"])
                b = f["fills"]["qty_steps"][~f["fills"]["buyer_maker"]].sum()
                buy += int(b)
                sell += int(f["fills"]["qty_steps"].sum()) - int(b)
            # Book depth twice a minute, a few seconds past :00 and :30.
            snap_s = t0 // 1000 + np.array([0, 30]) + self.rng.integers(0, 5, 2)
            idx = np.searchsorted(minute.time, snap_s * 1000, side="right") - 1
            mids = np.where(idx >= 0, minute.post[np.maximum(idx, 0)] if len(minute.post) else 0.0, start_mid)
            depth_t.append(snap_s)
            depth_mid.append(np.exp(mids))
            depth_sigma.append(sigma)
            self._end_minute(start_mid, int(np.count_nonzero(minute.kind == 2)))
            minute_mid[m] = self.logmid
            # Reads the path only (no random draws), so every other file stays byte for byte the same.
            # Each order moves the mid from `pre` to `post` (forced orders included): the path's
            # extremes are what the liquidation engine tests positions against.
            path_high = (
                max(float(minute.pre.max()), float(minute.post.max())) if len(minute.post) else start_mid
            )
            path_low = (
                min(float(minute.pre.min()), float(minute.post.min())) if len(minute.post) else start_mid
            )
            minute_mark[m] = (
                start_mid,
                max(start_mid, path_high, self.logmid),
                min(start_mid, path_low, self.logmid),
                self.logmid,
            )
            t1 = t0 + MINUTE_MS
            if t1 % FIVE_MIN_MS == 0:
                b = self.book
                snaps["time"].append(t1)
                snaps["oi"].append(b.oi_steps)
                snaps["mid"].append(math.exp(self.logmid))
                snaps["tc"].append((b.top_count[1], b.top_count[-1]))
                snaps["tq"].append((b.top_qty[1], b.top_qty[-1]))
                snaps["tl"].append((b.taker_count[1], b.taker_count[-1]))
                snaps["buy"].append(buy)
                snaps["sell"].append(sell)
                buy = sell = 0
            if m % 10 == 9:
                for index in (self.book.longs, self.book.shorts):
                    if index.pending_size() > 4096:
                        index.merge(self.book)
        positions = self.book.take_closed()
        if last_day:
            still = self.book.open_positions()
            positions = {k: np.concatenate([positions[k], still[k]]) for k in positions}
        return DayResult(
            symbol=self.spec.symbol,
            day=day,
            fills=_concat(fills, _EMPTY_FILLS),
            metrics={
                "time": np.array(snaps["time"], dtype=np.int64),
                "oi_steps": np.array(snaps["oi"], dtype=np.int64),
                "mid": np.array(snaps["mid"]),
                "top_count": np.array(snaps["tc"], dtype=np.int64).reshape(-1, 2),
                "top_qty": np.array(snaps["tq"], dtype=np.int64).reshape(-1, 2),
                "taker_count": np.array(snaps["tl"], dtype=np.int64).reshape(-1, 2),
                "buy_steps": np.array(snaps["buy"], dtype=np.int64),
                "sell_steps": np.array(snaps["sell"], dtype=np.int64),
            },
            funding=funding,
            depth=self._depth(np.concatenate(depth_t), np.concatenate(depth_mid), np.repeat(depth_sigma, 2)),
            liquidations=_concat(liqs, _EMPTY_LIQS),
            positions=positions,
            minute_mid=minute_mid,
            minute_mark=minute_mark,
        )

    def _funding(self, t0: int) -> tuple[int, float]:
        """Funding at an 8-hour mark: the mean premium over the interval, clamped like Binance's."""
        mean = self.premium_sum / self.premium_n if self.premium_n else self.premium_now
        self.premium_sum, self.premium_n = 0.0, 0
        rate = round(min(max(mean, -self.cap), self.cap), 8)
        return t0 + int(self.rng.integers(0, 10)), rate

    def _end_minute(self, start_mid: float, liquidations: int) -> None:
        p = self.params
        r = self.logmid - start_mid
        a = 0.5 ** (1.0 / p.activity_halflife_min)
        shock = float(self.rng.standard_normal())
        self.log_activity = a * self.log_activity + p.activity_sd * math.sqrt(1 - a * a) * shock
        self.excitation = min(1.0 + p.liquidation_excitation * liquidations, p.excitation_cap)
        phi = 0.5 ** (1.0 / p.sentiment_halflife_min)
        self.sentiment = phi * self.sentiment + math.sqrt(1 - phi * phi) * float(self.rng.standard_normal())
        self.recent_returns = np.roll(self.recent_returns, 1)
        self.recent_returns[0] = r
        self.premium_now = p.premium_per_imbalance * self.book.imbalance()
        self.premium_sum += self.premium_now
        self.premium_n += 1

    # ----- one minute ----------------------------------------------------------------------------

    def _run_minute(self, t0: int, sigma: float, activity: float) -> _Minute:
        p, rng, book = self.params, self.rng, self.book
        n_open = int(rng.poisson(self.open_rate * activity))
        open_time = t0 + 1 + np.sort(rng.integers(0, MINUTE_MS - 1, n_open))
        momentum = math.tanh(float(self.recent_returns.sum()) / (p.minute_vol * math.sqrt(15)))
        p_long = 0.5 + p.sentiment_weight * math.tanh(self.sentiment) + p.momentum_weight * momentum
        p_long = min(max(p_long - p.funding_feedback * self.premium_now, 0.2), 0.8)
        open_side = np.where(rng.random(n_open) < p_long, 1, -1).astype(np.int64)
        price = math.exp(self.logmid)
        open_qty = self._qty_steps(order_notionals(rng, n_open, self.traders), price)

        due = book.due(t0 // MINUTE_MS)
        time = np.concatenate([open_time, book.cols["close_at"][due]])
        order = np.argsort(time, kind="stable")
        time = time[order]
        side = np.concatenate([open_side, -book.cols["side"][due]])[order]
        qty = np.concatenate([open_qty, book.cols["qty"][due]])[order]
        kind = np.concatenate([np.zeros(n_open, np.int8), np.ones(len(due), np.int8)])[order]
        ref = np.concatenate([np.arange(n_open, dtype=np.int64), due])[order]
        n = len(time)
        impact = side * self._impact(qty * self.spec.step * price)
        noise = sigma / math.sqrt(max(n, 1)) * rng.standard_t(p.t_dof, n) / math.sqrt(p.t_dof / (p.t_dof - 2))
        post = self.logmid + np.cumsum(noise + impact)
        pre = post - impact
        cancelled = np.zeros(n, dtype=bool)
        forced: list[tuple[int, _Minute]] = []
        closes = np.flatnonzero(kind == 1)
        applied = 0  # scheduled closes before this index are done
        start = 0
        while start < n:
            thr_long = book.longs.extreme(book)
            thr_short = book.shorts.extreme(book)
            lo_log = math.log(thr_long) if thr_long > 0 else -math.inf
            hi_log = math.log(thr_short) if math.isfinite(thr_short) else math.inf
            low = np.minimum(pre[start:], post[start:])
            high = np.maximum(pre[start:], post[start:])
            hit = (low <= lo_log) | (high >= hi_log)
            if not hit.any():
                break
            k = start + int(np.argmax(hit))
            # Closings executed up to and including order k happen before the liquidation.
            upto = int(np.searchsorted(closes, k, side="right"))
            if upto > applied:
                sel = closes[applied:upto]
                sel = sel[~cancelled[sel]]
                book.close(ref[sel], time[sel], CLOSED)
                applied = upto
            next_time = int(time[k + 1]) if k + 1 < n else t0 + MINUTE_MS - 1
            batch = self._cascade(
                float(low[k - start]), float(high[k - start]), float(post[k]), int(time[k]), next_time, t0
            )
            if batch is not None:
                forced.append((k, batch))
                shift = float(batch.post[-1]) - float(post[k])
                post[k + 1 :] += shift
                pre[k + 1 :] += shift
                # Scheduled closings of positions the cascade closed are cancelled.
                later = closes[applied:]
                gone = later[~book.is_open(book.cols["pid"][ref[later]]) & ~cancelled[later]]
                for j in gone.tolist():
                    cancelled[j] = True
                    post[j:] -= impact[j]
                    pre[j + 1 :] -= impact[j]
                    impact[j] = 0.0
            start = k + 1
        rest = closes[applied:]
        rest = rest[~cancelled[rest]]
        book.close(ref[rest], time[rest], CLOSED)
        if n:
            self.logmid = float(post[-1])
        if forced and forced[-1][0] == n - 1:
            self.logmid = float(forced[-1][1].post[-1])
        keep = ~cancelled
        base = _Minute(time[keep], side[keep], qty[keep], pre[keep], post[keep], kind[keep], ref[keep])
        self._pending_opens = (open_time, open_side, open_qty)
        if not forced:
            return base
        key = np.flatnonzero(keep) * 2
        parts = [base] + [b for _, b in forced]
        keys = [key] + [np.full(len(b.time), 2 * k + 1) for k, b in forced]
        order = np.argsort(np.concatenate(keys), kind="stable")
        return _Minute(
            *(np.concatenate([getattr(x, f) for x in parts])[order] for f in _Minute.__dataclass_fields__)
        )

    def _impact(self, notional: np.ndarray) -> np.ndarray:
        return self.params.impact_coef * np.sqrt(notional / self.depth)

    def _cascade(
        self, low: float, high: float, mid: float, t: int, next_time: int, t0: int
    ) -> _Minute | None:
        """Liquidate everything the move reached, then whatever the forced orders' own impact reaches."""
        book, rng = self.book, self.rng
        parts: list[_Minute] = []
        cur = mid
        when = t
        limit = min(next_time, t0 + MINUTE_MS - 1)
        while True:
            longs = book.longs.crossed(book, math.exp(low))
            shorts = book.shorts.crossed(book, math.exp(high))
            if len(longs) == 0 and len(shorts) == 0:
                break
            when = min(when + 1 + int(rng.exponential(self.params.liquidation_delay_ms)), limit)
            for pids in (longs, shorts):
                pids = pids[book.is_open(pids)]  # a partner closed a moment ago is not liquidated again
                if len(pids) == 0:
                    continue
                slots = book.slots(pids)
                side = -book.cols["side"][slots]  # the forced order trades against the position
                qty = book.cols["qty"][slots]
                # A round of forced orders walks the book as one flow: concave in its total size.
                walked = self._impact(np.cumsum(qty) * self.spec.step * math.exp(cur))
                post = cur + side * walked
                pre = post - side * np.diff(walked, prepend=0.0)
                cur = float(post[-1])
                book.close(slots, np.full(len(slots), when, np.int64), LIQUIDATED)
                parts.append(
                    _Minute(
                        np.full(len(pids), when, np.int64),
                        side,
                        qty,
                        pre,
                        post,
                        np.full(len(pids), 2, np.int8),
                        pids,
                    )
                )
            low = min(low, cur)
            high = max(high, cur)
        if not parts:
            return None
        return _Minute(
            *(np.concatenate([getattr(x, f) for x in parts]) for f in _Minute.__dataclass_fields__)
        )

    def _fill(self, mnt: _Minute, t0: int) -> dict[str, dict[str, np.ndarray]]:
        """Split each order into aggTrades walking from the pre-trade to the post-trade mid."""
        rng, spec = self.rng, self.spec
        n = len(mnt.time)
        k = np.minimum(rng.geometric(self.params.fills_p, n), mnt.qty).astype(np.int64)
        total = int(k.sum())
        starts = np.cumsum(k) - k
        owner = np.repeat(np.arange(n), k)
        j = np.arange(total) - starts[owner]
        scale = 10**spec.tick_decimals
        pre_t = np.exp(mnt.pre) * scale
        post_t = np.exp(mnt.post) * scale
        base = np.where(mnt.side > 0, np.ceil(pre_t), np.floor(pre_t)).astype(np.int64)
        walk = np.maximum(mnt.side * (post_t - base), 0.0)
        span = np.maximum(k - 1, 1)
        off = np.maximum(np.rint(j * walk[owner] / span[owner]), j).astype(np.int64)
        price = base[owner] + mnt.side[owner] * off
        w = rng.random(total) + 0.25
        wsum = np.add.reduceat(w, starts)
        part = 1 + np.floor((mnt.qty - k)[owner] * w / wsum[owner]).astype(np.int64)
        last = starts + k - 1
        part[last] += mnt.qty - np.add.reduceat(part, starts)
        vwap = np.round(np.add.reduceat(price * part, starts) / mnt.qty / scale, spec.tick_decimals + 3)
        n_trades = rng.geometric(self.params.trades_per_fill_p, total).astype(np.int64)
        last_trade = self.next_trade_id + np.cumsum(n_trades) - 1
        first_trade = last_trade - n_trades + 1
        self.next_trade_id += int(n_trades.sum())
        agg_id = self.next_agg_id + np.arange(total, dtype=np.int64)
        self.next_agg_id += total
        fills = {
            "agg_trade_id": agg_id,
            "price_ticks": price,
            "qty_steps": part,
            "first_trade_id": first_trade,
            "last_trade_id": last_trade,
            "time": mnt.time[owner],
            "buyer_maker": mnt.side[owner] < 0,
        }
        # New positions from this minute's openings, at their fill prices.
        opens = np.flatnonzero(mnt.kind == 0)
        if len(opens):
            open_time, open_side, open_qty = self._pending_opens
            idx = mnt.ref[opens]
            hold = holding_seconds(rng, len(opens), self.traders)
            self.book.add(
                self._make_positions(
                    open_time[idx],
                    open_side[idx],
                    open_qty[idx],
                    vwap[opens],
                    self._close_times(open_time[idx], hold),
                )
            )
        liq = np.flatnonzero(mnt.kind == 2)
        liqs = _EMPTY_LIQS
        if len(liq):
            pids = mnt.ref[liq]
            slots = self.book.slots(pids)
            c = self.book.cols
            qf = c["qty"][slots] / 10**spec.step_decimals
            bk = bankruptcy_prices(c["side"][slots], c["entry"][slots], qf, c["margin"][slots])
            liqs = {
                "pid": pids,
                "time": mnt.time[liq],
                "order_side": mnt.side[liq],
                "qty_steps": mnt.qty[liq],
                "price_ticks": np.maximum(np.rint(bk * scale), 1).astype(np.int64),
                "average_price": vwap[liq],
                "last_fill_steps": part[last[liq]],
            }
        return {"fills": fills, "liqs": liqs}

    def _depth(self, snap_s: np.ndarray, mid: np.ndarray, sigma: np.ndarray) -> dict[str, np.ndarray]:
        """Cumulative depth within 1..5 % of mid on each side, consistent with the impact law."""
        p = self.params
        n = len(snap_s)
        at_1pct = self.depth * (0.01 / p.impact_coef) ** 2
        x = np.arange(1, 6, dtype=float)
        shape = x**p.bookdepth_exponent - (x - 1) ** p.bookdepth_exponent
        thin = np.sqrt(p.minute_vol / sigma)[:, None, None]
        inc = at_1pct * shape[None, None, :] * thin * np.exp(0.15 * self.rng.standard_normal((n, 2, 5)))
        notional = np.cumsum(inc, axis=2)  # [snapshot, side (bid, ask), 1..5 %]
        level = np.stack([1 - x / 200, 1 + x / 200])[None, :, :]
        depth = notional / (mid[:, None, None] * level)
        # Rows per snapshot: -5..-1 (bids, farthest first), then 1..5 (asks).
        pct = np.concatenate([-x[::-1], x])
        notional = np.concatenate([notional[:, 0, ::-1], notional[:, 1, :]], axis=1)
        depth = np.concatenate([depth[:, 0, ::-1], depth[:, 1, :]], axis=1)
        return {
            "time_s": np.repeat(snap_s, 10),
            "percentage": np.tile(pct, n),
            "depth": depth.ravel(),
            "notional": notional.ravel(),
        }


_EMPTY_FILLS = {
    "agg_trade_id": np.empty(0, np.int64),
    "price_ticks": np.empty(0, np.int64),
    "qty_steps": np.empty(0, np.int64),
    "first_trade_id": np.empty(0, np.int64),
    "last_trade_id": np.empty(0, np.int64),
    "time": np.empty(0, np.int64),
    "buyer_maker": np.empty(0, bool),
}
_EMPTY_LIQS = {
    "pid": np.empty(0, np.int64),
    "time": np.empty(0, np.int64),
    "order_side": np.empty(0, np.int64),
    "qty_steps": np.empty(0, np.int64),
    "price_ticks": np.empty(0, np.int64),
    "average_price": np.empty(0),
    "last_fill_steps": np.empty(0, np.int64),
}


def _concat(parts: list[dict[str, np.ndarray]], empty: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if not parts:
        return {k: v.copy() for k, v in empty.items()}
    return {k: np.concatenate([p[k] for p in parts]) for k in empty}


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
