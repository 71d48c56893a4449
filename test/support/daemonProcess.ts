import { type ChildProcess, spawn } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Push } from "zeromq"
import type { Notification } from "../../src/domain/Notification.ts"

const projectRoot = resolve(import.meta.dirname, "../..")
const nodeBinary = join(projectRoot, "node_modules/.bin/node")
const cli = join(projectRoot, "src/bin/heartbeat-mesh.mjs")

export const freePort = (): Promise<number> =>
  new Promise((resolvePort, reject) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolvePort(address.port) : reject()))
    })
  })

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export const waitFor = async <A>(what: string, check: () => A | undefined, timeoutMs = 20_000): Promise<A> => {
  const started = Date.now()
  for (;;) {
    const value = check()
    if (value !== undefined) return value
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** `waitFor` with a check that has to wait for its answer (an HTTP request). */
export const waitForAsync = async <A>(what: string, check: () => Promise<A | undefined>, timeoutMs = 20_000): Promise<A> => {
  const started = Date.now()
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A folder with a receiver.yaml and a notify_devilry stand-in that appends each notification to a file. */
export const makeWorkspace = (configBody: string) => {
  const dir = mkdtempSync(join(tmpdir(), "hbm-e2e-"))
  const notificationsFile = join(dir, "notifications.jsonl")
  const standIn = join(dir, "notify_devilry.sh")
  // One write per notification (O_APPEND, under PIPE_BUF): runs in parallel never interleave lines.
  writeFileSync(standIn, `#!/bin/sh\nline=$(cat)\nprintf '%s\\n' "$line" >> "${notificationsFile}"\n`)
  chmodSync(standIn, 0o755)
  const configPath = join(dir, "receiver.yaml")
  const writeConfig = (body: string) => writeFileSync(configPath, `notify_devilry_cmd: ${standIn}\n${body}`)
  writeConfig(configBody)
  const notifications = (): Array<Notification> =>
    existsSync(notificationsFile)
      ? readFileSync(notificationsFile, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l))
      : []
  return { dir, configPath, writeConfig, notifications, stateDir: join(dir, "state") }
}

export interface RunningDaemon {
  readonly process: ChildProcess
  readonly port: number
  readonly stderr: () => string
  /** Notifications, when the daemon runs with --notifier stdout. */
  readonly stdoutNotifications: () => Array<Notification>
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/** Starts `heartbeat-mesh receiver` as a real process and waits until it says it is running. */
export const startDaemon = async (
  workspace: { configPath: string; stateDir: string },
  extraArgs: ReadonlyArray<string> = [],
  /** Added to this process's environment (LD_PRELOAD for libfaketime in the tool checks). */
  env: Record<string, string> = {}
): Promise<RunningDaemon> => {
  const port = await freePort()
  const child = spawn(nodeBinary, [
    cli,
    "receiver",
    "--config",
    workspace.configPath,
    "--iface",
    "127.0.0.1",
    "--port",
    String(port),
    "--state-dir",
    workspace.stateDir,
    ...extraArgs
  ], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } })
  let stderr = ""
  let stdout = ""
  child.stderr.on("data", (chunk) => (stderr += chunk))
  child.stdout.on("data", (chunk) => (stdout += chunk))
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)))
  await waitFor("the receiver to start", () => {
    if (child.exitCode !== null) throw new Error(`receiver exited early:\n${stderr}`)
    return stderr.includes("receiver running") ? true : undefined
    // A start takes a second on an idle machine; give a loaded one the whole test timeout.
  }, 55_000)
  return {
    process: child,
    port,
    stderr: () => stderr,
    stdoutNotifications: () =>
      // Complete lines only: the last one may still be being written.
      stdout.split("\n").slice(0, -1).filter((line) => line.startsWith("{")).map((line) => JSON.parse(line)),
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null) child.kill(signal)
      return exited
    }
  }
}

/** A real sender-side ZeroMQ PUSH socket. */
export const pushTo = (port: number) => {
  const socket = new Push({ linger: 2000, sendHighWaterMark: 100_000 })
  socket.connect(`tcp://127.0.0.1:${port}`)
  return {
    send: (message: string | Buffer | Array<string | Buffer>) => socket.send(message),
    heartbeat: (token: string, resource: string, extra: Record<string, unknown> = {}) =>
      socket.send(JSON.stringify({ token, resource, ...extra })),
    close: () => socket.close()
  }
}

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the `heartbeat-mesh` command as a real process, the way cron would. */
export const runCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<CliResult> =>
  new Promise((resolveRun) => {
    const child = spawn(nodeBinary, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("exit", (code) => resolveRun({ code, stdout, stderr }))
  })

/** Starts the `heartbeat-mesh` command and leaves it running (a loop such as `sender --every`); `stop` signals it. */
export const spawnCli = (args: ReadonlyArray<string>) => {
  const child = spawn(nodeBinary, [cli, ...args], { stdio: ["ignore", "ignore", "pipe"] })
  let stderr = ""
  child.stderr.on("data", (chunk) => (stderr += chunk))
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)))
  return {
    stderr: () => stderr,
    stop: async (signal: NodeJS.Signals = "SIGTERM") => {
      if (child.exitCode === null) child.kill(signal)
      return { code: await exited, stderr }
    }
  }
}

/** A TCP listener on loopback that accepts connections and never says a word: a receiver that hangs. */
export const silentListener = async (): Promise<{ port: number; close: () => void }> => {
  const sockets: Array<import("node:net").Socket> = []
  const server = createServer((socket) => sockets.push(socket))
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  const address = server.address()
  if (typeof address !== "object" || address === null) throw new Error("no address")
  return {
    port: address.port,
    close: () => {
      for (const socket of sockets) socket.destroy()
      server.close()
    }
  }
}
