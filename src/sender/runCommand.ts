import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import { ChildProcess, ChildProcessSpawner } from "effect/process"

export interface CommandOutput {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

export const maxCommandOutputBytes = 64 * 1024

class OutputTooLarge {
  readonly _tag = "OutputTooLarge"
}

const collect = (stream: Stream.Stream<Uint8Array, unknown>) =>
  stream.pipe(
    Stream.runFoldEffect(() => ({ chunks: [] as Array<Uint8Array>, size: 0 }), (acc, chunk) => {
      acc.size += chunk.length
      if (acc.size > maxCommandOutputBytes) return Effect.fail(new OutputTooLarge())
      acc.chunks.push(chunk)
      return Effect.succeed(acc)
    }),
    Effect.map(({ chunks }) => Buffer.concat(chunks).toString("utf8"))
  )

/**
 * Runs an argv (no shell) through effect's ChildProcess, the same API the receiver's notifier
 * uses. The child gets its own process group; at the time limit the group is killed (SIGTERM, then
 * SIGKILL a second later), so a script's own children die with it. Never fails: the error side of
 * the result says why there is no output (`no result within N s`, `... command not found`, ...).
 */
export const runCommand = (
  cmd: ReadonlyArray<string>,
  timeoutSeconds: number
): Effect.Effect<Result.Result<CommandOutput, string>, never, ChildProcessSpawner.ChildProcessSpawner> => {
  const [program, ...args] = cmd
  return Effect.gen(function*() {
    const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
    const handle = yield* spawner.spawn(
      ChildProcess.make(program!, args, { stdin: "ignore", killSignal: "SIGTERM", forceKillAfter: "1 second" })
    )
    const [stdout, stderr] = yield* Effect.all([collect(handle.stdout), collect(handle.stderr)], { concurrency: 2 })
    const exitCode = yield* handle.exitCode
    return Result.succeed<CommandOutput>({ exitCode: Number(exitCode), stdout, stderr })
  }).pipe(
    Effect.scoped,
    Effect.timeoutOrElse({
      duration: `${timeoutSeconds} seconds`,
      orElse: () => Effect.succeed(Result.fail(`no result within ${timeoutSeconds} s`))
    }),
    Effect.catch((error: unknown) => {
      if (error instanceof OutputTooLarge) return Effect.succeed(Result.fail(`output larger than ${maxCommandOutputBytes} bytes`))
      const reason = (error as { reason?: { _tag?: string } }).reason
      if (reason?._tag === "NotFound") return Effect.succeed(Result.fail(`${program}: command not found`))
      return Effect.succeed(Result.fail((error as Error).message ?? String(error)))
    })
  )
}
