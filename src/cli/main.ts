// Deep imports: the package index would load every platform module (HTTP included) on each cron run.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Command from "effect/cli/Command"
import { receiverCommand } from "./receiverCommand.ts"
import { senderCommand } from "./senderCommand.ts"
import { version } from "../support/version.ts"

const root = Command.make("heartbeat-mesh").pipe(
  Command.withDescription("Heartbeat monitoring: a receiver daemon and a cron sender"),
  Command.withSubcommands([receiverCommand, senderCommand])
)

root.pipe(
  Command.run({ version }),
  // Expected failures (bad configuration, port in use) end with their message and status 1,
  // not a stack trace.
  Effect.catch((error: unknown) =>
    Effect.sync(() => {
      const message = error instanceof Error ? error.message : String(error)
      process.stderr.write(`heartbeat-mesh: ${message}\n`)
      process.exitCode = 1
    })
  ),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    // SIGTERM/SIGINT interrupt the program: that is a clean stop (status 0) for systemd, not 130.
    teardown: (exit, onExit) =>
      onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? Number(process.exitCode ?? 0) : 1)
  })
)
