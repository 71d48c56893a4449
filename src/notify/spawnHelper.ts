/**
 * The notify_devilry spawn helper: a small long-lived process the receiver starts (see
 * spawnHelpers.ts) that runs notify_devilry for it. It exists because spawning from the receiver
 * itself is slow: libuv forks the whole (large) receiver process for every run and waits for the
 * child's exec synchronously on the event loop. Forking this process instead costs a fraction of
 * that, and several helpers spawn in parallel.
 *
 * It imports nothing but Node's own modules (and src/support/processGroup.ts, which imports none)
 * and uses `node:child_process` directly: it is the cheapest way to spawn from Node (no effect runtime to load, ~40 MB less to map and fork, and it
 * starts in a few tens of milliseconds). Every process the receiver starts itself still goes
 * through effect's ChildProcess (this helper included).
 *
 * Protocol: one JSON object per line.
 *   in:  {"run":ID,"command":PATH,"args":[...],"input":TEXT,"timeoutMs":N,"killAfterMs":N}
 *        {"cancel":ID}
 *   out: {"started":ID,"pid":N}                          the run's process group exists
 *        {"done":ID,"outcome":"exit","code":N|null,"signal":S|null,"output":TAIL}
 *        {"done":ID,"outcome":"timeout","output":TAIL}   killed at timeoutMs
 *        {"done":ID,"outcome":"cancelled"}               killed on request
 *        {"done":ID,"outcome":"error","message":TEXT}    could not be started (missing command, ...)
 * Each run is the leader of its own process group. When it ends (exit, time limit, cancel), the
 * whole group is sent SIGTERM, then SIGKILL after killAfterMs if any member is left, and "done" is
 * written only once the group is gone (or a second after the SIGKILL): a grandchild cannot deliver
 * the same alert later. When its input ends (the receiver closed it, or died) or it gets SIGTERM,
 * the helper ends every run that way and exits.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { groupExists, signalGroup } from "../support/processGroup.ts"

/** What "output" keeps of a run's stdout and stderr together: the end, where errors are. */
const outputTailChars = 2000
/** How often a signalled process group is looked at, and how long it may take after SIGKILL. */
const groupPollMs = 10
const afterKillMs = 1000
/** A request line longer than this is refused (a notification is a few KB; the pool checks it before sending). */
const maxLineChars = 1024 * 1024

interface RunRequest {
  readonly run: number
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly input: string
  readonly timeoutMs: number
  readonly killAfterMs: number
}

interface Run {
  readonly id: number
  readonly child: ChildProcess
  readonly killAfterMs: number
  output: string
  timer: NodeJS.Timeout | undefined
  /** Why the run is being ended early, if it is. */
  ending: "timeout" | "cancelled" | undefined
  exited: boolean
  closed: boolean
  exitCode: number | null
  exitSignal: NodeJS.Signals | null
}

const runs = new Map<number, Run>()
let inputEnded = false

const reply = (message: object) => {
  process.stdout.write(`${JSON.stringify(message)}\n`)
}

/**
 * Ends the run's process group: SIGTERM, SIGKILL after killAfterMs if a member is left, then up to
 * afterKillMs more (zombies of an unreaped grandchild keep a group "existing"); calls `done` once
 * the leader has exited and its group is gone or the time is up.
 */
const endGroup = (run: Run, done: () => void) => {
  const pid = run.child.pid
  if (pid === undefined) return done()
  signalGroup(pid, "SIGTERM")
  const started = Date.now()
  let killedAt: number | undefined
  const poll = () => {
    const groupLeft = groupExists(pid)
    if (run.exited && !groupLeft) return done()
    const now = Date.now()
    if (killedAt === undefined && now - started >= run.killAfterMs) {
      signalGroup(pid, "SIGKILL")
      killedAt = now
    }
    if (killedAt !== undefined && now - killedAt >= afterKillMs && run.exited) return done()
    setTimeout(poll, groupPollMs)
  }
  poll()
}

const finish = (run: Run, message: object) => {
  if (!runs.delete(run.id)) return
  reply(message)
  if (inputEnded && runs.size === 0) process.exit(0)
}

