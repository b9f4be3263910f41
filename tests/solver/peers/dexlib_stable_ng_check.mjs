// Peer check for loopscan/protocols/curve/ng.py: @paraswap/dex-lib's stable-NG maths
// (build/dex/curve-v1-factory/price-handlers, implementation "factory_stable_ng", the one
// build/dex/curve-v1-stable-ng uses) on the same pools, composed by dex-lib's own PriceHandler.
//
// stdin: a JSON array of cases (integers as decimal strings); stdout: {"lib": version, "results"}
// with one {"dy", "fee"} per case, integers as decimal strings, "error: ..." where dex-lib throws.
// dex-lib's state holds A as A() * A_PRECISION (state-polling-pools/factory-pool-polling.js), as
// the NG views' get_dy does: the caller passes that. dex-lib@5.0.6 cannot be installed with its
// whole dependency tree from the registry (two of its pins do not resolve), so it is not in
// package.json: tests/solver/peers/install_dexlib.sh puts its published files in a node_modules of
// their own, which `./run.sh` does in ${LOOPSCAN_CACHE:-~/.cache/loopscan}/peers. It is loaded from
// the first of $LOOPSCAN_PEERS_DIR, the repository's node_modules and that cache that has it.
// Exit code 3: none has it.
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const cache = process.env.LOOPSCAN_CACHE || join(homedir(), ".cache", "loopscan");
const candidates = [process.env.LOOPSCAN_PEERS_DIR, resolve(here, "../../../node_modules"), join(cache, "peers", "node_modules")];
const peersDir = candidates.find((d) => d && existsSync(join(d, "@paraswap/dex-lib/package.json")));
if (!peersDir) {
  process.stderr.write(`@paraswap/dex-lib not found in ${candidates.filter(Boolean).join(", ")}\n`);
  process.exit(3);
}
const require = createRequire(join(peersDir, "_peer_check_.js"));
const { PriceHandler } = require("@paraswap/dex-lib/build/dex/curve-v1-factory/price-handlers/price-handler");
const version = JSON.parse(readFileSync(join(peersDir, "@paraswap/dex-lib/package.json"), "utf8")).version;
const handler = PriceHandler.getPriceHandlerFromImplementationName("factory_stable_ng");

function check(c) {
  const state = {
    balances: c.balances.map(BigInt),
    storedRates: c.rates.map(BigInt),
    A: BigInt(c.A),
    fee: BigInt(c.fee),
    offpeg_fee_multiplier: BigInt(c.offpeg),
    n_coins: c.balances.length,
  };
  const xp = state.balances.map((b, k) => (b * state.storedRates[k]) / 10n ** 18n);
  const out = {};
  try {
    out.dy = handler.get_dy(handler, state, c.i, c.j, BigInt(c.dx)).toString();
  } catch (e) {
    out.dy = `error: ${e.message}`;
  }
  try {
    out.fee = handler._dynamic_fee(handler, xp[c.i], xp[c.j], state.fee, state.offpeg_fee_multiplier).toString();
  } catch (e) {
    out.fee = `error: ${e.message}`;
  }
  return out;
}

const cases = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify({ lib: version, results: cases.map(check) }));
