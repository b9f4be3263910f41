"""The liquidity haircut (`loopscan.solver.haircut`): values worked by hand, and the haircut Book
against the pool that per-position withdrawals (v3's own rule, removal rounded down) would leave."""

from __future__ import annotations

from fractions import Fraction

import pytest

from loopscan.errors import LoopscanError
from loopscan.protocols.liquidity import kept
from loopscan.protocols.uniswap_v3.swap import price_after_selling
from loopscan.protocols.uniswap_v3.venue import UniswapV3Venue
from loopscan.result import read_haircut_plan
from loopscan.solver.book import Book
from loopscan.solver.book_constants import constants
from loopscan.solver.exits import Exit
from loopscan.solver.haircut import HaircutPlan, haircut
from tests.solver.test_swap_math import enc, pool

E18 = 10**18


def book_of(*pools: UniswapV3Venue) -> Book:
    return Book({}, {}, {}, {}, {}, {p.token: Exit(p.token, (p,), (1.0,)) for p in pools}, {}, {}, [], [])


def exit_pool(name: str, positions: list[tuple[int, int, int]]) -> UniswapV3Venue:
    return UniswapV3Venue(name, "0xtoken" + name, "0xquote", 18, 18, pool(500, 10, enc(1, 1), positions), True)


def venue(book: Book, token: str) -> UniswapV3Venue:
    (found,) = book.exits[token].venues
    return found


def test_kept_worked_by_hand() -> None:
    assert kept(E18 + 1, Fraction(1, 2)) == 5 * 10**17 + 1  # removes floor((1e18 + 1) / 2) = 5e17
    assert kept(-7, Fraction(9, 10)) == -1  # an upper tick: −(7 − floor(6.3))
    assert kept(10, Fraction(9, 10)) == 1 and kept(0, Fraction(1, 2)) == 0


# positions that share no tick, one of them active: each aggregate is one position
POSITIONS = [(-600, 600, 3 * E18 + 7), (1200, 1800, 5 * E18 + 3), (-1800, -1200, 11 * E18 + 1)]


@pytest.mark.parametrize("fraction, exact", [(0.5, Fraction(1, 2)), (0.9, Fraction(9, 10))])
def test_haircut_is_what_per_position_withdrawals_leave(fraction: float, exact: Fraction) -> None:
    original = exit_pool("a", POSITIONS)
    book = book_of(original)
    cut = haircut(book, fraction)
    withdrawn = [(lo, up, lq - lq * exact.numerator // exact.denominator) for lo, up, lq in POSITIONS]
    assert venue(cut, original.token).state == exit_pool("a", withdrawn).state
    assert venue(cut, original.token).state.sqrt_price_x96 == original.state.sqrt_price_x96
    assert venue(book, original.token) is original and original.state.liquidity == 3 * E18 + 7  # not changed
    assert cut is not book and constants(cut) is not constants(book)


def test_half_the_depth_moves_the_price_as_twice_the_sale() -> None:
    """Within one range the amounts are linear in liquidity: selling x into half the liquidity moves
    the price as selling 2x into all of it (to the swap's integer rounding)."""
    even = [(-600, 600, 4 * E18)]
    original, cut = exit_pool("a", even), venue(haircut(book_of(exit_pool("a", even)), 0.5), "0xtokena")
    assert cut.state.liquidity == 2 * E18
    before = price_after_selling(original.state, 0, 2 * 10**16)
    after = price_after_selling(cut.state, 0, 10**16)
    assert after < 1 and abs(after - before) < Fraction(1, 10**15)


def test_only_the_pools_named_and_no_haircut_is_the_same_pools() -> None:
    a, b = exit_pool("a", POSITIONS), exit_pool("b", POSITIONS)
    book = book_of(a, b)
    cut = haircut(book, 0.9, pools=["A"])
    assert venue(cut, b.token) is b and venue(cut, a.token).state.liquidity == kept(a.state.liquidity, Fraction(9, 10))
    assert haircut(book, 0.0).exits == book.exits


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_a_fraction_outside_0_to_1_is_refused(fraction: float) -> None:
    with pytest.raises(LoopscanError, match="liquidity haircut"):
        haircut(book_of(), fraction)


def test_a_plan_cuts_each_pool_by_its_own_then_its_venues_then_the_default() -> None:
    a, b, c = exit_pool("a", POSITIONS), exit_pool("b", POSITIONS), exit_pool("c", POSITIONS)
    book = book_of(a, b, c)
    plan = HaircutPlan(default=0.2, venues={"uniswap_v3": 0.5}, pools={"A": 0.9})
    cut = haircut(book, plan)
    assert venue(cut, a.token).state.liquidity == kept(a.state.liquidity, Fraction(9, 10))  # its own
    assert venue(cut, b.token).state.liquidity == kept(b.state.liquidity, Fraction(1, 2))  # its venue's
    assert haircut(book, HaircutPlan(default=0.2)).exits == haircut(book, 0.2).exits  # the default: every pool
    assert haircut(book, HaircutPlan(pools={"a": 0.9})).exits == haircut(book, 0.9, pools=["a"]).exits
    assert venue(haircut(book, HaircutPlan(pools={"a": 0.9})), c.token) is c  # unnamed, no default: untouched


def test_a_plan_file_and_its_errors(tmp_path) -> None:
    path = tmp_path / "haircut.toml"
    path.write_text('default = 0.5\n[venues]\ncurve = 0.8\n[pools]\n"0xAB" = 0.9\n')
    assert read_haircut_plan(path) == HaircutPlan(0.5, {"curve": 0.8}, {"0xab": 0.9})
    for text, message in [
        ("defualt = 0.5\n", r"unknown key\(s\) defualt; expected default, \[venues\], \[pools\]"),
        ('[pools]\n"0xab" = 1.0\n', r'0xab = 1.0: must be a number at least 0 and below 1'),
        ("[venues]\naave_v3 = 0.5\n", r"unknown aave_v3; venues: uniswap_v3, curve"),
        ("default = \n", r"haircut.toml: "),
    ]:
        path.write_text(text)
        with pytest.raises(LoopscanError, match=message):
            read_haircut_plan(path)
