// Tool check (npm run check:tools): dynamic DNS against a real BIND 9 (Debian's `bind9`, which
// .ci/run installs; its service kept from starting). The check starts its own `named` on a free
// port with a temporary zone, a key made by BIND's own `tsig-keygen` and an update-policy that
// grants that key the one name; a real receiver then updates the record after heartbeats from new
// addresses (UDP, HTTP ping, payload.address), and the record is read back from named over DNS.
// npm test covers the same against a DNS server fixture (test/dyndns.daemon.test.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, makeWorkspace, type RunningDaemon, startDaemon, waitForAsync } from "../support/daemonProcess.ts"
import { freeUdpPort, httpRequest, parsePrometheus, udpClient } from "../support/ingressClients.ts"
import { queryAddresses } from "../support/dnsServer.ts"

const named = "/usr/sbin/named"
const tsigKeygen = "/usr/sbin/tsig-keygen"
const zone = "dyn.example.test"
const token = "dyndns-bind-token-1"

// Test code reads JSON answers loosely.
type Json = any

describe("dynamic DNS against BIND 9 (named started by the check)", () => {
  let bind: ChildProcess | undefined
  let bindLog = ""
  let bindPort: number
  let daemon: RunningDaemon | undefined
  let udpPort: number
  let httpPort: number
  let secret: string

  beforeAll(async () => {
    expect(existsSync(named), "named (Debian package bind9)").toBe(true)
    expect(existsSync(tsigKeygen), "tsig-keygen (Debian package bind9)").toBe(true)
    const dir = mkdtempSync(join(tmpdir(), "hbm-bind-"))
    const keyFile = join(dir, "update.key")
    writeFileSync(keyFile, execFileSync(tsigKeygen, ["hbm-update"]))
    chmodSync(keyFile, 0o600)
    secret = /secret "([^"]+)"/.exec(readFileSync(keyFile, "utf8"))![1]!
    writeFileSync(join(dir, "zone.db"), [
      "$TTL 300",
      `@ IN SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 60`,
      `@ IN NS ns.${zone}.`,
      "ns IN A 127.0.0.1",
      "home IN A 192.0.2.1",
      ""
    ].join("\n"))
    bindPort = await freeUdpPort()
    writeFileSync(join(dir, "named.conf"), `
options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  listen-on port ${bindPort} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  allow-query { any; };
};
controls { };
include "${keyFile}";
zone "${zone}" {
  type primary;
  file "${dir}/zone.db";
  update-policy { grant hbm-update name home.${zone} A AAAA; };
};
`)
    bind = spawn(named, ["-g", "-4", "-c", join(dir, "named.conf")], { stdio: ["ignore", "pipe", "pipe"] })
    bind.stdout!.on("data", (chunk) => (bindLog += chunk))
    bind.stderr!.on("data", (chunk) => (bindLog += chunk))
    await waitForAsync("named answering", async () => {
      if (bind!.exitCode !== null) throw new Error(`named exited ${bind!.exitCode}:\n${bindLog}`)
      const found = await queryAddresses("127.0.0.1", bindPort, `home.${zone}`, "A").catch(() => undefined)
      return found !== undefined && found.length > 0 ? found : undefined
    })

    udpPort = await freeUdpPort()
    httpPort = await freePort()
    const workspace = makeWorkspace("enabled: true\n")
    const dyndns = (name: string) =>
      `        dyndns: { zone: ${zone}, name: ${name}, server: "127.0.0.1:${bindPort}", tsig_key_file: ${keyFile}, ttl: 30 }`
    workspace.writeConfig(`
enabled: true
notify_devilry_sleep: 0
grace_period: 0
udp:
  listen: "127.0.0.1:${udpPort}"
http:
  listen: "127.0.0.1:${httpPort}"
clients:
  Dyn:
    token: ${token}
    timeout: 10
    resources:
      home.example.com:
${dyndns(`home.${zone}`)}
      other.example.com:
${dyndns(`other.${zone}`)}
`)
    daemon = await startDaemon(workspace, ["--notifier", "stdout"])
  }, 60_000)
  afterAll(async () => {
    await daemon?.stop("SIGKILL")
    if (bind !== undefined && bind.exitCode === null) {
      const exited = new Promise((resolveExit) => bind!.once("exit", resolveExit))
      bind.kill("SIGTERM")
      await exited
    }
  })

  const heartbeatFrom = async (from: string, resource: string, payload: Record<string, unknown> = { uptime: 1 }) => {
    const udp = await udpClient(udpPort, from)
    await udp.send(JSON.stringify({ token, resource, payload }))
    udp.close()
  }
  const bindHas = (type: "A" | "AAAA", expected: Array<string>) =>
    waitForAsync(`named: home.${zone} ${type} ${expected.join(",")}`, async () => {
      const found = await queryAddresses("127.0.0.1", bindPort, `home.${zone}`, type)
      return JSON.stringify(found) === JSON.stringify(expected) ? found : undefined
    })

  it("the record in named follows the address of the heartbeats (UDP, HTTP, payload.address)", async () => {
    await heartbeatFrom("127.0.0.2", "home.example.com")
    // The old address is gone: the record set is replaced, not added to.
    await bindHas("A", ["127.0.0.2"])
    await heartbeatFrom("127.0.0.3", "home.example.com")
    await bindHas("A", ["127.0.0.3"])
    const ping = await httpRequest(`http://127.0.0.1:${httpPort}/ping/home.example.com`, { headers: { authorization: `Bearer ${token}` }, from: "127.0.0.4" })
    expect(ping.status).toBe(200)
    await bindHas("A", ["127.0.0.4"])
    await heartbeatFrom("127.0.0.4", "home.example.com", { address: "2001:db8::42" })
    await bindHas("AAAA", ["2001:db8::42"])
    expect(await queryAddresses("127.0.0.1", bindPort, `home.${zone}`, "A")).toEqual(["127.0.0.4"])
    expect(bindLog).toContain(`updating zone '${zone}/IN': adding an RR at 'home.${zone}' A 127.0.0.2`)
  })

  it("a name the key may not update: named refuses, the receiver records it failed (not retried)", async () => {
    await heartbeatFrom("127.0.0.5", "other.example.com")
    const samples = await waitForAsync("the failed update in /metrics", async () => {
      const found = parsePrometheus((await httpRequest(`http://127.0.0.1:${httpPort}/metrics`)).body)
      return found.get('heartbeat_mesh_dyndns_updates_total{result="failed"}') === 1 ? found : undefined
    })
    expect(samples.get('heartbeat_mesh_dyndns_updates_total{result="ok"}')).toBe(4)
    expect(samples.get("heartbeat_mesh_dyndns_update_retries_total")).toBe(0)
    const history: Array<Json> = JSON.parse((await httpRequest(`http://127.0.0.1:${httpPort}/api/resources/Dyn/other.example.com/history`)).body).items
    expect(history.filter((item) => item.kind === "dyndns").map((item) => `${item.detail.result}: ${item.detail.reason}`)).toEqual([
      "failed: the server answered REFUSED"
    ])
    expect(bindLog).toContain("update failed: rejected by secure update (REFUSED)")
    // The key file's secret never reaches the receiver's log.
    expect(secret).toMatch(/^[A-Za-z0-9+/]{43}=$/)
    expect(daemon!.stderr()).not.toContain(secret)
  })
})
