import { hostname } from "node:os"
import { Result, Schema } from "effect"
import { defaultOrigin, type ReceiverIdentity } from "../domain/Notification.ts"
import { Severity } from "../domain/Severity.ts"
import { defaultTiming, type MonitorTiming } from "./timing.ts"
import { loadConfigFile } from "./configFile.ts"
import { describeSchemaIssues } from "./configIssues.ts"
import { type NotifierKind, notifierKinds } from "./notifierKinds.ts"
import { parseYaml } from "./yamlDocument.ts"
import { parseReceiverThresholds, type ReceiverThresholds } from "./receiverThresholds.ts"

export const defaultNotifyDevilryCmd = "/opt/sysadmws/notify_devilry/notify_devilry.py"
export { type NotifierKind, notifierKinds } from "./notifierKinds.ts"

export interface ResourceConfig {
  readonly severity?: Severity
  readonly environment?: string
  readonly service?: string
  readonly location?: string
}

export interface ClientConfig {
  readonly name: string
  readonly token: string
  readonly timeoutMinutes: number
  readonly severity?: Severity
  /** Resources this client is expected to send; keyed by resource name. */
  readonly resources: ReadonlyMap<string, ResourceConfig>
}

export interface HttpSettings {
  readonly host: string
  readonly port: number
  /** Needed (as a Bearer token) for deregister / pause / resume; without it those are refused. */
  readonly adminToken: string | undefined
  /** When set, reads (API, feed, dashboard data, metrics) need this token or the admin token. */
  readonly readToken: string | undefined
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
  /** Things that do not stop the receiver but that the operator should hear about. */
  readonly warnings: ReadonlyArray<string>
  /** `threshold_sets:` and `thresholds:` per client and resource (issue 20); absent: none. */
  readonly thresholds?: ReceiverThresholds | undefined
}

const expected = (message: string) => ({ message })

/** A number with one message for every way it can be wrong (not a number, not finite, out of range). */
const numberExpected = (message: string, range: "positive" | "non-negative") =>
  Schema.Number.annotate(expected(message)).check(
    Schema.isFinite(expected(message)),
    range === "positive"
      ? Schema.isGreaterThan(0, expected(message))
      : Schema.isGreaterThanOrEqualTo(0, expected(message))
  )

const seconds = (range: "positive" | "non-negative") =>
  numberExpected(`expected a ${range} number of seconds`, range)

const Minutes = numberExpected("expected a positive number of minutes", "positive")

const Text = (what: string) =>
  Schema.String.annotate(expected(`expected ${what}`)).check(Schema.isMinLength(1, expected(`expected ${what}`)))

const SeverityName = Severity.annotate(expected("expected a severity name, e.g. critical, major, minor or warning"))

const ResourceEntry = Schema.NullOr(
  Schema.Struct({
    severity: Schema.optionalKey(SeverityName),
    environment: Schema.optionalKey(Text("a non-empty string")),
    service: Schema.optionalKey(Text("a non-empty string")),
    location: Schema.optionalKey(Text("a non-empty string"))
  }).annotate(expected("expected a mapping of resource settings (severity, environment, service, location) or {}"))
)

