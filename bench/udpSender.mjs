// A UDP load generator in its own process: sends `count` heartbeats with "ack": true, keeping at most
// `window` unanswered, so it measures what the receiver takes without loss. Exits 0 when every one
// was acked. Usage: node udpSender.mjs PORT COUNT RESOURCES TOKEN [WINDOW]
import { createSocket } from "node:dgram"

const [portText, countText, resourcesText, token, windowText] = process.argv.slice(2)
const port = Number(portText)
const count = Number(countText)
const resources = Number(resourcesText)
const window = Number(windowText ?? 256)
const messages = Array.from({ length: resources }, (_, i) =>
  Buffer.from(JSON.stringify({ token, resource: `host${i}.bench.example.com`, payload: { uptime: 12345 }, ack: true })))
const socket = createSocket("udp4")
let sent = 0
let acked = 0
let lastProgress = Date.now()
const pump = () => {
  while (sent < count && sent - acked < window) socket.send(messages[sent++ % resources], port, "127.0.0.1")
}
socket.on("message", () => {
  acked++
  lastProgress = Date.now()
  if (acked === count) {
    socket.close()
    process.exit(0)
  }
  pump()
})
// A lost datagram (or ack) leaves a hole in the window: after a quiet 50 ms count it as lost and go on.
let lost = 0
setInterval(() => {
  if (Date.now() - lastProgress > 50 && sent - acked > 0) {
    lost += sent - acked
    acked = sent
    lastProgress = Date.now()
    if (acked >= count) {
      console.error(`udp: ${lost} lost`)
      process.exit(0)
    }
    pump()
  }
}, 20).unref()
socket.bind(0, "127.0.0.1", pump)
