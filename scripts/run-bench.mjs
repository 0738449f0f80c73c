#!/usr/bin/env node
// `npm run bench`: the benchmarks under bench/ (see docs/benchmarks.md).
// Not part of `npm test`: timings are measured, never asserted.
import { main } from "../bench/main.mjs";

process.exitCode = await main(process.argv.slice(2));
