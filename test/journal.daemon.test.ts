import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { existsSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { curveKeyPair, Push } from "zeromq"
import { readCurveKeyFile } from "../src/support/curveKeys.ts"
import { freePort, makeWorkspace, pushTo, type RunningDaemon, runCli, startDaemon, waitFor } from "./support/daemonProcess.ts"
import { freeUdpPort, httpRequest, parsePrometheus, udpClient } from "./support/ingressClients.ts"

const token = "journal-secret-token-1"
const wrongToken = "wrong-secret-token-2"
const maxBytes = 4096

// Test code reads the journal's JSON loosely.
type Json = any

describe("message journal (real daemon, every ingress)", () => {
  let daemon: RunningDaemon
  let workspace: ReturnType<typeof makeWorkspace>
  let journalFile: string
  let httpPort: number
  let udpPort: number
  let curvePort: number
  let server: { publicKey: string }

  beforeAll(async () => {
    httpPort = await freePort()
    udpPort = await freeUdpPort()
    curvePort = await freePort()
    workspace = makeWorkspace("enabled: true\n")
    const made = await runCli(["keygen", join(workspace.dir, "server")])
    expect(made.code, made.stderr).toBe(0)
    server = await readCurveKeyFile(join(workspace.dir, "server.key"))
    journalFile = join(workspace.dir, "log", "journal.jsonl")
    workspace.writeConfig(`
enabled: true
notify_devilry_sleep: 0
grace_period: 0
journal_file: ${journalFile}
journal_max_bytes: ${maxBytes}
journal_keep: 2
udp:
  listen: "127.0.0.1:${udpPort}"
curve:
  listen: "127.0.0.1:${curvePort}"
  secret_key_file: ${join(workspace.dir, "server.key")}
http:
  listen: "127.0.0.1:${httpPort}"
clients:
  Journal:
    token: ${token}
    timeout: 10
`)
    daemon = await startDaemon(workspace, ["--notifier", "stdout"])
  })
  afterAll(async () => {
    await daemon.stop("SIGKILL")
  })

  const files = () => [journalFile, `${journalFile}.1`, `${journalFile}.2`, `${journalFile}.3`].filter((file) => existsSync(file))
  const entries = (): Array<Json> =>
    files().reverse().flatMap((file) => readFileSync(file, "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line)))

  it("keeps every message of every transport, masked, rotated at journal_max_bytes with journal_keep files", async () => {
    // Filler first: enough lines to rotate the file several times.
    const push = pushTo(daemon.port)
    for (let i = 0; i < 80; i++) await push.heartbeat(token, `filler${i}.example.com`, { payload: { uptime: i, note: "x".repeat(60) } })

    // ZeroMQ: accepted, deregistered, unknown token, an escaped token name, not JSON, not an object, multipart.
    await push.heartbeat(token, "zmq.example.com", { payload: { uptime: 1 } })
    await push.heartbeat(token, "gone.example.com", { deregister: true })
    await push.heartbeat(wrongToken, "intruder.example.com")
    await push.send(`{"\\u0074oken":"${token}","resource":"escaped.example.com"}`)
    await push.send(`{"token":"${token}","resource":"broken.example.com"`)
    await push.send(JSON.stringify(token))
    await push.send([JSON.stringify({ token, resource: "multi.example.com" }), "second frame"])
    push.close()
    // ZeroMQ delivers behind the sender's queue: wait for its last message before the other ways
    // in, so the filler cannot rotate their lines away.
    await waitFor("the ZeroMQ messages in the journal", () => entries().some((entry) => entry.reason === "multipart") ? true : undefined)

    // UDP: its source is known.
    const udp = await udpClient(udpPort)
    await udp.send(JSON.stringify({ token, resource: "udp.example.com" }))
    await udp.send(JSON.stringify({ token: wrongToken, resource: "udp-intruder.example.com" }))

    // HTTP ping: the token as a Bearer header and in the query; never kept.
    expect((await httpRequest(`http://127.0.0.1:${httpPort}/ping/http.example.com`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    expect((await httpRequest(`http://127.0.0.1:${httpPort}/ping/query.example.com/fail?token=${token}&timeout=5`, { method: "POST", body: "disk full" })).status).toBe(200)
    expect((await httpRequest(`http://127.0.0.1:${httpPort}/ping/http-intruder.example.com?token=${wrongToken}`)).status).toBe(401)

    // CURVE.
    const pair = curveKeyPair()
    const curve = new Push({ linger: 2000, curveServerKey: server.publicKey, curvePublicKey: pair.publicKey, curveSecretKey: pair.secretKey })
    curve.connect(`tcp://127.0.0.1:${curvePort}`)
    await curve.send(JSON.stringify({ token, resource: "curve.example.com" }))

    const last = await waitFor("every transport in the journal", () => {
      const all = entries()
      return ["zmq.example.com", "udp-intruder.example.com", "http-intruder.example.com", "curve.example.com"].every((resource) =>
        all.some((entry) => entry.frame?.resource === resource || entry.frame?.path === `/ping/${resource}`)
      ) ? all : undefined
    })
    curve.close()
    udp.close()

    // Rotated: the file and two older ones, none past the limit; older ones deleted.
    expect(files()).toEqual([journalFile, `${journalFile}.1`, `${journalFile}.2`])
    for (const file of files()) expect(statSync(file).size).toBeLessThanOrEqual(maxBytes)
    // No token anywhere, in any file.
    for (const file of files()) {
      const text = readFileSync(file, "utf8")
      expect(text).not.toContain(token)
      expect(text).not.toContain(wrongToken)
    }

    const find = (match: (entry: Json) => boolean) => {
      const found = last.find(match)
      expect(found).toBeDefined()
      return found
    }
    const zmq = find((e) => e.frame?.resource === "zmq.example.com")
    expect(zmq).toMatchObject({ transport: "zmq", source: null, result: "accepted", frame: { token: "***", resource: "zmq.example.com", payload: { uptime: 1 } } })
    expect(Date.parse(zmq.time)).toBeGreaterThan(Date.now() - 60_000)
    expect(find((e) => e.frame?.resource === "gone.example.com")).toMatchObject({ result: "deregistered", frame: { token: "***", deregister: true } })
    expect(find((e) => e.frame?.resource === "intruder.example.com")).toMatchObject({ transport: "zmq", result: "rejected", reason: "unknown_token", frame: { token: "***" } })
    expect(find((e) => e.frame?.resource === "escaped.example.com").frame).toEqual({ token: "***", resource: "escaped.example.com" })
    // Not a JSON object: only its size (where a token would be cannot be known).
    const notJson = find((e) => e.reason === "not_json")
    expect(notJson).toEqual({ time: notJson.time, transport: "zmq", source: null, result: "rejected", reason: "not_json", bytes: notJson.bytes })
    expect(find((e) => e.reason === "not_object").frame).toBeUndefined()
    expect(find((e) => e.reason === "multipart").frame).toBeUndefined()

    const udpAccepted = find((e) => e.frame?.resource === "udp.example.com")
    expect(udpAccepted).toMatchObject({ transport: "udp", result: "accepted", frame: { token: "***" } })
    expect(udpAccepted.source).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(find((e) => e.frame?.resource === "udp-intruder.example.com")).toMatchObject({ transport: "udp", result: "rejected", reason: "unknown_token" })

    const http = find((e) => e.frame?.path === "/ping/http.example.com")
    expect(http).toMatchObject({ transport: "http", result: "accepted", frame: { method: "GET", query: {} } })
    expect(http.source).toMatch(/127\.0\.0\.1/)
    expect(find((e) => e.frame?.path === "/ping/query.example.com/fail")).toMatchObject({
      transport: "http",
      result: "accepted",
      frame: { method: "POST", query: { timeout: "5" }, payload: { log: "disk full" } }
    })
    expect(find((e) => e.frame?.path === "/ping/http-intruder.example.com")).toMatchObject({ result: "rejected", reason: "unknown_token", frame: { query: {} } })

    expect(find((e) => e.frame?.resource === "curve.example.com")).toMatchObject({ transport: "curve", source: null, result: "accepted", frame: { token: "***" } })

    const samples = parsePrometheus(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text())
    expect(samples.get("heartbeat_mesh_journal_rotations_total")).toBeGreaterThanOrEqual(2)
    expect(samples.get("heartbeat_mesh_journal_messages_dropped_total")).toBe(0)
    expect(samples.get("heartbeat_mesh_journal_write_errors_total")).toBe(0)
  })
})
