import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { parseReceiverConfig } from "../src/config/ReceiverConfig.ts"

const key1 = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
const key2 = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"

const parse = (body: string) => parseReceiverConfig(`enabled: true\n${body}`, "rx")

describe("receiver.yaml ingress keys (issue 19)", () => {
  it("reads udp, curve, the HTTP ingress, pinned keys and max_runtime, with defaults and no unknown-key warnings", () => {
    const parsed = parse(`
udp: { listen: "0.0.0.0:50003" }
curve: { listen: "[::]:15988", secret_key_file: /etc/heartbeat-mesh/curve.key }
http: { listen: "127.0.0.1:50004", ingress_listen: "0.0.0.0:8443", tls_cert: /c.pem, tls_key: /k.pem }
clients:
  A:
    token: a
    timeout: 1
    curve_public_key: "${key1}"
    max_runtime: 30
    resources:
      backup.example.com: { max_runtime: 120 }
      web.example.com: {}
  B: { token: b, timeout: 1 }
`)
    if (Result.isFailure(parsed)) throw new Error(parsed.failure.join("\n"))
    const { ingress, warnings } = parsed.success
    expect(warnings).toEqual([])
    expect(ingress!.udp).toEqual({ host: "0.0.0.0", port: 50003, ratePerSource: 20, burstPerSource: 40, maxSources: 10_000 })
    expect(ingress!.curve).toEqual({ host: "::", port: 15988, secretKeyFile: "/etc/heartbeat-mesh/curve.key" })
    expect(ingress!.http).toEqual({ ingressListen: { host: "0.0.0.0", port: 8443 }, tlsCert: "/c.pem", tlsKey: "/k.pem" })
    expect([...ingress!.curveKeys]).toEqual([["A", key1]])
    const [a, b] = parsed.success.clients
    expect(a!.maxRuntimeMinutes).toBe(30)
    expect(a!.resources.get("backup.example.com")!.maxRuntimeMinutes).toBe(120)
    expect(a!.resources.get("web.example.com")!.maxRuntimeMinutes).toBeUndefined()
    expect(b!.maxRuntimeMinutes).toBeUndefined()
  })

  it("is off unless configured", () => {
    const parsed = parse("clients: { A: { token: a, timeout: 1 } }\n")
    if (Result.isFailure(parsed)) throw new Error(parsed.failure.join("\n"))
    expect(parsed.success.ingress!.udp).toBeUndefined()
    expect(parsed.success.ingress!.curve).toBeUndefined()
    expect(parsed.success.ingress!.curveKeys.size).toBe(0)
  })

  it("lists every problem with its path", () => {
    const parsed = parse(`
udp: { listen: "nowhere", rate_per_source: 0 }
curve: { listen: "0.0.0.0:1" }
http: { tls_cert: /c.pem }
clients:
  A: { token: a, timeout: 1, curve_public_key: "short", max_runtime: -1 }
  B: { token: b, timeout: 1, curve_public_key: "${key2}" }
  C: { token: c, timeout: 1, curve_public_key: "${key2}" }
`)
    expect(Result.isFailure(parsed)).toBe(true)
    const problems = Result.isFailure(parsed) ? parsed.failure.join("\n") : ""
    expect(problems).toContain('udp.listen: expected "host:port"')
    expect(problems).toContain("udp.rate_per_source: expected a whole number of datagrams per second from 1 to 100000")
    expect(problems).toContain("curve.secret_key_file: is required")
    expect(problems).toContain("clients.A.curve_public_key: expected a CURVE public key")
    expect(problems).toContain("clients.A.max_runtime: expected a positive number of minutes")
  })

  it("refuses half a TLS pair and a key pinned by two clients", () => {
    const parsed = parse(`
http: { tls_cert: /c.pem }
clients:
  B: { token: b, timeout: 1, curve_public_key: "${key2}" }
  C: { token: c, timeout: 1, curve_public_key: "${key2}" }
`)
    expect(Result.isFailure(parsed) ? parsed.failure : []).toEqual([
      "http: tls_cert and tls_key go together (a PEM certificate chain and its private key)",
      "clients.C.curve_public_key: the same key as client B; pin one key per client"
    ])
  })
})
