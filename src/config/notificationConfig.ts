import { Result } from "effect"
import * as Cron from "effect/Cron"

/**
 * The `channels:`, `routes:` and `mute:` sections of receiver.yaml (issue 15). Validated here,
 * with every problem named by its path; secrets are referenced, not read (that happens when the
 * channels are built) and never echoed in a message.
 */

export const channelTypes = ["notify_devilry", "stdout", "webhook", "alerta", "slack", "telegram", "pushover", "ntfy", "email"] as const
export type ChannelType = (typeof channelTypes)[number]

/** Where a secret comes from: written inline, a file (first line), or an environment variable. */
export type SecretRef =
  | { readonly from: "inline"; readonly value: string }
  | { readonly from: "file"; readonly path: string }
  | { readonly from: "env"; readonly name: string }

/** Delivery settings a channel may set; unset ones take the channel type's defaults. */
export interface DeliveryOverrides {
  readonly concurrency?: number
  readonly pacingMs?: number
  readonly attemptTimeoutMs?: number
  readonly retries?: number
  readonly retryDelayMs?: number
  readonly retryMaxDelayMs?: number
  readonly maxEntries?: number
  readonly maxBytes?: number
  readonly repeats?: boolean
}

export type ChannelSpec =
  | { readonly type: "notify_devilry"; readonly command: string | undefined; readonly forceSend: boolean | undefined }
  | { readonly type: "stdout" }
  | {
    readonly type: "webhook"
    readonly url: SecretRef
    readonly headers: ReadonlyArray<readonly [string, SecretRef]>
    readonly bodyTemplate: string | undefined
  }
  | { readonly type: "alerta"; readonly url: string; readonly apiKey: SecretRef | undefined; readonly environment: string | undefined }
  | { readonly type: "slack"; readonly url: SecretRef; readonly channel: string | undefined; readonly username: string | undefined }
  | { readonly type: "telegram"; readonly url: string; readonly botToken: SecretRef; readonly chatId: string }
  | { readonly type: "pushover"; readonly url: string; readonly token: SecretRef; readonly user: SecretRef }
  | { readonly type: "ntfy"; readonly url: string; readonly topic: string; readonly token: SecretRef | undefined }
  | {
    readonly type: "email"
    readonly smtp: {
      readonly host: string
      readonly port: number
      readonly security: "starttls" | "tls" | "none"
      readonly user: string | undefined
      readonly password: SecretRef | undefined
      /** A CA certificate (PEM) to trust besides the system's: self-hosted servers. */
      readonly caFile: string | undefined
    }
    readonly from: string
    readonly to: ReadonlyArray<string>
  }

export interface ChannelConfig {
  readonly name: string
  readonly spec: ChannelSpec
  readonly delivery: DeliveryOverrides
}

export interface RouteConfig {
  /** Optional; users subscribe to routes by it (`users.<name>.subscribe`). Unique. */
  readonly name: string | undefined
  readonly client: string | undefined
  readonly resource: string | undefined
  readonly events: ReadonlyArray<string> | undefined
  readonly minSeverity: string | undefined
  readonly channels: ReadonlyArray<string>
  readonly renotifyEveryMs: number | undefined
}

export type MuteSchedule =
  | { readonly kind: "once"; readonly fromMs: number; readonly untilMs: number }
  | { readonly kind: "cron"; readonly cron: string; readonly durationMs: number; readonly timezone: string | undefined }

export interface MuteConfig {
  readonly name: string
  readonly client: string | undefined
  readonly resource: string | undefined
  readonly schedule: MuteSchedule
}

export interface NotificationConfig {
  /** Empty when receiver.yaml has no `channels:` (the `notifier` key decides then). */
  readonly channels: ReadonlyArray<ChannelConfig>
  /** Empty when there is no `routes:`: everything goes to every channel. */
  readonly routes: ReadonlyArray<RouteConfig>
  readonly mute: ReadonlyArray<MuteConfig>
}

export const emptyNotificationConfig: NotificationConfig = { channels: [], routes: [], mute: [] }

/** The top-level keys this module reads. */
export const notificationKeys = ["channels", "routes", "mute"] as const

