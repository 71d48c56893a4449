import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises"
import { basename, dirname, extname, join } from "node:path"
import type { Level } from "../../checks/thresholds.ts"
import { levels } from "../../checks/thresholds.ts"

export const defaultStateDir = "/var/lib/heartbeat-mesh"

/** `/var/lib/heartbeat-mesh/<config file name>.state.json`: one state per sender.yaml, so service configs do not share one. */
export const defaultStateFile = (configPath: string | undefined) =>
  join(defaultStateDir, `${configPath === undefined ? "sender" : basename(configPath, extname(configPath))}.state.json`)

export interface PluginMemory {
  /** When the plugin last ran (ms since the epoch). */
  readonly ranAtMs: number
  /** Its last metrics, sent again until it runs next. */
  readonly metrics: unknown
  /** Its counters for rates at the next run. */
  readonly counters: unknown
}

/** What the sender keeps between runs. */
export interface PluginState {
  readonly plugins: Readonly<Record<string, PluginMemory>>
  /** Each check's last level (hysteresis). */
  readonly levels: Readonly<Record<string, Level>>
}

export const emptyState: PluginState = { plugins: {}, levels: {} }
const stateVersion = 1

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value)

/**
 * Reads the state file. Missing, unreadable, corrupt or from another version: an empty state (the
 * run then measures as a first run does), never an error; `note` says why, for a debug line.
 */
export const readPluginState = async (path: string): Promise<{ state: PluginState; note: string | undefined }> => {
  let text: string
  try {
    text = await readFile(path, "utf8")
  } catch (error) {
    return { state: emptyState, note: `no state yet (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` }
  }
  try {
    const raw: unknown = JSON.parse(text)
    if (!isRecord(raw) || raw["version"] !== stateVersion || !isRecord(raw["plugins"]) || !isRecord(raw["levels"])) {
      return { state: emptyState, note: "state file of another shape; starting afresh" }
    }
    const plugins: Record<string, PluginMemory> = {}
    for (const [name, memory] of Object.entries(raw["plugins"])) {
      if (isRecord(memory) && typeof memory["ranAtMs"] === "number") {
        plugins[name] = { ranAtMs: memory["ranAtMs"], metrics: memory["metrics"], counters: memory["counters"] }
      }
    }
    const known = new Set<unknown>(levels)
    const kept = Object.entries(raw["levels"]).filter(([, level]) => known.has(level)) as Array<[string, Level]>
    return { state: { plugins, levels: Object.fromEntries(kept) }, note: undefined }
  } catch {
    return { state: emptyState, note: "state file is not valid JSON; starting afresh" }
  }
}

/**
 * Writes the state atomically: a temporary file beside it, then a rename over the old one, so a
 * run killed half-way leaves the old state or the new, never half of one. Returns what went wrong.
 */
export const writePluginState = async (path: string, state: PluginState): Promise<string | undefined> => {
  const temporary = `${path}.${process.pid}.tmp`
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o750 })
    await writeFile(temporary, JSON.stringify({ version: stateVersion, ...state }), { mode: 0o640 })
    await rename(temporary, path)
    return undefined
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => {})
    return `${path}: ${(error as Error).message}`
  }
}
