#!/usr/bin/env node
// The `zkapi` command. npm links it into node_modules/.bin at `npm ci`, which it does only for
// a file that exists then: this launcher is committed, the program it starts (dist/) is built.
"use strict";
const path = require("node:path");
const program = path.join(__dirname, "..", "dist", "index.js");
try {
    require.resolve(program);
} catch {
    console.error("zkapi is not built yet: run `npm run build` in the repository's root first");
    process.exit(1);
}
require(program);
