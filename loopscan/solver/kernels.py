"""The solver's compiled loops (numba): a pool's health factors and a run of its liquidations.

Imported only where a book has a pooled protocol (`PooledAccounts.health`,
`pooled_round.liquidate_round`): importing numba makes every other cascade some 5 % slower (more
live objects for Python's collector to walk), so books without one never load it. Every function
here mirrors a Python one, named in its docstring, float for float.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from loopscan.protocols import close_factor
from loopscan.solver.exits import SLICES
from loopscan.solver.pooled_round import _CONSTANT, _READS

__all__ = ["health", "liquidate_run", "relative"]

_repay_cap = njit(cache=True)(close_factor.repay_cap)
_seize = njit(cache=True)(close_factor.seize)


@njit(cache=True)
def health(start, leg_reserve, threshold, usable, col, debt, answers):
    """`PooledAccounts.health`: per account, its legs added in order as `of_legs` adds them."""
    n = len(start) - 1
    factor, liquidable = np.full(n, np.nan), np.zeros(n, dtype=np.bool_)
    for a in range(n):
        weighted, debt_value, owes, holds = 0.0, 0.0, False, False
        for k in range(start[a], start[a + 1]):
            answer = answers[leg_reserve[k]]
            weighted += col[k] * answer * threshold[k]
            debt_value += debt[k] * answer
            if usable[k]:
                owes, holds = owes or debt[k] > 0, holds or col[k] > 0
        if debt_value > 0:
            factor[a] = weighted / debt_value
        liquidable[a] = owes and holds
    return factor, liquidable


@njit(cache=True)
def relative(v, amount, shocked, base, v_float, v_is0, v_pieces, pieces):
    """`Exit.relative`: venue v's marginal price after selling `amount` from the pin (`Segments`),
    relative to the exit's best at the pin; exact where the splits start (`base`)."""
    if amount == shocked[v]:
        return base[v]
    first, last = v_pieces[v], v_pieces[v + 1]
    start, sqrt_price, liquidity, reach, end = pieces[0], pieces[1], pieces[2], pieces[3], pieces[4]
    # the piece the sale ends in: the last one it enters (a sale of exactly a piece's start input
    # ends where the piece before it reached its target, before any hop over a range without liquidity)
    k = first + np.searchsorted(start[first:last], amount, side="left") - 1
    if k < first:  # nothing sold
        s = sqrt_price[first]
    else:
        s, depth = sqrt_price[k], liquidity[k]
        if depth > 0:
            less = np.floor((amount - start[k]) * (1e6 - v_float[2, v]) / 1e6)
            if less >= reach[k]:
                s = end[k]
            elif v_is0[v]:
                s = depth * s / (depth + less * s)
            else:
                s = s + less / depth
    square = s * s
    return (square if v_is0[v] else 1.0 / square) / v_float[0, v] * v_float[1, v]


@njit(cache=True)
def _reprice(t, sold, t_p0, t_scale, t_venues, target, shocked, base, priced, parts, moved, setter, v_float, v_is0, v_pieces, pieces):
    """`Pricer.market` of token t after its sales: its exit split (`Exit.split`, on top of the parts
    it was last split into) and priced (`Exit.price`), capped at the shock's price."""
    amount = np.floor(sold[t] * t_scale[t])
    if amount == 0 or t_venues[t + 1] == t_venues[t]:  # nothing sold, or no venue: the shock alone
        return t_p0[t] * target[t]
    if amount != priced[t]:
        first, last = t_venues[t], t_venues[t + 1]
        if priced[t] >= 0 and amount >= priced[t]:
            left = amount - priced[t]
        else:  # the first split: on top of the shock's own sale
            left = amount
            parts[first:last] = shocked[first:last]
        if last - first == 1:
            parts[first] += left
        else:  # greedy slices of 1/SLICES of all sold into the exit so far, each to the best venue then
            size = np.ceil((parts[first:last].sum() + left) / SLICES)
            now = np.empty(last - first)
            for v in range(first, last):
                now[v - first] = relative(v, parts[v], shocked, base, v_float, v_is0, v_pieces, pieces)
            while left > 0:
                k = np.argmax(now)
                take = min(size, left)
                parts[first + k] += take
                left -= take
                now[k] = relative(first + k, parts[first + k], shocked, base, v_float, v_is0, v_pieces, pieces)
        best, at = -np.inf, 0
        for v in range(first, last):
            found = relative(v, parts[v], shocked, base, v_float, v_is0, v_pieces, pieces)
            if found > best:
                best, at = found, v - first
        priced[t], moved[t], setter[t] = amount, best, at
    return t_p0[t] * min(moved[t], target[t])


