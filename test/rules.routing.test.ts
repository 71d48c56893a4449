import { describe, expect, it } from "vitest"
import type { Notification } from "../src/domain/Notification.ts"
import {
  type CompiledMute,
  type CompiledRoute,
  firstRoute,
  globToRegExp,
  isFailing,
  mutedBy,
  oneOffWindow,
  recurringWindow,
  renotifyDue,
  severityRank,
  subscriberAddresses,
  subscribersByRoute
} from "../src/monitor/notificationRouting.ts"
import { clientScope } from "../src/config/usersConfig.ts"

const note = (fields: Partial<Notification> = {}): Notification => ({
  severity: "critical",
  event: "heartbeat_mesh_heartbeat_timeout",
  text: "",
  resource: "pg1.db.example.com",
  service: "heartbeat",
  group: "pg1.db.example.com",
  value: 0,
  origin: "o",
  client: "Client1",
  ...fields
})

const route = (fields: Partial<CompiledRoute>): CompiledRoute => ({
  client: undefined,
  resource: undefined,
  events: undefined,
  minRank: undefined,
  channels: [0],
  renotifyEveryMs: undefined,
  ...fields
})

describe("globs", () => {
  it.each([
    ["*.db.example.com", "pg1.db.example.com", true],
    ["*.db.example.com", "db.example.com", false],
    ["*.db.example.com", "pg1.dbXexample.com", false], // a dot is a dot
    ["web?", "web1", true],
    ["web?", "web10", false],
    ["Client1", "client1", false], // case matters
    ["*", "", true],
    ["a+b(c)", "a+b(c)", true]
  ] as const)("%s ~ %s: %s", (glob, name, matches) => {
    expect(globToRegExp(glob).test(name)).toBe(matches)
  })
})

describe("severities", () => {
  it.each([
    ["major", "warning", true],
    ["warning", "major", false],
    ["critical", "critical", true],
    ["ok", "informational", false],
    ["made-up", "critical", true] // an unknown severity passes every minimum: never hide what we cannot rank
  ] as const)("%s against a minimum of %s: %s", (severity, minimum, passes) => {
    const r = route({ minRank: severityRank(minimum) })
    expect(firstRoute([r], note({ severity })) === 0).toBe(passes)
  })

  it.each([
    ["critical", true],
    ["warning", true],
    ["indeterminate", true],
    ["informational", false],
    ["ok", false],
    ["custom-level", true]
  ] as const)("%s is failing: %s", (severity, failing) => {
    expect(isFailing(severity)).toBe(failing)
  })
})

const { client: _client, ...receiverEvent } = note({ event: "heartbeat_mesh_receiver_activity_lost", resource: "rx" })

describe("firstRoute: first match wins", () => {
  const routes = [
    route({ client: globToRegExp("Client1"), resource: globToRegExp("*.db.example.com"), events: new Set(["heartbeat_mesh_heartbeat_timeout"]), minRank: severityRank("major"), channels: [0] }),
    route({ client: globToRegExp("Client1"), channels: [1] }),
    route({ events: new Set(["heartbeat_mesh_receiver_activity_lost"]), channels: [2] })
  ]
  it.each([
    ["db timeout, critical", note(), 0],
    ["db timeout, minor: below the minimum", note({ severity: "minor" }), 1],
    ["db ok: another event", note({ event: "heartbeat_mesh_heartbeat_ok", severity: "ok" }), 1],
    ["web timeout", note({ resource: "web1.example.com" }), 1],
    ["other client", note({ client: "Client2" }), -1],
    ["receiver event: no client, matches no client glob", receiverEvent, 2]
  ] as const)("%s -> route %s", (_, notification, expected) => {
    expect(firstRoute(routes, notification)).toBe(expected)
  })
})

