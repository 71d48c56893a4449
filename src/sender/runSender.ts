import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { hostname } from "node:os"
import { loadSenderConfig, type SenderConfig, type SenderTarget } from "../config/SenderConfig.ts"
import { buildDeregistration, buildHeartbeat } from "./heartbeat.ts"
import { tcpEndpoint } from "../support/zmqEndpoint.ts"
import { deliver, type Delivery } from "./deliver.ts"
import { deliverTo, targetAddress } from "./transports.ts"
import { readUptimeSeconds, runPayloadCommand } from "./payload.ts"
import { checkTmpFile } from "./tmpFileCheck.ts"
import type { SenderPlugins } from "../config/senderPlugins.ts"
import { version } from "../support/version.ts"

export class SenderError extends Schema.TaggedError<SenderError>()("SenderError", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

export interface DeregistrationRequest {
  readonly resource: string
  readonly host: string
  readonly port: number
  readonly token: string
}

export type SenderRun =
  | { readonly kind: "config"; readonly path: string }
  | { readonly kind: "one-off"; readonly target: SenderTarget }
  | { readonly kind: "deregister"; readonly request: DeregistrationRequest }

export interface SenderRunOptions {
  readonly run: SenderRun
  readonly dryRun: boolean
  /** `--print`: like a dry run, and every plugin runs now whatever its interval. */
  readonly print?: boolean | undefined
  /** Whole-run limit for receivers that do not answer (seconds), when not from the config. */
  readonly sendTimeoutSeconds: number
}

/** What a run did, for logs and tests. Never holds a token. */
export interface SenderReport {
  readonly disabled: boolean
  readonly deliveries: ReadonlyArray<Delivery>
  readonly printed: ReadonlyArray<string>
}

const redact = (heartbeat: Record<string, unknown>) => JSON.stringify({ ...heartbeat, token: "<redacted>" })

const configFor = (options: SenderRunOptions) =>
  options.run.kind === "config"
    ? loadSenderConfig(options.run.path).pipe(
      Effect.mapError((error) => new SenderError({ reason: error.message }))
    )
    : Effect.succeed<SenderConfig>({
      enabled: true,
      tmpFileCheck: true,
      sendTimeoutSeconds: options.sendTimeoutSeconds,
      receivers: options.run.kind === "one-off" ? [options.run.target] : []
    })

const logDeliveries = (deliveries: ReadonlyArray<Delivery>) =>
  Effect.forEach(deliveries, (delivery) =>
    // A receiver that is down is not an error for the sender (SPEC 4): debug level only.
    Effect.logDebug("heartbeat delivery", {
      receiver: delivery.endpoint,
      outcome: delivery.outcome,
      ...(delivery.detail === undefined ? {} : { detail: delivery.detail }),
      ms: delivery.elapsedMs
    }))

/**
 * The plugins of sender.yaml (issue 20), loaded only when configured so that a plain sender's
 * start-up does not pay for them. `--print` and `--dry-run` read the state file but never write it.
 */
const runConfiguredPlugins = (plugins: SenderPlugins, options: SenderRunOptions, printing: boolean) =>
  Effect.gen(function*() {
    const { defaultStateFile, runPlugins } = yield* Effect.promise(() => import("./plugins/runPlugins.ts"))
    const report = yield* runPlugins(plugins, {
      stateFile: plugins.stateFile ?? defaultStateFile(options.run.kind === "config" ? options.run.path : undefined),
      nowMs: Date.now(),
      force: options.print === true,
      persist: !printing,
      senderVersion: version
    })
    for (const note of report.notes) yield* Effect.logDebug("plugins", { note })
    for (const problem of report.problems) yield* Effect.logWarning(problem)
    yield* Effect.logDebug("plugins ran", { ran: report.ran.join(",") || "none (all within their interval)" })
    return { metrics: report.metrics, checks: report.checks }
  })

/**
 * One run of the cron sender (SPEC 4): read sender.yaml, check the disk, gather the payload, and
 * hand one heartbeat to every receiver at once. Receivers that refuse are skipped at once; silent
 * ones are given up at the deadline; neither changes the exit status.
 */
export const runSender = (options: SenderRunOptions) =>
  Effect.gen(function*() {
    if (options.run.kind === "deregister") {
      const { host, port, resource, token } = options.run.request
      const message = buildDeregistration(resource, token)
      if (options.dryRun) {
        const line = `${tcpEndpoint(host, port)} ${redact(message)}`
        process.stdout.write(line + "\n")
        return { disabled: false, deliveries: [], printed: [line] } satisfies SenderReport
      }
      const delivery = yield* Effect.promise(() =>
        deliver(tcpEndpoint(host, port), JSON.stringify(message), options.sendTimeoutSeconds * 1000)
      )
      yield* logDeliveries([delivery])
      return { disabled: false, deliveries: [delivery], printed: [] } satisfies SenderReport
    }

    const config = yield* configFor(options)
    // Duplicate keys and the like: debug only, since cron mails whatever a run prints.
    for (const warning of config.warnings ?? []) yield* Effect.logDebug("sender.yaml", { warning })
    if (!config.enabled) {
      yield* Effect.logDebug("sender is disabled in its configuration; nothing sent")
      return { disabled: true, deliveries: [], printed: [] } satisfies SenderReport
    }
    if (config.tmpFileCheck) {
      const problem = yield* Effect.promise(() => checkTmpFile())
      if (problem !== undefined) {
        return yield* new SenderError({ reason: `temporary file check failed, nothing sent (is the disk healthy?): ${problem}` })
      }
    }

    const printing = options.dryRun || options.print === true
    const [uptime, commandResults, plugins] = yield* Effect.all([
      Effect.promise(() => readUptimeSeconds()),
      Effect.forEach(config.receivers, (target) => Effect.forEach(target.payload, runPayloadCommand, { concurrency: "unbounded" }), {
        concurrency: "unbounded"
      }),
      config.plugins === undefined ? Effect.succeed(undefined) : runConfiguredPlugins(config.plugins, options, printing)
    ], { concurrency: "unbounded" })
    for (const results of commandResults) {
      for (const result of results) {
        if (result.error !== undefined) {
          yield* Effect.logWarning("payload command failed; the heartbeat is sent with the failure noted", {
            name: result.name,
            reason: result.error
          })
        }
      }
    }
    const host = hostname()
    const heartbeats = config.receivers.map((target, index) =>
      buildHeartbeat(target, host, uptime, new Map((commandResults[index] ?? []).map((r) => [r.name, r.value])), plugins)
    )

    if (printing) {
      const printed = config.receivers.map((target, index) => `${targetAddress(target)} ${redact(heartbeats[index]!)}`)
      for (const line of printed) process.stdout.write(line + "\n")
      return { disabled: false, deliveries: [], printed } satisfies SenderReport
    }

    const timeoutMs = config.sendTimeoutSeconds * 1000
    const deliveries = yield* Effect.promise(() =>
      Promise.all(config.receivers.map((target, index) => deliverTo(target, heartbeats[index]!, timeoutMs)))
    )
    yield* logDeliveries(deliveries)
    return { disabled: false, deliveries, printed: [] } satisfies SenderReport
  })

/**
 * `--every`: the sender as a long-running loop for intervals under cron's minute (hbc sends every
 * 10 s). One round per interval, on a fixed grid (a slow round does not push the next ones later);
 * each round rereads sender.yaml, as a cron run would. A bad first round ends the loop with its
 * error (so that systemd shows it); later failures are logged and the loop goes on.
 */
export const runSenderEvery = (options: SenderRunOptions, everyMs: number) =>
  Effect.gen(function*() {
    yield* runSender(options)
    yield* runSender(options).pipe(
      Effect.catch((error) => Effect.logError("sender round failed; trying again next round", { reason: error.message })),
      Effect.repeat(Schedule.fixed(everyMs)),
      Effect.delay(everyMs)
    )
  })
