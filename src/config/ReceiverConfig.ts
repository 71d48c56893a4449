import { hostname } from "node:os"
import { Result, Schema } from "effect"
import { defaultOrigin, type ReceiverIdentity } from "../domain/Notification.ts"
import { isKnownSeverity, knownSeverities, Severity } from "../domain/Severity.ts"
import { defaultTiming, type MonitorTiming } from "./timing.ts"
import { describeSchemaIssues } from "./configIssues.ts"
import { expected, nameProblems, numericStringToNumber, oneDaySeconds, oneYearSeconds, seconds, Text, TimeoutMinutes } from "./configValues.ts"
import { type NotificationConfig, parseNotificationConfig } from "./notificationConfig.ts"
import { type NotifierKind, notifierKinds } from "./notifierKinds.ts"
import { parseYaml } from "./yamlDocument.ts"
import { parseListen } from "./listen.ts"
import { parseReceiverThresholds, type ReceiverThresholds } from "./receiverThresholds.ts"
import { type ResourceLimits, resourceLimitFields, resourceLimitsFrom } from "./resourceLimits.ts"
import { ingressKeys, parseReceiverIngress, type ReceiverIngress, withMaxRuntimes } from "./receiverIngress.ts"
import { parseUsersConfig, type UserConfig } from "./usersConfig.ts"
import { type RouteSubscription, subscriptionProblems, subscriptionsOf } from "./routeSubscriptions.ts"
import { heartbeatFilesKeys, type HeartbeatFilesSettings, parseHeartbeatFilesSettings } from "./heartbeatFilesConfig.ts"
import { parseReceiverRecords, type ReceiverRecords, recordsKeys } from "./receiverRecords.ts"
import { type DyndnsSettings, dyndnsKeys, dyndnsTextPaths, loadDyndnsKeys, parseDyndnsConfig, withDyndns } from "./dyndnsConfig.ts"
import { ConfigFileError, loadConfigFile } from "./configFile.ts"
import * as Effect from "effect/Effect"

export const defaultNotifyDevilryCmd = "/opt/sysadmws/notify_devilry/notify_devilry.py"
export { type NotifierKind, notifierKinds } from "./notifierKinds.ts"
export { parseListen } from "./listen.ts"

export interface ResourceConfig {
  readonly severity?: Severity
  readonly environment?: string
  readonly service?: string
  readonly location?: string
  /** `max_runtime` (minutes) of this resource's started runs (issue 19). */
  readonly maxRuntimeMinutes?: number
  /** `dyndns:` (dyndnsConfig.ts, issue 18.4): the address record updated when the resource's address changes. */
  readonly dyndns?: DyndnsSettings
}

export interface ClientConfig {
  readonly name: string
  /** As written in the file (an unquoted `0123` stays "0123"); compared with a heartbeat's token by text. */
  readonly token: string
  /**
   * Set when the token is an unquoted YAML integer whose value reads differently (`0123` is 83 to
   * PyYAML): that value in decimal, which a deployed sender configured the same way sends as a
   * JSON number. Such a number is accepted for this client too.
   */
  readonly tokenNumber?: string
  readonly timeoutMinutes: number
  readonly severity?: Severity
  /** Resources this client is expected to send; keyed by resource name. */
  readonly resources: ReadonlyMap<string, ResourceConfig>
  /** `max_runtime` (minutes) of started runs of this client's resources (issue 19). */
  readonly maxRuntimeMinutes?: number
}

export interface HttpSettings {
  readonly host: string
  readonly port: number
  /** Needed (as a Bearer token) for deregister / pause / resume; without it those are refused. */
  readonly adminToken: string | undefined
  /** When set, reads (API, feed, dashboard data, metrics) need this token or the admin token. */
  readonly readToken: string | undefined
  /** `users:` (usersConfig.ts, issue 18.3): people and scripts with a role and clients; fixed until a restart. */
  readonly users?: ReadonlyArray<UserConfig> | undefined
}

export const defaultHttpListen = "127.0.0.1:50004"