/** The run has exited and its output is complete: clear up what it left in its group, then report. */
const settle = (run: Run) => {
  if (!run.exited || !run.closed || run.ending !== undefined) return
  clearTimeout(run.timer)
  endGroup(run, () =>
    finish(run, { done: run.id, outcome: "exit", code: run.exitCode, signal: run.exitSignal, output: run.output }))
}

const endEarly = (run: Run, why: "timeout" | "cancelled") => {
  if (run.ending !== undefined) return
  run.ending = why
  clearTimeout(run.timer)
  endGroup(run, () =>
    finish(run, why === "timeout" ? { done: run.id, outcome: "timeout", output: run.output } : { done: run.id, outcome: "cancelled" }))
}

const start = (request: RunRequest) => {
  let child: ChildProcess
  try {
    child = spawn(request.command, [...request.args], { detached: true, stdio: ["pipe", "pipe", "pipe"] })
  } catch (error) {
    return reply({ done: request.run, outcome: "error", message: (error as Error).message })
  }
  const run: Run = {
    id: request.run,
    child,
    killAfterMs: request.killAfterMs,
    output: "",
    timer: undefined,
    ending: undefined,
    exited: false,
    closed: false,
    exitCode: null,
    exitSignal: null
  }
  runs.set(run.id, run)
  child.on("error", (error) => {
    // Emitted instead of "spawn" when the command cannot be started; then no exit follows.
    if (child.pid !== undefined) return
    clearTimeout(run.timer)
    finish(run, { done: run.id, outcome: "error", message: error.message })
  })
  if (child.pid === undefined) return
  reply({ started: run.id, pid: child.pid })
  const keep = (chunk: string) => {
    run.output = (run.output + chunk).slice(-outputTailChars)
  }
  child.stdout!.setEncoding("utf8").on("data", keep)
  child.stderr!.setEncoding("utf8").on("data", keep)
  // A command that does not read its input closes the pipe early: not an error of the run.
  child.stdin!.on("error", () => {})
  child.stdin!.end(request.input)
  child.on("exit", (code, signal) => {
    run.exited = true
    run.exitCode = code
    run.exitSignal = signal
    settle(run)
  })
  child.on("close", () => {
    run.closed = true
    settle(run)
  })
  run.timer = setTimeout(() => endEarly(run, "timeout"), request.timeoutMs)
}

const handle = (line: string) => {
  if (line.length === 0) return
  let message: Partial<RunRequest> & { cancel?: number }
  try {
    message = JSON.parse(line) as typeof message
  } catch {
    return process.stderr.write(`spawn helper: ignored a line that is not JSON (${line.length} characters)\n`)
  }
  if (typeof message.cancel === "number") {
    const run = runs.get(message.cancel)
    if (run !== undefined) endEarly(run, "cancelled")
    return
  }
  if (
    typeof message.run !== "number" || typeof message.command !== "string" || !Array.isArray(message.args) ||
    typeof message.input !== "string" || typeof message.timeoutMs !== "number" || typeof message.killAfterMs !== "number"
  ) {
    return process.stderr.write("spawn helper: ignored a request without run, command, args, input, timeoutMs, killAfterMs\n")
  }
  start(message as RunRequest)
}

/** The receiver is done with this helper: end what runs, then exit. */
const shutdown = () => {
  inputEnded = true
  if (runs.size === 0) process.exit(0)
  for (const run of runs.values()) endEarly(run, "cancelled")
}

let pending = ""
process.stdin.setEncoding("utf8")
process.stdin.on("data", (chunk: string) => {
  pending += chunk
  let newline = pending.indexOf("\n")
  while (newline >= 0) {
    handle(pending.slice(0, newline))
    pending = pending.slice(newline + 1)
    newline = pending.indexOf("\n")
  }
  if (pending.length > maxLineChars) {
    process.stderr.write(`spawn helper: dropped a request line longer than ${maxLineChars} characters\n`)
    pending = ""
  }
})
process.stdin.on("end", shutdown)
process.on("SIGTERM", shutdown)
// Its own process group keeps a terminal's Ctrl-C away; the receiver decides when it ends.
process.on("SIGINT", () => {})
