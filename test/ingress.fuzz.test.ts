import { afterEach, describe, expect, it } from "vitest"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { freePort, makeWorkspace, type RunningDaemon, startDaemon, waitFor } from "./support/daemonProcess.ts"
import { freeUdpPort, httpRequest, parsePrometheus, prng, udpClient } from "./support/ingressClients.ts"
import { connect, type Socket } from "node:net"

/**
 * Hostile input on the ingresses of issue 19, like test/daemon.fuzz.test.ts does for ZeroMQ: the
 * daemon stays up and every valid heartbeat lands in its history file, once.
 */

const token = "fuzz-token-0123456789"

let daemon: RunningDaemon | undefined
afterEach(async () => {
  await daemon?.stop("SIGKILL")
  daemon = undefined
})


const historyLines = (stateDir: string) => {
  const dir = join(stateDir, "heartbeats/history/fuzz")
  try {
    return readdirSync(dir).flatMap((file) => readFileSync(join(dir, file), "utf8").trim().split("\n").map((line) => JSON.parse(line)))
  } catch {
    return []
  }
}

// Thousands of hostile requests against a real daemon: minutes on a busy two-core machine, not a speed check.
const hostileRunLimitMs = 150_000

describe("UDP ingress under hostile datagrams", () => {
  it("5,000 garbage datagrams and a flood past the rate limit, interleaved with 296 valid heartbeats from another source: none lost", async () => {
    const udpPort = await freeUdpPort()
    const httpPort = await freePort()
    const workspace = makeWorkspace(`
enabled: true
notify_devilry_sleep: 0
grace_period: 0
udp:
  listen: "127.0.0.1:${udpPort}"
  rate_per_source: 1
  burst_per_source: 4000
http:
  listen: "127.0.0.1:${httpPort}"
clients:
  Fuzz:
    token: ${token}
    timeout: 10
`)
    daemon = await startDaemon(workspace)
    const random = prng(7)
    const valid = JSON.stringify({ token, resource: "valid.example.com", payload: { uptime: 1 } })
    const garbage: Array<() => string | Buffer> = [
      () => Buffer.from(Array.from({ length: 1 + Math.floor(random() * 1400) }, () => Math.floor(random() * 256))),
      () => valid.slice(0, Math.floor(random() * (valid.length - 1))),
      () => JSON.stringify({ token: 12345, resource: "r", ack: true }),
      () => JSON.stringify({ token, resource: ["r"], ack: true }),
      () => JSON.stringify({ token, resource: "r", payload: [1, 2] }), // (a junk timeout is a repair, not a rejection: compat.wire.test.ts)
      () => JSON.stringify({ token, resource: "nul\u0000byte", ack: true }),
      () => JSON.stringify({ token, resource: "x".repeat(513) }),
      () => JSON.stringify({ token, resource: "big", payload: { blob: "y".repeat(60_000) } }),
      () => JSON.stringify({ token: "wrong-token", resource: "r", ack: true }),
      () => "[]",
      () => "null",
      () => "",
      () => '{"ack":true}'
    ]
    const attacker = await udpClient(udpPort, "127.0.0.1")
    const sender = await udpClient(udpPort, "127.0.0.3")
    let validSent = 0
    for (let i = 0; i < 5000; i++) {
      await attacker.send(garbage[Math.floor(random() * garbage.length)]!())
      if (i % 17 === 0 && validSent < 300) {
        // A real UDP sender asks for an ack and sends again without one: the loopback may drop
        // datagrams when the kernel buffer is full, the receiver must not.
        validSent++
        const acked = sender.answers.length
        const heartbeat = JSON.stringify({ token, resource: `host${validSent % 40}.example.com`, payload: { n: validSent }, ack: true })
        await sender.send(heartbeat)
        await waitFor(`ack for heartbeat ${validSent}`, () => (sender.answers.length > acked ? true : undefined), 10_000)
      }
    }
    // Then a flood from one source well past its burst: dropped before it is parsed.
    for (let i = 0; i < 3000; i++) await attacker.send(valid)
    const last = sender.answers.length
    await sender.send(JSON.stringify({ token, resource: "after.example.com", ack: true }))
    await waitFor("the ack after the flood", () => (sender.answers.length > last ? true : undefined))
    validSent++
    attacker.close()
    sender.close()
    expect(sender.answers.every((answer) => answer === '{"ok":true}')).toBe(true)
    expect(daemon.process.exitCode).toBeNull()
    // The attacker's own valid frames (valid.example.com, big) land too; the sender's each once.
    const sendersLines = () => historyLines(workspace.stateDir).filter((line) => /^(host\d+|after)\.example\.com$/.test(line.resource))
    await waitFor("every valid heartbeat in the history files", () => sendersLines().length >= validSent ? true : undefined)
    const fromSender = sendersLines()
    expect(fromSender).toHaveLength(validSent)
    expect(new Set(fromSender.map((line) => line.payload?.n ?? "after")).size).toBe(validSent)
    const samples = parsePrometheus(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text())
    expect(samples.get('heartbeat_mesh_ingress_rejected_total{transport="udp",reason="rate_limited"}')).toBeGreaterThan(0)
    const received = samples.get('heartbeat_mesh_ingress_received_total{transport="udp"}')!
    const accounted = [...samples].filter(([name]) => name.startsWith("heartbeat_mesh_ingress_") && name.includes('transport="udp"') &&
      !name.includes("received"))
      .reduce((sum, [, value]) => sum + value, 0)
    expect(accounted).toBe(received)
    expect(daemon.stderr()).not.toContain(token)
  }, hostileRunLimitMs)
})