const defaultUrls: Partial<Record<ChannelType, string>> = {
  telegram: "https://api.telegram.org",
  pushover: "https://api.pushover.net",
  ntfy: "https://ntfy.sh"
}

const deliveryKeys = [
  "concurrency",
  "pacing",
  "timeout",
  "retries",
  "retry_delay",
  "retry_max_delay",
  "max_entries",
  "max_bytes",
  "repeats"
]

const typeKeys: Record<ChannelType, ReadonlyArray<string>> = {
  notify_devilry: ["command", "force_send"],
  stdout: [],
  webhook: ["url", "url_file", "url_env", "headers", "body"],
  alerta: ["url", "api_key", "api_key_file", "api_key_env", "environment"],
  slack: ["url", "url_file", "url_env", "channel", "username"],
  telegram: ["url", "bot_token", "bot_token_file", "bot_token_env", "chat_id"],
  pushover: ["url", "token", "token_file", "token_env", "user", "user_file", "user_env"],
  ntfy: ["url", "topic", "token", "token_file", "token_env"],
  email: ["smtp", "from", "to"]
}

const isMapping = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value)

const kindOf = (value: unknown) => value === null ? "null" : Array.isArray(value) ? "a list" : typeof value

/** Collects problems while reading one section; each reader returns undefined on a problem. */
class Reader {
  readonly problems: Array<string> = []

  problem(path: string, message: string): undefined {
    this.problems.push(`${path}: ${message}`)
    return undefined
  }

  text(map: Record<string, unknown>, key: string, path: string, required = false): string | undefined {
    const value = map[key]
    if (value === undefined || value === null) return required ? this.problem(`${path}${key}`, "is required") : undefined
    if (typeof value === "number") return String(value)
    if (typeof value !== "string" || value.length === 0) {
      return this.problem(`${path}${key}`, `expected a non-empty string, got ${kindOf(value)}`)
    }
    return value
  }

  url(map: Record<string, unknown>, key: string, path: string, fallback?: string): string | undefined {
    const value = this.text(map, key, path, fallback === undefined) ?? fallback
    if (value === undefined) return undefined
    return /^https?:\/\/[^\s]+$/.test(value) ? value.replace(/\/+$/, "") : this.problem(`${path}${key}`, "expected an http:// or https:// URL")
  }

  number(map: Record<string, unknown>, key: string, path: string, range: "positive" | "non-negative" | "whole"): number | undefined {
    const value = map[key]
    if (value === undefined || value === null) return undefined
    const ok = typeof value === "number" && Number.isFinite(value) &&
      (range === "positive" ? value > 0 : range === "whole" ? Number.isInteger(value) && value > 0 : value >= 0)
    if (!ok) {
      const expected = range === "whole" ? "a positive whole number" : `a ${range} number`
      return this.problem(`${path}${key}`, `expected ${expected}`)
    }
    return value as number
  }

  /** Seconds as a number, or a duration like "90s", "30m", "2h", "1d"; in milliseconds. */
  duration(map: Record<string, unknown>, key: string, path: string, range: "positive" | "non-negative"): number | undefined {
    const value = map[key]
    if (value === undefined || value === null) return undefined
    const ms = parseDurationMs(value)
    if (ms === undefined || (range === "positive" ? ms <= 0 : ms < 0)) {
      return this.problem(`${path}${key}`, `expected a ${range} number of seconds or a duration like 30s, 15m, 2h, 1d`)
    }
    return ms
  }

  boolean(map: Record<string, unknown>, key: string, path: string): boolean | undefined {
    const value = map[key]
    if (value === undefined || value === null) return undefined
    return typeof value === "boolean" ? value : this.problem(`${path}${key}`, "expected true or false")
  }

  /** `key`, `key_file` or `key_env`: exactly one of them. Never shows the value. */
  secret(map: Record<string, unknown>, key: string, path: string, required: boolean): SecretRef | undefined {
    const given = [key, `${key}_file`, `${key}_env`].filter((name) => map[name] !== undefined && map[name] !== null)
    if (given.length === 0) {
      return required ? this.problem(`${path}${key}`, `is required (or ${key}_file, ${key}_env)`) : undefined
    }
    if (given.length > 1) return this.problem(`${path}${key}`, `give only one of ${given.join(", ")}`)
    const name = given[0]!
    const value = map[name]
    if ((typeof value !== "string" && typeof value !== "number") || String(value).length === 0) {
      return this.problem(`${path}${name}`, `expected a non-empty string, got ${kindOf(value)}`)
    }
    const text = String(value)
    if (name.endsWith("_file")) return { from: "file", path: text }
    if (name.endsWith("_env")) return { from: "env", name: text }
    return { from: "inline", value: text }
  }

