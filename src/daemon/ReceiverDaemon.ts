import { NodeServices } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import { mkdir } from "node:fs/promises"
import { join } from "node:path"
import { loadReceiverConfig, type NotifierKind, type ReceiverConfig } from "../config/ReceiverConfig.ts"
import { layerCheckAlerts } from "../checkAlerts/CheckAlerts.ts"
import { layerHeartbeatFiles } from "../files/HeartbeatFiles.ts"
import { layerLiveFeed } from "../http/LiveFeed.ts"
import { layerStatusHttp } from "../http/StatusHttp.ts"
import { layerPingServer, pingRoutesOnApi } from "../http/HttpIngress.ts"
import { layerPingIngress } from "../http/PingIngress.ts"
import { layerUserDirectory } from "../http/auth/UserDirectory.ts"
import { layerFeedSockets } from "../http/FeedSocket.ts"
import { layerResourceIndex } from "../http/ResourceIndex.ts"
import { noReceiverIngress } from "../config/receiverIngress.ts"
import { Ingress, IngressProbe, layerZmqIngress } from "../ingress/ZmqIngress.ts"
import { layerMessageJournal } from "../ingress/MessageJournal.ts"
import { layerExtraIngress } from "./extraIngress.ts"
import { layerNotifyDevilry, layerStdout } from "../notify/Notifier.ts"
import { layerReceiverCoreListening } from "../routing/ReceiverCore.ts"
import { layerHistory } from "../history/History.ts"
import { layerCheckHistory } from "../history/checkHistory.ts"
import { layerSilenceHistory } from "../history/silenceHistory.ts"
import { layerDynDns } from "../dyndns/DynDns.ts"
import { layerMemoryHistoryStore } from "../history/HistoryStore.ts"
import { layerSqliteHistoryStore } from "../history/sqliteHistoryStore.ts"
import { defaultReceiverRecords } from "../config/receiverRecords.ts"
import { ActorProbe } from "../actors/ResourceActor.ts"
import { layerChannelPlatform } from "../notify/platform.ts"
import { ResourceSupervisor } from "../actors/ResourceSupervisor.ts"
import { layerSqliteStateStore } from "../store/sqliteStateStore.ts"
import { layerMemoryStateStore } from "../store/StateStore.ts"
import { layerConfigReloader } from "./ConfigReloader.ts"
import { notifySystemd } from "./SystemdNotify.ts"
import { describeListenFailure, hostPort } from "../support/listenFailure.ts"
import type { ServeError } from "effect/http/HttpServerError"

export interface ReceiverDaemonOptions {
  readonly configPath: string
  readonly iface: string
  readonly port: number
  readonly forceSend: boolean
  readonly heartbeatFiles: boolean
  /** Overrides the configuration's `notifier`. */
  readonly notifier: NotifierKind | undefined
  /** Overrides the configuration's `state_dir`; default /var/lib/heartbeat-mesh. */
  readonly stateDir: string | undefined
  /** Defaults to `<stateDir>/heartbeats`. */
  readonly heartbeatDir: string | undefined
  /** Keep what the receiver knows in `<stateDir>/state.db` across restarts (default on). */
  readonly persistState: boolean
  /** Move an unreadable state database aside and start from empty. */
  readonly resetState: boolean
}

export const defaultStateDir = "/var/lib/heartbeat-mesh"
export const stateDatabaseName = "state.db"

const notifierLayer = (config: ReceiverConfig, options: ReceiverDaemonOptions) =>
  (options.notifier ?? config.notifier) === "stdout"
    ? layerStdout
    : layerNotifyDevilry({
      command: config.notifyDevilryCmd,
      forceSend: options.forceSend,
      timeoutMs: config.notifyDevilryTimeoutMs
    }).pipe(Layer.provide(NodeServices.layer))

/**
 * The change stream's subscribers outside the core: the live feed, check alerts (with their
 * level changes in the history) and silences in the history always, heartbeat files when enabled.
 */
const layerSubscribers = (config: ReceiverConfig, options: ReceiverDaemonOptions, stateDir: string) => {
  const always = Layer.mergeAll(layerLiveFeed, layerSilenceHistory, layerCheckHistory.pipe(Layer.provideMerge(layerCheckAlerts(config))))
  return options.heartbeatFiles
    ? Layer.merge(
      always,
      layerHeartbeatFiles({
        directory: options.heartbeatDir ?? join(stateDir, "heartbeats"),
        flushIntervalMs: 1000,
        ...config.heartbeatFiles
      })
    )
    : always
}

/**
 * The history (issue 18), in state.db beside the state (in memory with --no-state). Subscribed to
 * the change stream with the core, before the restore: it sees the first wake of every resource.
 */
const layerDaemonHistory = (config: ReceiverConfig, options: ReceiverDaemonOptions, stateDir: string) =>
  layerHistory(config.records?.history ?? defaultReceiverRecords.history).pipe(
    Layer.provide(options.persistState ? layerSqliteHistoryStore(join(stateDir, stateDatabaseName)) : layerMemoryHistoryStore())
  )

