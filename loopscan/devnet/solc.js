// Compile one solc standard-JSON input with solc-js, offline.
// stdin: {"solc": "<npm package name, e.g. solc0819>", "roots": ["<dir>", ...], "input": {...}}
// stdout: the compiler's standard-JSON output.
// Imports are resolved against `roots` in order (the project dir, then node_modules), so a
// source unit name such as "@morpho-org/morpho-blue/src/Morpho.sol" maps to the npm package.
const fs = require("fs");
const path = require("path");

const request = JSON.parse(fs.readFileSync(0, "utf8"));
const solc = require(require.resolve(request.solc, { paths: request.roots }));

function findImports(name) {
  for (const root of request.roots) {
    const file = path.join(root, name);
    if (fs.existsSync(file)) return { contents: fs.readFileSync(file, "utf8") };
  }
  return { error: `not found in ${request.roots.join(", ")}: ${name}` };
}

process.stdout.write(solc.compile(JSON.stringify(request.input), { import: findImports }));
