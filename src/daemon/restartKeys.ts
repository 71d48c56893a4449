import type { ReceiverConfig } from "../config/ReceiverConfig.ts"

/**
 * What a reload cannot change in a running receiver: the settings its parts were built from at
 * start. Each names its receiver.yaml key; `hidden` ones (secrets, long lists) are said to have
 * changed, never shown.
 * Clients (tokens, timeouts, severities, resources, pinned CURVE keys, max_runtime),
 * thresholds, and notification routes and mute windows (the Outbox's applyConfig) are applied live, and so are `users:` (src/http/auth/UserDirectory.ts).
 */
const restartSettings: ReadonlyArray<{
  readonly key: string
  readonly read: (config: ReceiverConfig) => unknown
  readonly hidden?: boolean
}> = [
  { key: "check_interval", read: (c) => c.timing.checkIntervalMs / 1000 },
  { key: "timeout_jitter", read: (c) => c.timing.jitterMs / 1000 },
  { key: "grace_period", read: (c) => c.timing.graceMs / 1000 },
  { key: "rare_check_interval", read: (c) => c.timing.rareCheckIntervalMs / 1000 },
  { key: "removed_client_retention", read: (c) => c.timing.removedClientRetentionMs / 1000 },
  { key: "receiver_name", read: (c) => c.receiver.name },
  { key: "origin", read: (c) => c.receiver.origin },
  { key: "notifier", read: (c) => c.notifier },
  { key: "notify_devilry_cmd", read: (c) => c.notifyDevilryCmd },
  { key: "notify_devilry_sleep", read: (c) => c.notifyDevilrySleepMs / 1000 },
  { key: "notify_devilry_timeout", read: (c) => c.notifyDevilryTimeoutMs / 1000 },
  { key: "queue_threshold", read: (c) => c.queueThreshold },
  { key: "state_dir", read: (c) => c.stateDir },
  { key: "http", read: (c) => (c.http === undefined ? "absent" : "present") },
  { key: "http.listen", read: (c) => (c.http === undefined ? undefined : `${c.http.host}:${c.http.port}`) },
  { key: "http.admin_token", read: (c) => c.http?.adminToken, hidden: true },
  { key: "http.read_token", read: (c) => c.http?.readToken, hidden: true },
  { key: "channels", read: (c) => c.notifications.channels, hidden: true },
  { key: "udp", read: (c) => c.ingress?.udp },
  { key: "curve", read: (c) => c.ingress?.curve },
  { key: "http (ingress_listen, tls_cert, tls_key)", read: (c) => c.ingress?.http }
]

/** The fields of ReceiverConfig that are applied live, or are not settings; any other field needs a restart. */
const liveFields = new Set(["clients", "thresholds", "warnings"])
const namedFields = new Set(["timing", "receiver", "notifier", "notifyDevilryCmd", "notifyDevilrySleepMs", "notifyDevilryTimeoutMs", "queueThreshold", "stateDir", "http", "notifications", "ingress"])

/** Structural equality over plain data, Maps, Sets and arrays (what a parsed configuration holds). */
export const sameValue = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b)) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map && b instanceof Map) || a.size !== b.size) return false
    for (const [key, value] of a) if (!b.has(key) || !sameValue(value, b.get(key))) return false
    return true
  }
  if (a instanceof Set || b instanceof Set) {
    if (!(a instanceof Set && b instanceof Set) || a.size !== b.size) return false
    for (const value of a) if (!b.has(value)) return false
    return true
  }
  if (a instanceof RegExp || b instanceof RegExp) return String(a) === String(b)
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const keysA = Object.keys(a).filter((key) => (a as Record<string, unknown>)[key] !== undefined)
  const keysB = Object.keys(b).filter((key) => (b as Record<string, unknown>)[key] !== undefined)
  if (keysA.length !== keysB.length) return false
  return keysA.every((key) => sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
}

const shown = (value: unknown): string =>
  value === undefined ? "unset" : typeof value === "string" ? value : JSON.stringify(value) ?? String(value)

/**
 * Every setting that differs between the configuration in force (`running`, as the receiver
 * started with it) and a reloaded one but only takes effect at a restart, one entry each:
 * `check_interval: 60 -> 30`, `http.admin_token: changed`.
 */
export const changesNeedingRestart = (running: ReceiverConfig, next: ReceiverConfig): ReadonlyArray<string> => {
  const changes: Array<string> = []
  for (const setting of restartSettings) {
    const before = setting.read(running)
    const after = setting.read(next)
    if (sameValue(before, after)) continue
    changes.push(setting.hidden === true ? `${setting.key}: changed` : `${setting.key}: ${shown(before)} -> ${shown(after)}`)
  }
  // A setting added to the configuration since this list was written: named by its field.
  for (const field of new Set([...Object.keys(running), ...Object.keys(next)])) {
    if (liveFields.has(field) || namedFields.has(field)) continue
    if (!sameValue((running as unknown as Record<string, unknown>)[field], (next as unknown as Record<string, unknown>)[field])) {
      changes.push(`${field}: changed`)
    }
  }
  return changes
}
