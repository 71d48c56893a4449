import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import { notifierKinds } from "../config/notifierKinds.ts"
import { defaultReceiverPort } from "../support/zmqEndpoint.ts"

export const defaultReceiverConfigPath = "/etc/heartbeat-mesh/receiver.yaml"

/** `heartbeat-mesh receiver`: the daemon. Its code is loaded only when this command runs. */
export const receiverCommand = Command.make(
  "receiver",
  {
    config: Flag.String("config").pipe(
      Flag.withDefault(defaultReceiverConfigPath),
      Flag.withDescription("receiver.yaml to read (and to watch for changes; SIGHUP rereads it too)")
    ),
    iface: Flag.String("iface").pipe(
      Flag.withDefault("0.0.0.0"),
      Flag.withDescription("address to bind the heartbeat socket on (0.0.0.0: all IPv4 interfaces, :: for IPv6)")
    ),
    port: Flag.Int("port").pipe(
      Flag.withDefault(defaultReceiverPort),
      Flag.withDescription("TCP port of the heartbeat socket (ZeroMQ PULL)")
    ),
    forceSend: Flag.Boolean("force-send").pipe(
      Flag.withDefault(false),
      Flag.withDescription("pass --force-send to notify_devilry")
    ),
    noHeartbeatFiles: Flag.Boolean("no-heartbeat-files").pipe(
      Flag.withDefault(false),
      Flag.withDescription("do not write the current/history heartbeat files")
    ),
    notifier: Flag.Literals("notifier", notifierKinds).pipe(
      Flag.optional,
      Flag.withDescription("where notifications go; overrides `notifier` in the configuration (default notify_devilry)")
    ),
    stateDir: Flag.String("state-dir").pipe(
      Flag.optional,
      Flag.withDescription("folder for the state database and heartbeat files (default: state_dir in the config, else /var/lib/heartbeat-mesh)")
    ),
    noState: Flag.Boolean("no-state").pipe(
      Flag.withDefault(false),
      Flag.withDescription("keep state in memory only: a restart forgets every resource not in the config")
    ),
    resetState: Flag.Boolean("reset-state").pipe(
      Flag.withDefault(false),
      Flag.withDescription("if the state database is unreadable, move it aside and start from empty")
    ),
    heartbeatDir: Flag.String("heartbeat-dir").pipe(
      Flag.optional,
      Flag.withDescription("folder for heartbeat files (default: <state-dir>/heartbeats)")
    ),
    debug: Flag.Boolean("debug").pipe(Flag.withDefault(false), Flag.withDescription("log verbosely"))
  },
  (flags) =>
    Effect.gen(function*() {
      if (flags.port < 0 || flags.port > 65535) {
        return yield* Effect.fail(new Error(`--port must be between 0 and 65535, got ${flags.port}`))
      }
      const { runReceiverDaemon } = yield* Effect.promise(() => import("../daemon/ReceiverDaemon.ts"))
      const { layerCliLogging } = yield* Effect.promise(() => import("./logging.ts"))
      return yield* runReceiverDaemon({
        configPath: flags.config,
        iface: flags.iface,
        port: flags.port,
        forceSend: flags.forceSend,
        heartbeatFiles: !flags.noHeartbeatFiles,
        notifier: Option.getOrUndefined(flags.notifier),
        stateDir: Option.getOrUndefined(flags.stateDir),
        persistState: !flags.noState,
        resetState: flags.resetState,
        heartbeatDir: Option.getOrUndefined(flags.heartbeatDir)
      }).pipe(Effect.provide(layerCliLogging(flags.debug)))
    })
).pipe(Command.withDescription("Run the receiver daemon: take heartbeats, track every resource, raise alerts"))
