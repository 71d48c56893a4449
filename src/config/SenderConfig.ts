import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { loadConfigFile } from "./configFile.ts"
import { defaultReceiverPort, defaultSendTimeoutSeconds } from "../support/zmqEndpoint.ts"
import { describeSchemaIssues } from "./configIssues.ts"
import { expected, nameProblems, numericStringToNumber, oneDaySeconds, seconds, Text, TimeoutMinutes } from "./configValues.ts"
import { parseYaml } from "./yamlDocument.ts"
import { parseSenderPlugins, type SenderPlugins } from "./senderPlugins.ts"
import { parseSenderTransports, type SenderTransport } from "./senderTransports.ts"

export const defaultCommandTimeoutSeconds = 10

export interface PayloadCommand {
  readonly name: string
  /** argv; run without a shell. */
  readonly cmd: ReadonlyArray<string>
  readonly timeoutSeconds: number
}

export interface SenderTarget {
  readonly host: string
  readonly port: number
  /** As written in the file. */
  readonly token: string
  /**
   * Set when the token is an unquoted YAML integer (`12345`, `0123`): its value in decimal. The
   * deployed sender sends such a token as a JSON number and the deployed receiver compares it as a
   * number, so ours sends it the same way.
   */
  readonly tokenNumber?: string
  /** Undefined: this host's name. */
  readonly resource: string | undefined
  /** Minutes; overrides the client's default on the receiver. */
  readonly timeoutMinutes: number | undefined
  readonly uptimePayload: boolean
  readonly payload: ReadonlyArray<PayloadCommand>
  /** How to reach it (issue 19: `transport` and its keys); undefined: the plain ZeroMQ wire. */
  readonly transport?: SenderTransport | undefined
}

export interface SenderConfig {
  readonly enabled: boolean
  readonly tmpFileCheck: boolean
  /** For the whole run: receivers that have not taken their heartbeat by then are given up. */
  readonly sendTimeoutSeconds: number
  readonly receivers: ReadonlyArray<SenderTarget>
  /** `plugins:`, `thresholds:`, `state_file:` (issue 20); undefined without `plugins:`. */
  readonly plugins?: SenderPlugins | undefined
  /** What PyYAML accepts silently but the operator may want to know (duplicate keys); logged at debug level. */
  readonly warnings?: ReadonlyArray<string>
}

const Flag = Schema.Boolean.annotate(expected("expected true or false"))

const Port = Schema.Int.annotate(expected("expected a port number from 1 to 65535")).check(
  Schema.isBetween({ minimum: 1, maximum: 65535 }, expected("expected a port number from 1 to 65535"))
)

const CommandEntry = Schema.Struct({
  name: Text("a non-empty name"),
  cmd: Schema.NonEmptyArray(Text("a non-empty string")).annotate(
    expected("expected a list of strings: the program and its arguments (no shell)")
  ),
  timeout: Schema.optionalKey(seconds("positive", oneDaySeconds))
}).annotate(expected("expected a mapping with name and cmd"))

const ReceiverEntry = Schema.Struct({
  port: Schema.optionalKey(Port),
  token: Text("a non-empty token"),
  resource: Schema.optionalKey(Text("a non-empty string")),
  timeout: Schema.optionalKey(TimeoutMinutes),
  uptime_payload: Schema.optionalKey(Flag),
  payload: Schema.optionalKey(
    Schema.NullOr(Schema.Array(CommandEntry).annotate(expected("expected a list of {name, cmd} entries")))
  )
}).annotate(expected("expected a mapping with at least a token"))

const SenderYaml = Schema.Struct({
  // Anything but true means "disabled": checked before the rest, so it is never an error.
  enabled: Schema.optionalKey(Schema.Unknown),
  tmp_file_check: Schema.optionalKey(Flag),
  send_timeout: Schema.optionalKey(seconds("positive", oneDaySeconds)),
  receivers: Schema.Record(Schema.String, ReceiverEntry).annotate(expected("expected a mapping of receiver host names"))
}).annotate(expected("expected a mapping of sender settings"))

const decodeSenderYaml = Schema.decodeUnknownResult(SenderYaml)

