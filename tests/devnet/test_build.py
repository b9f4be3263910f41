"""The build cache: keyed by sources, compiler and settings; any imported file invalidates it."""

from __future__ import annotations

import pytest

from loopscan.devnet import build
from loopscan.devnet.build import Artifacts, CompileUnit, link
from loopscan.devnet.errors import BuildError


@pytest.fixture
def tmp_project(tmp_path):
    root = tmp_path / "project"
    (root / "contracts").mkdir(parents=True)
    (root / "node_modules").symlink_to(build.project_root() / "node_modules")
    (root / "contracts" / "Lib.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.20;\nlibrary Lib { function one() internal pure returns (uint) { return 1; } }\n"
    )
    (root / "contracts" / "A.sol").write_text(
        '// SPDX-License-Identifier: MIT\npragma solidity ^0.8.20;\nimport "./Lib.sol";\n'
        "contract A { function f() external pure returns (uint) { return Lib.one(); } }\n"
    )
    return root


def _unit() -> CompileUnit:
    return CompileUnit("t", "solc0826", ("contracts/A.sol",), via_ir=False, runs=200, evm_version="cancun", origin="test")


def test_second_build_is_served_from_cache_until_an_import_changes(tmp_project, tmp_path, monkeypatch):
    compiles = []
    real = Artifacts._compile

    def counting(self, unit):
        compiles.append(unit.name)
        return real(self, unit)

    monkeypatch.setattr(Artifacts, "_compile", counting)
    monkeypatch.setitem(build.UNITS, "t", _unit())
    cache = tmp_path / "cache"
    first = Artifacts(tmp_project, cache).compiled("t", "A")
    again = Artifacts(tmp_project, cache).compiled("t", "A")
    assert compiles == ["t"] and first == again
    # Editing a file that is only imported (not an entry source) must invalidate the entry.
    lib = tmp_project / "contracts" / "Lib.sol"
    lib.write_text(lib.read_text().replace("return 1;", "return 2;"))
    changed = Artifacts(tmp_project, cache).compiled("t", "A")
    assert compiles == ["t", "t"] and changed.bytecode != first.bytecode


def test_compile_error_is_reported_with_the_unit(tmp_project, tmp_path, monkeypatch):
    (tmp_project / "contracts" / "A.sol").write_text("pragma solidity ^0.8.20; contract A { oops }")
    monkeypatch.setitem(build.UNITS, "t", _unit())
    with pytest.raises(BuildError, match="compiling unit t failed"):
        Artifacts(tmp_project, tmp_path / "cache").compiled("t", "A")


def test_link_writes_each_library_at_its_offsets():
    pool = Artifacts().published("@aave/core-v3/artifacts/contracts/protocol/pool/Pool.sol/Pool.json")
    libs = {name: "0x" + f"{i + 1:040x}" for i, name in enumerate(
        ["BorrowLogic", "BridgeLogic", "EModeLogic", "FlashLoanLogic", "LiquidationLogic", "PoolLogic", "SupplyLogic"]
    )}  # fmt: skip
    code = link(pool, libs)
    assert "__$" not in code and len(code) == len(pool.bytecode)
    for refs in pool.link_references.values():
        for lib, places in refs.items():
            for place in places:
                start = 2 * place["start"]
                assert code[start : start + 40] == libs[lib][2:]
    missing = dict(libs)
    del missing["PoolLogic"]
    with pytest.raises(BuildError, match="needs library PoolLogic"):
        link(pool, missing)