/** Every layer of a running receiver for one loaded configuration. */
export const receiverDaemonLayer = (config: ReceiverConfig, options: ReceiverDaemonOptions, stateDir: string) => {
  const store = options.persistState
    ? layerSqliteStateStore({ path: join(stateDir, stateDatabaseName), resetIfUnreadable: options.resetState })
    : layerMemoryStateStore()
  const receiver = Layer.mergeAll(
    layerZmqIngress({ iface: options.iface, port: options.port }),
    layerExtraIngress(config),
    layerConfigReloader(options.configPath)
  ).pipe(
    // Subscribed before the socket opens: they see every heartbeat. (And the users in force, which a reload replaces.)
    Layer.provideMerge(Layer.merge(layerSubscribers(config, options, stateDir), layerUserDirectory(config))),
    Layer.provideMerge(
      // Dynamic DNS (issue 18.4) beside the history it records its results in; the router feeds it.
      layerReceiverCoreListening(config, layerDynDns(config).pipe(Layer.provideMerge(layerDaemonHistory(config, options, stateDir))), {
        forceSend: options.forceSend,
        notifierOnly: options.notifier !== undefined
      })
    ),
    // The message journal (journal_file), fed by every ingress, the HTTP ping's too.
    Layer.provideMerge(config.records?.journal === undefined ? Layer.empty : layerMessageJournal(config.records.journal)),
    Layer.provide(Layer.merge(ActorProbe.layerNone, IngressProbe.layerNone)),
    Layer.provide(notifierLayer(config, options)),
    Layer.provide(layerChannelPlatform(options.persistState ? join(stateDir, stateDatabaseName) : undefined)),
    Layer.provide(store)
  )
  // The HTTP side needs the running receiver, so it sits on top of it.
  if (config.http === undefined) return receiver
  const http = config.http
  const ingress = config.ingress?.http ?? noReceiverIngress.http
  /** A server that cannot listen ends the start with one line naming its address and key. */
  const listenFailure = (address: { host: string; port: number }, key: string) =>
  <A, E, R>(layer: Layer.Layer<A, E | ServeError, R>) =>
    layer.pipe(Layer.catchTag("ServeError", (error) =>
      Layer.effectDiscard(Effect.fail(
        new HttpListenError({
          address: hostPort(address.host, address.port),
          reason: describeListenFailure((error as ServeError).cause, `change ${key} in ${options.configPath}`)
        })
      ))))
  const ingressListen = ingress.ingressListen
  const servers = ingressListen === undefined
    ? layerStatusHttp(http, ingress, pingRoutesOnApi(ingress)).pipe(listenFailure(http, "http.listen"))
    : Layer.merge(
      layerStatusHttp(http, ingress, pingRoutesOnApi(ingress)).pipe(listenFailure(http, "http.listen")),
      layerPingServer({ ...ingress, ingressListen }).pipe(listenFailure(ingressListen, "http.ingress_listen"))
    )
  return servers.pipe(
    // The resource index the list, the dashboard and the status gauges read; only with HTTP on.
    Layer.provideMerge(Layer.mergeAll(layerPingIngress, layerFeedSockets, layerResourceIndex)),
    Layer.provideMerge(receiver)
  )
}

/** The HTTP side could not listen: one line naming the address, why, and what to do. */
export class HttpListenError extends Schema.TaggedError<HttpListenError>()("HttpListenError", {
  address: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `HTTP listen ${this.address}: ${this.reason}`
  }
}

/** The state folder could not be made. */
export class StateDirError extends Schema.TaggedError<StateDirError>()("StateDirError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `state folder ${this.path}: ${this.reason}; create it for this user or choose another with --state-dir (or state_dir in receiver.yaml)`
  }
}

/**
 * The receiver daemon: loads and checks the configuration (refusing to start on any problem),
 * binds the socket, starts the actors, tells systemd it is ready, and runs until interrupted
 * (SIGTERM / SIGINT), when it closes the socket and flushes notifications and files.
 */
export const runReceiverDaemon = (options: ReceiverDaemonOptions) =>
  Effect.gen(function*() {
    const config = yield* loadReceiverConfig(options.configPath)
    for (const warning of config.warnings) yield* Effect.logWarning(warning)
    const stateDir = options.stateDir ?? config.stateDir ?? defaultStateDir
    yield* Effect.tryPromise({
      try: () => mkdir(stateDir, { recursive: true }),
      catch: (error) =>
        new StateDirError({
          path: stateDir,
          reason: (error as { code?: string }).code === "EACCES" ? "permission denied" : (error as Error).message.split("\n")[0]!
        })
    })
    yield* Effect.gen(function*() {
      const ingress = yield* Ingress
      const supervisor = yield* ResourceSupervisor
      yield* notifySystemd("READY=1")
      yield* Effect.addFinalizer(() =>
        Effect.andThen(notifySystemd("STOPPING=1"), Effect.logInfo("receiver stopping"))
      )
      yield* Effect.logInfo("receiver running", {
        endpoint: ingress.endpoint,
        notifier: options.notifier ?? config.notifier,
        clients: config.clients.length,
        resources: supervisor.size(),
        receiver: config.receiver.name,
        state: options.persistState ? join(stateDir, stateDatabaseName) : "memory only (--no-state)",
        http: config.http === undefined
          ? "off"
          : `${config.ingress?.http.tlsCert === undefined ? "http" : "https"}://${hostPort(config.http.host, config.http.port)}/`,
        ...(config.ingress?.http.ingressListen === undefined ? {} : { ping: hostPort(config.ingress.http.ingressListen.host, config.ingress.http.ingressListen.port) })
      })
      return yield* Effect.never
    }).pipe(Effect.provide(receiverDaemonLayer(config, options, stateDir)), Effect.scoped)
  }).pipe(
    // A bug must not end the process with an empty line either.
    Effect.catchDefect((defect) =>
      Effect.fail(new ReceiverDefect({ reason: (defect instanceof Error ? defect.message : String(defect)).split("\n")[0]! }))
    )
  )

/** The receiver stopped on a defect (a bug): one line, instead of a silent exit. */
export class ReceiverDefect extends Schema.TaggedError<ReceiverDefect>()("ReceiverDefect", {
  reason: Schema.String
}) {
  override get message(): string {
    return `the receiver stopped on an unexpected error: ${this.reason} (a bug; please report it with the log above)`
  }
}
