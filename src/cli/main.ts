import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Effect, Exit } from "effect"
import { Command } from "effect/cli"
import { receiverCommand } from "./receiverCommand.ts"

const version = "0.1.0"

const root = Command.make("heartbeat-mesh").pipe(
  Command.withDescription("Heartbeat monitoring: a receiver daemon and a cron sender"),
  Command.withSubcommands([receiverCommand])
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