describe("renotifyDue", () => {
  const hourly = route({ renotifyEveryMs: 3_600_000 })
  it.each([
    ["no renotify_every: never", route({}), "critical", undefined, 0, false],
    ["failing, never sent: due", hourly, "critical", undefined, 0, true],
    ["failing, sent 59 min ago: not yet", hourly, "critical", 0, 3_540_000, false],
    ["failing, sent 60 min ago: due", hourly, "critical", 0, 3_600_000, true],
    ["ok repeats are not renotified", hourly, "ok", undefined, 0, false]
  ] as const)("%s", (_, r, severity, last, now, due) => {
    expect(renotifyDue(r, severity, last, now)).toBe(due)
  })
})

describe("mute windows", () => {
  const day = 86_400_000
  const nightly = recurringWindow((now) => Math.floor(now / day) * day + 2 * 3_600_000 <= now
    ? Math.floor(now / day) * day + 2 * 3_600_000
    : Math.floor(now / day) * day - day + 2 * 3_600_000, 3_600_000)
  const windows: Array<CompiledMute> = [
    { name: "db maintenance", client: globToRegExp("Client1"), resource: globToRegExp("*.db.example.com"), openAt: oneOffWindow(1000, 2000) },
    { name: "nightly", client: undefined, resource: globToRegExp("batch*"), openAt: nightly }
  ]
  it.each([
    ["before a one-off window", note(), 999, undefined],
    ["at its start", note(), 1000, "db maintenance"],
    ["at its end: open no more", note(), 2000, undefined],
    ["another resource", note({ resource: "web1" }), 1500, undefined],
    ["recurring: 02:30", note({ resource: "batch1" }), 5 * day + 2.5 * 3_600_000, "nightly"],
    ["recurring: 03:00, ended", note({ resource: "batch1" }), 5 * day + 3 * 3_600_000, undefined],
    ["recurring: 01:59", note({ resource: "batch1" }), 5 * day + 2 * 3_600_000 - 1, undefined]
  ] as const)("%s", (_, notification, now, expected) => {
    expect(mutedBy(windows, notification, now)?.name).toBe(expected)
  })
})

describe("users subscribed to named routes (issue 18.3)", () => {
  const subscribers = subscribersByRoute([
    { user: "dora", email: "dora@example.com", routes: ["db-pages", "db-pages"], scope: clientScope(["Client1"]) },
    { user: "ed", email: "ed@example.com", routes: ["db-pages", "all"], scope: clientScope(["team-*"]) },
    { user: "root", email: "root@example.com", routes: ["db-pages"], scope: clientScope(["*"]) },
    { user: "dora-again", email: "dora@example.com", routes: ["db-pages"], scope: clientScope(["*"]) }
  ])
  const table: ReadonlyArray<[string, Partial<CompiledRoute>, { readonly client: string | undefined }, ReadonlyArray<string>]> = [
    ["a client in the scopes of dora and root (dora once)", { name: "db-pages" }, { client: "Client1" }, ["dora@example.com", "root@example.com"]],
    ["a glob scope", { name: "db-pages" }, { client: "team-a" }, ["ed@example.com", "root@example.com", "dora@example.com"]],
    ["a client nobody scoped covers but root", { name: "db-pages" }, { client: "Client2" }, ["root@example.com", "dora@example.com"]],
    ["receiver-level: only those of every client", { name: "db-pages" }, { client: undefined }, ["root@example.com", "dora@example.com"]],
    ["another named route", { name: "all" }, { client: "team-b" }, ["ed@example.com"]],
    ["another named route, out of scope", { name: "all" }, { client: "Client1" }, []],
    ["a route nobody subscribes to", { name: "quiet" }, { client: "Client1" }, []],
    ["an unnamed route", {}, { client: "Client1" }, []]
  ]
  it.each(table)("%s", (_name, routeFields, fields, expected) => {
    const given = note()
    if (fields.client === undefined) delete (given as { client?: string }).client
    else Object.assign(given, { client: fields.client })
    expect(subscriberAddresses(subscribers, route(routeFields), given)).toEqual(expected)
  })
})

