import { createSocket } from "node:dgram"

/** A UDP port that was free a moment ago on loopback. */
export const freeUdpPort = (): Promise<number> =>
  new Promise((resolvePort) => {
    const socket = createSocket("udp4")
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address()
      socket.close(() => resolvePort(port))
    })
  })

/** A real UDP client socket on loopback: sends datagrams and collects the answers it gets. */
export const udpClient = async (port: number, from = "127.0.0.1") => {
  const socket = createSocket("udp4")
  const answers: Array<string> = []
  socket.on("message", (message) => answers.push(message.toString("utf8")))
  await new Promise<void>((r) => socket.bind(0, from, () => r()))
  return {
    answers,
    send: (datagram: string | Buffer) =>
      new Promise<void>((resolveSend, reject) =>
        socket.send(datagram, port, "127.0.0.1", (error) => (error ? reject(error) : resolveSend()))
      ),
    close: () => socket.close()
  }
}

/** Parses Prometheus text into "name{labels}" -> value. */
export const parsePrometheus = (text: string) => {
  const samples = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line)
    if (match === null) throw new Error(`not Prometheus text: ${line}`)
    samples.set(match[1]!, Number(match[2]))
  }
  return samples
}

export interface HttpAnswer {
  readonly status: number
  readonly body: string
}

/** One HTTP(S) request with node:http(s), trusting `ca` (the test's self-signed certificate). */
export const httpRequest = async (
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; ca?: Buffer; from?: string } = {}
): Promise<HttpAnswer> => {
  const target = new URL(url)
  const client = target.protocol === "https:" ? await import("node:https") : await import("node:http")
  return new Promise((resolveAnswer, reject) => {
    const request = client.request(target, {
      method: options.method ?? "GET",
      headers: options.headers,
      agent: false,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      ...(options.from === undefined ? {} : { localAddress: options.from })
    }, (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk) => (body += chunk))
      response.on("end", () => resolveAnswer({ status: response.statusCode ?? 0, body }))
    })
    request.on("error", reject)
    request.end(options.body)
  })
}

/** A small deterministic PRNG, so a fuzz failure can be replayed. */
export const prng = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed / 0x7fffffff
}
