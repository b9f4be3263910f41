"""Plots of a stream-2025 scan: the cascade curve, a cascade's rounds, the look-through exposure.

Each plot is written as PNG and SVG; what is drawn is read back from the figure's artists and
compared with the result it came from. A symbol full of mathtext syntax is drawn as itself.
"""

from __future__ import annotations

import dataclasses
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from loopscan.errors import LoopscanError
from loopscan.report.plots import FORMATS, default_rounds_shock, label, plain, plot
from loopscan.result import analyse

ARTEFACTS = Path(__file__).parents[2] / "test-artifacts"
EVIL = "x$U\\S_D^{}$\\$ \x1b[31m"  # mathtext and an ANSI escape: must be drawn as read


@pytest.fixture(scope="module")
def scan(stream_result, stream_session):
    """(result, xUSD address) of the seeded stream-2025."""
    return stream_result, stream_session.manifest["tokens"]["xUSD"]["address"].lower()


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _written(fig_of_path, tmp_path: Path, name: str) -> Figure:
    """Write the plot as PNG and SVG; both well-formed, non-empty, of a sane size."""
    fig = None
    for fmt in FORMATS:
        path = tmp_path / f"{name}.{fmt}"
        fig = fig_of_path(path)
        assert isinstance(fig, Figure) and path.stat().st_size > 5_000
    width, height = _png_size(tmp_path / f"{name}.png")
    assert 600 <= width <= 2_500 and 400 <= height <= 2_500, (width, height)
    root = ET.parse(tmp_path / f"{name}.svg").getroot()
    assert root.tag.endswith("svg")
    return fig


def _by_gid(artists, gid: str):
    found = [a for a in artists if a.get_gid() == gid]
    assert found, f"no artist {gid!r}"
    return found


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text)]


