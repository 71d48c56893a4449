import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import { defaultReceiverPort, defaultSendTimeoutSeconds } from "../support/zmqEndpoint.ts"

export const defaultSenderConfigPath = "/etc/heartbeat-mesh/sender.yaml"

const usageError = (message: string) => Effect.fail(new Error(`${message} (see heartbeat-mesh sender --help)`))

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
 * `heartbeat-mesh sender`: the cron sender. Its code (and nothing of the receiver) is loaded only
 * when this command runs.
 */
export const senderCommand = Command.make(
  "sender",
  {
    config: Flag.String("config").pipe(
      Flag.withDefault(defaultSenderConfigPath),
      Flag.withDescription("sender.yaml to read")
    ),
    deregister: Flag.Boolean("deregister").pipe(
      Flag.withDefault(false),
      Flag.withDescription("send one deregistration instead: --deregister RESOURCE RECEIVER PORT TOKEN (no config read)")
    ),
    values: Argument.String("RESOURCE RECEIVER PORT TOKEN").pipe(
      Argument.variadic(),
      Argument.withDescription("the four values of --deregister")
    ),
    receiver: Flag.String("receiver").pipe(
      Flag.optional,
      Flag.withDescription("one-off send to this receiver host, without a config file (needs --token)")
    ),
    token: Flag.String("token").pipe(Flag.optional, Flag.withDescription("token for --receiver")),
    port: Flag.Int("port").pipe(Flag.withDefault(defaultReceiverPort), Flag.withDescription("port for --receiver")),
    resource: Flag.String("resource").pipe(
      Flag.optional,
      Flag.withDescription("resource for --receiver (default: this host's name)")
    ),
    timeout: Flag.Finite("timeout").pipe(
      Flag.optional,
      Flag.withDescription("heartbeat timeout in minutes for --receiver (default: the client's on the receiver)")
    ),
    sendTimeout: Flag.Finite("send-timeout").pipe(
      Flag.withDefault(defaultSendTimeoutSeconds),
      Flag.withDescription("seconds to wait for receivers that do not answer (with --receiver and --deregister)")
    ),
    dryRun: Flag.Boolean("dry-run").pipe(
      Flag.withDefault(false),
      Flag.withDescription("print the heartbeats (token redacted) instead of sending them")
    ),
    print: Flag.Boolean("print").pipe(
      Flag.withDefault(false),
      Flag.withDescription("run every plugin now and print the heartbeats (token redacted) without sending them")
    ),
    every: Flag.String("every").pipe(
      Flag.optional,
      Flag.withDescription("keep running: one round every DURATION (10s, 1m, ...; at least 1s) instead of once")
    ),
    debug: Flag.Boolean("debug").pipe(Flag.withDefault(false), Flag.withDescription("log verbosely (to stderr)"))
  },
  (flags) =>
    Effect.gen(function*() {
      const { runSender, runSenderEvery } = yield* Effect.promise(() => import("../sender/runSender.ts"))
      const { layerCliLogging } = yield* Effect.promise(() => import("./logging.ts"))
      if (!(flags.sendTimeout > 0)) return yield* usageError("--send-timeout must be a positive number of seconds")
      const every = Option.isSome(flags.every) ? parseEvery(flags.every.value) : undefined
      if (Option.isSome(flags.every) && every === undefined) {
        return yield* usageError(`--every must be a duration of at least 1s (10s, 1m, 90), got "${flags.every.value}"`)
      }
      const common = { dryRun: flags.dryRun, print: flags.print, sendTimeoutSeconds: flags.sendTimeout }
      let options: Parameters<typeof runSender>[0]
      if (flags.deregister) {
        const [resource, host, portText, token] = flags.values
        const port = portFrom(portText ?? "")
        if (flags.values.length !== 4 || resource === undefined || host === undefined || token === undefined) {
          return yield* usageError(`--deregister needs RESOURCE RECEIVER PORT TOKEN, got ${flags.values.length} values`)
        }
        if (port === undefined) return yield* usageError(`--deregister: PORT must be from 1 to 65535, got "${portText}"`)
        options = { ...common, run: { kind: "deregister", request: { resource, host, port, token } } }
      } else if (flags.values.length > 0) {
        return yield* usageError(`unexpected arguments: ${flags.values.join(" ")}`)
      } else if (Option.isSome(flags.receiver)) {
        if (Option.isNone(flags.token)) return yield* usageError("--receiver needs --token")
        if (portFrom(String(flags.port)) === undefined) return yield* usageError(`--port must be from 1 to 65535, got ${flags.port}`)
        const timeout = Option.getOrUndefined(flags.timeout)
        if (timeout !== undefined && !(timeout > 0)) return yield* usageError("--timeout must be a positive number of minutes")
        options = {
          ...common,
          run: {
            kind: "one-off",
            target: {
              host: flags.receiver.value,
              port: flags.port,
              token: flags.token.value,
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
      yield* (every === undefined ? runSender(options) : runSenderEvery(options, every)).pipe(
        Effect.provide(layerCliLogging(flags.debug))
      )
    })
).pipe(Command.withDescription("Send one heartbeat to every receiver in sender.yaml (run it from cron every minute)"))
