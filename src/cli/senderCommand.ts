import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import { isUsableTimeout, maxTimeoutMinutes } from "../domain/Timeout.ts"
import { defaultReceiverPort, defaultSendTimeoutSeconds } from "../support/zmqEndpoint.ts"
import { cliLogging, envVar, fromEnv, help, switchFlag } from "./flagHelp.ts"
import { defaultSenderConfigPath } from "./plainSenderRun.ts"
import { argvWarning, givenOnCommandLine, readTokenFile } from "./secrets.ts"
import { UsageError } from "./UsageError.ts"

const portFrom = (text: string): number | undefined => {
  const port = Number(text)
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? port : undefined
}

/** `--every`: `10s`, `1.5m`, `500ms`, `1h`, or plain seconds; undefined if not a duration of at least 1 s. */
const parseEvery = (text: string): number | undefined => {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim())
  if (match === null) return undefined
  const ms = Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? "s") as "ms" | "s" | "m" | "h"]
  return ms >= 1000 ? ms : undefined
}

/**
 * The cron sender's command: `sender` under `heartbeat-mesh`, or the packaged
 * `heartbeat-mesh-sender` on its own; `invokedAs` is what usage errors tell to run with `--help`.
 * Its code (and nothing of the receiver) is loaded only when the command runs.
 */