/** `enabled` is anything but true: the sender exits 0 quietly (SPEC 4). */
export const disabledConfig: SenderConfig = { enabled: false, tmpFileCheck: false, sendTimeoutSeconds: 0, receivers: [] }

// Where sender.yaml holds text: an unquoted number or boolean there keeps the text written.
const textPaths = [
  ["receivers", "*", "token"],
  ["receivers", "*", "resource"],
  ["receivers", "*", "payload", "*", "name"],
  ["receivers", "*", "payload", "*", "cmd", "*"]
]

/** A timeout written as a string ("5") is that number, as the deployed receiver's `int()` takes it. */
const normalizeTimeouts = (raw: unknown): unknown => {
  const receivers = (raw as { receivers?: unknown }).receivers
  if (receivers === null || typeof receivers !== "object" || Array.isArray(receivers)) return raw
  return {
    ...raw as object,
    receivers: Object.fromEntries(Object.entries(receivers).map(([host, entry]) => [
      host,
      entry !== null && typeof entry === "object" && "timeout" in entry
        ? { ...entry, timeout: numericStringToNumber(entry.timeout) }
        : entry
    ]))
  }
}

/**
 * Validates sender.yaml text, read as the deployed sender reads it (PyYAML, YAML 1.1: a duplicate
 * key keeps its last value, so the deployed example's second block wins); every problem is listed
 * with its path and what was expected.
 */
export const parseSenderConfig = (text: string): Result.Result<SenderConfig, ReadonlyArray<string>> => {
  const parsed = parseYaml(text, { textAt: textPaths })
  if (parsed.errors.length > 0) return Result.fail(parsed.errors)
  // `enabled` must be exactly true (YAML 1.1: also yes, on, True); anything else: exit 0 quietly.
  if (parsed.value !== null && typeof parsed.value === "object" && (parsed.value as { enabled?: unknown }).enabled !== true) {
    return Result.succeed(disabledConfig)
  }
  const raw = normalizeTimeouts(parsed.value)
  const decoded = decodeSenderYaml(raw, { errors: "all" })
  const plugins = parseSenderPlugins(raw)
  const transports = parseSenderTransports(raw)
  if (Result.isFailure(decoded) || Result.isFailure(plugins) || Result.isFailure(transports)) {
    return Result.fail([
      ...(Result.isFailure(decoded) ? describeSchemaIssues(decoded.failure, raw) : []),
      ...(Result.isFailure(plugins) ? plugins.failure : []),
      ...(Result.isFailure(transports) ? transports.failure : [])
    ])
  }
  const yaml = decoded.success
  const problems = Object.entries(yaml.receivers).flatMap(([host, entry]) =>
    entry.resource === undefined ? [] : nameProblems([entry.resource], () => `receivers.${host}.resource`)
  )
  if (problems.length > 0) return Result.fail(problems)
  return Result.succeed({
    enabled: true,
    tmpFileCheck: yaml.tmp_file_check ?? true,
    sendTimeoutSeconds: yaml.send_timeout ?? defaultSendTimeoutSeconds,
    receivers: Object.entries(yaml.receivers).map(([host, entry]): SenderTarget => {
      const tokenNumber = parsed.integerAt(["receivers", host, "token"])
      return {
        host,
        port: entry.port ?? transports.success.get(host)?.defaultPort ?? defaultReceiverPort,
        token: entry.token,
        ...(tokenNumber === undefined ? {} : { tokenNumber }),
        resource: entry.resource,
        timeoutMinutes: entry.timeout,
        uptimePayload: entry.uptime_payload ?? true,
        payload: (entry.payload ?? []).map((command) => ({
          name: command.name,
          cmd: command.cmd,
          timeoutSeconds: command.timeout ?? defaultCommandTimeoutSeconds
        })),
        transport: transports.success.get(host)?.transport
      }
    }),
    plugins: plugins.success,
    warnings: parsed.warnings
  })
}

/** Reads and validates a sender.yaml file. */
export const loadSenderConfig = (path: string) => loadConfigFile(path, parseSenderConfig, "nothing was sent")
