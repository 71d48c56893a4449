// The cron sender's cost: wall time of one `heartbeat-mesh sender` run (process start to exit)
// to three receivers, one of them refusing connections; and a run's cold start (a disabled
// config: Node, our modules, nothing sent). Median of several runs; also the very first run with an
// empty compile cache. And the cost of the plugins (issue 20): the same three receivers with every
// plugin on (a Nagios check included) and due at every run, paired run by run with the plain sender,
// compared on CPU time (the process and its children); the target is a median ratio of at most 1.5.
// Prints one JSON line.
//   node bench/sender.ts [--quick]
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
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
const check = join(dir, "check_ok")
writeFileSync(check, "#!/bin/sh\necho 'OK - fine | t=1s'\n", { mode: 0o755 })
// interval 0.001: every plugin is due at every run (the worst case; under cron most wait their turn).
const due = "{ interval: 0.001 }"
const allPlugins = join(dir, "plugins.yaml")
writeFileSync(allPlugins, `state_file: ${join(dir, "state.json")}
plugins:
  cpu: ${due}
  memory: ${due}
  disk: ${due}
  network: ${due}
  filesystem: ${due}
  os: ${due}
  nagios: { interval: 0.001, checks: [{ name: check_ok, cmd: ["${check}"] }] }
thresholds:
  memory.percent: { warning: 80, critical: 95, hysteresis: 2 }
  disk.*.percent: { warning: 85, critical: 95 }
  cpu.percent: { warning: 90 }
` + readFileSync(threeReceivers, "utf8"))
const disabled = join(dir, "disabled.yaml")
writeFileSync(disabled, "enabled: false\n")

const wallMs = (config: string, env: Record<string, string> = {}) => {
  const started = performance.now()
  const run = spawnSync(node, [cli, "sender", "--config", config], { env: { ...process.env, ...env }, encoding: "utf8" })
  const elapsed = performance.now() - started
  if (run.status !== 0) throw new Error(`sender failed: ${run.stderr}`)
  return elapsed
}
/**
 * CPU (user + system) of the children this process has waited for, in ms: fields 16 and 17 of
 * /proc/self/stat (clock ticks, 100 per second). Unlike wall time it hardly moves when other work
 * shares the machine, so the plugin cost is compared on it.
 */
const childrenCpuMs = () => {
  const stat = readFileSync("/proc/self/stat", "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[13]) + Number(fields[14])) * 10
}
const cpuMs = (config: string) => {
  const before = childrenCpuMs()
  wallMs(config)
  return childrenCpuMs() - before
}
const median = (values: Array<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const uncachedMs = wallMs(disabled, { NODE_COMPILE_CACHE: mkdtempSync(join(tmpdir(), "hbm-cache-")) })
wallMs(disabled) // warms the default compile cache, as every cron run after the first finds it
const cold = Array.from({ length: runs }, () => wallMs(disabled))
const oneRefused = Array.from({ length: runs }, () => wallMs(threeReceivers))
const plainCpu: Array<number> = []
const pluginsCpu: Array<number> = []
const pluginRatios: Array<number> = []
for (let i = 0; i < runs; i++) {
  // Paired: plain then with plugins, so a drift in the machine's speed hits both alike.
  const plain = cpuMs(threeReceivers)
  const plugins = cpuMs(allPlugins)
  plainCpu.push(plain)
  pluginsCpu.push(plugins)
  pluginRatios.push(plugins / plain)
}
await new Promise((r) => setTimeout(r, 200))
for (const socket of receivers) socket.close()
if (received !== 6 * runs) throw new Error(`receivers got ${received} heartbeats, expected ${6 * runs}`)
const round = (ms: number) => Math.round(ms)
console.log(JSON.stringify({
  runs,
  wallMsOneRefused: round(median(oneRefused)),
  cpuMsPlain: round(median(plainCpu)),
  cpuMsAllPlugins: round(median(pluginsCpu)),
  pluginCostRatio: Math.round(median(pluginRatios) * 100) / 100,
  coldStartMs: round(median(cold)),
  firstRunUncachedMs: round(uncachedMs),
  heartbeatsDelivered: received
}))
process.exit(0)
