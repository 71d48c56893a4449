import { execFile } from "node:child_process"
import { readFile } from "node:fs/promises"
import type { PayloadCommand } from "../config/SenderConfig.ts"

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

const maxOutputBytes = 64 * 1024

/**
 * Runs one payload command: argv without a shell, killed after its time limit. A failure never
 * throws: it becomes the entry's value and a log line, and the heartbeat is still sent.
 */
export const runPayloadCommand = (command: PayloadCommand): Promise<CommandResult> =>
  new Promise((resolve) => {
    const [program, ...args] = command.cmd
    execFile(
      program!,
      args,
      { timeout: command.timeoutSeconds * 1000, killSignal: "SIGKILL", maxBuffer: maxOutputBytes, shell: false },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ name: command.name, value: String(stdout).trim(), error: undefined })
          return
        }
        const failure = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: number | string }
        const why = failure.killed === true && failure.signal === "SIGKILL"
          ? `no result within ${command.timeoutSeconds} s`
          : failure.code === "ENOENT"
          ? `${program}: command not found`
          : failure.code === "ERR_CHILD_PROCESS_STDIO_MAXBUFFER"
          ? `output larger than ${maxOutputBytes} bytes`
          : typeof failure.code === "number"
          ? `exit status ${failure.code}${String(stderr).trim() ? `: ${String(stderr).trim().slice(0, 200)}` : ""}`
          : failure.message
        resolve({ name: command.name, value: `failed: ${why}`, error: why })
      }
    )
  })
