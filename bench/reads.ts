// Reads at scale (issue 17): for each fleet size, a receiver process (bench/readsServer.ts) with
// that many resources, and this process as its HTTP clients. Measures, on the client's clock:
// one page (the first, and one at a random position), a search, /metrics and /api/summary
// (medians); then, on the server's own event loop, the longest block and the highest RSS while
// 10 readers hit it in parallel, and while the whole list is streamed as ndjson; against the
// server's idle RSS. Throughout, heartbeats arrive (1,000/s over ZeroMQ, cycling through the
// fleet), as they do at a live receiver: idle means "no reads", not "no traffic". The block is the delay of a 1 ms timer bounded by the CPU time the server's
// main thread used meanwhile (`maxDelayMs`, the plain delay, also counts the time a loaded
// machine gave the cores to other processes). Prints one JSON line.
//   node bench/reads.ts [--quick] [--sizes 1000,100000,1000000]
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { Push } from "zeromq"

const quick = process.argv.includes("--quick")
const sizesFlag = process.argv.indexOf("--sizes")
const sizes = sizesFlag > 0 ? process.argv[sizesFlag + 1]!.split(",").map(Number) : quick ? [1000, 100_000] : [1000, 100_000, 1_000_000]
const parallelMs = quick ? 2000 : 5000

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return Number(sorted[Math.floor(sorted.length / 2)]!.toFixed(2))
}

/** A server process and a way to ask it things on stdin. */
const startServer = async (resources: number) => {
  const httpPort = await freePort()
  const zmqPort = await freePort()
  const child: ChildProcess = spawn(process.execPath, [
    "--expose-gc",
    "--max-old-space-size=8192",
    join(import.meta.dirname, "readsServer.ts"),
    String(resources),
    String(httpPort),
    String(zmqPort)
  ], { stdio: ["pipe", "pipe", "inherit"] })
  const waiting: Array<(value: Record<string, number>) => void> = []
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (line.startsWith("{")) waiting.shift()?.(JSON.parse(line))
  })
  const next = () => new Promise<Record<string, number>>((resolve) => waiting.push(resolve))
  const startedAt = performance.now()
  const ready = next()
  const exited = new Promise<never>((_, reject) => child.on("exit", (code) => reject(new Error(`readsServer exited ${code}`))))
  await Promise.race([ready, exited])
  return {
    zmqPort,
    base: `http://127.0.0.1:${httpPort}`,
    startMs: performance.now() - startedAt,
    ask: (command: string) => {
      const answer = next()
      child.stdin!.write(command + "\n")
      return answer
    },
    stop: () => {
      child.stdin!.end()
      child.kill("SIGKILL")
    }
  }
}

const timed = async (url: string) => {
  const started = performance.now()
  const response = await fetch(url, { headers: { "accept-encoding": "br, gzip" } })
  const body = await response.arrayBuffer()
  if (!response.ok) throw new Error(`${url}: ${response.status}`)
  return { ms: performance.now() - started, bytes: body.byteLength, total: Number(response.headers.get("x-total-count")) }
}

/** Heartbeats at `perSecond` for resources 0, 1, 2, ... (the server's names and tokens), until stopped. */
const heartbeatTraffic = (port: number, resources: number, perSecond: number) => {
  const socket = new Push({ sendHighWaterMark: 100_000 })
  socket.connect(`tcp://127.0.0.1:${port}`)
  let next = 0
  let sending = false
  const timer = setInterval(async () => {
    if (sending) return
    sending = true
    for (let k = 0; k < perSecond / 10; k++) {
      const i = next++ % resources
      const client = i % 100 === 0 ? 0 : 1 + (i % 9)
      await socket.send(JSON.stringify({ token: `bench-token-${client}-0123456789`, resource: `host${i}.dc${i % 7}.example.com`, payload: { uptime: i } }))
    }
    sending = false
  }, 100)
  return () => {
    clearInterval(timer)
    socket.close()
  }
}