export const makeSenderCommand = <Name extends string>(name: Name, invokedAs: string) => {
  const usageError = (message: string) => new UsageError({ message, command: invokedAs })
  return Command.make(
    name,
    {
      config: Flag.String("config").pipe(
        fromEnv(Config.String(envVar("config"))),
        Flag.withDefault(defaultSenderConfigPath),
        help("config", "sender.yaml to read", defaultSenderConfigPath)
      ),
      deregister: switchFlag(
        "deregister",
        "send one deregistration instead: --deregister RESOURCE RECEIVER PORT, token from --token-file or HEARTBEAT_MESH_TOKEN (no config read)"
      ),
      values: Argument.String("RESOURCE RECEIVER PORT [TOKEN]").pipe(
        Argument.variadic(),
        Argument.withDescription("the values of --deregister (a TOKEN here is visible in ps: prefer --token-file)")
      ),
      receiver: Flag.String("receiver").pipe(
        fromEnv(Config.String(envVar("receiver"))),
        Flag.optional,
        help("receiver", "one-off send to this receiver host, without a config file (needs a token)")
      ),
      token: Flag.String("token").pipe(
        fromEnv(Config.String(envVar("token"))),
        Flag.optional,
        help("token", "token for --receiver or --deregister; on the command line it is visible in ps: prefer the variable or --token-file")
      ),
      tokenFile: Flag.String("token-file").pipe(
        fromEnv(Config.String(envVar("token-file"))),
        Flag.optional,
        help("token-file", "read the token for --receiver or --deregister from this file (its first line)")
      ),
      port: Flag.Int("port").pipe(
        fromEnv(Config.Int(envVar("port"))),
        Flag.withDefault(defaultReceiverPort),
        help("port", "port for --receiver", defaultReceiverPort)
      ),
      resource: Flag.String("resource").pipe(
        fromEnv(Config.String(envVar("resource"))),
        Flag.optional,
        help("resource", "resource for --receiver", "this host's name")
      ),
      timeout: Flag.Finite("timeout").pipe(
        fromEnv(Config.Finite(envVar("timeout"))),
        Flag.optional,
        help("timeout", "heartbeat timeout in minutes for --receiver (1/60 to 525600)", "the client's on the receiver")
      ),
      sendTimeout: Flag.Finite("send-timeout").pipe(
        fromEnv(Config.Finite(envVar("send-timeout"))),
        Flag.withDefault(defaultSendTimeoutSeconds),
        help("send-timeout", "seconds to wait for receivers that do not answer (with --receiver and --deregister)", defaultSendTimeoutSeconds)
      ),
      dryRun: switchFlag("dry-run", "print the heartbeats (token redacted) instead of sending them"),
      print: switchFlag("print", "run every plugin now and print the heartbeats (token redacted) without sending them"),
      every: Flag.String("every").pipe(
        fromEnv(Config.String(envVar("every"))),
        Flag.optional,
        help("every", "keep running: one round every DURATION (10s, 1m, ...; at least 1s) instead of once", "run once")
      ),
      debug: switchFlag("debug", "log verbosely (same as --log-level debug)")
    },
    (flags) =>
      Effect.gen(function*() {
        const { runSender, runSenderEvery } = yield* Effect.promise(() => import("../sender/runSender.ts"))
        const logging = yield* cliLogging(flags.debug)
        if (!(flags.sendTimeout > 0)) return yield* usageError("--send-timeout must be a positive number of seconds")
        const every = Option.isSome(flags.every) ? parseEvery(flags.every.value) : undefined
        if (Option.isSome(flags.every) && every === undefined) {
          return yield* usageError(`--every must be a duration of at least 1s (10s, 1m, 90), got "${flags.every.value}"`)
        }
        // The token for --receiver / --deregister: --token-file, else --token / HEARTBEAT_MESH_TOKEN,
        // else (deployed form) the fourth value of --deregister.
        const token = (fourth: string | undefined) =>
          Effect.gen(function*() {
            if (Option.isSome(flags.tokenFile)) {
              const read = readTokenFile(flags.tokenFile.value)
              if ("problem" in read) return yield* Effect.fail(new Error(read.problem))
              return read.token
            }
            const given = Option.getOrUndefined(flags.token) ?? fourth
            if (given !== undefined && (fourth !== undefined || givenOnCommandLine("token"))) {
              yield* Effect.logWarning(argvWarning).pipe(Effect.provide(logging))
            }
            return given
          })
        const common = { dryRun: flags.dryRun, print: flags.print, sendTimeoutSeconds: flags.sendTimeout }
        let options: Parameters<typeof runSender>[0]
        if (flags.deregister) {
          const [resource, host, portText, fourth] = flags.values
          if (flags.values.length < 3 || flags.values.length > 4 || resource === undefined || host === undefined) {
            return yield* usageError(`--deregister needs RESOURCE RECEIVER PORT, got ${flags.values.length} values`)
          }
          const port = portFrom(portText ?? "")
          if (port === undefined) return yield* usageError(`--deregister: PORT must be from 1 to 65535, got "${portText}"`)
          const secret = yield* token(fourth)
          if (secret === undefined) return yield* usageError("--deregister needs a token: --token-file FILE or HEARTBEAT_MESH_TOKEN")
          options = { ...common, run: { kind: "deregister", request: { resource, host, port, token: secret } } }
        } else if (flags.values.length > 0) {
          return yield* usageError(`unexpected arguments: ${flags.values.join(" ")}`)
        } else if (Option.isSome(flags.receiver)) {
          const secret = yield* token(undefined)
          if (secret === undefined) return yield* usageError("--receiver needs a token: --token-file FILE or HEARTBEAT_MESH_TOKEN")
          if (portFrom(String(flags.port)) === undefined) return yield* usageError(`--port must be from 1 to 65535, got ${flags.port}`)
          const timeout = Option.getOrUndefined(flags.timeout)
          if (timeout !== undefined && !isUsableTimeout(timeout)) {
            return yield* usageError(`--timeout must be a number of minutes from 1/60 (one second) to ${maxTimeoutMinutes} (one year), got ${timeout}`)
          }
          options = {
            ...common,
            run: {
              kind: "one-off",
              target: {
                host: flags.receiver.value,
                port: flags.port,
                token: secret,
                resource: Option.getOrUndefined(flags.resource),
                timeoutMinutes: timeout,
                uptimePayload: true,
                payload: []
              }
            }
          }
        } else {
          options = { ...common, run: { kind: "config", path: flags.config } }
        }
        yield* (every === undefined ? runSender(options) : runSenderEvery(options, every)).pipe(Effect.provide(logging))
      })
  ).pipe(Command.withDescription("Send one heartbeat to every receiver in sender.yaml (run it from cron every minute)"))
}

/** `heartbeat-mesh sender`. */
export const senderCommand = makeSenderCommand("sender", "heartbeat-mesh sender")
