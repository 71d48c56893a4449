import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { readFile } from "node:fs/promises"
import type { PayloadCommand } from "../config/SenderConfig.ts"
import { runCommand } from "./runCommand.ts"

/** Whole seconds the host has been up (first field of /proc/uptime), or undefined if unreadable. */
export const readUptimeSeconds = async (path = "/proc/uptime"): Promise<number | undefined> => {
  try {
    const seconds = Number.parseFloat((await readFile(path, "utf8")).split(" ")[0] ?? "")
    return Number.isFinite(seconds) ? Math.floor(seconds) : undefined
  } catch {
    return undefined
  }
}

export interface CommandResult {
  readonly name: string
  /** The payload entry: trimmed stdout, or "failed: <why>" so the receiver side sees it failed. */
  readonly value: string
  /** Set when the command failed, for the sender's log. */
  readonly error: string | undefined
}

/**
 * Runs one payload command: argv without a shell, killed after its time limit. A failure never
 * fails the effect: it becomes the entry's value and a log line, and the heartbeat is still sent.
 */
export const runPayloadCommand = (command: PayloadCommand) =>
  runCommand(command.cmd, command.timeoutSeconds).pipe(
    Effect.map((result): CommandResult => {
      let why: string
      if (Result.isFailure(result)) {
        why = result.failure
      } else if (result.success.exitCode === 0) {
        return { name: command.name, value: result.success.stdout.trim(), error: undefined }
      } else {
        const stderr = result.success.stderr.trim()
        why = `exit status ${result.success.exitCode}${stderr ? `: ${stderr.slice(0, 200)}` : ""}`
      }
      return { name: command.name, value: `failed: ${why}`, error: why }
    })
  )