  unknownKeys(map: Record<string, unknown>, known: ReadonlyArray<string>, path: string): void {
    for (const key of Object.keys(map)) {
      if (!known.includes(key)) this.problem(`${path}${key}`, `unknown setting (expected one of ${known.join(", ")})`)
    }
  }
}

const durationPattern = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/
const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** 90 (seconds), "90s", "15m", "2h", "1d", "250ms" to milliseconds; undefined when malformed. */
export const parseDurationMs = (value: unknown): number | undefined => {
  if (typeof value === "number") return Number.isFinite(value) ? value * 1000 : undefined
  if (typeof value !== "string") return undefined
  const match = durationPattern.exec(value.trim())
  if (match === null) return undefined
  return Number(match[1]) * unitMs[match[2] ?? "s"]!
}

const readDelivery = (reader: Reader, map: Record<string, unknown>, path: string): DeliveryOverrides => {
  const overrides: Record<string, number | boolean | undefined> = {
    concurrency: reader.number(map, "concurrency", path, "whole"),
    pacingMs: reader.duration(map, "pacing", path, "non-negative"),
    attemptTimeoutMs: reader.duration(map, "timeout", path, "positive"),
    retries: map["retries"] === 0 ? 0 : reader.number(map, "retries", path, "whole"),
    retryDelayMs: reader.duration(map, "retry_delay", path, "positive"),
    retryMaxDelayMs: reader.duration(map, "retry_max_delay", path, "positive"),
    maxEntries: reader.number(map, "max_entries", path, "whole"),
    maxBytes: reader.number(map, "max_bytes", path, "whole"),
    repeats: reader.boolean(map, "repeats", path)
  }
  return Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined)) as DeliveryOverrides
}

const readHeaders = (reader: Reader, value: unknown, path: string): Array<readonly [string, SecretRef]> => {
  if (value === undefined || value === null) return []
  if (!isMapping(value)) return reader.problem(path, "expected a mapping of header names to values") ?? []
  const headers: Array<readonly [string, SecretRef]> = []
  for (const [name, header] of Object.entries(value)) {
    if (typeof header === "string" || typeof header === "number") headers.push([name, { from: "inline", value: String(header) }])
    else if (isMapping(header) && typeof header["file"] === "string") headers.push([name, { from: "file", path: header["file"] }])
    else if (isMapping(header) && typeof header["env"] === "string") headers.push([name, { from: "env", name: header["env"] }])
    else reader.problem(`${path}.${name}`, "expected a string, { file: PATH } or { env: NAME }")
  }
  return headers
}