export interface ReceiverConfig {
  readonly timing: MonitorTiming
  readonly receiver: ReceiverIdentity
  readonly notifier: NotifierKind
  readonly notifyDevilryCmd: string
  /** Pause between two notifications sent (pacing). */
  readonly notifyDevilrySleepMs: number
  /** Longest a notify_devilry run may take before it is killed and counted as failed. */
  readonly notifyDevilryTimeoutMs: number
  /** Notification backlog that counts as a storm. */
  readonly queueThreshold: number
  readonly clients: ReadonlyArray<ClientConfig>
  /** The status API and dashboard; undefined when the `http:` section is absent. */
  readonly http: HttpSettings | undefined
  /** Folder for the state database and heartbeat files; the --state-dir flag overrides it. */
  readonly stateDir: string | undefined
  /** `channels:`, `routes:`, `mute:` (src/config/notificationConfig.ts); fixed until a restart. */
  readonly notifications: NotificationConfig
  /** Things that do not stop the receiver but that the operator should hear about. */
  readonly warnings: ReadonlyArray<string>
  /** `threshold_sets:` and `thresholds:` per client and resource (issue 20); absent: none. */
  readonly thresholds?: ReceiverThresholds | undefined
  /** `udp:`, `curve:`, the HTTP ingress and TLS, pinned CURVE keys, `max_runtime` (issue 19); absent: none. */
  readonly ingress?: ReceiverIngress | undefined
  /** `new_resources_per_minute`, `max_resources_per_client` (resourceLimits.ts); absent: the defaults. */
  readonly resourceLimits?: ResourceLimits | undefined
  /** `history_max_bytes` / `history_keep` of the heartbeat files (heartbeatFilesConfig.ts); absent: the defaults. */
  readonly heartbeatFiles?: HeartbeatFilesSettings | undefined
  /** `history:` and the message journal (receiverRecords.ts, issue 18); absent: the defaults. */
  readonly records?: ReceiverRecords | undefined
  /** Users' `email:` + `subscribe:` (routeSubscriptions.ts, issue 18.3); absent: none. Follows a reload. */
  readonly subscriptions?: ReadonlyArray<RouteSubscription> | undefined
}

const SeverityName = Severity.annotate(expected("expected a severity name, e.g. critical, major, minor or warning"))

const ResourceEntry = Schema.Struct({
  severity: Schema.optionalKey(SeverityName),
  environment: Schema.optionalKey(Text("a non-empty string")),
  service: Schema.optionalKey(Text("a non-empty string")),
  location: Schema.optionalKey(Text("a non-empty string"))
})

const ClientEntry = Schema.Struct({
  token: Text("a non-empty token"),
  timeout: TimeoutMinutes,
  severity: Schema.optionalKey(SeverityName),
  // Made a mapping of resource names to mappings beforehand (see `normalizeResources`).
  resources: Schema.Record(Schema.String, ResourceEntry)
}).annotate(expected("expected a mapping with token and timeout"))

const listenMessage = 'expected "host:port", e.g. "127.0.0.1:50004" or "[::1]:50004"'
const Listen = Schema.String.annotate(expected(listenMessage)).check(
  Schema.makeFilter((text: string) => parseListen(text) !== undefined, expected(listenMessage))
)

const HttpEntry = Schema.NullOr(
  Schema.Struct({
    listen: Schema.optionalKey(Listen),
    admin_token: Schema.optionalKey(Text("a non-empty string")),
    read_token: Schema.optionalKey(Text("a non-empty string"))
  }).annotate(expected("expected a mapping with listen, admin_token, read_token"))
)


const ReceiverYaml = Schema.Struct({
  enabled: Schema.Literal(true).annotate(expected("the receiver is disabled: set `enabled: true` to run it")),
  notify_devilry_sleep: Schema.optionalKey(seconds("non-negative", oneDaySeconds)),
  notify_devilry_timeout: Schema.optionalKey(seconds("positive", oneDaySeconds)),
  notify_devilry_cmd: Schema.optionalKey(Text("a command path")),
  queue_threshold: Schema.optionalKey(
    Schema.Int.annotate(expected("expected a positive whole number")).check(
      Schema.isGreaterThan(0, expected("expected a positive whole number"))
    )
  ),
  check_interval: Schema.optionalKey(seconds("positive", oneYearSeconds)),
  timeout_jitter: Schema.optionalKey(seconds("non-negative", oneYearSeconds)),
  grace_period: Schema.optionalKey(seconds("non-negative", oneYearSeconds)),
  rare_check_interval: Schema.optionalKey(seconds("positive", oneYearSeconds)),
  removed_client_retention: Schema.optionalKey(seconds("non-negative", oneYearSeconds)),
  ...resourceLimitFields,
  receiver_name: Schema.optionalKey(Text("a non-empty string")),
  state_dir: Schema.optionalKey(Text("a folder path")),
  http: Schema.optionalKey(HttpEntry),
  origin: Schema.optionalKey(Text("a non-empty string")),
  notifier: Schema.optionalKey(
    Schema.Literals(notifierKinds).annotate(expected(`expected one of ${notifierKinds.join(", ")}`))
  ),
  clients: Schema.optionalKey(
    Schema.NullOr(Schema.Record(Schema.String, ClientEntry).annotate(expected("expected a mapping of client names")))
  ),
  // Read by parseNotificationConfig.
  channels: Schema.optionalKey(Schema.Unknown),
  routes: Schema.optionalKey(Schema.Unknown),
  mute: Schema.optionalKey(Schema.Unknown)
}).annotate(expected("expected a mapping of receiver settings"))

