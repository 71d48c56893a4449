import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import YAML from "yaml"
import { freePort, makeWorkspace, type RunningDaemon, startDaemon } from "./support/daemonProcess.ts"

const ops = resolve(import.meta.dirname, "../ops")
const metricNames = (expr: string) => [...expr.matchAll(/\b(?:heartbeat_mesh|process|nodejs)_[a-z_]+\b/g)].map((m) => m[0])

/** name{labels} -> value, and name -> TYPE, from Prometheus text. */
const parse = (text: string) => {
  const samples = new Map<string, number>()
  const types = new Map<string, string>()
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (type !== null) types.set(type[1]!, type[2]!)
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line)
    if (sample !== null) samples.set(sample[1]!, Number(sample[2]))
  }
  return { samples, types }
}

describe("/metrics: process and Node.js metrics, build info", () => {
  let daemon: RunningDaemon
  let base: string
  const startedSeconds = Date.now() / 1000
  beforeAll(async () => {
    const httpPort = await freePort()
    base = `http://127.0.0.1:${httpPort}`
    const workspace = makeWorkspace(`
enabled: true
clients:
  C:
    token: metrics-token
    timeout: 1
http:
  listen: "127.0.0.1:${httpPort}"
`)
    daemon = await startDaemon(workspace)
  })
  afterAll(async () => {
    await daemon?.stop()
  })

  it("has the standard names, types and plausible values from a real scrape", async () => {
    const { samples, types } = parse(await (await fetch(`${base}/metrics`)).text())
    expect(types.get("process_cpu_seconds_total")).toBe("counter")
    expect(types.get("process_cpu_user_seconds_total")).toBe("counter")
    expect(types.get("process_cpu_system_seconds_total")).toBe("counter")
    expect(types.get("process_resident_memory_bytes")).toBe("gauge")
    expect(types.get("process_start_time_seconds")).toBe("gauge")
    expect(types.get("nodejs_heap_size_used_bytes")).toBe("gauge")

    const cpu = samples.get("process_cpu_seconds_total")!
    expect(cpu).toBeGreaterThan(0)
    expect(cpu).toBeCloseTo(samples.get("process_cpu_user_seconds_total")! + samples.get("process_cpu_system_seconds_total")!, 2)
    expect(samples.get("process_resident_memory_bytes")).toBeGreaterThan(10 * 1024 * 1024)
    expect(samples.get("process_virtual_memory_bytes")).toBeGreaterThan(samples.get("process_resident_memory_bytes")!)
    const started = samples.get("process_start_time_seconds")!
    expect(started).toBeGreaterThan(startedSeconds - 5)
    expect(started).toBeLessThanOrEqual(Date.now() / 1000)
    expect(samples.get("process_open_fds")).toBeGreaterThan(3)
    expect(samples.get("process_max_fds")).toBeGreaterThan(samples.get("process_open_fds")!)
    expect(samples.get("nodejs_heap_size_used_bytes")).toBeGreaterThan(0)
    expect(samples.get("nodejs_heap_size_total_bytes")).toBeGreaterThanOrEqual(samples.get("nodejs_heap_size_used_bytes")!)
    expect(samples.get('nodejs_heap_space_size_used_bytes{space="old"}')).toBeGreaterThan(0)
    expect(samples.get("nodejs_active_resources_total")).toBeGreaterThan(0)
    const [major, minor, patch] = process.versions.node.split(".")
    expect(samples.get(`nodejs_version_info{version="${process.version}",major="${major}",minor="${minor}",patch="${patch}"}`)).toBe(1)
    expect(samples.get('heartbeat_mesh_build_info{version="0.1.0"}')).toBe(1)
    // Ours keep their prefix; the standard ones get none.
    expect([...samples.keys()].filter((name) => !/^(heartbeat_mesh_|process_|nodejs_)/.test(name))).toEqual([])
    expect(samples.has("heartbeat_mesh_heartbeats_received_total")).toBe(true)
  })

  it("CPU time only grows between scrapes", async () => {
    const first = parse(await (await fetch(`${base}/metrics`)).text()).samples.get("process_cpu_seconds_total")!
    const second = parse(await (await fetch(`${base}/metrics`)).text()).samples.get("process_cpu_seconds_total")!
    expect(second).toBeGreaterThanOrEqual(first)
  })

  it("every metric the alert rules and the Grafana dashboard use is in a real scrape", async () => {
    const { samples } = parse(await (await fetch(`${base}/metrics`)).text())
    const scraped = new Set([...samples.keys()].map((key) => key.replace(/\{.*$/, "")))
    const rules = YAML.parse(readFileSync(`${ops}/prometheus/heartbeat-mesh.rules.yml`, "utf8"))
    const ruleExprs: Array<string> = rules.groups.flatMap((group: { rules: Array<{ expr: string }> }) => group.rules.map((rule) => rule.expr))
    expect(rules.groups[0].rules.map((rule: { alert: string }) => rule.alert)).toEqual([
      "HeartbeatMeshReceiverDown",
      "HeartbeatMeshActivityLost",
      "HeartbeatMeshStateFlushFailing",
      "HeartbeatMeshNotificationBacklogGrowing",
      "HeartbeatMeshNotificationsFailing",
      "HeartbeatMeshStaleResources"
    ])
    const dashboard = JSON.parse(readFileSync(`${ops}/grafana/heartbeat-mesh.json`, "utf8"))
    const panelExprs: Array<string> = dashboard.panels.flatMap((panel: { targets: Array<{ expr: string }> }) => panel.targets.map((t) => t.expr))
    const used = new Set([...ruleExprs, ...panelExprs].flatMap(metricNames))
    expect(used.size).toBeGreaterThan(15)
    expect([...used].filter((name) => !scraped.has(name))).toEqual([])
  })
})
