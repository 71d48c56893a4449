/** Helpers for tests that read a receiver over HTTP: its SSE feed, and its list's total. */

/** Reads an SSE response as text: `readUntil` waits for a needle, `text` is everything so far. */
export const feedReader = (response: Response) => {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  let text = ""
  return {
    text: () => text,
    readUntil: async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`feed ended before ${needle}`)
        text += value
      }
    }
  }
}

/** Waits until the receiver at `base` lists `count` resources (heartbeats still on their way in). */
export const waitForTotal = async (base: string, count: number, timeoutMs = 60_000) => {
  const started = Date.now()
  for (;;) {
    const total = await fetch(`${base}/api/resources?limit=0`).then((response) => response.headers.get("x-total-count"))
    if (total === String(count)) return
    if (Date.now() - started > timeoutMs) throw new Error(`the receiver lists ${total} resources, not ${count}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
