import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Flag from "effect/cli/Flag"
import * as GlobalFlag from "effect/cli/GlobalFlag"
import type * as LogLevel from "effect/LogLevel"
import { layerCliLogging } from "./logging.ts"
import { envVar, type LogFormat, logFormats, logLevels } from "./settingNames.ts"

export { envVar }

/** The flag's value from its environment variable when the flag is not given. */
export const fromEnv = <B>(config: Config.Config<B>) => <A>(self: Flag.Flag<A>) => Flag.withFallbackConfig(self, config)

/** Help text with the default and the environment variable: `... (default 15987; env HEARTBEAT_MESH_PORT)`. */
export const help = (flag: string, text: string, defaultValue?: string | number | boolean) => <A>(self: Flag.Flag<A>) =>
  Flag.withDescription(self, `${text} (${defaultValue === undefined ? "" : `default ${defaultValue}; `}env ${envVar(flag)})`)

/** A boolean switch, off unless given or its variable says true (`HEARTBEAT_MESH_DEBUG=true`). */
export const switchFlag = (flag: string, text: string) =>
  Flag.Boolean(flag).pipe(fromEnv(Config.Boolean(envVar(flag))), Flag.withDefault(false), help(flag, text, "off"))

/** `--log-level` for every command (replaces effect's built-in one, which has no variable). */
export const LogLevelSetting = GlobalFlag.Setting("log-level")<LogLevel.LogLevel>({
  flag: Flag.ChoiceWithValue("log-level", logLevels).pipe(
    fromEnv(Config.Literals(logLevels.map(([text]) => text), envVar("log-level")).pipe(
      Config.map((text) => logLevels.find(([t]) => t === text)![1])
    )),
    Flag.withDefault<LogLevel.LogLevel>("Info"),
    help("log-level", "least severe log lines written: trace, debug, info, warn, error, none", "info")
  )
})

/** `--log-format logfmt|json` for every command. */
export const LogFormatSetting = GlobalFlag.Setting("log-format")<LogFormat>({
  flag: Flag.Literals("log-format", logFormats).pipe(
    fromEnv(Config.Literals(logFormats, envVar("log-format"))),
    Flag.withDefault<LogFormat>("logfmt"),
    help("log-format", "log lines on stderr as logfmt or one JSON object each", "logfmt")
  )
})

/**
 * The logging layer for a command's handler, from `--log-format`, `--log-level` and the command's
 * own `--debug` (which means `--log-level debug`).
 */
export const cliLogging = (debug = false) =>
  Effect.gen(function*() {
    const format = yield* LogFormatSetting
    const level = yield* LogLevelSetting
    return layerCliLogging({ format, level: debug ? "Debug" : level })
  })
