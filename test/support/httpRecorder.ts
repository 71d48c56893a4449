import { createServer, type IncomingMessage, type ServerResponse } from "node:http"

export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly headers: IncomingMessage["headers"]
  readonly body: string
}

/**
 * A real HTTP server on a free loopback port that records every request. `answer` decides the
 * reply (default 200 with `defaultBody`); a handler may also keep the response open (a hang).
 */
export const httpRecorder = async (
  answer: (request: RecordedRequest, response: ServerResponse, index: number) => void = (_, response) => {
    response.writeHead(200, { "content-type": "application/json" })
    response.end("{}")
  }
) => {
  const requests: Array<RecordedRequest> = []
  const waiting: Array<() => void> = []
  const open = new Set<ServerResponse>()
  const server = createServer((incoming, response) => {
    let body = ""
    incoming.setEncoding("utf8")
    incoming.on("data", (chunk) => (body += chunk))
    incoming.on("end", () => {
      const request = { method: incoming.method ?? "", path: incoming.url ?? "", headers: incoming.headers, body }
      requests.push(request)
      open.add(response)
      response.on("close", () => open.delete(response))
      answer(request, response, requests.length - 1)
      for (const wake of waiting.splice(0)) wake()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  if (typeof address !== "object" || address === null) throw new Error("no address")
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    /** Resolves once at least `count` requests have arrived. */
    received: (count: number) =>
      new Promise<ReadonlyArray<RecordedRequest>>((resolve) => {
        const check = () => (requests.length >= count ? resolve(requests) : waiting.push(check))
        check()
      }),
    /** Answers every request still waiting (a hang ends). */
    answerWaiting: (status = 200) => {
      for (const response of open) {
        response.writeHead(status)
        response.end()
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of open) response.destroy()
        server.close(() => resolve())
      })
  }
}