type ReceiverYaml = typeof ReceiverYaml.Type

// threshold_sets / thresholds are read by receiverThresholds.ts; the ingress keys by receiverIngress.ts; the heartbeat files' keys by heartbeatFilesConfig.ts.
const knownKeys = {
  top: [...Object.keys(ReceiverYaml.fields), "threshold_sets", "users", ...ingressKeys.top, ...heartbeatFilesKeys, ...recordsKeys.top],
  client: [...Object.keys(ClientEntry.fields), "thresholds", ...ingressKeys.client],
  resource: ["severity", "environment", "service", "location", "thresholds", ...ingressKeys.resource, ...dyndnsKeys.resource]
}

const unknownKeys = (value: unknown, known: ReadonlyArray<string>, where: string): Array<string> =>
  value !== null && typeof value === "object"
    ? Object.keys(value)
      .filter((key) => !known.includes(key))
      .map((key) => `${where}${key}: unknown setting, ignored`)
    : []

const isMapping = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value)

const warningsFor = (raw: unknown): Array<string> => {
  const warnings = unknownKeys(raw, knownKeys.top, "")
  const clients = (raw as { clients?: unknown }).clients
  if (isMapping(clients)) {
    for (const [name, client] of Object.entries(clients)) {
      warnings.push(...unknownKeys(client, knownKeys.client, `clients.${name}.`))
      const resources = isMapping(client) ? client["resources"] : undefined
      if (isMapping(resources)) {
        for (const [resource, settings] of Object.entries(resources)) {
          warnings.push(...unknownKeys(settings, knownKeys.resource, `clients.${name}.resources.${resource}.`))
        }
      }
    }
  }
  return warnings
}

/**
 * Brings `clients.*` into the shape the schema checks, the way the deployed receiver reads it:
 * `resources` missing or null is `{}`; a list of names is those resources with default settings
 * (the deployed receiver ignored a list, so this is a warning); any other non-mapping counts as `{}`
 * (a warning); a resource whose settings are not a mapping gets the default settings (a warning);
 * a timeout written as a string ("5") is that number. Returns a copy; `raw` is not changed.
 */
const normalizeClients = (raw: unknown, warnings: Array<string>): unknown => {
  if (!isMapping(raw) || !isMapping(raw["clients"])) return raw
  const clients: Record<string, unknown> = {}
  for (const [name, client] of Object.entries(raw["clients"])) {
    if (!isMapping(client)) {
      clients[name] = client
      continue
    }
    const where = `clients.${name}.resources`
    const given = client["resources"]
    const resources: Record<string, unknown> = {}
    if (Array.isArray(given)) {
      warnings.push(
        `${where}: a list of names; taken as those resources with default settings ` +
          "(the deployed receiver ignored a list: with it these resources were not monitored)"
      )
      given.forEach((item, index) => {
        if (typeof item === "string" && item !== "") resources[item] = {}
        else warnings.push(`${where}.${index}: not a resource name, ignored`)
      })
    } else if (isMapping(given)) {
      for (const [resource, settings] of Object.entries(given)) {
        if (settings === null || settings === undefined || isMapping(settings)) resources[resource] = settings ?? {}
        else {
          warnings.push(`${where}.${resource}: the settings are not a mapping; default settings used`)
          resources[resource] = {}
        }
      }
    } else if (given !== undefined && given !== null) {
      warnings.push(`${where}: not a mapping of resource names; no configured resources (as the deployed receiver reads it)`)
    }
    clients[name] = { ...client, timeout: numericStringToNumber(client["timeout"]), resources }
  }
  return { ...raw, clients }
}

const severityWarnings = (clients: ReceiverYaml["clients"]): Array<string> => {
  const warnings: Array<string> = []
  const check = (severity: string | undefined, where: string) => {
    if (severity !== undefined && !isKnownSeverity(severity)) {
      warnings.push(
        `${where}: "${severity}" is not a severity alerta knows (${knownSeverities.join(", ")}); passed on as written`
      )
    }
  }
  for (const [name, client] of Object.entries(clients ?? {})) {
    check(client.severity, `clients.${name}.severity`)
    for (const [resource, settings] of Object.entries(client.resources)) {
      check(settings.severity, `clients.${name}.resources.${resource}.severity`)
    }
  }
  return warnings
}

