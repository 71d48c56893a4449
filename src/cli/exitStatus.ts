// How every command ends: exit statuses, the one line a failure prints, and a clean stop on SIGTERM.
// Shared by the command-line parser's runner (runCli.ts) and the sender's plain cron run
// (runPlainSender.ts), which ends the same way without loading the parser.
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

/** Exit statuses: 0 done, 1 failed (bad configuration, port in use, ...), 2 bad usage. */
export const usageStatus = 2

/** Writes one line on stderr and sets the exit status. */
export const failWith = (line: string, status: number) =>
  Effect.sync(() => {
    process.stderr.write(`${line}\n`)
    process.exitCode = status
  })

/** Expected failures (bad configuration, port in use) end with their message and status 1, not a stack trace. */
export const failWithError = (error: unknown) =>
  failWith(`heartbeat-mesh: ${error instanceof Error ? error.message : String(error)}`, 1)

/** NodeRuntime.runMain's options for every command. */
export const runMainOptions = {
  disableErrorReporting: true,
  // SIGTERM/SIGINT interrupt the program: that is a clean stop (status 0) for systemd, not 130.
  teardown: <E, A>(exit: Exit.Exit<E, A>, onExit: (code: number) => void) =>
    onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? Number(process.exitCode ?? 0) : 1)
}
