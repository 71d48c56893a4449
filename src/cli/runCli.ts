// Deep imports: the package index would load every platform module (HTTP included) on each cron run.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as CliConfig from "effect/cli/CliConfig"
import * as CliOutput from "effect/cli/CliOutput"
import * as Command from "effect/cli/Command"
import * as GlobalFlag from "effect/cli/GlobalFlag"
import { version } from "../support/version.ts"
import { usageLine } from "./UsageError.ts"

/** Exit statuses: 0 done, 1 failed (bad configuration, port in use, ...), 2 bad usage. */
const usageStatus = 2

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

const fail = (line: string, status: number) =>
  Effect.sync(() => {
    process.stderr.write(`${line}\n`)
    process.exitCode = status
  })

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
      if (tagged._tag === "UsageError") return fail(usageLine(tagged.message ?? "", tagged.command ?? "heartbeat-mesh"), usageStatus)
      // Expected failures (bad configuration, port in use) end with their message and status 1,
      // not a stack trace.
      return fail(`heartbeat-mesh: ${error instanceof Error ? error.message : String(error)}`, 1)
    }),
    Effect.provide(Layer.mergeAll(NodeServices.layer, cliSetup)),
    NodeRuntime.runMain({
      disableErrorReporting: true,
      // SIGTERM/SIGINT interrupt the program: that is a clean stop (status 0) for systemd, not 130.
      teardown: (exit, onExit) =>
        onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? Number(process.exitCode ?? 0) : 1)
    })
  )
