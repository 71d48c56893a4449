import { Effect, Layer, Schema } from "effect"
import * as Cron from "effect/Cron"
import { HttpClient } from "effect/http"
import { ChildProcessSpawner } from "effect/process"
import { readFile } from "node:fs/promises"
import type { ChannelConfig, ChannelType, MuteConfig, RouteConfig, SecretRef } from "../config/notificationConfig.ts"
import type { ReceiverConfig } from "../config/ReceiverConfig.ts"
import {
  type CompiledMute,
  type CompiledRoute,
  globToRegExp,
  oneOffWindow,
  recurringWindow,
  severityRank
} from "../monitor/notificationRouting.ts"
import { type Channel, Channels, defaultRetry, type DeliverySettings, everythingTo, type Transport } from "./Channel.ts"
import { helpersFor, makeNotifyDevilryTransport, Notifier, stdoutTransport } from "./Notifier.ts"
import { makeEmailTransport, makeHttpTransport, renderTemplate, type ResolvedSecrets, templateFields } from "./transports.ts"

export class ChannelSetupError extends Schema.TaggedError<ChannelSetupError>()("ChannelSetupError", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

/** Kinds that people read: they get state changes only, unless a route's renotify_every says otherwise. */
const forPeople: ReadonlySet<ChannelType> = new Set(["slack", "telegram", "pushover", "ntfy", "email"])

const defaultConcurrency: Record<ChannelType, number> = {
  notify_devilry: 4,
  stdout: 1,
  webhook: 4,
  alerta: 4,
  slack: 1,
  telegram: 1,
  pushover: 1,
  ntfy: 1,
  email: 2
}

/** Defaults a channel of `type` gets, the legacy keys (notify_devilry_*, queue_threshold) included. */
export const defaultSettings = (type: ChannelType, config: ReceiverConfig): DeliverySettings => ({
  concurrency: defaultConcurrency[type],
  pacingMs: type === "notify_devilry" ? config.notifyDevilrySleepMs : 0,
  // notify_devilry kills its own run at notify_devilry_timeout; the outbox's limit is a backstop.
  attemptTimeoutMs: type === "notify_devilry" ? config.notifyDevilryTimeoutMs + 5000 : 10_000,
  retry: defaultRetry,
  maxEntries: Math.max(config.queueThreshold, 1),
  maxBytes: 8 * 1024 * 1024,
  repeats: !forPeople.has(type)
})

const withOverrides = (settings: DeliverySettings, channel: ChannelConfig): DeliverySettings => {
  const o = channel.delivery
  return {
    concurrency: o.concurrency ?? settings.concurrency,
    pacingMs: o.pacingMs ?? settings.pacingMs,
    attemptTimeoutMs: o.attemptTimeoutMs ?? settings.attemptTimeoutMs,
    retry: {
      retries: o.retries ?? settings.retry.retries,
      baseDelayMs: o.retryDelayMs ?? settings.retry.baseDelayMs,
      maxDelayMs: o.retryMaxDelayMs ?? settings.retry.maxDelayMs,
      jitter: settings.retry.jitter
    },
    maxEntries: o.maxEntries ?? settings.maxEntries,
    maxBytes: o.maxBytes ?? settings.maxBytes,
    repeats: o.repeats ?? settings.repeats
  }
}

/** Reads a secret: the inline value, a file's first line, or an environment variable. */
export const resolveSecret = (ref: SecretRef, where: string): Effect.Effect<string, ChannelSetupError> => {
  switch (ref.from) {
    case "inline":
      return Effect.succeed(ref.value)
    case "env": {
      const value = process.env[ref.name]
      return value === undefined || value === ""
        ? Effect.fail(new ChannelSetupError({ reason: `${where}: environment variable ${ref.name} is not set` }))
        : Effect.succeed(value)
    }
    case "file":
      return Effect.tryPromise({
        try: () => readFile(ref.path, "utf8"),
        catch: (error) =>
          new ChannelSetupError({ reason: `${where}: cannot read ${ref.path}: ${(error as NodeJS.ErrnoException).code ?? "error"}` })
      }).pipe(
        Effect.flatMap((text) => {
          const value = text.split("\n")[0]!.trim()
          return value === ""
            ? Effect.fail(new ChannelSetupError({ reason: `${where}: ${ref.path} is empty` }))
            : Effect.succeed(value)
        })
      )
  }
}

/** Every secret a channel references, read once at start, by key (`url`, `headers.X-Key`, ...). */
const resolveSecrets = (channel: ChannelConfig) =>
  Effect.gen(function*() {
    const spec = channel.spec
    const refs: Array<readonly [string, SecretRef | undefined]> = []
    switch (spec.type) {
      case "webhook":
        refs.push(["url", spec.url], ...spec.headers.map(([name, ref]) => [`headers.${name}`, ref] as const))
        break
      case "alerta":
        refs.push(["api_key", spec.apiKey])
        break
      case "slack":
        refs.push(["url", spec.url])
        break
      case "telegram":
        refs.push(["bot_token", spec.botToken])
        break
      case "pushover":
        refs.push(["token", spec.token], ["user", spec.user])
        break
      case "ntfy":
        refs.push(["token", spec.token])
        break
      case "email":
        refs.push(["smtp.password", spec.smtp.password])
        break
      default:
        break
    }
    const values = new Map<string, string>()
    for (const [key, ref] of refs) {
      if (ref !== undefined) values.set(key, yield* resolveSecret(ref, `channels.${channel.name}.${key}`))
    }
    return { get: (key: string) => values.get(key) } satisfies ResolvedSecrets
  })

const readCa = (path: string, channel: string) =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (error) =>
      new ChannelSetupError({ reason: `channels.${channel}.smtp.ca_file: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}` })
  })

