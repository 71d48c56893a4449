import { describe, expect, it } from "vitest"
import { clientScope, everyClient, type Role } from "../src/config/usersConfig.ts"
import { SourceRateLimiter } from "../src/ingress/SourceRateLimiter.ts"
import { type Action, actions, adminTokenHolder, decide, type Principal, readTokenHolder, roleAllows } from "../src/monitor/access.ts"

const user = (role: Role, patterns: ReadonlyArray<string>): Principal => ({ name: "u", role, scope: clientScope(patterns), via: "session" })

describe("roles (monitor/access.ts)", () => {
  it("each role may do what the one below may, and the table of the issue", () => {
    const allowed = (role: Role) => actions.filter((action) => roleAllows(role, action))
    expect(allowed("viewer")).toEqual(["read", "metrics"])
    expect(allowed("operator")).toEqual(["read", "pause", "resume", "silence", "dyndns", "metrics"])
    expect(allowed("owner")).toEqual(["read", "pause", "resume", "silence", "dyndns", "deregister", "manage", "metrics"])
    expect(allowed("admin")).toEqual([...actions])
  })

  it("decides by role and by client scope: outside the scope is hidden, a low role forbidden", () => {
    const table: ReadonlyArray<[Principal, Action, string | undefined, ReturnType<typeof decide>]> = [
      [user("viewer", ["Client1"]), "read", "Client1", "allowed"],
      [user("viewer", ["Client1"]), "read", "Client2", "hidden"],
      // Lists: allowed, and narrowed to the scope by the caller.
      [user("viewer", ["Client1"]), "read", undefined, "allowed"],
      [user("viewer", ["Client1"]), "pause", "Client1", "forbidden"],
      [user("viewer", ["Client1"]), "pause", "Client2", "hidden"],
      [user("operator", ["Client1", "team-*"]), "pause", "team-a", "allowed"],
      [user("operator", ["Client1", "team-*"]), "resume", "team-", "allowed"],
      [user("operator", ["Client1", "team-*"]), "pause", "teamx", "hidden"],
      [user("operator", ["Client1", "team-*"]), "deregister", "Client1", "forbidden"],
      [user("owner", ["Client1"]), "deregister", "Client1", "allowed"],
      [user("owner", ["Client1"]), "deregister", "client1", "hidden"],
      [user("admin", ["Client1"]), "deregister", "Client2", "hidden"],
      // Not about one client (/metrics): only a principal covering every client.
      [user("admin", ["Client1"]), "metrics", undefined, "forbidden"],
      [user("viewer", ["*"]), "metrics", undefined, "allowed"],
      [readTokenHolder, "read", "AnyClient", "allowed"],
      [readTokenHolder, "pause", "AnyClient", "forbidden"],
      [adminTokenHolder, "deregister", "AnyClient", "allowed"]
    ]
    for (const [principal, action, client, expected] of table) {
      expect([principal.role, principal.scope.patterns, action, client, decide(principal, action, client)])
        .toEqual([principal.role, principal.scope.patterns, action, client, expected])
    }
  })

  it("scopes: exact names, * globs (anything, including nothing), regex characters taken literally", () => {
    const scope = clientScope(["Client1", "team-*", "a.b", "x*y*z"])
    const covered = ["Client1", "team-", "team-ops", "a.b", "xyz", "x-y-z", "xy*z"]
    const notCovered = ["client1", "Client10", "team", "axb", "xz", "x-y-z-", " Client1"]
    expect(covered.filter(scope.covers)).toEqual(covered)
    expect(notCovered.filter(scope.covers)).toEqual([])
    expect(everyClient.all).toBe(true)
    expect(clientScope(["team-*"]).all).toBe(false)
  })
})

describe("the failed-login limit (SourceRateLimiter, as HttpAuth uses it: peek, then take on a failure)", () => {
  it("5 failures at once, then one more per 12 s; peeking takes nothing", () => {
    const limiter = new SourceRateLimiter({ ratePerSecond: 1 / 12, burst: 5, maxSources: 2 })
    for (let i = 0; i < 5; i++) {
      expect(limiter.wouldAllow("user:vera", 1000)).toBe(true)
      expect(limiter.wouldAllow("user:vera", 1000)).toBe(true)
      limiter.allow("user:vera", 1000)
    }
    expect(limiter.wouldAllow("user:vera", 1000)).toBe(false)
    expect(limiter.wouldAllow("user:vera", 12_999)).toBe(false)
    expect(limiter.wouldAllow("user:vera", 13_000)).toBe(true)
    expect(limiter.wouldAllow("user:otto", 1000)).toBe(true)
    // A clock going back gives nothing back.
    expect(limiter.wouldAllow("user:vera", 0)).toBe(false)
  })
})
