"""Leverage mix and position lifetimes learned from recorded liquidations (the learned_leverage model).

Public data do not say at which leverage positions were opened nor how long they stay open. The
recorded liquidations of a training window do, indirectly: a tier's positions are liquidated only
when price reaches its distance from entry, so high-leverage tiers are over-represented among
liquidations by how often price travels their (short) distance. Counting liquidations per tier would
learn that bias. Instead each (tier, lifetime) candidate is run through the base model's own
lifecycle: its *basis* is the liquidated notional the base model predicts per (side, hour) if all
new positions were at that tier and lived with that half-life. The basis already contains how often
price reached the tier (the reach), so a non-negative least-squares fit of the true liquidated
notional per (side, hour) on the bases gives the *opening* shares, not the liquidation shares.

- ``basis_from_levels``: the bases from the base model's levels reached in the training window;
- ``fit_leverage``: the NNLS fit per symbol, shrunk towards the prior (the seed's weights, a
  turnover-derived half-life) when the window holds few liquidations;
- ``lifetime_pieces``: the exponential survival of a tier as a few equal pieces with fixed
  lifetimes (quantiles of the survival), which the SQL lifecycle can remove at a bucket.

Everything here sees only what its caller passes; the dbt model passes the training window only.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.optimize import nnls

# Half-life candidates, as multiples of the turnover half-life; inf = lives until reached. The
# functions' default; the dbt project passes var learned_lifetime_multipliers (default inf alone:
# the open-interest shrink already closes positions, docs/model_accuracy.md).
LIFETIME_MULTIPLIERS: tuple[float, ...] = (0.25, 1.0, 4.0, math.inf)
BASIS_KEYS = ["symbol", "side", "hour"]
# A tier is fitted only when, at its prior weight, it would explain this share of the window's
# liquidated notional; otherwise the window says nothing about it and it keeps its prior.
IDENTIFIABLE_SHARE = 0.01


def turnover_half_life_hours(
    mean_open_interest_usdt: float, traded_usdt_per_hour: float, opening_share: float
) -> float:
    """Half-life (hours) of positions if open interest turned over at the pace of trading.

    Mean holding time T = open interest / (traded notional per hour x the share of it that opens a
    position); an exponential survival with mean T has half-life T x ln 2. Inf when nothing trades.
    """
    opened_per_hour = traded_usdt_per_hour * opening_share
    if not opened_per_hour > 0 or not mean_open_interest_usdt > 0:
        return math.inf
    return mean_open_interest_usdt / opened_per_hour * math.log(2)


def survival(age_buckets: np.ndarray, half_life_hours: float, pieces: int, bucket_minutes: int) -> np.ndarray:
    """Share of a level still open `age_buckets` after its opening bucket, as the SQL realises it.

    The lifetime pieces (lifetime_pieces) are the survival the marts apply, so the fit scores each
    lifetime candidate with exactly the survival its levels will get: a piece counts while
    age < its lifetime in buckets.
    """
    alive = np.zeros(len(age_buckets))
    for share, lifetime in lifetime_pieces(half_life_hours, pieces, bucket_minutes):
        alive += share * (1.0 if lifetime is None else (age_buckets < lifetime))
    return alive


def basis_from_levels(
    levels: pd.DataFrame,
    seed_weights: dict[int, float],
    base_half_life_hours: dict[str, float],
    pieces: int = 3,
    bucket_minutes: int = 5,
    multipliers: tuple[float, ...] = LIFETIME_MULTIPLIERS,
) -> pd.DataFrame:
    """Liquidated notional per (symbol, side, hour, leverage, multiplier) for one unit of weight.

    ``levels``: the base model's reached levels (symbol, side, leverage, opened_at, reached_at,
    liquidated_notional). A level's notional is divided by its seed weight (one unit of the tier) and
    multiplied, for each lifetime candidate (half-life = the symbol's base half-life x multiplier),
    by the share of it still open when price reached it (`survival`). ``multipliers``: the lifetime
    candidates (check_multipliers).
    """
    multipliers = check_multipliers(multipliers)
    if levels.empty:
        return pd.DataFrame(columns=[*BASIS_KEYS, "leverage", "multiplier", "notional"])
    frame = levels.copy()
    frame["unit"] = frame["liquidated_notional"] / frame["leverage"].map(seed_weights).astype(float)
    age = (pd.to_datetime(frame["reached_at"]) - pd.to_datetime(frame["opened_at"])).dt.total_seconds()
    age_buckets = (age / (60 * bucket_minutes)).round().to_numpy()
    frame["hour"] = pd.to_datetime(frame["reached_at"]).dt.floor("h")
    parts = []
    for multiplier in multipliers:
        alive = np.ones(len(frame))
        for symbol, half_life in base_half_life_hours.items():
            rows = (frame["symbol"] == symbol).to_numpy()
            alive[rows] = survival(age_buckets[rows], half_life * multiplier, pieces, bucket_minutes)
        parts.append(
            frame[[*BASIS_KEYS, "leverage"]].assign(multiplier=multiplier, notional=frame["unit"] * alive)
        )
    basis = pd.concat(parts, ignore_index=True)
    return basis.groupby([*BASIS_KEYS, "leverage", "multiplier"], as_index=False)["notional"].sum()


def fit_leverage(
    basis: pd.DataFrame,
    truth: pd.DataFrame,
    prior: dict[int, float],
    base_half_life_hours: float,
    prior_strength: float,
    multipliers: tuple[float, ...] = LIFETIME_MULTIPLIERS,
) -> pd.DataFrame:
    """Fitted leverage weights and half-lives of one symbol.

    ``basis`` as basis_from_levels gives (one symbol); ``truth`` the training window's liquidations
    of that symbol (side, hour, notional). The NNLS coefficients c[tier, multiplier] say how much
    opened at each tier with each lifetime.

    Only tiers the window can tell about are fitted: a tier is *identifiable* when, at its prior
    weight, it would explain at least IDENTIFIABLE_SHARE of the window's liquidated notional (a 5x
    tier in a calm week is never reached: its basis is zero and the data say nothing about it). A
    tier that is not keeps its prior weight; the identifiable tiers share at most their prior mass
    P: fitted f[L] = c[L] x min(1, P / sum c). A sum below P says part of what opened there is never
    liquidated (hedges, positions closed first): the weights then sum to less than 1.
    With n liquidations in the window, every fitted quantity is blended with the prior as
    a = n / (n + prior_strength): weights a x f + (1 - a) x seed, decay rate a x fitted + (1 - a) x
    the turnover rate. Returns one row per tier: leverage, weight, components (the weight split by
    lifetime multiplier, the prior's at multiplier 1: what the marts realise), prior_weight,
    fitted_weight (f), half_life_hours (ln 2 / the weight-averaged decay rate, inf = no decay; a
    summary), truth_count, blend, identifiable. ``multipliers``: the lifetime candidates, as
    basis_from_levels was given; the prior's lifetime is multiplier 1 (the turnover half-life) when
    1 is a candidate, else no decay (inf).
    """
    multipliers = check_multipliers(multipliers)
    prior_multiplier = 1.0 if 1.0 in multipliers else math.inf
    tiers = sorted(prior)
    n = len(truth)
    fitted = dict(prior)
    # Fitted weight per (tier, lifetime multiplier); a tier not fitted keeps its prior at the prior's
    # lifetime (multiplier 1, the turnover half-life, when it is a candidate; else no decay).
    fitted_parts = {tier: {prior_multiplier: prior[tier]} for tier in tiers}
    fitted_rate = {tier: math.nan for tier in tiers}
    identifiable: list[int] = []
    truth_total = float(truth["notional"].sum()) if n else 0.0
    if n and not basis.empty and truth_total > 0:
        reach = basis[basis["multiplier"] == math.inf].groupby("leverage")["notional"].sum()
        identifiable = [t for t in tiers if reach.get(t, 0.0) * prior[t] >= IDENTIFIABLE_SHARE * truth_total]
    if identifiable:
        columns = [(tier, m) for tier in identifiable for m in multipliers]
        truth_cells = truth.groupby(["side", "hour"])["notional"].sum()
        cells = basis.pivot_table(
            index=["side", "hour"], columns=["leverage", "multiplier"], values="notional", aggfunc="sum"
        )
        index = cells.index.union(truth_cells.index)
        design = cells.reindex(index=index, columns=pd.MultiIndex.from_tuples(columns)).fillna(0.0)
        target = truth_cells.reindex(index).fillna(0.0).to_numpy()
        scale = design.to_numpy().max() or 1.0
        coefficients, _ = nnls(design.to_numpy() / scale, target / scale)
        total = float(coefficients.sum())
        mass = sum(prior[t] for t in identifiable)
        if total > 0:
            cap = min(1.0, mass / total)
            for tier in identifiable:
                cs = [(m, c) for (t, m), c in zip(columns, coefficients, strict=True) if t == tier and c > 0]
                weight = sum(c for _, c in cs)
                fitted[tier] = weight * cap
                fitted_parts[tier] = {m: c * cap for m, c in cs}
                if weight > 0:
                    fitted_rate[tier] = sum(c * _rate(base_half_life_hours * m) for m, c in cs) / weight
        else:
            identifiable = []
    blend = (n / (n + prior_strength) if prior_strength > 0 else 1.0) if identifiable else 0.0
    prior_rate = _rate(base_half_life_hours * prior_multiplier)
    rows = []
    for tier in tiers:
        rate_fit = fitted_rate[tier] if not math.isnan(fitted_rate[tier]) else prior_rate
        rate = blend * rate_fit + (1 - blend) * prior_rate
        components = {m: blend * w for m, w in fitted_parts[tier].items()}
        components[prior_multiplier] = components.get(prior_multiplier, 0.0) + (1 - blend) * prior[tier]
        rows.append(
            {
                "leverage": tier,
                "weight": blend * fitted[tier] + (1 - blend) * prior[tier],
                "components": sorted((m, w) for m, w in components.items() if w > 1e-12),
                "prior_weight": prior[tier],
                "fitted_weight": fitted[tier],
                "half_life_hours": math.log(2) / rate if rate > 0 else math.inf,
                "truth_count": n,
                "blend": blend,
                "identifiable": tier in identifiable,
            }
        )
    return pd.DataFrame(rows)


def check_multipliers(multipliers) -> tuple[float, ...]:
    """The lifetime candidates as sorted floats ("inf" or None = lives until reached); inf must be one
    (the reach of a tier, which decides whether it is identifiable, is its basis without decay)."""
    out = tuple(sorted({math.inf if m is None or m == "inf" else float(m) for m in multipliers}))
    if not out or out[-1] != math.inf or out[0] <= 0:
        raise ValueError(f"lifetime multipliers must be positive and include inf; got {list(multipliers)}")
    return out


def _rate(half_life_hours: float) -> float:
    return math.log(2) / half_life_hours if math.isfinite(half_life_hours) and half_life_hours > 0 else 0.0


def lifetime_pieces(
    half_life_hours: float, pieces: int, bucket_minutes: int
) -> list[tuple[float, int | None]]:
    """An exponential survival as `pieces` equal shares, each removed after a fixed number of buckets.

    Piece k (k = 1..pieces) carries 1/pieces of the level and lives for the (k - 1/2)/pieces quantile
    of the survival, -half_life x log2(1 - q), rounded up to whole buckets (at least one). No decay
    (an infinite half-life) is one piece that lives until reached.
    """
    if not math.isfinite(half_life_hours):
        return [(1.0, None)]
    out = []
    for k in range(1, pieces + 1):
        q = (k - 0.5) / pieces
        hours = -half_life_hours * math.log2(1 - q)
        out.append((1.0 / pieces, max(1, math.ceil(hours * 60 / bucket_minutes))))
    return out
