// The cron sender's cost per run, side by side with a stand-in for the deployed Python sender
// (bench/baseline/sender.py): CPU time (user + system) and peak RSS of the whole process, one
// receiver that refuses the connection, rounds alternated (ours from source, our bundle with the
// Node the .deb ships, the bundle as the .deb's launcher runs it (with V8's compile cache), the
// baseline), median of each. Targets (issue 11): CPU at most 2x the
// baseline's, RSS at most 40 MB. Prints one JSON line.
//   node bench/senderCost.ts [--quick]
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const quick = process.argv.includes("--quick")
const rounds = quick ? 3 : 15
const root = resolve(import.meta.dirname, "..")
const node = join(root, "node_modules/.bin/node")
const dir = mkdtempSync(join(tmpdir(), "hbm-bench-cost-"))

const closedPort = await new Promise<number>((done) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    server.close(() => done(typeof address === "object" && address !== null ? address.port : 0))
  })
})
// The deployed sender waited up to 10 s for a receiver that is down; send_timeout 1 keeps the
// baseline's runs short without changing what it does per run.
const config = join(dir, "sender.yaml")
writeFileSync(config, `enabled: true
send_timeout: 1
receivers:
  127.0.0.1:
    port: ${closedPort}
    token: refused-token
`)

/** Whole-process accounting of one run: GNU time's %U %S %M, else Python's getrusage. */
const measureWith = (() => {
  if (spawnSync("/usr/bin/time", ["-f", "%U", "true"]).status === 0) {
    return (command: ReadonlyArray<string>) => {
      const run = spawnSync("/usr/bin/time", ["-f", "%U %S %M", ...command], { encoding: "utf8" })
      if (run.status !== 0) throw new Error(`${command.join(" ")} failed: ${run.stderr}`)
      const [user, system, maxKb] = run.stderr.trim().split("\n").at(-1)!.split(" ").map(Number)
      return { cpuSeconds: user! + system!, rssBytes: maxKb! * 1024 }
    }
  }
  return (command: ReadonlyArray<string>) => {
    const run = spawnSync("python3", ["-c", "import resource,subprocess,sys\nr=subprocess.run(sys.argv[1:]).returncode\nu=resource.getrusage(resource.RUSAGE_CHILDREN)\nprint(r,u.ru_utime+u.ru_stime,u.ru_maxrss)", ...command], { encoding: "utf8" })
    const [status, cpu, maxKb] = run.stdout.trim().split(" ").map(Number)
    if (run.status !== 0 || status !== 0) throw new Error(`${command.join(" ")} failed: ${run.stderr}`)
    return { cpuSeconds: cpu!, rssBytes: maxKb! * 1024 }
  }
})()

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

// Our bundle, as the .deb runs it (the same Node binary; the .deb's is only stripped). Built inside
// the repository, so that it finds node_modules/zeromq as the .deb's finds its own.
const dist = join(root, "dist/bench")
const built = spawnSync(node, [join(root, "scripts/dist.ts"), "--bundle-only", "--out", dist], { encoding: "utf8" })
if (built.status !== 0) throw new Error(`bundle failed: ${built.stderr}`)
const bundle = join(dist, "heartbeat-mesh-sender.mjs")

const python = "/usr/bin/python3"
const baselineCheck = spawnSync(python, ["-c", "import yaml, zmq"], { encoding: "utf8" })
const baselineAvailable = existsSync(python) && baselineCheck.status === 0

const forms: Record<string, ReadonlyArray<string>> = {
  source: [node, join(root, "src/bin/heartbeat-mesh.mjs"), "sender", "--config", config],
  bundle: [node, bundle, "--config", config],
  // As /usr/bin/heartbeat-mesh-sender runs it: the compile cache in a folder of its own (env execs node).
  packaged: ["/usr/bin/env", `NODE_COMPILE_CACHE=${join(dir, "compile-cache")}`, node, bundle, "--config", config],
  ...(baselineAvailable ? { baseline: [python, join(root, "bench/baseline/sender.py"), "--config", config] } : {})
}
const samples: Record<string, Array<{ cpuSeconds: number; rssBytes: number }>> = {}
for (const name of Object.keys(forms)) measureWith(forms[name]!) // warm-up: page cache, compile cache
for (let round = 0; round < rounds; round++) {
  for (const [name, command] of Object.entries(forms)) (samples[name] ??= []).push(measureWith(command))
}
spawnSync("rm", ["-rf", dist])

const summary = Object.fromEntries(Object.entries(samples).map(([name, runs]) => [name, {
  cpuSeconds: Math.round(median(runs.map((r) => r.cpuSeconds)) * 1000) / 1000,
  rssMB: Math.round(median(runs.map((r) => r.rssBytes)) / 1024 / 1024 * 10) / 10
}]))
console.log(JSON.stringify({
  rounds,
  ...summary,
  baselineAvailable,
  ...(baselineAvailable
    ? {
      cpuRatioBundleToBaseline: Math.round(summary["bundle"]!.cpuSeconds / summary["baseline"]!.cpuSeconds * 100) / 100,
      cpuRatioPackagedToBaseline: Math.round(summary["packaged"]!.cpuSeconds / summary["baseline"]!.cpuSeconds * 100) / 100,
      cpuRatioSourceToBaseline: Math.round(summary["source"]!.cpuSeconds / summary["baseline"]!.cpuSeconds * 100) / 100
    }
    : {})
}))
