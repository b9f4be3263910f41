// Peer check for loopscan/protocols/pendle/maths.py: Pendle's own @pendle/core-v2-offchain-math
// (MarketState.swapExactPtForSy) on the same inputs.
//
// stdin: a JSON array of cases (integers as decimal strings); stdout: {"version", "results"}, one
// result per case: the swap's SY out, fee, reserve part and the market's new state, integers as
// decimal strings, or {"error": name} where the library throws. A case {"fn": "ln" | "exp", "x"}
// asks for the library's LogExpMath port alone: {"value"} or {"error"}. The library is loaded from
// $LOOPSCAN_PEERS_DIR (a node_modules directory), by default the repository's own node_modules.
// Exit code 3: it is not installed there.
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const peersDir = process.env.LOOPSCAN_PEERS_DIR || resolve(here, "../../../node_modules");
const pkg = join(peersDir, "@pendle/core-v2-offchain-math/package.json");
if (!existsSync(pkg)) {
  process.stderr.write(`@pendle/core-v2-offchain-math not found in ${peersDir}\n`);
  process.exit(3);
}
const require = createRequire(join(peersDir, "_peer_check_.js"));
const { MarketState, PyIndex, FixedX18 } = require("@pendle/core-v2-offchain-math");
const LogExpMath = require(join(peersDir, "@pendle/core-v2-offchain-math/dist/cjs/FixedX18/LogExpMath.js"));
const version = JSON.parse(readFileSync(pkg, "utf8")).version;

function logExp(c) {
  try {
    return { value: LogExpMath[c.fn](BigInt(c.x)).toString() };
  } catch (e) {
    return { error: e.constructor.name };
  }
}

function swap(c) {
  const B = (k) => BigInt(c[k]);
  const state = new MarketState(
    B("totalPt"), B("totalSy"), 0n, "0x0000000000000000000000000000000000000000",
    FixedX18.fromRawValue(B("scalarRoot")), B("expiry"), FixedX18.fromRawValue(B("lnFeeRateRoot")),
    B("reserveFeePercent"), FixedX18.fromRawValue(B("lastLnImpliedRate")),
  );
  try {
    const r = state.swapExactPtForSy(PyIndex.create(B("pyIndex")), B("ptIn"), B("blockTime"));
    return {
      netSyOut: r.netSyToAccount.toString(),
      netSyFee: r.netSyFee.toString(),
      netSyToReserve: r.netSyToReserve.toString(),
      totalPt: state.totalPt.toString(),
      totalSy: state.totalSy.toString(),
      lastLnImpliedRate: state.lastLnImpliedRate.value.toString(),
    };
  } catch (e) {
    return { error: e.constructor.name };
  }
}

const cases = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify({ version, results: cases.map((c) => (c.fn ? logExp(c) : swap(c))) }));