/** Client and resource names that no heartbeat could ever carry (control, bidi, lone surrogates). */
const namingProblems = (clients: ReceiverYaml["clients"]): Array<string> => {
  const problems = nameProblems(Object.keys(clients ?? {}), (name) => `clients.${name}`)
  for (const [name, client] of Object.entries(clients ?? {})) {
    problems.push(...nameProblems(client.resources === undefined ? [] : Object.keys(client.resources), (resource) => `clients.${name}.resources.${resource}`))
  }
  return problems
}

/**
 * Two clients may not share a token: neither as written nor as the number a deployed sender would
 * send for it (`0123` and `83` are the same token to PyYAML).
 */
const duplicateTokenProblems = (
  clients: ReadonlyArray<readonly [string, { readonly token: string }]>,
  numberOf: (name: string) => string | undefined
) => {
  const owners = new Map<string, string>()
  const problems: Array<string> = []
  for (const [name, client] of clients) {
    const forms = [client.token, numberOf(name)].filter((form) => form !== undefined)
    const owner = forms.map((form) => owners.get(form)).find((found) => found !== undefined)
    if (owner === undefined) for (const form of forms) owners.set(form, name)
    else problems.push(`clients.${name}.token: the same token as client ${owner}; every client needs its own token`)
  }
  return problems
}

const httpSettings = (http: { listen?: string; admin_token?: string; read_token?: string }): HttpSettings => {
  const listen = parseListen(http.listen ?? defaultHttpListen)!
  return { host: listen.host, port: listen.port, adminToken: http.admin_token, readToken: http.read_token }
}

const toConfig = (
  yaml: ReceiverYaml,
  notifications: NotificationConfig,
  warnings: ReadonlyArray<string>,
  host: string,
  tokenNumberOf: (name: string) => string | undefined
): ReceiverConfig => {
  const ms = (value: number | undefined, fallback: number) => value === undefined ? fallback : value * 1000
  const timing: MonitorTiming = {
    checkIntervalMs: ms(yaml.check_interval, defaultTiming.checkIntervalMs),
    jitterMs: ms(yaml.timeout_jitter, defaultTiming.jitterMs),
    graceMs: ms(yaml.grace_period, defaultTiming.graceMs),
    rareCheckIntervalMs: ms(yaml.rare_check_interval, defaultTiming.rareCheckIntervalMs),
    removedClientRetentionMs: ms(yaml.removed_client_retention, defaultTiming.removedClientRetentionMs)
  }
  const clients = Object.entries(yaml.clients ?? {}).map(([name, client]): ClientConfig => {
    const tokenNumber = tokenNumberOf(name)
    return {
      name,
      token: client.token,
      ...(tokenNumber === undefined || tokenNumber === client.token ? {} : { tokenNumber }),
      timeoutMinutes: client.timeout,
      ...(client.severity === undefined ? {} : { severity: client.severity }),
      resources: new Map(Object.entries(client.resources))
    }
  })
  return {
    timing,
    receiver: { name: yaml.receiver_name ?? host, origin: yaml.origin ?? defaultOrigin },
    notifier: yaml.notifier ?? "notify_devilry",
    notifyDevilryCmd: yaml.notify_devilry_cmd ?? defaultNotifyDevilryCmd,
    notifyDevilrySleepMs: ms(yaml.notify_devilry_sleep, 1000),
    notifyDevilryTimeoutMs: ms(yaml.notify_devilry_timeout, 30_000),
    queueThreshold: yaml.queue_threshold ?? 1000,
    resourceLimits: resourceLimitsFrom(yaml),
    clients,
    stateDir: yaml.state_dir,
    http: yaml.http === undefined ? undefined : httpSettings(yaml.http ?? {}),
    notifications,
    warnings: clients.length === 0 ? [...warnings, "clients: none configured, every heartbeat will be refused"] : warnings
  }
}

const decodeReceiverYaml = Schema.decodeUnknownResult(ReceiverYaml)

// Where receiver.yaml holds text: an unquoted number or boolean there keeps the text written.
const textPaths = [
  ["clients", "*", "token"],
  ["clients", "*", "severity"],
  ["clients", "*", "resources", "*"],
  ...["severity", "environment", "service", "location"].map((key) => ["clients", "*", "resources", "*", key]),
  ["receiver_name"],
  ["origin"],
  ["notify_devilry_cmd"],
  ["state_dir"],
  ["http", "admin_token"],
  ["http", "read_token"],
  ["users", "*", "password"],
  ["users", "*", "role"],
  ["users", "*", "clients", "*"],
  ["users", "*", "clients"],
  ["users", "*", "api_tokens", "*"],
  ["users", "*", "email"],
  ["users", "*", "subscribe", "*"],
  ["routes", "*", "name"],
  ...dyndnsTextPaths
]

