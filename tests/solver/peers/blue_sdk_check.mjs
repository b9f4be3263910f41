// Peer check for loopscan/maths/morpho.py, adaptive_curve_irm.py and morpho_liquidation.py:
// Morpho's own @morpho-org/blue-sdk on the same inputs.
//
// stdin: a JSON array of cases (integers as decimal strings); stdout: a JSON array of results,
// one per case, integers as decimal strings (null where the SDK answers undefined/null).
// The SDK is loaded from $LOOPSCAN_PEERS_DIR (a node_modules directory), by default the
// repository's own node_modules. Exit code 3: the SDK is not installed there.
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const peersDir = process.env.LOOPSCAN_PEERS_DIR || resolve(here, "../../../node_modules");
if (!existsSync(join(peersDir, "@morpho-org/blue-sdk/package.json"))) {
  process.stderr.write(`@morpho-org/blue-sdk not found in ${peersDir}\n`);
  process.exit(3);
}
const require = createRequire(join(peersDir, "_peer_check_.js"));
const { MarketUtils, Market, MarketParams, AdaptiveCurveIrmLib } = require("@morpho-org/blue-sdk");
const sdkVersion = JSON.parse(readFileSync(join(peersDir, "@morpho-org/blue-sdk/package.json"), "utf8")).version;

const big = (v) => (v === undefined || v === null ? null : typeof v === "boolean" ? v : v.toString());
const ZERO = "0x0000000000000000000000000000000000000000";
const IRM = "0x0000000000000000000000000000000000000001";

function check(c) {
  const B = (k) => BigInt(c[k]);
  const params = { lltv: B("lltv") };
  const market = {
    totalSupplyAssets: B("totalSupplyAssets"),
    totalSupplyShares: B("totalSupplyShares"),
    totalBorrowAssets: B("totalBorrowAssets"),
    totalBorrowShares: B("totalBorrowShares"),
    price: B("price"),
  };
  const position = { collateral: B("collateral"), borrowShares: B("borrowShares") };
  const out = {
    lif: MarketUtils.getLiquidationIncentiveFactor(params),
    isHealthy: MarketUtils.isHealthy(position, { ...market }, params),
    maxBorrow: MarketUtils.getMaxBorrowAssets(position.collateral, { ...market }, params),
    seizedForShares: MarketUtils.getLiquidationSeizedAssets(B("repaidShares"), { ...market }, params),
    sharesForSeized: MarketUtils.getLiquidationRepaidShares(B("seizedAssets"), { ...market }, params),
    seizable: MarketUtils.getSeizableCollateral(position, { ...market }, params),
    borrowAssetsUp: MarketUtils.toBorrowAssets(B("shares"), market, "Up"),
    borrowAssetsDown: MarketUtils.toBorrowAssets(B("shares"), market, "Down"),
    borrowSharesUp: MarketUtils.toBorrowShares(B("assets"), market, "Up"),
    borrowSharesDown: MarketUtils.toBorrowShares(B("assets"), market, "Down"),
    supplyAssetsDown: MarketUtils.toSupplyAssets(B("shares"), market, "Down"),
    supplySharesDown: MarketUtils.toSupplyShares(B("assets"), market, "Down"),
  };
  // Interest: Market.accrueInterest runs AdaptiveCurveIrmLib.getBorrowRate then getAccruedInterest.
  const m = new Market({
    params: new MarketParams({ loanToken: ZERO, collateralToken: ZERO, oracle: ZERO, irm: IRM, lltv: B("lltv") }),
    totalSupplyAssets: market.totalSupplyAssets,
    totalBorrowAssets: market.totalBorrowAssets,
    totalSupplyShares: market.totalSupplyShares,
    totalBorrowShares: market.totalBorrowShares,
    lastUpdate: B("lastUpdate"),
    fee: B("fee"),
    rateAtTarget: B("rateAtTarget"),
  });
  const rates = AdaptiveCurveIrmLib.getBorrowRate(m.utilization, B("rateAtTarget"), B("timestamp") - B("lastUpdate"));
  const accrued = m.accrueInterest(B("timestamp"));
  out.avgBorrowRate = rates.avgBorrowRate;
  out.endRateAtTarget = rates.endRateAtTarget;
  out.accrued = [accrued.totalSupplyAssets, accrued.totalSupplyShares, accrued.totalBorrowAssets, accrued.totalBorrowShares];
  const { interest, feeShares } = MarketUtils.getAccruedInterest(B("borrowRate"), market_with_fee(market, B("fee")), B("elapsed"));
  out.interest = interest;
  out.feeShares = feeShares;
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Array.isArray(v) ? v.map(big) : big(v)]));
}

function market_with_fee(market, fee) {
  return { ...market, fee };
}

const cases = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify({ sdk: sdkVersion, results: cases.map(check) }));