const readSpec = (reader: Reader, type: ChannelType, map: Record<string, unknown>, path: string): ChannelSpec | undefined => {
  const problemsBefore = reader.problems.length
  const spec = ((): ChannelSpec | undefined => {
    switch (type) {
      case "notify_devilry":
        return { type, command: reader.text(map, "command", path), forceSend: reader.boolean(map, "force_send", path) }
      case "stdout":
        return { type }
      case "webhook":
        return {
          type,
          url: reader.secret(map, "url", path, true)!,
          headers: readHeaders(reader, map["headers"], `${path}headers`),
          bodyTemplate: reader.text(map, "body", path)
        }
      case "alerta":
        return {
          type,
          url: reader.url(map, "url", path)!,
          apiKey: reader.secret(map, "api_key", path, false),
          environment: reader.text(map, "environment", path)
        }
      case "slack":
        return { type, url: reader.secret(map, "url", path, true)!, channel: reader.text(map, "channel", path), username: reader.text(map, "username", path) }
      case "telegram":
        return {
          type,
          url: reader.url(map, "url", path, defaultUrls.telegram)!,
          botToken: reader.secret(map, "bot_token", path, true)!,
          chatId: reader.text(map, "chat_id", path, true)!
        }
      case "pushover":
        return {
          type,
          url: reader.url(map, "url", path, defaultUrls.pushover)!,
          token: reader.secret(map, "token", path, true)!,
          user: reader.secret(map, "user", path, true)!
        }
      case "ntfy":
        return {
          type,
          url: reader.url(map, "url", path, defaultUrls.ntfy)!,
          topic: reader.text(map, "topic", path, true)!,
          token: reader.secret(map, "token", path, false)
        }
      case "email": {
        const smtp = map["smtp"]
        if (!isMapping(smtp)) return reader.problem(`${path}smtp`, "expected a mapping with host, port, starttls or tls, user, password")
        const smtpPath = `${path}smtp.`
        reader.unknownKeys(smtp, ["host", "port", "starttls", "tls", "user", "password", "password_file", "password_env", "ca_file"], smtpPath)
        const tls = reader.boolean(smtp, "tls", smtpPath)
        const starttls = reader.boolean(smtp, "starttls", smtpPath)
        if (tls === true && starttls === true) reader.problem(`${smtpPath}tls`, "choose tls (implicit, port 465) or starttls (port 587), not both")
        const security = tls === true ? "tls" : starttls === false ? "none" : "starttls"
        const to = map["to"]
        const recipients = typeof to === "string" ? [to] : Array.isArray(to) && to.every((item) => typeof item === "string") && to.length > 0
          ? to as Array<string>
          : reader.problem(`${path}to`, "expected an address or a list of addresses")
        return {
          type,
          smtp: {
            host: reader.text(smtp, "host", smtpPath, true)!,
            port: reader.number(smtp, "port", smtpPath, "whole") ?? (security === "tls" ? 465 : 587),
            security,
            user: reader.text(smtp, "user", smtpPath),
            password: reader.secret(smtp, "password", smtpPath, false),
            caFile: reader.text(smtp, "ca_file", smtpPath)
          },
          from: reader.text(map, "from", path, true)!,
          to: recipients ?? []
        }
      }
    }
  })()
  return reader.problems.length === problemsBefore ? spec : undefined
}

const readChannels = (reader: Reader, value: unknown): Array<ChannelConfig> => {
  if (value === undefined || value === null) return []
  if (!isMapping(value)) return reader.problem("channels", "expected a mapping of channel names to { type, ... }") ?? []
  const channels: Array<ChannelConfig> = []
  for (const [name, entry] of Object.entries(value)) {
    const path = `channels.${name}.`
    if (!isMapping(entry)) {
      reader.problem(`channels.${name}`, "expected a mapping with a type")
      continue
    }
    const type = entry["type"]
    if (typeof type !== "string" || !(channelTypes as ReadonlyArray<string>).includes(type)) {
      reader.problem(`${path}type`, `expected one of ${channelTypes.join(", ")}`)
      continue
    }
    reader.unknownKeys(entry, ["type", ...deliveryKeys, ...typeKeys[type as ChannelType]], path)
    const delivery = readDelivery(reader, entry, path)
    const spec = readSpec(reader, type as ChannelType, entry, path)
    if (spec !== undefined) channels.push({ name, spec, delivery })
  }
  return channels
}

const stringOrList = (reader: Reader, value: unknown, path: string): Array<string> | undefined => {
  if (value === undefined || value === null) return undefined
  if (typeof value === "string" && value.length > 0) return [value]
  if (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === "string" && item.length > 0)) {
    return value as Array<string>
  }
  return reader.problem(path, "expected a name or a list of names")
}