/**
 * Validates receiver.yaml text, read as the deployed receiver reads it (PyYAML, YAML 1.1). Every
 * problem is listed at once, each with its path and what was expected; the result is either a
 * complete configuration or the full list of problems.
 */
export const parseReceiverConfig = (
  text: string,
  host: string = hostname()
): Result.Result<ReceiverConfig, ReadonlyArray<string>> => {
  const parsed = parseYaml(text, { textAt: textPaths })
  if (parsed.errors.length > 0) return Result.fail(parsed.errors)
  const warnings = [...parsed.warnings]
  const raw = normalizeClients(parsed.value, warnings)
  const decoded = decodeReceiverYaml(raw, { errors: "all" })
  const thresholds = parseReceiverThresholds(raw)
  const ingress = parseReceiverIngress(raw)
  const heartbeatFiles = parseHeartbeatFilesSettings(raw)
  const records = parseReceiverRecords(raw)
  const dyndns = parseDyndnsConfig(raw)
  if (
    Result.isFailure(decoded) || Result.isFailure(thresholds) || Result.isFailure(ingress) || Result.isFailure(heartbeatFiles) ||
    Result.isFailure(records) || Result.isFailure(dyndns)
  ) {
    return Result.fail([
      ...(Result.isFailure(decoded) ? describeSchemaIssues(decoded.failure, raw) : []),
      ...(Result.isFailure(thresholds) ? thresholds.failure : []),
      ...(Result.isFailure(ingress) ? ingress.failure : []),
      ...(Result.isFailure(heartbeatFiles) ? heartbeatFiles.failure : []),
      ...(Result.isFailure(records) ? records.failure : []),
      ...(Result.isFailure(dyndns) ? dyndns.failure : [])
    ])
  }
  const yaml = decoded.success
  const tokenNumberOf = (name: string) => parsed.integerAt(["clients", name, "token"])
  const problems = [
    ...namingProblems(yaml.clients),
    ...duplicateTokenProblems(Object.entries(yaml.clients ?? {}), tokenNumberOf)
  ]
  const notifications = parseNotificationConfig(parsed.value)
  if (Result.isFailure(notifications)) problems.push(...notifications.failure)
  const users = parseUsersConfig(parsed.value)
  if (Result.isFailure(users)) problems.push(...users.failure)
  if (Result.isSuccess(notifications) && Result.isSuccess(users)) problems.push(...subscriptionProblems(users.success.users, notifications.success))
  if (problems.length > 0 || Result.isFailure(notifications) || Result.isFailure(users)) return Result.fail(problems)
  warnings.push(...warningsFor(parsed.value), ...severityWarnings(yaml.clients), ...users.success.warnings)
  const subscriptions = subscriptionsOf(users.success.users)
  if (users.success.users.length > subscriptions.length && yaml.http === undefined) warnings.push("users: set, but without an http: section nobody can sign in")
  const config = toConfig(yaml, notifications.success, warnings, host, tokenNumberOf)
  return Result.succeed({
    ...config,
    http: config.http === undefined || users.success.users.length === 0 ? config.http : { ...config.http, users: users.success.users },
    clients: withDyndns(withMaxRuntimes(config.clients, ingress.success), dyndns.success),
    thresholds: thresholds.success,
    ingress: ingress.success,
    heartbeatFiles: heartbeatFiles.success,
    records: records.success,
    ...(subscriptions.length === 0 ? {} : { subscriptions })
  })
}

/**
 * Reads and validates a receiver.yaml file, and the files it names that must be read to be judged
 * (the TSIG key files of `dyndns:`): a bad key file refuses the start or a reload like any setting.
 */
export const loadReceiverConfig = (path: string): Effect.Effect<ReceiverConfig, ConfigFileError> =>
  loadConfigFile(path, (text) => parseReceiverConfig(text), "the receiver will not start").pipe(
    Effect.flatMap((config) =>
      config.clients.some((client) => [...client.resources.values()].some((resource) => resource.dyndns !== undefined))
        ? Effect.flatMap(loadDyndnsKeys(config.clients), ({ clients, problems, warnings }) =>
          problems.length > 0
            ? Effect.fail(new ConfigFileError({ source: path, problems, consequence: "the receiver will not start" }))
            : Effect.succeed({ ...config, clients, warnings: [...config.warnings, ...warnings] }))
        : Effect.succeed(config)
    )
  )