/** A raw TCP connection: for requests no HTTP client would send. */
const rawConnection = (port: number) =>
  new Promise<Socket>((resolveSocket, reject) => {
    const socket = connect({ port, host: "127.0.0.1" }, () => resolveSocket(socket))
    socket.on("error", reject)
  })

describe("HTTP ping ingress under hostile clients", () => {
  it("slowloris connections, garbage bytes, malformed and oversized requests and a flood, with 150 valid pings from other addresses: none lost", async () => {
    const httpPort = await freePort()
    const workspace = makeWorkspace(`
enabled: true
notify_devilry_sleep: 0
grace_period: 0
http:
  listen: "127.0.0.1:${httpPort}"
clients:
  Fuzz:
    token: ${token}
    timeout: 10
`)
    daemon = await startDaemon(workspace)
    const base = `http://127.0.0.1:${httpPort}`
    const random = prng(11)
    // 100 slowloris connections: a request line and then a header byte now and then, never the end.
    const slow: Array<Socket> = []
    for (let i = 0; i < 100; i++) {
      const socket = await rawConnection(httpPort)
      socket.on("error", () => {})
      socket.write(`POST /ping/slow${i} HTTP/1.1\r\nHost: rx\r\nX-Slow: `)
      slow.push(socket)
    }
    const drip = setInterval(() => {
      for (const socket of slow) if (!socket.destroyed) socket.write("a")
    }, 500)
    const bearer = { authorization: `Bearer ${token}` }
    const hostile: Array<() => Promise<unknown>> = [
      async () => {
        const socket = await rawConnection(httpPort)
        socket.on("error", () => {})
        socket.end(Buffer.from(Array.from({ length: 1 + Math.floor(random() * 2000) }, () => Math.floor(random() * 256))))
      },
      () => httpRequest(`${base}/ping/big`, { method: "POST", headers: bearer, body: "z".repeat(10 * 1024 + 1 + Math.floor(random() * 50_000)) }),
      () => httpRequest(`${base}/ping/x`, { headers: { ...bearer, "x-huge": "h".repeat(20 * 1024) } }).catch(() => undefined),
      () => httpRequest(`${base}/ping/${"%00".repeat(3)}`, { headers: bearer }),
      () => httpRequest(`${base}/ping/${"r".repeat(600)}`, { headers: bearer }),
      () => httpRequest(`${base}/ping/x/${Math.floor(random() * 100_000)}`, { headers: bearer }),
      () => httpRequest(`${base}/ping/x?timeout=-1`, { headers: bearer }),
      () => httpRequest(`${base}/ping/x`, { method: "POST", headers: { ...bearer, "content-type": "application/json" }, body: "[1,2" }),
      () => httpRequest(`${base}/ping/x`, { headers: { authorization: "Bearer wrong" } }),
      () => httpRequest(`${base}/ping/x?token=`),
      () => httpRequest(`${base}/ping`, { headers: bearer }),
      () => httpRequest(`${base}/ping/a/b/c`, { headers: bearer })
    ]
    const senders = ["127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"]
    let valid = 0
    for (let i = 0; i < 1500; i++) {
      await hostile[Math.floor(random() * hostile.length)]!()
      if (i % 10 === 0) {
        valid++
        const answer = await httpRequest(`${base}/ping/host${valid}.example.com`, {
          method: "POST",
          headers: bearer,
          body: `run ${valid}`,
          from: senders[valid % senders.length]!
        })
        expect(answer, `valid ping ${valid}`).toEqual({ status: 200, body: "OK\n" })
      }
    }
    // A flood from one address past its burst is answered 429; another address still gets through.
    const flood = await Promise.all(Array.from({ length: 200 }, () => httpRequest(`${base}/ping/flood`, { headers: bearer })))
    expect(flood.filter((answer) => answer.status === 429).length).toBeGreaterThan(100)
    expect(await httpRequest(`${base}/ping/after.example.com`, { headers: bearer, from: "127.0.0.9" })).toMatchObject({ status: 200 })
    valid++
    clearInterval(drip)
    for (const socket of slow) socket.destroy()
    expect(daemon.process.exitCode).toBeNull()
    const sendersLines = () => historyLines(workspace.stateDir).filter((line) => /^(host\d+|after)\.example\.com$/.test(line.resource))
    await waitFor("every valid ping in the history files", () => sendersLines().length >= valid ? true : undefined)
    expect(sendersLines()).toHaveLength(valid)
    expect(sendersLines().find((line) => line.resource === "host7.example.com")?.payload).toEqual({ log: "run 7" })
    const samples = parsePrometheus((await httpRequest(`${base}/metrics`)).body)
    expect(samples.get('heartbeat_mesh_http_client_errors_total{server="api"}')).toBeGreaterThan(0)
    expect(samples.get('heartbeat_mesh_ingress_rejected_total{transport="http",reason="oversized"}')).toBeGreaterThan(0)
    expect(samples.get('heartbeat_mesh_ingress_rejected_total{transport="http",reason="rate_limited"}')).toBeGreaterThan(100)
    expect(daemon.stderr()).not.toContain(token)
  }, hostileRunLimitMs)
})
