import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { loadConfigFile } from "./configFile.ts"
import { defaultReceiverPort, defaultSendTimeoutSeconds } from "../support/zmqEndpoint.ts"
import { describeSchemaIssues } from "./configIssues.ts"
import { parseYaml } from "./yamlDocument.ts"
import { parseSenderPlugins, type SenderPlugins } from "./senderPlugins.ts"

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
  readonly token: string
  /** Undefined: this host's name. */
  readonly resource: string | undefined
  /** Minutes; overrides the client's default on the receiver. */
  readonly timeoutMinutes: number | undefined
  readonly uptimePayload: boolean
  readonly payload: ReadonlyArray<PayloadCommand>
}

export interface SenderConfig {
  readonly enabled: boolean
  readonly tmpFileCheck: boolean
  /** For the whole run: receivers that have not taken their heartbeat by then are given up. */
  readonly sendTimeoutSeconds: number
  readonly receivers: ReadonlyArray<SenderTarget>
  /** `plugins:`, `thresholds:`, `state_file:` (issue 20); undefined without `plugins:`. */
  readonly plugins?: SenderPlugins | undefined
}

const expected = (message: string) => ({ message })

const positive = (message: string) =>
  Schema.Number.annotate(expected(message)).check(
    Schema.isFinite(expected(message)),
    Schema.isGreaterThan(0, expected(message))
  )

const Text = (what: string) =>
  Schema.String.annotate(expected(`expected ${what}`)).check(Schema.isMinLength(1, expected(`expected ${what}`)))

const Flag = Schema.Boolean.annotate(expected("expected true or false"))

const Port = Schema.Int.annotate(expected("expected a port number from 1 to 65535")).check(
  Schema.isBetween({ minimum: 1, maximum: 65535 }, expected("expected a port number from 1 to 65535"))
)

const CommandEntry = Schema.Struct({
  name: Text("a non-empty name"),
  cmd: Schema.NonEmptyArray(Text("a non-empty string")).annotate(
    expected("expected a list of strings: the program and its arguments (no shell)")
  ),
  timeout: Schema.optionalKey(positive("expected a positive number of seconds"))
}).annotate(expected("expected a mapping with name and cmd"))

const ReceiverEntry = Schema.Struct({
  port: Schema.optionalKey(Port),
  token: Text("a non-empty string (quote tokens that look like numbers)"),
  resource: Schema.optionalKey(Text("a non-empty string")),
  timeout: Schema.optionalKey(positive("expected a positive number of minutes")),
  uptime_payload: Schema.optionalKey(Flag),
  payload: Schema.optionalKey(
    Schema.NullOr(Schema.Array(CommandEntry).annotate(expected("expected a list of {name, cmd} entries")))
  )
}).annotate(expected("expected a mapping with at least a token"))

const SenderYaml = Schema.Struct({
  // Anything but true means "disabled": checked before the rest, so it is never an error.
  enabled: Schema.optionalKey(Schema.Unknown),
  tmp_file_check: Schema.optionalKey(Flag),
  send_timeout: Schema.optionalKey(positive("expected a positive number of seconds")),
  receivers: Schema.Record(Schema.String, ReceiverEntry).annotate(expected("expected a mapping of receiver host names"))
}).annotate(expected("expected a mapping of sender settings"))

const decodeSenderYaml = Schema.decodeUnknownResult(SenderYaml)

/** `enabled` is anything but true: the sender exits 0 quietly (SPEC 4). */
export const disabledConfig: SenderConfig = { enabled: false, tmpFileCheck: false, sendTimeoutSeconds: 0, receivers: [] }

/** Validates sender.yaml text; every problem is listed with its path and what was expected. */
export const parseSenderConfig = (text: string): Result.Result<SenderConfig, ReadonlyArray<string>> => {
  const parsed = parseYaml(text)
  if (parsed.errors.length > 0) return Result.fail(parsed.errors)
  const raw = parsed.value
  if (raw !== null && typeof raw === "object" && (raw as { enabled?: unknown }).enabled !== true) {
    return Result.succeed(disabledConfig)
  }
  const decoded = decodeSenderYaml(raw, { errors: "all" })
  const plugins = parseSenderPlugins(raw)
  if (Result.isFailure(decoded) || Result.isFailure(plugins)) {
    return Result.fail([
      ...(Result.isFailure(decoded) ? describeSchemaIssues(decoded.failure, raw) : []),
      ...(Result.isFailure(plugins) ? plugins.failure : [])
    ])
  }
  const yaml = decoded.success
  return Result.succeed({
    enabled: true,
    tmpFileCheck: yaml.tmp_file_check ?? true,
    sendTimeoutSeconds: yaml.send_timeout ?? defaultSendTimeoutSeconds,
    receivers: Object.entries(yaml.receivers).map(([host, entry]): SenderTarget => ({
      host,
      port: entry.port ?? defaultReceiverPort,
      token: entry.token,
      resource: entry.resource,
      timeoutMinutes: entry.timeout,
      uptimePayload: entry.uptime_payload ?? true,
      payload: (entry.payload ?? []).map((command) => ({
        name: command.name,
        cmd: command.cmd,
        timeoutSeconds: command.timeout ?? defaultCommandTimeoutSeconds
      }))
    })),
    plugins: plugins.success
  })
}

/** Reads and validates a sender.yaml file. */
export const loadSenderConfig = (path: string) => loadConfigFile(path, parseSenderConfig, "nothing was sent")