const ClientEntry = Schema.Struct({
  token: Text("a non-empty string (quote tokens that look like numbers)"),
  timeout: Minutes,
  severity: Schema.optionalKey(SeverityName),
  resources: Schema.optionalKey(
    Schema.NullOr(
      Schema.Record(Schema.String, ResourceEntry).annotate(expected("expected a mapping of resource names"))
    )
  )
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

/** "host:port" or "[v6]:port" to its parts; undefined when malformed. */
export const parseListen = (text: string): { host: string; port: number } | undefined => {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(text)
  if (match === null) return undefined
  const port = Number(match[3])
  if (port > 65535) return undefined
  return { host: match[1] ?? match[2]!, port }
}

const ReceiverYaml = Schema.Struct({
  enabled: Schema.Literal(true).annotate(expected("the receiver is disabled: set `enabled: true` to run it")),
  notify_devilry_sleep: Schema.optionalKey(seconds("non-negative")),
  notify_devilry_timeout: Schema.optionalKey(seconds("positive")),
  notify_devilry_cmd: Schema.optionalKey(Text("a command path")),
  queue_threshold: Schema.optionalKey(
    Schema.Int.annotate(expected("expected a positive whole number")).check(
      Schema.isGreaterThan(0, expected("expected a positive whole number"))
    )
  ),
  check_interval: Schema.optionalKey(seconds("positive")),
  timeout_jitter: Schema.optionalKey(seconds("non-negative")),
  grace_period: Schema.optionalKey(seconds("non-negative")),
  rare_check_interval: Schema.optionalKey(seconds("positive")),
  receiver_name: Schema.optionalKey(Text("a non-empty string")),
  state_dir: Schema.optionalKey(Text("a folder path")),
  http: Schema.optionalKey(HttpEntry),
  origin: Schema.optionalKey(Text("a non-empty string")),
  notifier: Schema.optionalKey(
    Schema.Literals(notifierKinds).annotate(expected(`expected one of ${notifierKinds.join(", ")}`))
  ),
  clients: Schema.optionalKey(
    Schema.NullOr(Schema.Record(Schema.String, ClientEntry).annotate(expected("expected a mapping of client names")))
  )
}).annotate(expected("expected a mapping of receiver settings"))

type ReceiverYaml = typeof ReceiverYaml.Type

// threshold_sets / thresholds are read by receiverThresholds.ts.
const knownKeys = {
  top: [...Object.keys(ReceiverYaml.fields), "threshold_sets"],
  client: [...Object.keys(ClientEntry.fields), "thresholds"],
  resource: ["severity", "environment", "service", "location", "thresholds"]
}

const unknownKeys = (value: unknown, known: ReadonlyArray<string>, where: string): Array<string> =>
  value !== null && typeof value === "object"
    ? Object.keys(value)
      .filter((key) => !known.includes(key))
      .map((key) => `${where}${key}: unknown setting, ignored`)
    : []

const warningsFor = (raw: unknown): Array<string> => {
  const warnings = unknownKeys(raw, knownKeys.top, "")
  const clients = (raw as { clients?: unknown }).clients
  if (clients !== null && typeof clients === "object") {
    for (const [name, client] of Object.entries(clients)) {
      warnings.push(...unknownKeys(client, knownKeys.client, `clients.${name}.`))
      const resources = (client as { resources?: unknown } | null)?.resources
      if (resources !== null && typeof resources === "object") {
        for (const [resource, settings] of Object.entries(resources)) {
          warnings.push(...unknownKeys(settings, knownKeys.resource, `clients.${name}.resources.${resource}.`))
        }
      }
    }
  }
  return warnings
}

const duplicateTokenProblems = (clients: ReadonlyArray<readonly [string, { readonly token: string }]>) => {
  const owners = new Map<string, string>()
  const problems: Array<string> = []
  for (const [name, client] of clients) {
    const owner = owners.get(client.token)
    if (owner === undefined) owners.set(client.token, name)
    else problems.push(`clients.${name}.token: the same token as client ${owner}; every client needs its own token`)
  }
  return problems
}

const httpSettings = (http: { listen?: string; admin_token?: string; read_token?: string }): HttpSettings => {
  const listen = parseListen(http.listen ?? defaultHttpListen)!
  return { host: listen.host, port: listen.port, adminToken: http.admin_token, readToken: http.read_token }
}

const toConfig = (yaml: ReceiverYaml, warnings: ReadonlyArray<string>, host: string): ReceiverConfig => {
  const ms = (value: number | undefined, fallback: number) => value === undefined ? fallback : value * 1000
  const timing: MonitorTiming = {
    checkIntervalMs: ms(yaml.check_interval, defaultTiming.checkIntervalMs),
    jitterMs: ms(yaml.timeout_jitter, defaultTiming.jitterMs),
    graceMs: ms(yaml.grace_period, defaultTiming.graceMs),
    rareCheckIntervalMs: ms(yaml.rare_check_interval, defaultTiming.rareCheckIntervalMs)
  }
  const clients = Object.entries(yaml.clients ?? {}).map(([name, client]): ClientConfig => ({
    name,
    token: client.token,
    timeoutMinutes: client.timeout,
    ...(client.severity === undefined ? {} : { severity: client.severity }),
    resources: new Map(Object.entries(client.resources ?? {}).map(([resource, settings]) => [resource, settings ?? {}]))
  }))
  return {
    timing,
    receiver: { name: yaml.receiver_name ?? host, origin: yaml.origin ?? defaultOrigin },
    notifier: yaml.notifier ?? "notify_devilry",
    notifyDevilryCmd: yaml.notify_devilry_cmd ?? defaultNotifyDevilryCmd,
    notifyDevilrySleepMs: ms(yaml.notify_devilry_sleep, 1000),
    notifyDevilryTimeoutMs: ms(yaml.notify_devilry_timeout, 30_000),
    queueThreshold: yaml.queue_threshold ?? 1000,
    clients,
    stateDir: yaml.state_dir,
    http: yaml.http === undefined ? undefined : httpSettings(yaml.http ?? {}),
    warnings: clients.length === 0 ? [...warnings, "clients: none configured, every heartbeat will be refused"] : warnings
  }
}

const decodeReceiverYaml = Schema.decodeUnknownResult(ReceiverYaml)

/**
 * Validates receiver.yaml text. Every problem is listed at once, each with its path and what was
 * expected; the result is either a complete configuration or the full list of problems.
 */
export const parseReceiverConfig = (
  text: string,
  host: string = hostname()
): Result.Result<ReceiverConfig, ReadonlyArray<string>> => {
  const parsed = parseYaml(text)
  if (parsed.errors.length > 0) return Result.fail(parsed.errors)
  const decoded = decodeReceiverYaml(parsed.value, { errors: "all" })
  const thresholds = parseReceiverThresholds(parsed.value)
  if (Result.isFailure(decoded) || Result.isFailure(thresholds)) {
    return Result.fail([
      ...(Result.isFailure(decoded) ? describeSchemaIssues(decoded.failure, parsed.value) : []),
      ...(Result.isFailure(thresholds) ? thresholds.failure : [])
    ])
  }
  const duplicates = duplicateTokenProblems(Object.entries(decoded.success.clients ?? {}))
  if (duplicates.length > 0) return Result.fail(duplicates)
  return Result.succeed({ ...toConfig(decoded.success, warningsFor(parsed.value), host), thresholds: thresholds.success })
}

/** Reads and validates a receiver.yaml file. */
export const loadReceiverConfig = (path: string) =>
  loadConfigFile(path, (text) => parseReceiverConfig(text), "the receiver will not start")
