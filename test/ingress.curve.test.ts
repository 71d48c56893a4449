import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { join } from "node:path"
import { Push } from "zeromq"
import { readCurveKeyFile } from "../src/support/curveKeys.ts"
import { freePort, makeWorkspace, pushTo, type RunningDaemon, runCli, startDaemon } from "./support/daemonProcess.ts"
import { parsePrometheus } from "./support/ingressClients.ts"

const token = "curve-token-0123456789"

/** A real CURVE client: a PUSH socket that encrypts with the receiver's public key and its own pair. */
const curvePush = (port: number, serverKey: string, pair: { publicKey: string; secretKey: string }, linger = 2000) => {
  const socket = new Push({ linger, curveServerKey: serverKey, curvePublicKey: pair.publicKey, curveSecretKey: pair.secretKey })
  socket.connect(`tcp://127.0.0.1:${port}`)
  return socket
}

describe("CURVE ingress (real daemon, encrypted ZeroMQ, ZAP)", () => {
  let daemon: RunningDaemon
  let base: string
  let curvePort: number
  let workspace: ReturnType<typeof makeWorkspace>
  let server: { publicKey: string; secretKey: string }
  let pinned: { publicKey: string; secretKey: string }
  let stranger: { publicKey: string; secretKey: string }

  beforeAll(async () => {
    const httpPort = await freePort()
    curvePort = await freePort()
    base = `http://127.0.0.1:${httpPort}`
    workspace = makeWorkspace("enabled: true\n")
    for (const name of ["server", "pinned", "stranger"]) {
      const made = await runCli(["keygen", join(workspace.dir, name)])
      expect(made.code, made.stderr).toBe(0)
    }
    server = await readCurveKeyFile(join(workspace.dir, "server.key"))
    pinned = await readCurveKeyFile(join(workspace.dir, "pinned.key"))
    stranger = await readCurveKeyFile(join(workspace.dir, "stranger.key"))
    workspace.writeConfig(`
enabled: true
notify_devilry_sleep: 0
grace_period: 0
curve:
  listen: "127.0.0.1:${curvePort}"
  secret_key_file: ${join(workspace.dir, "server.key")}
http:
  listen: "127.0.0.1:${httpPort}"
clients:
  Curve:
    token: ${token}
    timeout: 10
    curve_public_key: "${pinned.publicKey}"
`)
    daemon = await startDaemon(workspace)
  })
  afterAll(async () => {
    await daemon.stop("SIGKILL")
  })

  const metrics = async () => parsePrometheus(await (await fetch(`${base}/metrics`)).text())
  const listed = async (resource: string) => (await fetch(`${base}/api/resources/Curve/${resource}`)).status === 200

  it("takes heartbeats from a pinned key over the encrypted socket; the plain socket keeps working", async () => {
    // The receiver says which public key senders need (never the secret one).
    expect(daemon.stderr()).toContain(server.publicKey)
    const socket = curvePush(curvePort, server.publicKey, pinned)
    await socket.send(JSON.stringify({ token, resource: "secret.example.com", payload: { uptime: 7 } }))
    for (let i = 0; i < 100 && !(await listed("secret.example.com")); i++) await new Promise((r) => setTimeout(r, 50))
    expect(await listed("secret.example.com")).toBe(true)
    socket.close()
    const plain = pushTo(daemon.port)
    await plain.heartbeat(token, "plain.example.com")
    plain.close()
    for (let i = 0; i < 100 && !(await listed("plain.example.com")); i++) await new Promise((r) => setTimeout(r, 50))
    expect(await listed("plain.example.com")).toBe(true)
    const samples = await metrics()
    expect(samples.get('heartbeat_mesh_ingress_accepted_total{transport="curve"}')).toBe(1)
    expect(samples.get('heartbeat_mesh_curve_handshakes_total{outcome="accepted"}')).toBe(1)
    expect(samples.get("heartbeat_mesh_heartbeats_accepted_total")).toBe(1)
  })

  it("refuses a key no client pinned (ZAP) and a client that has the wrong server key: nothing of theirs arrives", async () => {
    const strangerSocket = curvePush(curvePort, server.publicKey, stranger, 0)
    void strangerSocket.send(JSON.stringify({ token, resource: "stranger.example.com" })).catch(() => undefined)
    const wrongServer = curvePush(curvePort, stranger.publicKey, pinned, 0)
    void wrongServer.send(JSON.stringify({ token, resource: "wrong-server.example.com" })).catch(() => undefined)
    let samples = await metrics()
    for (let i = 0; i < 100 && !(samples.get('heartbeat_mesh_curve_handshakes_total{outcome="refused"}')! >= 1 &&
      samples.get('heartbeat_mesh_curve_handshakes_total{outcome="failed"}')! >= 1); i++) {
      await new Promise((r) => setTimeout(r, 50))
      samples = await metrics()
    }
    strangerSocket.close()
    wrongServer.close()
    expect(samples.get('heartbeat_mesh_curve_handshakes_total{outcome="refused"}')).toBeGreaterThanOrEqual(1)
    expect(samples.get('heartbeat_mesh_curve_handshakes_total{outcome="failed"}')).toBeGreaterThanOrEqual(1)
    expect(samples.get('heartbeat_mesh_ingress_received_total{transport="curve"}')).toBe(1)
    expect(await listed("stranger.example.com")).toBe(false)
    expect(await listed("wrong-server.example.com")).toBe(false)
    expect(daemon.stderr()).toContain("CURVE connection refused")
    expect(daemon.stderr()).not.toContain(token)
    expect(daemon.stderr()).not.toContain(server.secretKey)
  })
})