@pytest.mark.devnet
def test_cascade_curve_draws_the_solvers_curve_and_its_thresholds(scan, tmp_path):
    result, xusd = scan
    fig = _written(lambda p: plot(result, "cascade", "xUSD", p), tmp_path, "cascade")
    ax = fig.axes[0]
    curve = result.curve(xusd)
    (line,) = _by_gid(ax.lines, "cascade-curve")
    assert list(line.get_xdata()) == pytest.approx(list(100 * curve["shock_frac"]))
    assert list(line.get_ydata()) == pytest.approx(list(100 * curve["final_depeg_frac"]))
    (diagonal,) = _by_gid(ax.lines, "diagonal")
    assert list(diagonal.get_xdata()) == list(diagonal.get_ydata()) == [0, 100]
    row = result.thresholds[(result.thresholds["token"] == xusd) & (result.thresholds["shock"] == "depeg")].iloc[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    # On stream-2025 a Gearbox credit account opens first (9.02 %); δ_c and δ_bd coincide at 12.57 %.
    for column, sharing in (("first_liquidation_frac", 1), ("cascade_frac", 2), ("bad_debt_frac", 2)):
        (marker,) = _by_gid(ax.lines, f"threshold:{column}")
        x = 100 * row[column]
        assert list(marker.get_xdata()) == pytest.approx([x, x])
        assert sum(f"{x:.2f} %" in text for text in legend) == sharing
    assert row["first_liquidation_frac"] == pytest.approx(0.090156, abs=1e-6)
    assert "Cascade curve of xUSD" in fig.get_suptitle()
    assert ax.get_xlabel() == "initial shock: market depeg of xUSD (%)"
    assert ax.get_ylabel() == "final depeg of xUSD after the cascade (%)"
    ARTEFACTS.mkdir(exist_ok=True)
    plot(result, "cascade", xusd, ARTEFACTS / "cascade-xUSD.png")
    assert _png_size(ARTEFACTS / "cascade-xUSD.png")[0] >= 600


@pytest.mark.devnet
def test_a_threshold_never_reached_is_a_legend_entry_without_a_line(scan, tmp_path):
    result, _ = scan
    fig = plot(result, "cascade", "sdeUSD", tmp_path / "sdeusd.png")
    (marker,) = _by_gid(fig.axes[0].lines, "threshold:cascade_frac")
    assert len(marker.get_xdata()) == 0
    assert any(t.get_text().endswith("cascade: never up to 100 %") for t in fig.axes[0].get_legend().get_texts())


@pytest.mark.devnet
def test_unwind_draws_the_depth_table(scan, tmp_path):
    result, xusd = scan
    fig = _written(lambda p: plot(result, "unwind", "xUSD", p), tmp_path, "unwind")
    ax = fig.axes[0]
    depth = result.depth[result.depth["token"] == xusd]
    (absorbed,) = _by_gid(ax.lines, "absorbable")
    (opened,) = _by_gid(ax.lines, "liquidatable")
    assert list(absorbed.get_xdata()) == pytest.approx(list(100 * depth["level_frac"]))
    assert list(absorbed.get_ydata()) == pytest.approx(list(depth["absorbable_usd"]))
    shown = [y for y in opened.get_ydata() if y == y]  # levels opening nothing are not drawn (log scale)
    assert shown == pytest.approx([v for v in depth["liquidatable_usd"] if v > 0])
    assert ax.get_yscale() == "log" and "Unwind of xUSD" in fig.get_suptitle()
    no_pool = plot(result, "unwind", "sdeUSD")  # no pool read: said, no line drawn
    assert any("not computable" in t.get_text() for t in no_pool.axes[0].get_legend().get_texts())


@pytest.mark.devnet
def test_backing_loss_curve(scan, tmp_path):
    result, xusd = scan
    fig = plot(result, "cascade", xusd, tmp_path / "bl.png", kind="backing_loss")
    (line,) = _by_gid(fig.axes[0].lines, "cascade-curve")
    assert list(line.get_ydata()) == pytest.approx(list(100 * result.curve(xusd, "backing_loss")["final_depeg_frac"]))
    assert "loss of opaque backing" in fig.axes[0].get_xlabel()


@pytest.mark.devnet
def test_rounds_show_volume_and_price_of_each_round(scan, tmp_path):
    result, xusd = scan
    fig = _written(lambda p: plot(result, "rounds", "xUSD", p), tmp_path, "rounds")
    size, why = default_rounds_shock(result, xusd)
    cascade_frac = result.thresholds.query("token == @xusd and shock == 'depeg'")["cascade_frac"].iloc[0]
    assert size == pytest.approx(cascade_frac + 1e-4) and why == "δ_c + 1 bp"
    rounds = result.solver.cascade("depeg", xusd, size).rounds
    ax, twin = fig.axes
    bars = _by_gid(ax.patches, "volume")
    assert [b.get_height() for b in bars] == pytest.approx(list(rounds["volume_usd"] / 1e6))
    assert [b.get_x() + b.get_width() / 2 for b in bars] == pytest.approx(list(rounds["round"]))
    assert rounds["volume_usd"].iloc[0] > 1e6  # the first round liquidates millions
    (price,) = _by_gid(twin.lines, "price")
    start = result.solver.book.p0[xusd]
    assert list(price.get_xdata()) == [0, *rounds["round"]]
    assert list(price.get_ydata()) == pytest.approx([start * (1 - size), *rounds["price"]])
    (before,) = _by_gid(twin.lines, "start_price")
    assert before.get_ydata()[0] == pytest.approx(start)
    assert (
        ax.get_ylabel() == "collateral liquidated (USD millions)" and twin.get_ylabel() == "market price of xUSD (USD)"
    )
    assert "12.58 % market depeg" in fig.get_suptitle()
    chosen = plot(result, "rounds", xusd, size=0.5)
    assert "50.00 %" in chosen.get_suptitle()
    plot(result, "rounds", xusd, ARTEFACTS / "rounds-xUSD.png")


@pytest.mark.devnet
def test_exposure_stacks_each_vaults_look_through(scan, tmp_path):
    result, xusd = scan
    fig = _written(lambda p: plot(result, "exposure", "xUSD", p), tmp_path, "exposure")
    ax = fig.axes[0]
    leaves = result.exposure[result.exposure["kind"] != "market"]
    assert set(leaves["vault"]) == {v for v in result.vaults["vault"]}  # every vault here rests on xUSD
    for r in leaves.itertuples():
        (bar,) = _by_gid(ax.patches, f"exposure:{r.vault}:{r.kind}:{r.target}")
        assert bar.get_width() == pytest.approx(100 * r.fraction)
    (xusd_bars,) = [b for b in ax.patches if b.get_gid() == f"exposure:{xusd}:opaque:{xusd}"]
    assert xusd_bars.get_width() == pytest.approx(91.4186, abs=1e-3)  # xUSD: $231.6M of $253.34M off chain
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 5 and labels[0].startswith("xUSD\ndepth 1")  # the pyramid's base at the bottom
    assert "opaque (xUSD) 91.4 %" in _texts(fig)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["base token USDC", "opaque backing of xUSD"]
    whole = plot(result, "exposure")
    assert len(whole.axes[0].get_yticklabels()) == 5
    plot(result, "exposure", path=ARTEFACTS / "exposure.png")


@pytest.mark.devnet
def test_svg_is_reproducible(scan, tmp_path):
    result, xusd = scan
    plot(result, "cascade", xusd, tmp_path / "a.svg")
    plot(result, "cascade", xusd, tmp_path / "b.svg")
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()


@pytest.mark.devnet
def test_a_symbol_full_of_mathtext_is_drawn_as_read(scan, tmp_path):
    result, xusd = scan
    tokens = result.snapshot.tokens.copy()
    tokens.loc[tokens["address"] == xusd, "symbol"] = EVIL
    evil = analyse(dataclasses.replace(result.snapshot, tokens=tokens))
    shown = "x$U\\S_D^{}$\\$ \\x1b[31m"  # the escape character shown as text, the rest as read
    for what in ("cascade", "rounds", "exposure"):
        for fmt in FORMATS:
            fig = plot(evil, what, xusd, tmp_path / f"{what}.{fmt}")  # renders: mathtext would raise on `^{}`
            assert (tmp_path / f"{what}.{fmt}").stat().st_size > 5_000
        drawn = [t._preprocess_math(t.get_text()) for t in fig.findobj(Text) if "U\\S_D" in t.get_text()]
        assert drawn and all(ismath is False and shown in text for text, ismath in drawn), drawn
    title = plot(evil, "cascade", xusd)._suptitle
    assert title._preprocess_math(title.get_text()) == (
        f"Cascade curve of {shown}: final depeg after liquidations",
        False,
    )


@pytest.mark.parametrize("text", ["$", "$$", "a$b$c", "\\$", "\\\\$x$", "_^{}\\alpha", "$\\frac{1}{0}$", "plain"])
def test_plain_makes_matplotlib_show_text_literally(text):
    t = Text(text=plain(text), usetex=False)
    assert t._preprocess_math(t.get_text()) == (text, False)


def test_label_shows_control_characters_and_cuts_long_symbols():
    assert label("a\nb$") == "a\\x0ab\\$"
    assert len(label("A" * 100)) == 40


@pytest.mark.devnet
def test_bad_requests_are_named_errors(scan, tmp_path):
    result, xusd = scan
    with pytest.raises(LoopscanError, match="unknown plot 'pie'"):
        plot(result, "pie", xusd)
    with pytest.raises(LoopscanError, match=r"\.png or \.svg"):
        plot(result, "cascade", xusd, tmp_path / "x.jpg")
    with pytest.raises(LoopscanError, match="needs a token"):
        plot(result, "cascade")
    with pytest.raises(LoopscanError, match="no token 'NOPE'"):
        plot(result, "cascade", "NOPE")
    usdc = result.snapshot.tokens.query("symbol == 'USDC'")["address"].iloc[0]
    with pytest.raises(LoopscanError, match="not collateral anywhere"):
        plot(result, "cascade", usdc)
    tokens = result.snapshot.tokens.copy()
    tokens.loc[tokens["symbol"] == "sdeUSD", "symbol"] = "xUSD"  # anyone can deploy a token called xUSD
    twins = analyse(dataclasses.replace(result.snapshot, tokens=tokens))
    with pytest.raises(LoopscanError, match="is ambiguous: 2 tokens have that symbol"):
        plot(twins, "cascade", "xUSD")
    assert not list(tmp_path.iterdir())
