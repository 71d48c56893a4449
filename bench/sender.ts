// The cron sender's cost: wall time of one `heartbeat-mesh sender` run (process start to exit)
// to three receivers, one of them refusing connections; and a run's cold start (a disabled
// config: Node, our modules, nothing sent). Median of several runs; also the very first run with an
// empty compile cache. Prints one JSON line.
//   node bench/sender.ts [--quick]
import { spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Pull } from "zeromq"

const quick = process.argv.includes("--quick")
const runs = quick ? 3 : 10
const root = resolve(import.meta.dirname, "..")
const node = join(root, "node_modules/.bin/node")
const cli = join(root, "src/bin/heartbeat-mesh.mjs")
const dir = mkdtempSync(join(tmpdir(), "hbm-bench-sender-"))

const closedPort = await new Promise<number>((done) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    server.close(() => done(typeof address === "object" && address !== null ? address.port : 0))
  })
})
const receivers = [new Pull(), new Pull()]
for (const socket of receivers) await socket.bind("tcp://127.0.0.1:*")
let received = 0
for (const socket of receivers) void (async () => { for await (const _ of socket) received++ })()
const port = (socket: Pull) => socket.lastEndpoint!.split(":").at(-1)

const threeReceivers = join(dir, "sender.yaml")
writeFileSync(threeReceivers, `enabled: true
receivers:
  127.0.0.2:
    port: ${closedPort}
    token: refused
  127.0.0.1:
    port: ${port(receivers[0]!)}
    token: live-one
  localhost:
    port: ${port(receivers[1]!)}
    token: live-two
`)
const disabled = join(dir, "disabled.yaml")
writeFileSync(disabled, "enabled: false\n")

const wallMs = (config: string, env: Record<string, string> = {}) => {
  const started = performance.now()
  const run = spawnSync(node, [cli, "sender", "--config", config], { env: { ...process.env, ...env }, encoding: "utf8" })
  const elapsed = performance.now() - started
  if (run.status !== 0) throw new Error(`sender failed: ${run.stderr}`)
  return elapsed
}
const median = (values: Array<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const uncachedMs = wallMs(disabled, { NODE_COMPILE_CACHE: mkdtempSync(join(tmpdir(), "hbm-cache-")) })
wallMs(disabled) // warms the default compile cache, as every cron run after the first finds it
const cold = Array.from({ length: runs }, () => wallMs(disabled))
const oneRefused = Array.from({ length: runs }, () => wallMs(threeReceivers))
await new Promise((r) => setTimeout(r, 200))
for (const socket of receivers) socket.close()
if (received !== 2 * runs) throw new Error(`receivers got ${received} heartbeats, expected ${2 * runs}`)
const round = (ms: number) => Math.round(ms)
console.log(JSON.stringify({
  runs,
  wallMsOneRefused: round(median(oneRefused)),
  coldStartMs: round(median(cold)),
  firstRunUncachedMs: round(uncachedMs),
  heartbeatsDelivered: received
}))
process.exit(0)
