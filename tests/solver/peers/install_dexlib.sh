#!/bin/sh
# Make a node_modules with @paraswap/dex-lib@5.0.6 for dexlib_stable_ng_check.mjs, in $1.
#
# Why not `npm install @paraswap/dex-lib@5.0.6`: its pins @balancer-labs/balancer-maths@^0.0.36 and
# @hashflow/taker-js@^0.4.1 do not resolve on the registry, so the whole install fails. The Curve maths needs only the
# package's own files (npm pack: the published tarball, unchanged) and the five packages they
# require, at the versions dex-lib's package.json pins.
# `./run.sh` runs it for ~/.cache/loopscan/peers, where the peer check looks; for another DIR set
# LOOPSCAN_PEERS_DIR=DIR/node_modules.
set -eu
dir=${1:?usage: install_dexlib.sh DIR}
mkdir -p "$dir/pack"
cd "$dir"
[ -f package.json ] || echo '{"name":"loopscan-peers","private":true}' > package.json
npm install --no-audit --no-fund --ignore-scripts --save-exact \
  lodash@4.17.21 bignumber.js@9.1.0 ethers@5.7.2 @paraswap/core@2.4.3 node-cache@5.1.2
(cd pack && npm pack @paraswap/dex-lib@5.0.6 && tar xzf paraswap-dex-lib-5.0.6.tgz)
rm -rf node_modules/@paraswap/dex-lib
cp -r pack/package node_modules/@paraswap/dex-lib