const readRoutes = (reader: Reader, value: unknown, channelNames: ReadonlySet<string>): Array<RouteConfig> => {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) return reader.problem("routes", "expected a list of { match, channels }") ?? []
  const routes: Array<RouteConfig> = []
  const routeNames = new Set<string>()
  value.forEach((entry: unknown, index) => {
    const path = `routes.${index}.`
    if (!isMapping(entry)) return reader.problem(`routes.${index}`, "expected a mapping with match and channels")
    reader.unknownKeys(entry, ["name", "match", "channels", "renotify_every"], path)
    const match = entry["match"] ?? {}
    if (!isMapping(match)) return reader.problem(`${path}match`, "expected a mapping of client, resource, event, min_severity")
    reader.unknownKeys(match, ["client", "resource", "event", "min_severity"], `${path}match.`)
    const channels = stringOrList(reader, entry["channels"], `${path}channels`) ??
      reader.problem(`${path}channels`, "is required: the channels this route sends to")
    for (const name of channels ?? []) {
      if (!channelNames.has(name)) reader.problem(`${path}channels`, `no channel named ${name} (channels: ${[...channelNames].join(", ")})`)
    }
    const name = reader.text(entry, "name", path)
    if (name !== undefined) {
      if (routeNames.has(name)) reader.problem(`${path}name`, `another route is named ${name}: route names are unique`)
      routeNames.add(name)
    }
    const route: RouteConfig = {
      name,
      client: reader.text(match, "client", `${path}match.`),
      resource: reader.text(match, "resource", `${path}match.`),
      events: stringOrList(reader, match["event"], `${path}match.event`),
      minSeverity: reader.text(match, "min_severity", `${path}match.`),
      channels: channels ?? [],
      renotifyEveryMs: reader.duration(entry, "renotify_every", path, "positive")
    }
    routes.push(route)
    return undefined
  })
  return routes
}

const readMute = (reader: Reader, value: unknown): Array<MuteConfig> => {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) return reader.problem("mute", "expected a list of windows") ?? []
  const windows: Array<MuteConfig> = []
  value.forEach((entry: unknown, index) => {
    const path = `mute.${index}.`
    if (!isMapping(entry)) return reader.problem(`mute.${index}`, "expected a mapping: from/until or cron/duration, client, resource")
    reader.unknownKeys(entry, ["name", "client", "resource", "from", "until", "cron", "duration", "timezone"], path)
    const who = {
      name: reader.text(entry, "name", path) ?? `mute.${index}`,
      client: reader.text(entry, "client", path),
      resource: reader.text(entry, "resource", path)
    }
    if (entry["cron"] !== undefined) {
      const cron = reader.text(entry, "cron", path)
      const timezone = reader.text(entry, "timezone", path)
      const durationMs = reader.duration(entry, "duration", path, "positive") ??
        reader.problem(`${path}duration`, "is required with cron: how long each window lasts")
      if (cron !== undefined && Result.isFailure(Cron.parse(cron, timezone))) {
        reader.problem(`${path}cron`, 'expected a cron expression ("minute hour day month weekday", e.g. "0 2 * * 0")')
      }
      if (cron !== undefined && durationMs !== undefined) windows.push({ ...who, schedule: { kind: "cron", cron, durationMs, timezone } })
      return undefined
    }
    const time = (key: string) => {
      const raw = entry[key]
      const text = raw instanceof Date ? raw.toISOString() : raw
      const ms = typeof text === "string" ? Date.parse(text) : Number.NaN
      return Number.isNaN(ms) ? reader.problem(`${path}${key}`, "expected a date and time, e.g. 2026-12-24T18:00:00Z") : ms
    }
    const fromMs = time("from")
    const untilMs = time("until")
    if (fromMs !== undefined && untilMs !== undefined) {
      if (untilMs <= fromMs) reader.problem(`${path}until`, "must be after from")
      else windows.push({ ...who, schedule: { kind: "once", fromMs, untilMs } })
    }
    return undefined
  })
  return windows
}

/**
 * Reads the notification sections of an already parsed receiver.yaml. Every problem is listed,
 * with its path; a secret's value never appears in one.
 */
export const parseNotificationConfig = (raw: unknown): Result.Result<NotificationConfig, ReadonlyArray<string>> => {
  if (!isMapping(raw)) return Result.succeed(emptyNotificationConfig)
  const reader = new Reader()
  const channels = readChannels(reader, raw["channels"])
  const names = new Set(isMapping(raw["channels"]) ? Object.keys(raw["channels"]) : [])
  if (raw["routes"] !== undefined && names.size === 0) reader.problem("routes", "routes need channels: define them under channels:")
  const routes = readRoutes(reader, raw["routes"], names)
  const mute = readMute(reader, raw["mute"])
  return reader.problems.length > 0 ? Result.fail(reader.problems) : Result.succeed({ channels, routes, mute })
}