export interface ChannelBuildOptions {
  /** `--force-send`: notify_devilry channels pass it on. */
  readonly forceSend: boolean
}

const sampleMeta = { id: "sample-id" }

/** Builds the transport of one configured channel; checks what can be checked before the first alert. */
const makeTransport = (channel: ChannelConfig, config: ReceiverConfig, options: ChannelBuildOptions, settings: DeliverySettings) =>
  Effect.gen(function*() {
    const spec = channel.spec
    const secrets = yield* resolveSecrets(channel)
    switch (spec.type) {
      case "stdout":
        return stdoutTransport
      case "notify_devilry":
        return yield* makeNotifyDevilryTransport({
          command: spec.command ?? config.notifyDevilryCmd,
          forceSend: spec.forceSend ?? options.forceSend,
          timeoutMs: config.notifyDevilryTimeoutMs,
          helpers: helpersFor(settings.concurrency),
          name: channel.name
        })
      case "email": {
        const nodemailer = yield* Effect.promise(() => import("nodemailer"))
        const password = secrets.get("smtp.password")
        // A pool: one SMTP connection per concurrent send, kept open between messages.
        const transporter = nodemailer.createTransport({
          pool: true,
          maxConnections: settings.concurrency,
          host: spec.smtp.host,
          port: spec.smtp.port,
          secure: spec.smtp.security === "tls",
          requireTLS: spec.smtp.security === "starttls",
          ignoreTLS: spec.smtp.security === "none",
          ...(spec.smtp.user === undefined ? {} : { auth: { user: spec.smtp.user, pass: password ?? "" } }),
          ...(spec.smtp.caFile === undefined ? {} : { tls: { ca: yield* readCa(spec.smtp.caFile, channel.name) } }),
          connectionTimeout: 10_000,
          greetingTimeout: 10_000,
          socketTimeout: 30_000
        })
        yield* Effect.addFinalizer(() => Effect.sync(() => transporter.close()))
        return makeEmailTransport(spec, transporter)
      }
      default: {
        if (spec.type === "webhook" && spec.bodyTemplate !== undefined) {
          const sample = { severity: "ok", event: "heartbeat_mesh_heartbeat_ok", text: "t", resource: "r", service: "s", group: "r", value: 0, origin: "o", attributes: { receiver: "x" } } as const
          try {
            JSON.parse(renderTemplate(spec.bodyTemplate, templateFields(sample, sampleMeta)))
          } catch (error) {
            return yield* new ChannelSetupError({
              reason: `channels.${channel.name}.body: the template does not give valid JSON (${(error as Error).message})`
            })
          }
        }
        const client = yield* HttpClient.HttpClient
        return makeHttpTransport(spec, secrets, client)
      }
    }
  })

