import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readCurveKeyFile } from "../src/support/curveKeys.ts"
import { Result } from "effect"
import { parseSenderConfig } from "../src/config/SenderConfig.ts"
import { freePort, makeWorkspace, type RunningDaemon, runCli, startDaemon } from "./support/daemonProcess.ts"
import { freeUdpPort } from "./support/ingressClients.ts"

const token = "transport-token-0123456789"

const senderConfig = (receiver: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "hbm-sender-")), "sender.yaml")
  writeFileSync(path, `enabled: true\ntmp_file_check: false\nsend_timeout: 3\nreceivers:\n${receiver}`)
  return path
}

/** The outcome the sender logged for each receiver (--log-level debug). */
const outcomes = (stderr: string) =>
  stderr.split("\n").filter((line) => line.includes("heartbeat delivery")).map((line) => /outcome=(\S+)/.exec(line)?.[1])

describe("sender transports (issue 19): each reaches a real receiver", () => {
  // (the plain ZeroMQ wire: test/sender.test.ts)
  let daemon: RunningDaemon
  let base: string
  let udpPort: number
  let curvePort: number
  let dir: string
  let serverPublicKey: string

  beforeAll(async () => {
    const httpPort = await freePort()
    udpPort = await freeUdpPort()
    curvePort = await freePort()
    base = `http://127.0.0.1:${httpPort}`
    const workspace = makeWorkspace("enabled: true\n")
    dir = workspace.dir
    for (const name of ["server", "sender"]) expect((await runCli(["keygen", join(dir, name)])).code).toBe(0)
    serverPublicKey = (await readCurveKeyFile(join(dir, "server.key"))).publicKey
    const senderKey = (await readCurveKeyFile(join(dir, "sender.key"))).publicKey
    workspace.writeConfig(`
enabled: true
notify_devilry_sleep: 0
grace_period: 0
udp: { listen: "127.0.0.1:${udpPort}" }
curve: { listen: "127.0.0.1:${curvePort}", secret_key_file: ${join(dir, "server.key")} }
http: { listen: "127.0.0.1:${httpPort}" }
clients:
  Tx:
    token: ${token}
    timeout: 10
    curve_public_key: "${senderKey}"
`)
    daemon = await startDaemon(workspace)
  })
  afterAll(async () => {
    await daemon.stop("SIGKILL")
  })

  const payloadOf = async (resource: string) => {
    const response = await fetch(`${base}/api/resources/Tx/${resource}`)
    return response.status === 200 ? ((await response.json()) as { payload: Record<string, unknown> }).payload : undefined
  }

  it("udp: acked datagram; a wrong token is refused with the receiver's reason", async () => {
    const run = await runCli(["sender", "--config", senderConfig(`  127.0.0.1:\n    transport: udp\n    port: ${udpPort}\n    token: ${token}\n    resource: over-udp.example.com\n    payload: [{name: via, cmd: [echo, udp]}]\n`), "--log-level", "debug"])
    expect(run.code, run.stderr).toBe(0)
    expect(outcomes(run.stderr)).toEqual(["sent"])
    expect(await payloadOf("over-udp.example.com")).toMatchObject({ via: "udp" })
    const refused = await runCli(["sender", "--config", senderConfig(`  127.0.0.1:\n    transport: udp\n    port: ${udpPort}\n    token: not-the-token\n`), "--log-level", "debug"])
    expect(refused.code).toBe(0)
    expect(outcomes(refused.stderr)).toEqual(["refused"])
    expect(refused.stderr).toContain("receiver answered unknown_token")
    expect(refused.stderr).not.toContain("not-the-token")
  })

  it("curve: encrypted, with the sender's pinned key pair", async () => {
    const run = await runCli(["sender", "--config", senderConfig(`  127.0.0.1:\n    transport: curve\n    port: ${curvePort}\n    curve_server_key: "${serverPublicKey}"\n    curve_key_file: ${join(dir, "sender.key")}\n    token: ${token}\n    resource: over-curve.example.com\n    payload: [{name: via, cmd: [echo, curve]}]\n`), "--log-level", "debug"])
    expect(run.code, run.stderr).toBe(0)
    expect(outcomes(run.stderr)).toEqual(["sent"])
    for (let i = 0; i < 100 && (await payloadOf("over-curve.example.com")) === undefined; i++) await new Promise((r) => setTimeout(r, 50))
    expect(await payloadOf("over-curve.example.com")).toMatchObject({ via: "curve" })
  })

  it("curve: a sender whose key is not pinned is refused at the handshake", async () => {
    const run = await runCli(["sender", "--config", senderConfig(`  127.0.0.1:\n    transport: curve\n    port: ${curvePort}\n    curve_server_key: "${serverPublicKey}"\n    token: ${token}\n    resource: unpinned.example.com\n`), "--log-level", "debug"])
    expect(run.code, run.stderr).toBe(0)
    expect(outcomes(run.stderr)).toEqual(["refused"])
    expect(await payloadOf("unpinned.example.com")).toBeUndefined()
  })

  it("http: a ping with the payload as JSON and the timeout; a wrong token is refused with the answer", async () => {
    const run = await runCli(["sender", "--config", senderConfig(`  127.0.0.1:\n    transport: http\n    url: ${base}\n    token: ${token}\n    resource: over-http.example.com\n    timeout: 7\n    payload: [{name: via, cmd: [echo, http]}]\n`), "--log-level", "debug"])
    expect(run.code, run.stderr).toBe(0)
    expect(outcomes(run.stderr)).toEqual(["sent"])
    expect(await payloadOf("over-http.example.com")).toMatchObject({ via: "http" })
    const view = await (await fetch(`${base}/api/resources/Tx/over-http.example.com`)).json() as { timeoutSeconds: number }
    expect(view.timeoutSeconds).toBe(7 * 60)
    const refused = await runCli(["sender", "--config", senderConfig(`  127.0.0.1:\n    transport: http\n    url: ${base}\n    token: not-the-token\n`), "--log-level", "debug"])
    expect(outcomes(refused.stderr)).toEqual(["refused"])
    expect(refused.stderr).toContain("HTTP 401 unknown token")
    expect(refused.stderr).not.toContain("not-the-token")
  })

  it("--dry-run names each transport's address", async () => {
    const run = await runCli(["sender", "--dry-run", "--config", senderConfig(
      `  a.example.com: {token: t, transport: udp}\n  b.example.com: {token: t, transport: curve, curve_server_key: "${serverPublicKey}"}\n  c.example.com: {token: t}\n`
    )])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout.split("\n").filter(Boolean).map((line) => line.split(" ")[0])).toEqual([
      "udp://a.example.com:50003",
      "curve+tcp://b.example.com:15988",
      "tcp://c.example.com:15987"
    ])
  })

  it("sender.yaml transport keys are checked, every problem listed", () => {
    const parsed = parseSenderConfig(`enabled: true
receivers:
  a: {token: t, transport: pigeon}
  b: {token: t, transport: curve}
  c: {token: t, transport: curve, curve_server_key: nope}
  d: {token: t, url: "https://x.example.com"}
  e: {token: t, transport: http, url: "ftp://x"}
`)
    expect(Result.isFailure(parsed) ? parsed.failure : []).toEqual([
      "receivers.a.transport: expected one of zmq, curve, udp, http, got \"pigeon\"",
      "receivers.c.curve_server_key: expected the receiver's CURVE public key: 40 Z85 characters (its keygen .pub file), got \"nope\"",
      "receivers.e.url: expected an http:// or https:// URL, e.g. https://rx.example.com:8443, got \"ftp://x\""
    ])
  })
})
