import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { parseReceiverConfig } from "../src/config/ReceiverConfig.ts"
import { maskSecrets } from "../src/config/maskSecrets.ts"

// Made by `heartbeat-mesh passwd` (the password is "correct horse").
const hash = "$scrypt$ln=15,r=8,p=1$UPZAbiJpowuy3Y3JMACGxQ$EEZK/tuC36mSz+TEwVd0LcrdeYMgEwcOGZSwVbwEHxA"
const digest = `sha256:${"ab".repeat(32)}`

const parse = (users: string, http = "http: { listen: \"127.0.0.1:50004\" }\n") =>
  parseReceiverConfig(`
enabled: true
clients:
  C: { token: aaaaaaaa, timeout: 1 }
${http}${users}`, "rx")

const problems = (users: string) => {
  const result = parse(users)
  return Result.isFailure(result) ? result.failure : []
}

describe("users: in receiver.yaml", () => {
  it("reads roles, client scopes (default every client), password hashes and token digests into http settings", () => {
    const result = parse(`users:
  alice: { role: viewer, clients: [Client1, "team-*"], password: "${hash}" }
  bot: { role: operator, clients: Client2, api_tokens: ["${digest}"] }
  root: { role: admin, password: "${hash}", api_tokens: [] }
`)
    if (Result.isFailure(result)) throw new Error(result.failure.join("\n"))
    const users = result.success.http!.users!
    expect(users.map((u) => [u.name, u.role, u.scope.patterns, u.scope.all, u.passwordHash?.ln, u.tokenDigests]))
      .toEqual([
        ["alice", "viewer", ["Client1", "team-*"], false, 15, []],
        ["bot", "operator", ["Client2"], false, undefined, [digest]],
        ["root", "admin", ["*"], true, 15, []]
      ])
    expect(result.success.warnings).toEqual([])
    // check-config masks both.
    const shown = JSON.stringify(maskSecrets(result.success))
    expect(shown).not.toContain("UPZAbiJpowuy3Y3JMACGxQ")
    expect(shown).not.toContain("abababab")
  })

  it("names every problem by its path and never echoes a secret", () => {
    expect(problems(`users:
  a: { role: boss, password: "${hash}" }
  b: { role: viewer, password: "hunter2" }
  c: { role: viewer, clients: [], password: "${hash}" }
  d: { role: viewer }
  e: { role: viewer, api_tokens: ["plain-token-1"] }
  f: { role: viewer, api_tokens: ["${digest}"] }
  g: { role: viewer, api_tokens: ["${digest}"] }
  h: { role: viewer, password: "$scrypt$ln=31,r=8,p=1$UPZAbiJpowuy3Y3JMACGxQ$EEZK/tuC36mSz+TEwVd0LcrdeYMgEwcOGZSwVbwEHxA" }
  i: just-a-string
`)).toEqual([
      "users.a.role: expected one of viewer, operator, owner, admin",
      "users.b.password: expected a hash made by `heartbeat-mesh passwd` ($scrypt$ln=..,r=..,p=..$salt$hash)",
      'users.c.clients: expected a list of client names or "*" globs, e.g. [Client1, "team-*"]',
      "users.d: needs a password or api_tokens (heartbeat-mesh passwd d)",
      "users.e.api_tokens.0: expected sha256:<64 hex digits> (heartbeat-mesh passwd e --token); a token itself is never written here",
      "users.g.api_tokens.0: the same token as user f; every token belongs to one user",
      "users.h.password: scrypt parameters out of range (ln 10-20, r 1-32, p 1-16)",
      "users.i: expected a mapping with role, clients, password or api_tokens"
    ])
    expect(problems("users: [alice]\n")).toEqual(["users: expected a mapping of user names"])
  })

  it("warns about unknown keys and about users without an http: section", () => {
    const result = parse(`users:\n  alice: { role: viewer, password: "${hash}", email: a@example.com }\n`, "")
    if (Result.isFailure(result)) throw new Error(result.failure.join("\n"))
    expect(result.success.warnings).toEqual([
      "users.alice.email: unknown setting, ignored",
      "users: set, but without an http: section nobody can sign in"
    ])
  })
})
