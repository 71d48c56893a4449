// Deep imports: the package index would load every platform module (HTTP included) on each cron run.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as CliConfig from "effect/cli/CliConfig"
import * as CliOutput from "effect/cli/CliOutput"
import * as Command from "effect/cli/Command"
import * as GlobalFlag from "effect/cli/GlobalFlag"
import { version } from "../support/version.ts"
import { failWith, failWithError, runMainOptions, usageStatus } from "./exitStatus.ts"
import { usageLine } from "./UsageError.ts"

// Help and --version on stdout as usual; a usage error is one line on stderr naming the bad flag
// and pointing at --help, never the whole help text.
const presenter: CliOutput.Presenter = {
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Console.error(usageLine(String(event.errors[0]?.message ?? "bad usage"), event.commandPath.join(" ")))
      : CliOutput.defaultPresenter.present(event)
}

const cliSetup = Layer.mergeAll(
  CliOutput.layerPresenter(presenter),
  // effect's --log-level is replaced by ours (it reads HEARTBEAT_MESH_LOG_LEVEL too); no wizard mode.
  CliConfig.layer({ builtIns: [GlobalFlag.Help, GlobalFlag.Version, GlobalFlag.Completions] })
)

/**
 * Runs a command line program: `heartbeat-mesh` (cli/main.ts) or the bundled sender
 * (cli/senderMain.ts), with the same usage errors, exit statuses and clean stop on SIGTERM.
 */
export const runCli = <Name extends string, Input, E>(command: Command.Command<Name, Input, {}, E, NodeServices.NodeServices>) =>
  Command.run(command, { version }).pipe(
    Effect.catch((error: unknown) => {
      const tagged = error as { _tag?: string; errors?: ReadonlyArray<unknown>; message?: string; command?: string }
      // Refused by the parser: the presenter has printed the line already.
      if (tagged._tag === "ShowHelp") {
        return Effect.sync(() => void (process.exitCode = (tagged.errors ?? []).length > 0 ? usageStatus : 0))
      }
      if (tagged._tag === "UsageError") return failWith(usageLine(tagged.message ?? "", tagged.command ?? "heartbeat-mesh"), usageStatus)
      return failWithError(error)
    }),
    Effect.provide(Layer.mergeAll(NodeServices.layer, cliSetup)),
    NodeRuntime.runMain(runMainOptions)
  )