@njit(cache=True)
def _read(t, r_kind, r_reads, r_oracle0, answers, sold, t_p0, t_scale, t_venues, target, shocked, base, priced, parts, moved,
          setter, v_float, v_is0, v_pieces, pieces, dirty, market):  # fmt: skip
    """`Pricer.market` of token t, worked out anew if a sale marked it (`dirty`), and then the
    oracle answers that follow it (`Pricer.oracle`)."""
    if dirty[t]:
        market[t] = _reprice(t, sold, t_p0, t_scale, t_venues, target, shocked, base, priced, parts, moved, setter, v_float, v_is0,
                             v_pieces, pieces)  # fmt: skip
        dirty[t] = False
        ratio = market[t] / t_p0[t] if t_p0[t] else 1.0
        for q in range(len(r_kind)):
            if r_kind[q] == _READS and r_reads[q] == t:
                answers[q] = r_oracle0[q] * ratio
    return market[t]


@njit(cache=True)
def liquidate_run(items, start, leg_reserve, threshold, bonus, usable, col, debt, stranded, settled, r_token, r_kind, r_reads, r_oracle0,
           r_capped, answers, t_p0, t_scale, t_venues, target, v_float, v_is0, v_pieces, pieces, shocked, base, sold, dirty, market,
           priced, parts, moved, setter, out_c, out_d, out_seized, out_repaid, out_usd, volume):  # fmt: skip
    """`liquidation.liquidate_pooled` for each account of `items` in turn (`pooled_round`). A sale marks its token's
    price to be worked out again when next read (`Pricer.refresh`: unless its venues are used up),
    and a read of it works out the price and every oracle answer that follows it (`Pricer.oracle`)."""
    done = 0
    for a in items:
        if stranded[a]:
            continue
        weighted, debt_value = 0.0, 0.0
        d_leg, c_leg, most_debt, most_col, owes, holds = -1, -1, 0.0, 0.0, False, False
        for k in range(start[a], start[a + 1]):
            r = leg_reserve[k]
            if r_kind[r] == _CONSTANT:
                answer = r_oracle0[r]
            else:
                t = r_reads[r]
                if dirty[t] or np.isnan(answers[r]):
                    ratio = _read(t, r_kind, r_reads, r_oracle0, answers, sold, t_p0, t_scale, t_venues, target, shocked, base, priced,
                                  parts, moved, setter, v_float, v_is0, v_pieces, pieces, dirty, market) / t_p0[t] if t_p0[t] else 1.0  # fmt: skip
                    answers[r] = r_oracle0[r] * ratio
                answer = answers[r]
            held, owed = col[k] * answer, debt[k] * answer
            weighted += held * threshold[k]
            debt_value += owed
            if usable[k]:
                owes, holds = owes or debt[k] > 0, holds or col[k] > 0
                if d_leg < 0 or owed > most_debt:
                    d_leg, most_debt = k, owed
                if c_leg < 0 or held > most_col:
                    c_leg, most_col = k, held
        if debt_value <= 0:
            continue
        health = weighted / debt_value
        if health >= 1.0 or not (owes and holds):
            continue
        c_res, d_res = leg_reserve[c_leg], leg_reserve[d_leg]
        collateral = col[c_leg]
        ans_c = r_oracle0[c_res] if r_kind[c_res] == _CONSTANT else answers[c_res]
        ans_d = r_oracle0[d_res] if r_kind[d_res] == _CONSTANT else answers[d_res]
        if collateral <= 0 or ans_c <= 0:
            # every leg a liquidator may seize holds nothing or is priced at nothing: it stays so
            if settled:
                empty = True
                for k in range(start[a], start[a + 1]):
                    r = leg_reserve[k]
                    if usable[k] and not (col[k] <= 0 or (r_oracle0[r] if r_kind[r] == _CONSTANT else answers[r]) <= 0):
                        empty = False
                if empty:
                    stranded[a] = True
            continue
        owing = debt[d_leg]
        repay = _repay_cap(health, r_capped[d_res], owing, owing * ans_d, collateral * ans_c, debt_value)
        seized, repay = _seize(repay, ans_d, ans_c, bonus[c_leg], collateral)
        token, paid_in = r_token[c_res], r_token[d_res]
        for t in (token, paid_in):  # `Pricer.market` of the collateral, then of the debt
            if dirty[t]:
                _read(t, r_kind, r_reads, r_oracle0, answers, sold, t_p0, t_scale, t_venues, target, shocked, base, priced, parts,
                      moved, setter, v_float, v_is0, v_pieces, pieces, dirty, market)  # fmt: skip
        p_col, p_debt = market[token], market[paid_in]
        if seized * p_col < repay * p_debt:
            continue
        col[c_leg] -= seized
        debt[d_leg] -= repay
        out_c[done], out_d[done], out_seized[done], out_repaid[done], out_usd[done] = c_leg, d_leg, seized, repay, seized * p_col
        done += 1
        volume += seized * p_col
        if seized > 0:
            sold[token] += seized
        first, last = t_venues[token], t_venues[token + 1]
        if last > first:  # `Pricer.moves_with_sales`: unless every venue was used up when last priced
            used_up = priced[token] >= 0
            for v in range(first, last):
                used_up = used_up and parts[v] > v_float[3, v]
            dirty[token] = dirty[token] or not used_up
    return done, volume
