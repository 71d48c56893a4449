import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { parseReceiverConfig } from "../src/config/ReceiverConfig.ts"
import { compileMute } from "../src/notify/channels.ts"

const parse = (extra: string) =>
  parseReceiverConfig(`
enabled: true
clients:
  C:
    token: aaaaaaaa
    timeout: 1
${extra}`, "rx")

const problems = (extra: string) => {
  const result = parse(extra)
  return Result.isFailure(result) ? result.failure : []
}

const notifications = (extra: string) => {
  const result = parse(extra)
  if (Result.isFailure(result)) throw new Error(result.failure.join("\n"))
  return result.success.notifications
}

describe("channels, routes, mute in receiver.yaml", () => {
  it("reads the issue's example shape", () => {
    const config = notifications(`
channels:
  hook: { type: webhook, url: "https://hooks.example.com/hb", headers: { X-Key: "k" } }
  mail: { type: email, smtp: { host: smtp.example.com, port: 587, starttls: true,
          user: hb, password_file: /etc/heartbeat-mesh/smtp.pass }, from: hb@example.com, to: [ops@example.com] }
  devilry: { type: notify_devilry }
routes:
  - match: { client: Client1, resource: "*.db.example.com", event: heartbeat_mesh_heartbeat_timeout, min_severity: major }
    channels: [hook, mail]
    renotify_every: 1h
  - channels: [devilry]
mute:
  - { name: patch night, resource: "*.db.example.com", cron: "0 2 * * 0", duration: 2h }
  - { client: Client1, from: "2026-12-24T18:00:00Z", until: "2026-12-27T08:00:00Z" }
`)
    expect(config.channels.map((c) => `${c.name}:${c.spec.type}`)).toEqual(["hook:webhook", "mail:email", "devilry:notify_devilry"])
    expect(config.channels[1]!.spec).toEqual({
      type: "email",
      smtp: { host: "smtp.example.com", port: 587, security: "starttls", user: "hb", password: { from: "file", path: "/etc/heartbeat-mesh/smtp.pass" }, caFile: undefined },
      from: "hb@example.com",
      to: ["ops@example.com"]
    })
    expect(config.routes).toEqual([
      { client: "Client1", resource: "*.db.example.com", events: ["heartbeat_mesh_heartbeat_timeout"], minSeverity: "major", channels: ["hook", "mail"], renotifyEveryMs: 3_600_000 },
      { client: undefined, resource: undefined, events: undefined, minSeverity: undefined, channels: ["devilry"], renotifyEveryMs: undefined }
    ])
    expect(config.mute).toEqual([
      { name: "patch night", client: undefined, resource: "*.db.example.com", schedule: { kind: "cron", cron: "0 2 * * 0", durationMs: 7_200_000, timezone: undefined } },
      { name: "mute.1", client: "Client1", resource: undefined, schedule: { kind: "once", fromMs: Date.parse("2026-12-24T18:00:00Z"), untilMs: Date.parse("2026-12-27T08:00:00Z") } }
    ])
  })

  it("no channels: none configured (the notifier key decides)", () => {
    expect(notifications("")).toEqual({ channels: [], routes: [], mute: [] })
  })

  it("lists every problem with its path, and never shows a secret", () => {
    expect(problems(`
channels:
  a: { type: carrier-pigeon }
  b: { type: webhook, url_file: /x, url: "https://hook.example.com/SECRET-PATH" }
  c: { type: telegram, chat_id: 1, concurrency: 0 }
  d: { type: email, smtp: { host: h, tls: true, starttls: true }, from: f, to: 3 }
  e: { type: alerta, url: "ftp://alerta", colour: blue }
routes:
  - match: { client: C, weather: sunny }
    channels: [nowhere]
    renotify_every: soon
mute:
  - { cron: "61 * * * *", duration: 1h }
  - { from: "2026-01-02", until: "2026-01-01" }
`)).toEqual([
      "channels.a.type: expected one of notify_devilry, stdout, webhook, alerta, slack, telegram, pushover, ntfy, email",
      "channels.b.url: give only one of url, url_file",
      "channels.c.concurrency: expected a positive whole number",
      "channels.c.bot_token: is required (or bot_token_file, bot_token_env)",
      "channels.d.smtp.tls: choose tls (implicit, port 465) or starttls (port 587), not both",
      "channels.d.to: expected an address or a list of addresses",
      "channels.e.colour: unknown setting (expected one of type, concurrency, pacing, timeout, retries, retry_delay, retry_max_delay, max_entries, max_bytes, repeats, url, api_key, api_key_file, api_key_env, environment)",
      "channels.e.url: expected an http:// or https:// URL",
      "routes.0.match.weather: unknown setting (expected one of client, resource, event, min_severity)",
      "routes.0.channels: no channel named nowhere (channels: a, b, c, d, e)",
      "routes.0.renotify_every: expected a positive number of seconds or a duration like 30s, 15m, 2h, 1d",
      'mute.0.cron: expected a cron expression ("minute hour day month weekday", e.g. "0 2 * * 0")',
      "mute.1.until: must be after from"
    ])
  })

  it("a cron mute window is open for its duration after each start (UTC by default)", () => {
    const window = compileMute({ name: "n", client: undefined, resource: undefined, schedule: { kind: "cron", cron: "0 2 * * *", durationMs: 3_600_000, timezone: "UTC" } })
    const at = (time: string) => window.openAt(Date.parse(`2026-12-01T${time}Z`))
    expect([at("01:59:59"), at("02:00:00"), at("02:59:59"), at("03:00:00")]).toEqual([false, true, true, false])
  })
})
