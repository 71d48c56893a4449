import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { setFlagsFromString } from "node:v8"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import { notifierKinds } from "../config/notifierKinds.ts"
import { defaultReceiverPort } from "../support/zmqEndpoint.ts"
import { cliLogging, envVar, fromEnv, help, switchFlag } from "./flagHelp.ts"
import { UsageError } from "./UsageError.ts"

export const defaultReceiverConfigPath = "/etc/heartbeat-mesh/receiver.yaml"

/** `heartbeat-mesh receiver`: the daemon. Its code is loaded only when this command runs. */
export const receiverCommand = Command.make(
  "receiver",
  {
    config: Flag.String("config").pipe(
      fromEnv(Config.String(envVar("config"))),
      Flag.withDefault(defaultReceiverConfigPath),
      help("config", "receiver.yaml to read (and to watch for changes; SIGHUP rereads it too)", defaultReceiverConfigPath)
    ),
    iface: Flag.String("iface").pipe(
      fromEnv(Config.String(envVar("iface"))),
      Flag.withDefault("0.0.0.0"),
      help("iface", "address to bind the heartbeat socket on (0.0.0.0: all IPv4 interfaces, :: for IPv6)", "0.0.0.0")
    ),
    port: Flag.Int("port").pipe(
      fromEnv(Config.Int(envVar("port"))),
      Flag.withDefault(defaultReceiverPort),
      help("port", "TCP port of the heartbeat socket (ZeroMQ PULL)", defaultReceiverPort)
    ),
    forceSend: switchFlag("force-send", "pass --force-send to notify_devilry"),
    noHeartbeatFiles: switchFlag("no-heartbeat-files", "do not write the current/history heartbeat files"),
    notifier: Flag.Literals("notifier", notifierKinds).pipe(
      fromEnv(Config.Literals(notifierKinds, envVar("notifier"))),
      Flag.optional,
      help("notifier", "where notifications go; overrides `notifier` in the configuration", "the config's, else notify_devilry")
    ),
    stateDir: Flag.String("state-dir").pipe(
      fromEnv(Config.String(envVar("state-dir"))),
      Flag.optional,
      help("state-dir", "folder for the state database and heartbeat files", "state_dir in the config, else /var/lib/heartbeat-mesh")
    ),
    noState: switchFlag("no-state", "keep state in memory only: a restart forgets every resource not in the config"),
    resetState: switchFlag("reset-state", "if the state database is unreadable, move it aside and start from empty"),
    heartbeatDir: Flag.String("heartbeat-dir").pipe(
      fromEnv(Config.String(envVar("heartbeat-dir"))),
      Flag.optional,
      help("heartbeat-dir", "folder for heartbeat files", "<state-dir>/heartbeats")
    ),
    debug: switchFlag("debug", "log verbosely (same as --log-level debug)")
  },
  (flags) =>
    Effect.gen(function*() {
      if (flags.port < 0 || flags.port > 65535) {
        return yield* new UsageError({ message: `--port must be between 0 and 65535, got ${flags.port}`, command: "heartbeat-mesh receiver" })
      }
      const logging = yield* cliLogging(flags.debug)
      // A long-running process holding a few objects per resource: V8 collects its old generation
      // once it has grown by a quarter over what the last collection kept (by default it lets it grow
      // 1.5-4x first, and the RSS follows). Measured at 100,000 resources: heap 235 -> 159-170 MB,
      // RSS 352 -> 258-314 MB, the traffic's CPU within the noise (README, Performance). Node does not
      // take this flag in NODE_OPTIONS, hence here, before the daemon allocates.
      setFlagsFromString("--heap-growing-percent=25")
      const { runReceiverDaemon } = yield* Effect.promise(() => import("../daemon/ReceiverDaemon.ts"))
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
      }).pipe(Effect.provide(logging))
    })
).pipe(Command.withDescription("Run the receiver daemon: take heartbeats, track every resource, raise alerts"))