export const compileRoute = (route: RouteConfig, channelIndex: ReadonlyMap<string, number>): CompiledRoute => ({
  name: route.name,
  client: route.client === undefined ? undefined : globToRegExp(route.client),
  resource: route.resource === undefined ? undefined : globToRegExp(route.resource),
  events: route.events === undefined ? undefined : new Set(route.events.map((event) => event.startsWith("heartbeat_mesh_") ? event : `heartbeat_mesh_heartbeat_${event}`)),
  minRank: route.minSeverity === undefined ? undefined : severityRank(route.minSeverity),
  channels: route.channels.map((name) => channelIndex.get(name)!),
  renotifyEveryMs: route.renotifyEveryMs
})

export const compileMute = (window: MuteConfig): CompiledMute => {
  const schedule = window.schedule
  const openAt = schedule.kind === "once"
    ? oneOffWindow(schedule.fromMs, schedule.untilMs)
    : (() => {
      const cron = Cron.parseUnsafe(schedule.cron, schedule.timezone)
      // The latest start at or before `nowMs` (prev is exclusive of its argument).
      return recurringWindow((nowMs) => Cron.prev(cron, new Date(nowMs + 1)).getTime(), schedule.durationMs)
    })()
  return {
    name: window.name,
    client: window.client === undefined ? undefined : globToRegExp(window.client),
    resource: window.resource === undefined ? undefined : globToRegExp(window.resource),
    openAt
  }
}

/**
 * The receiver's channels from its configuration. Without `channels:` (or with `--notifier`),
 * the single channel is the Notifier service (notify_devilry or stdout) under the legacy keys.
 */
export const layerChannels = (config: ReceiverConfig, options: ChannelBuildOptions & { readonly notifierOnly: boolean }) =>
  Layer.effect(
    Channels,
    Effect.gen(function*() {
      const notifications = config.notifications
      if (options.notifierOnly || notifications.channels.length === 0) {
        const notifier = yield* Notifier
        const type: ChannelType = notifier.name === "notify_devilry" ? "notify_devilry" : "stdout"
        const channel: Channel = {
          name: notifier.name,
          type: notifier.name,
          // notify_devilry_sleep paces the single channel whatever its kind, as it always did.
          settings: { ...defaultSettings(type, config), pacingMs: config.notifyDevilrySleepMs },
          transport: { send: (notification, meta) => notifier.send(notification, meta) }
        }
        // Routes are for configured channels: the single channel gets everything, before and after
        // a reload (a reload that configures channels and routes needs a restart for both).
        const routes = everythingTo([channel])
        const startedRoutes = JSON.stringify(notifications.routes)
        return Channels.of({
          all: [channel],
          subscriptions: config.subscriptions ?? [],
          routes,
          mute: notifications.mute.map(compileMute),
          routingFor: (next) => ({
            routing: { routes, mute: next.mute.map(compileMute) },
            routesWaiting: JSON.stringify(next.routes) !== startedRoutes
          })
        })
      }
      const all: Array<Channel> = []
      for (const channel of notifications.channels) {
        const settings = withOverrides(defaultSettings(channel.spec.type, config), channel)
        const transport: Transport = yield* makeTransport(channel, config, options, settings)
        all.push({ name: channel.name, type: channel.spec.type, settings, transport })
      }
      const index = new Map(all.map((channel, position) => [channel.name, position]))
      const routesOf = (routes: ReadonlyArray<RouteConfig>) =>
        routes.length === 0 ? everythingTo(all) : routes.map((route) => compileRoute(route, index))
      // A reloaded file's routes apply when its channels are those running (same names, kinds and
      // settings: what the loader gives is plain data, so its JSON tells).
      const runningChannels = JSON.stringify(notifications.channels)
      // What the running routes were compiled from: unchanged routes stay the same objects.
      let runningRoutes = JSON.stringify(notifications.routes)
      return Channels.of({
        all,
        subscriptions: config.subscriptions ?? [],
        routes: routesOf(notifications.routes),
        mute: notifications.mute.map(compileMute),
        routingFor: (next, running) => {
          const mute = next.mute.map(compileMute)
          const routes = JSON.stringify(next.routes)
          if (routes === runningRoutes) return { routing: { routes: running, mute }, routesWaiting: false }
          if (JSON.stringify(next.channels) !== runningChannels) return { routing: { routes: running, mute }, routesWaiting: true }
          runningRoutes = routes
          return { routing: { routes: routesOf(next.routes), mute }, routesWaiting: false }
        }
      })
    })
  )

export type ChannelPlatform = HttpClient.HttpClient | ChildProcessSpawner.ChildProcessSpawner
