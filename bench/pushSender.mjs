// A load generator in its own process: pushes `count` heartbeats for `resources` resources to
// `endpoint` as fast as ZeroMQ takes them, then exits. With SERVER_KEY, over CURVE (a fresh client pair).
// With PUSH_RATE=R in the environment, about R per second instead.
// Usage: node pushSender.mjs ENDPOINT COUNT RESOURCES TOKEN [SERVER_KEY]
// Serving: node pushSender.mjs --serve RESOURCES TOKEN: reads `ENDPOINT COUNT` lines on stdin, pushes
// them (one socket per endpoint, kept) and answers `sent` on stdout for each: one process for many
// runs, so a benchmark's rounds neither wait for a process to start nor share the machine with one
// starting (its JIT warm after the first run).
import { createInterface } from "node:readline"
import { curveKeyPair, Push } from "zeromq"

const serving = process.argv[2] === "--serve"
const [endpoint, countText, resourcesText, token, serverKey] = serving
  ? [undefined, undefined, ...process.argv.slice(3)]
  : process.argv.slice(2)
const resources = Number(resourcesText)
const rate = Number(process.env["PUSH_RATE"] ?? 0)
const messages = Array.from({ length: resources }, (_, i) =>
  JSON.stringify({ token, resource: `host${i}.bench.example.com`, payload: { uptime: 12345 } }))
const curve = serverKey === undefined ? {} : (() => {
  const pair = curveKeyPair()
  return { curveServerKey: serverKey, curvePublicKey: pair.publicKey, curveSecretKey: pair.secretKey }
})()
// Up to 100,000 frames can still be queued at close: on a busy machine the receiver may need more
// than 10 s for them, and frames dropped at the linger's end would leave the benchmark waiting.
const connect = (to) => {
  const socket = new Push({ sendHighWaterMark: 100_000, linger: 120_000, ...curve })
  socket.connect(to)
  return socket
}

const push = async (socket, count) => {
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    await socket.send(messages[i % resources])
    // Paced: every 100 messages, wait until the schedule catches up.
    if (rate > 0 && i % 100 === 99) {
      const aheadMs = ((i + 1) / rate) * 1000 - (performance.now() - started)
      if (aheadMs > 0) await new Promise((done) => setTimeout(done, aheadMs))
    }
  }
}

if (serving) {
  const sockets = new Map()
  for await (const line of createInterface({ input: process.stdin })) {
    const [to, count] = line.trim().split(" ")
    if (!sockets.has(to)) sockets.set(to, connect(to))
    await push(sockets.get(to), Number(count))
    process.stdout.write("sent\n")
  }
  for (const socket of sockets.values()) socket.close()
} else {
  const socket = connect(endpoint)
  await push(socket, Number(countText))
  socket.close()
}
