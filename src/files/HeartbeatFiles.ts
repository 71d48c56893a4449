import { Context, Effect, Layer } from "effect"
import { appendFile, mkdir, rename, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import type { ClientConfig } from "../config/ReceiverConfig.ts"
import type { WireHeartbeat } from "../domain/Heartbeat.ts"
import type { HeartbeatObserver } from "../receiver/ReceiverEngine.ts"
import { runWriteBehind, throttledLog } from "../support/writeBehind.ts"
import { clientFolderName, safeFileName, utcStamp } from "./fileNames.ts"

export interface HeartbeatFilesOptions {
  /** Holds `current/` and `history/`. */
  readonly directory: string
  /** Write-behind period: heartbeats reach the files within about this long. */
  readonly flushIntervalMs: number
}

export interface HeartbeatFilesCounters {
  readonly flushes: number
  readonly filesWritten: number
  readonly writeErrors: number
}

export class HeartbeatFiles extends Context.Service<HeartbeatFiles, {
  /** Records heartbeats and deregistrations in memory, for the next write. */
  readonly observer: HeartbeatObserver
  /** Writes everything pending now (shutdown, tests). */
  readonly flush: Effect.Effect<void>
  readonly counters: () => HeartbeatFilesCounters
}>()("heartbeat-mesh/files/HeartbeatFiles") {}

interface PendingResource {
  readonly folder: string
  readonly file: string
  current: string | undefined
  history: Array<string>
  remove: boolean
}

const writeConcurrency = 16

/**
 * The deployed version's heartbeat files (SPEC 3.3), for logging and external tools:
 * `current/<client>/<resource>.json` holds the last heartbeat, `history/...` one line per heartbeat.
 * The heartbeat path only records into memory; a fiber writes in batches, so a slow or full disk
 * never slows ingestion, and a write error is logged and counted while monitoring goes on.
 * Tokens are never written.
 */
export const layerHeartbeatFiles = (options: HeartbeatFilesOptions) =>
  Layer.effect(
    HeartbeatFiles,
    Effect.gen(function*() {
      let pending = new Map<string, PendingResource>()
      const createdFolders = new Set<string>()
      let flushes = 0
      let filesWritten = 0
      let writeErrors = 0
      const logWriteError = throttledLog(60_000)

      const pendingFor = (client: ClientConfig, resource: string) => {
        const folder = clientFolderName(client.name)
        const file = `${safeFileName(resource)}.json`
        const key = `${folder}/${file}`
        let entry = pending.get(key)
        if (entry === undefined) {
          entry = { folder, file, current: undefined, history: [], remove: false }
          pending.set(key, entry)
        }
        return entry
      }

      const deregistered = (client: ClientConfig, resource: string) => {
        const entry = pendingFor(client, resource)
        entry.current = undefined
        entry.history = []
        entry.remove = true
      }

      const heartbeatSeen = (client: ClientConfig, heartbeat: WireHeartbeat, nowMs: number) => {
        const entry = pendingFor(client, heartbeat.resource)
        const line = JSON.stringify({
          utc: utcStamp(nowMs),
          resource: heartbeat.resource,
          payload: heartbeat.payload ?? {},
          timeout: heartbeat.timeout ?? null
        })
        entry.current = line
        entry.history.push(line + "\n")
        entry.remove = false
      }

      const ensureFolder = async (path: string) => {
        if (createdFolders.has(path)) return
        await mkdir(path, { recursive: true })
        createdFolders.add(path)
      }

      const writeOne = async (entry: PendingResource): Promise<Array<string>> => {
        const currentDir = join(options.directory, "current", entry.folder)
        const historyDir = join(options.directory, "history", entry.folder)
        const errors: Array<string> = []
        const attempt = async (what: string, action: () => Promise<void>) => {
          try {
            await action()
          } catch (error) {
            errors.push(`${what}: ${(error as Error).message}`)
          }
        }
        if (entry.remove) {
          await attempt("remove current", () => rm(join(currentDir, entry.file), { force: true }))
          await attempt("remove history", () => rm(join(historyDir, entry.file), { force: true }))
        }
        if (entry.current !== undefined) {
          const line = entry.current
          await attempt("write current", async () => {
            await ensureFolder(currentDir)
            const target = join(currentDir, entry.file)
            await writeFile(`${target}.tmp`, line + "\n")
            await rename(`${target}.tmp`, target)
            filesWritten++
          })
        }
        if (entry.history.length > 0) {
          const lines = entry.history.join("")
          await attempt("append history", async () => {
            await ensureFolder(historyDir)
            await appendFile(join(historyDir, entry.file), lines)
            filesWritten++
          })
        }
        return errors
      }

      const flush = Effect.gen(function*() {
        if (pending.size === 0) return
        const batch = [...pending.values()]
        pending = new Map()
        flushes++
        const errors = yield* Effect.promise(async () => {
          const found: Array<string> = []
          for (let i = 0; i < batch.length; i += writeConcurrency) {
            const results = await Promise.all(batch.slice(i, i + writeConcurrency).map(writeOne))
            for (const result of results) found.push(...result)
          }
          return found
        })
        if (errors.length === 0) return
        writeErrors += errors.length
        yield* logWriteError(Effect.logError("heartbeat files could not be written; monitoring goes on", {
          directory: options.directory,
          failures: errors.length,
          first: errors[0]
        }))
      })

      yield* runWriteBehind(options.flushIntervalMs, flush)

      return HeartbeatFiles.of({
        observer: { heartbeat: heartbeatSeen, deregistered },
        flush,
        counters: () => ({ flushes, filesWritten, writeErrors })
      })
    })
  )
