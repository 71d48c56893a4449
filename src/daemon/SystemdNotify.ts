import { Duration, Effect } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"

const timeout = Duration.seconds(5)

/**
 * sd_notify for a Type=notify unit. Node has no unix datagram sockets, so this runs the
 * `systemd-notify` command through effect's ChildProcess, the one child-process API of the project
 * (the unit needs NotifyAccess=all, since the sender is a child process). Outside systemd (no
 * NOTIFY_SOCKET) it does nothing. A failure is a warning: the daemon runs on.
 */
export const notifySystemd = (state: "READY=1" | "STOPPING=1" | `STATUS=${string}`) =>
  Effect.gen(function*() {
    if (process.env["NOTIFY_SOCKET"] === undefined) return
    const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
    const failure = yield* spawner.spawn(
      ChildProcess.make("systemd-notify", [`--pid=${process.pid}`, state], {
        stdin: "ignore",
        stdout: "ignore",
        stderr: "ignore",
        killSignal: "SIGKILL"
      })
    ).pipe(
      Effect.flatMap((handle) => handle.exitCode),
      Effect.scoped,
      Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.fail(new Error(`no answer within ${Duration.format(timeout)}`)) }),
      Effect.map((code): string | undefined => (code === 0 ? undefined : `exit status ${code}`)),
      Effect.catch((error: unknown) => Effect.succeed(error instanceof Error ? error.message : String(error)))
    )
    if (failure !== undefined) yield* Effect.logWarning("systemd-notify failed", { state, reason: failure })
  })
