import { spawn } from "node:child_process"
import { Effect } from "effect"

/**
 * sd_notify for a Type=notify unit. Node has no unix datagram sockets, so this runs the
 * `systemd-notify` command (the unit needs NotifyAccess=all, since the sender is a child process).
 * Outside systemd (no NOTIFY_SOCKET) it does nothing.
 */
export const notifySystemd = (state: "READY=1" | "STOPPING=1" | `STATUS=${string}`) =>
  Effect.gen(function*() {
    if (process.env["NOTIFY_SOCKET"] === undefined) return
    const result = yield* Effect.promise(() =>
      new Promise<string | undefined>((resolve) => {
        const child = spawn("systemd-notify", [`--pid=${process.pid}`, state], { stdio: "ignore" })
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000)
        child.on("error", (error) => {
          clearTimeout(timer)
          resolve(error.message)
        })
        child.on("exit", (code) => {
          clearTimeout(timer)
          resolve(code === 0 ? undefined : `exit status ${code}`)
        })
      })
    )
    if (result !== undefined) yield* Effect.logWarning("systemd-notify failed", { state, reason: result })
  })