const measure = async (resources: number) => {
  const server = await startServer(resources)
  const stopTraffic = heartbeatTraffic(server.zmqPort, resources, 1000)
  try {
    const { base } = server
    const total = resources + 10
    const randomOffset = () => Math.floor(Math.random() * Math.max(1, total - 100))
    // The resource that sorts last (alive, the last client, the highest number), searched by name.
    const lastName = `host${resources - 1}.dc`
    const checkTotal = (await timed(`${base}/api/resources?limit=0`)).total
    if (checkTotal !== total) throw new Error(`X-Total-Count ${checkTotal}, expected ${total}`)
    // Warm up: the JIT compiles the read paths as a running daemon's would be.
    for (let i = 0; i < 30; i++) {
      await timed(`${base}/api/resources?limit=100&offset=${randomOffset()}`)
      await timed(`${base}/metrics`)
    }
    for (let i = 0; i < 3; i++) await timed(`${base}/api/resources?q=${lastName}&limit=100`)
    const idle = await server.ask("idle")

    const firstPage: Array<number> = []
    const anyPage: Array<number> = []
    const metrics: Array<number> = []
    const summary: Array<number> = []
    for (let i = 0; i < 30; i++) {
      firstPage.push((await timed(`${base}/api/resources?limit=100`)).ms)
      anyPage.push((await timed(`${base}/api/resources?limit=100&offset=${randomOffset()}`)).ms)
      metrics.push((await timed(`${base}/metrics`)).ms)
      summary.push((await timed(`${base}/api/summary`)).ms)
    }
    const search: Array<number> = []
    let found = 0
    for (let i = 0; i < 5; i++) {
      const answer = await timed(`${base}/api/resources?q=${lastName}&limit=100`)
      search.push(answer.ms)
      found = answer.total
    }

    // Ten readers at once, each looping over what a dashboard and scrapers ask.
    await server.ask("start")
    let requests = 0
    const until = performance.now() + parallelMs
    const reader = async (n: number) => {
      for (let i = 0; performance.now() < until; i++) {
        const kind = (i + n) % 5
        const url = kind === 0
          ? `${base}/api/resources?limit=100&offset=${randomOffset()}`
          : kind === 1
          ? `${base}/api/resources?q=host${Math.floor(Math.random() * resources)}&limit=100`
          : kind === 2
          ? `${base}/metrics`
          : kind === 3
          ? `${base}/api/summary`
          : `${base}/api/resources?limit=100&sort=-lastSeen&offset=${randomOffset()}`
        await timed(url)
        requests++
      }
    }
    await Promise.all(Array.from({ length: 10 }, (_, n) => reader(n)))
    const parallel = await server.ask("stop")

    // The whole list, streamed.
    await server.ask("start")
    const exportStarted = performance.now()
    const response = await fetch(`${base}/api/resources?format=ndjson`)
    let lines = 0
    for await (const chunk of response.body!) {
      for (const byte of chunk as Uint8Array) if (byte === 10) lines++
    }
    const exportMs = performance.now() - exportStarted
    const exported = await server.ask("stop")
    if (lines !== total) throw new Error(`export gave ${lines} lines, expected ${total}`)

    return {
      resources,
      startMs: Math.round(server.startMs),
      pageMs: median(firstPage),
      pageAtRandomOffsetMs: median(anyPage),
      searchMs: median(search),
      searchFound: found,
      metricsMs: median(metrics),
      summaryMs: median(summary),
      parallelRequests: requests,
      parallelMaxBlockMs: Number(parallel["maxBlockMs"]!.toFixed(1)),
      parallelMaxDelayMs: Number(parallel["maxDelayMs"]!.toFixed(1)),
      idleRssBytes: idle["rssBytes"]!,
      parallelPeakRssBytes: parallel["peakRssBytes"]!,
      exportMs: Math.round(exportMs),
      exportMaxBlockMs: Number(exported["maxBlockMs"]!.toFixed(1)),
      exportMaxDelayMs: Number(exported["maxDelayMs"]!.toFixed(1)),
      exportPeakRssBytes: exported["peakRssBytes"]!,
      peakRssOverIdle: Number((Math.max(parallel["peakRssBytes"]!, exported["peakRssBytes"]!) / idle["rssBytes"]!).toFixed(3))
    }
  } finally {
    stopTraffic()
    server.stop()
  }
}

const results = []
for (const size of sizes) {
  results.push(await measure(size))
  process.stderr.write(`    reads at ${size}: ${JSON.stringify(results.at(-1))}\n`)
}
const smallest = results[0]!
const largest = results[results.length - 1]!
console.log(JSON.stringify({
  sizes: results,
  pageRatio: Number((largest.pageMs / smallest.pageMs).toFixed(2)),
  metricsRatio: Number((largest.metricsMs / smallest.metricsMs).toFixed(2)),
  maxBlockMs: Math.max(...results.map((r) => Math.max(r.parallelMaxBlockMs, r.exportMaxBlockMs))),
  peakRssOverIdle: Math.max(...results.map((r) => r.peakRssOverIdle))
}))
