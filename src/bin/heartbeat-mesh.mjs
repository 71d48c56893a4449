#!/usr/bin/env node
// Entry point of the `heartbeat-mesh` command. Checks the Node.js version before loading any
// TypeScript, so a wrong Node fails with a sentence instead of a syntax error.
import module from "node:module"
import { checkNodeVersion } from "./check-node.mjs"

checkNodeVersion()
// The sender runs every minute on every host: keep V8's compiled code on disk between runs
// (NODE_COMPILE_CACHE overrides the folder). Measured here: see bench/ and the README.
module.enableCompileCache?.()
// The sender's plain cron run (`heartbeat-mesh sender [--config FILE]`) skips the command-line
// parser, as the packaged heartbeat-mesh-sender does (src/cli/plainSenderRun.ts).
const [command, ...args] = process.argv.slice(2)
const { plainSenderRun } = command === "sender" ? await import("../cli/plainSenderRun.ts") : {}
const plain = plainSenderRun?.(args, process.env)
if (plain !== undefined) {
  const { runPlainSender } = await import("../cli/runPlainSender.ts")
  runPlainSender(plain)
} else {
  await import("../cli/main.ts")
}
