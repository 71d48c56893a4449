// A load generator in its own process: pushes `count` heartbeats for `resources` resources to
// `endpoint` as fast as ZeroMQ takes them, then exits. With SERVER_KEY, over CURVE (a fresh client pair).
// Usage: node pushSender.mjs ENDPOINT COUNT RESOURCES TOKEN [SERVER_KEY]
import { curveKeyPair, Push } from "zeromq"

const [endpoint, countText, resourcesText, token, serverKey] = process.argv.slice(2)
const count = Number(countText)
const resources = Number(resourcesText)
const messages = Array.from({ length: resources }, (_, i) =>
  JSON.stringify({ token, resource: `host${i}.bench.example.com`, payload: { uptime: 12345 } }))
const curve = serverKey === undefined ? {} : (() => {
  const pair = curveKeyPair()
  return { curveServerKey: serverKey, curvePublicKey: pair.publicKey, curveSecretKey: pair.secretKey }
})()
// Up to 100,000 frames can still be queued at close: on a busy machine the receiver may need more
// than 10 s for them, and frames dropped at the linger's end would leave the benchmark waiting.
const socket = new Push({ sendHighWaterMark: 100_000, linger: 120_000, ...curve })
socket.connect(endpoint)
for (let i = 0; i < count; i++) await socket.send(messages[i % resources])
socket.close()
