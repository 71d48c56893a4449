import type { Delivery } from "./deliver.ts"

/**
 * One heartbeat as an HTTP ping: `POST <url>/ping/<resource>` with the token as a Bearer token,
 * the payload as a JSON body and the timeout (minutes) as `?timeout=`. Uses node:http / node:https
 * (loaded only for this transport). 2xx is `sent`; 401/403/400/413 are `refused`; no answer within
 * `timeoutMs` is `timed_out`.
 */
export const deliverHttp = async (baseUrl: string, heartbeat: Record<string, unknown>, timeoutMs: number): Promise<Delivery> => {
  const started = Date.now()
  const finished = (outcome: Delivery["outcome"], detail?: string): Delivery => ({ endpoint: baseUrl, outcome, detail, elapsedMs: Date.now() - started })
  const url = new URL(`${baseUrl}/ping/${encodeURIComponent(String(heartbeat["resource"]))}`)
  if (typeof heartbeat["timeout"] === "number") url.searchParams.set("timeout", String(heartbeat["timeout"]))
  const body = Buffer.from(JSON.stringify(heartbeat["payload"] ?? {}))
  const client = url.protocol === "https:" ? await import("node:https") : await import("node:http")
  return new Promise<Delivery>((resolve) => {
    const request = client.request(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${String(heartbeat["token"])}`,
        "content-type": "application/json",
        "content-length": body.length
      },
      timeout: timeoutMs
    }, (response) => {
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk) => {
        if (text.length < 1000) text += chunk
      })
      response.on("end", () => {
        const status = response.statusCode ?? 0
        if (status >= 200 && status < 300) resolve(finished("sent"))
        else if (status >= 400 && status < 500) resolve(finished("refused", `HTTP ${status} ${text.slice(0, 200).trim()}`))
        else resolve(finished("failed", `HTTP ${status}`))
      })
    })
    const deadline = setTimeout(() => request.destroy(new Error("deadline")), timeoutMs)
    request.on("timeout", () => request.destroy(new Error("deadline")))
    request.on("error", (error) => {
      clearTimeout(deadline)
      const code = (error as { code?: string }).code
      if (error.message === "deadline") resolve(finished("timed_out", `no answer within ${timeoutMs} ms`))
      else if (code === "ECONNREFUSED") resolve(finished("refused", "connection refused"))
      else resolve(finished("failed", error.message))
    })
    request.on("close", () => clearTimeout(deadline))
    request.end(body)
  })
}
