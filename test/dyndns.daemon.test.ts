import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { chmodSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { freePort, makeWorkspace, type RunningDaemon, startDaemon, waitForAsync } from "./support/daemonProcess.ts"
import { freeUdpPort, httpRequest, parsePrometheus, udpClient } from "./support/ingressClients.ts"
import { queryAddresses, startDnsUpdateServer } from "./support/dnsServer.ts"

const token = "dyndns-secret-token-1"
const zone = "dyn.example.test"
const key = { name: "hbm-update", algorithm: "hmac-sha256" as const, secretBase64: "q1Zz4DaT3YqJ0p7gq6cC8qQb4bYI0l8mGfJXx4rO2Q8=" }
// Same key name, another secret: the server refuses its signature (BADSIG).
const wrongSecret = "c2VjcmV0LXRoYXQtdGhlLXNlcnZlci1kb2VzLW5vdC1oYXZl"

// Test code reads JSON answers loosely.
type Json = any

describe("dynamic DNS (real daemon, UDP and HTTP ingress, a DNS server on a real socket)", () => {
  let daemon: RunningDaemon
  let dns: Awaited<ReturnType<typeof startDnsUpdateServer>>
  let udpPort: number
  let httpPort: number
  let workspace: ReturnType<typeof makeWorkspace>

  beforeAll(async () => {
    dns = await startDnsUpdateServer({ zone, key })
    udpPort = await freeUdpPort()
    httpPort = await freePort()
    workspace = makeWorkspace("enabled: true\n")
    const keyFile = join(workspace.dir, "update.key")
    writeFileSync(keyFile, `# made like tsig-keygen's\nkey "${key.name}" {\n\talgorithm hmac-sha256;\n\tsecret "${key.secretBase64}";\n};\n`)
    chmodSync(keyFile, 0o600)
    const wrongKeyFile = join(workspace.dir, "wrong.key")
    writeFileSync(wrongKeyFile, `key ${key.name} { algorithm hmac-sha256; secret "${wrongSecret}"; };\n`)
    chmodSync(wrongKeyFile, 0o600)
    const dyndns = (name: string, file: string, ttl = "") =>
      `        dyndns:\n          zone: ${zone}\n          name: ${name}\n          server: "127.0.0.1:${dns.port}"\n          tsig_key_file: ${file}\n${ttl}`
    workspace.writeConfig(`
enabled: true
notify_devilry_sleep: 0
grace_period: 0
udp:
  listen: "127.0.0.1:${udpPort}"
http:
  listen: "127.0.0.1:${httpPort}"
  admin_token: dyn-admin-token
clients:
  Dyn:
    token: ${token}
    timeout: 10
    resources:
      home.example.com:
${dyndns(`home.${zone}`, keyFile, "          ttl: 120\n")}
      badkey.example.com:
${dyndns(`badkey.${zone}.`, wrongKeyFile)}
      plain.example.com: {}
`)
    daemon = await startDaemon(workspace, ["--notifier", "stdout"])
  })
  afterAll(async () => {
    await daemon?.stop("SIGKILL")
    await dns?.close()
  })

  const heartbeatFrom = async (from: string, resource: string, payload: Record<string, unknown> = { uptime: 1 }) => {
    const udp = await udpClient(udpPort, from)
    await udp.send(JSON.stringify({ token, resource, payload }))
    udp.close()
  }
  const recordIs = (name: string, type: "A" | "AAAA", expected: Array<string>) =>
    waitForAsync(`${name} ${type} ${expected.join(",")}`, async () => {
      const found = await queryAddresses("127.0.0.1", dns.port, name, type)
      return JSON.stringify(found) === JSON.stringify(expected) ? found : undefined
    })
  const okUpdates = () => dns.updates.filter((update) => update.rcode === "NOERROR")
  const metrics = async () => parsePrometheus((await httpRequest(`http://127.0.0.1:${httpPort}/metrics`)).body)

  it("writes the A record from the heartbeat's source address, and again only when it changes", async () => {
    await heartbeatFrom("127.0.0.2", "home.example.com")
    await recordIs(`home.${zone}`, "A", ["127.0.0.2"])
    expect(okUpdates()).toHaveLength(1)
    expect(okUpdates()[0]!.changes).toEqual([
      { op: "delete", name: `home.${zone}`, type: "A", ttl: 0 },
      { op: "add", name: `home.${zone}`, type: "A", ttl: 120, data: "127.0.0.2" }
    ])

    // The same address again: no update. Then a new address: exactly one more.
    for (let i = 0; i < 3; i++) await heartbeatFrom("127.0.0.2", "home.example.com")
    await heartbeatFrom("127.0.0.3", "home.example.com")
    await recordIs(`home.${zone}`, "A", ["127.0.0.3"])
    expect(okUpdates()).toHaveLength(2)

    // An HTTP ping from yet another address.
    const ping = await httpRequest(`http://127.0.0.1:${httpPort}/ping/home.example.com`, { headers: { authorization: `Bearer ${token}` }, from: "127.0.0.4" })
    expect(ping.status).toBe(200)
    await recordIs(`home.${zone}`, "A", ["127.0.0.4"])
    expect(okUpdates()).toHaveLength(3)
  })

  it("takes payload.address over the source (AAAA for IPv6), refuses one that is not an address, leaves resources without dyndns alone", async () => {
    await heartbeatFrom("127.0.0.4", "home.example.com", { uptime: 2, address: "2001:DB8:0::7" })
    await recordIs(`home.${zone}`, "AAAA", ["2001:db8::7"])
    expect(await queryAddresses("127.0.0.1", dns.port, `home.${zone}`, "A")).toEqual(["127.0.0.4"])
    expect(okUpdates()).toHaveLength(4)

    await heartbeatFrom("127.0.0.5", "home.example.com", { address: "not-an-address" })
    await heartbeatFrom("127.0.0.6", "plain.example.com")
    // A last change, to know the ones before were looked at: the invalid one and plain's made none.
    await heartbeatFrom("127.0.0.4", "home.example.com", { address: "2001:db8::8" })
    await recordIs(`home.${zone}`, "AAAA", ["2001:db8::8"])
    expect(okUpdates()).toHaveLength(5)
    expect(okUpdates().flatMap((update) => update.changes.map((change) => change.name)).every((name) => name === `home.${zone}`)).toBe(true)
    const samples = await metrics()
    expect(samples.get("heartbeat_mesh_dyndns_invalid_addresses_total")).toBe(1)
    expect(samples.get('heartbeat_mesh_dyndns_updates_total{result="ok"}')).toBe(5)
    expect(daemon.stderr()).not.toContain(key.secretBase64)
  })

  it("records a refused signature as failed, without retrying it, in /metrics and the history", async () => {
    await heartbeatFrom("127.0.0.7", "badkey.example.com")
    const failed = await waitForAsync("the failed update in /metrics", async () => {
      const value = (await metrics()).get('heartbeat_mesh_dyndns_updates_total{result="failed"}')
      return value === 1 ? value : undefined
    })
    expect(failed).toBe(1)
    expect(dns.updates.filter((update) => update.rcode === "NOTAUTH")).toEqual([{ rcode: "NOTAUTH", tsigError: "BADSIG", changes: [] }])
    expect((await metrics()).get("heartbeat_mesh_dyndns_update_retries_total")).toBe(0)
    expect(await queryAddresses("127.0.0.1", dns.port, `badkey.${zone}`, "A")).toEqual([])

    const history = async (resource: string): Promise<Array<Json>> =>
      JSON.parse((await httpRequest(`http://127.0.0.1:${httpPort}/api/resources/Dyn/${resource}/history`)).body).items
    const bad = (await history("badkey.example.com")).filter((item) => item.kind === "dyndns")
    expect(bad.map((item) => item.detail)).toEqual([{
      result: "failed",
      client: "Dyn",
      resource: "badkey.example.com",
      name: `badkey.${zone}`,
      type: "A",
      address: "127.0.0.7",
      server: `127.0.0.1:${dns.port}`,
      ttl: 60,
      attempts: 1,
      reason: `the server refused the key ${key.name}: BADSIG`
    }])
    const home = (await history("home.example.com")).filter((item) => item.kind === "dyndns")
    expect(home.map((item) => `${item.detail.result} ${item.detail.type} ${item.detail.address}`)).toEqual([
      "updated AAAA 2001:db8::8",
      "updated AAAA 2001:db8::7",
      "updated A 127.0.0.4",
      "updated A 127.0.0.3",
      "updated A 127.0.0.2"
    ])
    expect(home.every((item) => item.status === null)).toBe(true)
  })

  it("an operator forces a re-registration: the records are sent again with the addresses last heard", async () => {
    const act = (resource: string) =>
      httpRequest(`http://127.0.0.1:${httpPort}/api/resources/Dyn/${resource}/dyndns`, { method: "POST", headers: { authorization: "Bearer dyn-admin-token" } })
    const before = okUpdates().length
    const asked = await act("home.example.com")
    expect(asked.status).toBe(200)
    await waitForAsync("both records sent again", async () => okUpdates().length === before + 2 ? true : undefined)
    expect(okUpdates().slice(before).map((update) => update.changes.find((change) => change.op === "add")!.data).sort()).toEqual(["127.0.0.4", "2001:db8::8"])
    expect(await act("plain.example.com")).toEqual({ status: 404, body: JSON.stringify({ error: "this resource has no dyndns: settings" }) })
    expect((await httpRequest(`http://127.0.0.1:${httpPort}/api/resources/Dyn/home.example.com/dyndns`, { method: "POST" })).status).toBe(401)
  })

  it("after a restart, a heartbeat from the address last written sends nothing (the history says it was written); a new one does", async () => {
    expect(await daemon.stop("SIGTERM")).toBe(0)
    daemon = await startDaemon(workspace, ["--notifier", "stdout"])
    const before = okUpdates().length
    await heartbeatFrom("127.0.0.4", "home.example.com")
    await heartbeatFrom("127.0.0.4", "home.example.com", { address: "2001:db8::8" })
    await heartbeatFrom("127.0.0.10", "home.example.com")
    await recordIs(`home.${zone}`, "A", ["127.0.0.10"])
    expect(okUpdates().length).toBe(before + 1)
  })
})
