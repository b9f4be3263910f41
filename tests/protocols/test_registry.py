"""The protocol registry: every protocol is one package, and nothing outside it names it."""

import ast
from pathlib import Path

import pytest

from loopscan.chains import DeploymentsError, parse_deployments
from loopscan.protocols import registry
from loopscan.protocols.registry import UnknownProtocolError

PACKAGE = Path(__file__).resolve().parents[2] / "loopscan"
# The registry is the one list of names. (The devnet reaches each protocol's scenario section,
# deployment and actions through it: `loopscan.devnet.part`.)
EXEMPT = (PACKAGE / "protocols" / "registry.py",)


def _names_and_stems() -> set[str]:
    """Each registered name, and the stem before its version suffix (`aave` of `aave_v3`,
    `morpho` of `morpho_blue`), as `startswith` tests used to match them."""
    found = set(registry.names())
    found |= {n.split("_")[0] for n in registry.names()}
    return found


def _string_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }  # fmt: skip
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]  # fmt: skip


def test_no_module_outside_a_protocol_package_names_a_protocol():
    banned = _names_and_stems()
    packages = {PACKAGE / "protocols" / p for p in registry.PACKAGES}
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if any(path.is_relative_to(p) for p in (*packages, *EXEMPT)):
            continue
        offenders += [f"{path.relative_to(PACKAGE.parent)}:{line}: {value!r}"
                      for line, value in _string_literals(path) if value in banned]  # fmt: skip
    assert offenders == []


def test_every_package_declares_its_specs():
    for name in registry.names():
        spec = registry.spec(name)
        assert spec.role in ("lending", "vaults", "venue")
        assert spec.load("indexer").plan  # every package plans its own indexers
        if spec.role == "lending":
            assert spec.margin in ("isolated", "pooled", "account")
        if spec.role == "lending" and spec.solved:
            rules = spec.load("rules")
            assert rules.ORACLE_QUOTE in ("loan", "numeraire") and isinstance(rules.SOCIALISES_BAD_DEBT, bool)
            if spec.reuse is not None:  # what a backtest's worker asks to carry positions (`protocols.reuse`)
                assert all(callable(getattr(spec.load("reuse"), f)) for f in ("scope", "fetch"))
            if spec.margin == "account":  # what the solver's credit accounts ask of the rules (`solver.accounts`)
                assert all(callable(getattr(rules, f)) for f in ("weighted_values", "liquidatable", "caps", "owed", "reserves", "liquidate_account"))


def test_an_unknown_protocol_is_an_error_naming_it_and_the_known_ones():
    with pytest.raises(UnknownProtocolError, match=r"^snapshot markets: unknown protocol 'compound_v9'; known: aave_v3, "):
        registry.check_names(["morpho_blue", "compound_v9"], "snapshot markets")
    with pytest.raises(UnknownProtocolError, match="'erc4626' is not a lending protocol"):
        registry.by_margin("erc4626")


def test_a_deployments_file_with_an_unknown_protocol_is_refused():
    text = 'chain_id = 1\n[[contracts]]\nprotocol = "compound_v9"\nkind = "comet"\naddress = "0xc3d688B66703497DAA19211EEdff47f25384cdc3"\n'
    with pytest.raises(DeploymentsError, match=r"^x.toml: contracts\[0\] \(compound_v9 comet\)\.protocol: unknown protocol 'compound_v9'"):
        parse_deployments(text, "x", "x.toml")
