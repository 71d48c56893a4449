// The live feed (Server-Sent Events read with fetch, which can send the token), reconnecting
// after a break. Each message goes to `onMessage(type, data)`; the connection state to `onState`.
// `heartbeats()` says, at each connection, whether to ask for routine heartbeats too.
import { openFeed } from "./api.js"

export async function follow({ heartbeats, onMessage, onState, onReconnected }) {
  let connectedBefore = false
  let failures = 0
  for (;;) {
    try {
      const response = await openFeed(heartbeats())
      if (!response.ok || !response.body) throw new Error(`feed: ${response.status}`)
      onState("live")
      if (connectedBefore) onReconnected()
      connectedBefore = true
      failures = 0
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      let buffer = ""
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buffer += value
        let end
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const type = /^event: (.*)$/m.exec(block)?.[1]
          const data = /^data: (.*)$/m.exec(block)?.[1]
          if (type && data) onMessage(type, JSON.parse(data))
        }
      }
    } catch (error) {
      console.warn(error)
    }
    onState("reconnecting")
    failures++
    await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 1000 * 2 ** Math.min(failures, 3))))
  }
}
