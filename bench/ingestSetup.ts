// What the ingest benchmarks share: flags, the bench client, and a stand-in for heartbeat files off.
import { Effect, Layer, Result } from "effect"
import { parseReceiverConfig } from "../src/config/ReceiverConfig.ts"
import { HeartbeatFiles } from "../src/files/HeartbeatFiles.ts"

/** The value after `--name` on the command line. */
export const flag = (name: string): string | undefined => {
  const at = process.argv.indexOf(name)
  return at > 0 ? process.argv[at + 1] : undefined
}

export const benchResources = 10_000
export const benchToken = "bench-token-0123456789"

const parsed = parseReceiverConfig(`
enabled: true
notify_devilry_sleep: 0
queue_threshold: 1000000
grace_period: 0
clients:
  Bench:
    token: ${benchToken}
    timeout: 60
`, "bench")
if (Result.isFailure(parsed)) throw new Error(parsed.failure.join("\n"))
/** One client, its resources discovered from heartbeats, no grace period, no pacing. */
export const benchConfig = parsed.success

/** Heartbeat files off (`--no-heartbeat-files`): nothing to write, nothing to flush. */
export const noHeartbeatFiles = Layer.succeed(HeartbeatFiles)({
  flush: Effect.void,
  counters: () => ({ flushes: 0, filesWritten: 0, writeErrors: 0, rotations: 0, historyLinesDropped: 0, lagSeconds: 0 })
})
