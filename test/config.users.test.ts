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
      "users.d: needs a password or api_tokens (heartbeat-mesh passwd d), or an email and subscribe",
      "users.e.api_tokens.0: expected sha256:<64 hex digits> (heartbeat-mesh passwd e --token); a token itself is never written here",
      "users.g.api_tokens.0: the same token as user f; every token belongs to one user",
      "users.h.password: scrypt parameters out of range (ln 10-20, r 1-32, p 1-16)",
      "users.i: expected a mapping with role, clients, password or api_tokens"
    ])
    expect(problems("users: [alice]\n")).toEqual(["users: expected a mapping of user names"])
  })

  it("warns about unknown keys and about users without an http: section", () => {
    const result = parse(`users:\n  alice: { role: viewer, password: "${hash}", phone: "+371 2000000" }\n`, "")
    if (Result.isFailure(result)) throw new Error(result.failure.join("\n"))
    expect(result.success.warnings).toEqual([
      "users.alice.phone: unknown setting, ignored",
      "users: set, but without an http: section nobody can sign in"
    ])
  })

  describe("subscriptions to notification routes (email + subscribe)", () => {
    const routing = `channels:
  mail: { type: email, smtp: { host: smtp.example.com }, from: hb@example.com, to: ops@example.com }
  hook: { type: webhook, url: "https://hooks.example.com/" }
routes:
  - { name: db-pages, match: { resource: "db*" }, channels: [hook, mail] }
  - { name: hooks-only, channels: [hook] }
  - channels: [mail]
`
    const withRouting = (users: string, routes = routing) => parse(`${routes}users:\n${users}`)
    const failures = (users: string, routes = routing) => {
      const result = withRouting(users, routes)
      return Result.isFailure(result) ? result.failure : []
    }

    it("a user with email and subscribe (no password needed) becomes a subscription of its scope; routes keep their names", () => {
      const result = withRouting(`  dora: { role: viewer, clients: [C, "team-*"], email: dora@example.com, subscribe: [db-pages] }
  ed: { role: operator, password: "${hash}", email: ed@example.com, subscribe: db-pages }
  fay: { role: viewer, password: "${hash}", email: fay@example.com }
`)
      if (Result.isFailure(result)) throw new Error(result.failure.join("\n"))
      expect(result.success.subscriptions!.map((s) => [s.user, s.email, s.routes, s.scope.patterns]))
        .toEqual([["dora", "dora@example.com", ["db-pages"], ["C", "team-*"]], ["ed", "ed@example.com", ["db-pages"], ["*"]]])
      expect(result.success.notifications.routes.map((route) => route.name)).toEqual(["db-pages", "hooks-only", undefined])
      expect(result.success.warnings).toEqual([])
    })

    it("names what is wrong: an unknown route, a route without an e-mail channel, no email, a bad address, a duplicate route name", () => {
      expect(failures(`  a: { role: viewer, email: a@example.com, subscribe: [db-page] }
  b: { role: viewer, email: b@example.com, subscribe: [hooks-only] }
  c: { role: viewer, password: "${hash}", subscribe: [db-pages] }
  d: { role: viewer, password: "${hash}", email: "not an address" }
  e: { role: viewer, email: e@example.com, subscribe: [[db-pages]] }
`)).toEqual([
        "users.c.subscribe: needs users.c.email, the address the routes deliver to",
        "users.d.email: expected one e-mail address, e.g. alice@example.com",
        "users.e.subscribe: expected a list of route names (routes[].name)"
      ])
      // The routes are checked once the users themselves are right.
      expect(failures(`  a: { role: viewer, email: a@example.com, subscribe: [db-page] }
  b: { role: viewer, email: b@example.com, subscribe: [db-pages, hooks-only] }
`)).toEqual([
        "users.a.subscribe.0: no route named db-page (named routes: db-pages, hooks-only)",
        "users.b.subscribe.1: route hooks-only sends to no e-mail channel (its channels: hook); add one of type: email to it"
      ])
      expect(failures(`  a: { role: viewer, email: a@example.com, subscribe: [pages] }\n`, "")).toEqual([
        "users.a.subscribe.0: no route named pages (no route has a name: give the route name: pages)"
      ])
      expect(failures(`  a: { role: viewer, password: "${hash}" }\n`, routing.replace("name: hooks-only", "name: db-pages"))).toEqual([
        "routes.1.name: another route is named db-pages: route names are unique"
      ])
    })
  })
})
