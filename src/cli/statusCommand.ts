import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import { naturalCompare } from "../support/naturalOrder.ts"
import { envVar, fromEnv, help } from "./flagHelp.ts"
import { readTokenFile } from "./secrets.ts"
import { UsageError } from "./UsageError.ts"

/** receiver.yaml's default `http.listen` (config/ReceiverConfig.ts), not imported: the sender's runs load this file too. */
const defaultHttpListen = "127.0.0.1:50004"

/** One row of `GET /api/resources` (the fields the table shows). */
export interface ResourceRow {
  readonly client: string
  readonly resource: string
  readonly status: string
  readonly lastSeen: string | null
  readonly deadline: string | null
}

/** Problems first: stale, then never heard from, then anything else but alive (paused), then alive. */
const rank = (status: string) => ({ stale: 0, not_registered: 1, alive: 3 } as Record<string, number>)[status] ?? 2

const age = (iso: string | null, nowMs: number): string => {
  if (iso === null) return "never"
  const seconds = Math.round((nowMs - Date.parse(iso)) / 1000)
  const text = (s: number) => (s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86_400)}d`)
  return seconds >= 0 ? `${text(seconds)} ago` : `in ${text(-seconds)}`
}

/** The resources as a plain-text table, problems first, then by client and resource in natural order (web2 before web10), as the API sorts them. */
export const statusTable = (rows: ReadonlyArray<ResourceRow>, nowMs: number): string => {
  const sorted = [...rows].sort((a, b) =>
    rank(a.status) - rank(b.status) || naturalCompare(a.client, b.client) || naturalCompare(a.resource, b.resource)
  )
  const lines = [["STATUS", "CLIENT", "RESOURCE", "LAST HEARTBEAT", "DEADLINE"]]
  for (const row of sorted) {
    lines.push([row.status, row.client, row.resource, age(row.lastSeen, nowMs), row.deadline === null ? "-" : age(row.deadline, nowMs)])
  }
  const widths = lines[0]!.map((_, column) => Math.max(...lines.map((line) => line[column]!.length)))
  return lines.map((line) => line.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd()).join("\n") + "\n"
}

/**
 * `heartbeat-mesh status`: a running receiver's resources as a table, from its status API
 * (`GET /api/resources`). Exit status 1 when the receiver cannot be asked.
 */
export const statusCommand = Command.make(
  "status",
  {
    url: Flag.String("url").pipe(
      fromEnv(Config.String(envVar("url"))),
      Flag.withDefault(`http://${defaultHttpListen}`),
      help("url", "the receiver's HTTP address (its http.listen)", `http://${defaultHttpListen}`)
    ),
    tokenFile: Flag.String("token-file").pipe(
      fromEnv(Config.String(envVar("token-file"))),
      Flag.optional,
      help("token-file", "file holding the receiver's read_token (or admin_token), when it has one")
    ),
    token: Flag.String("token").pipe(
      fromEnv(Config.String(envVar("token"))),
      Flag.optional,
      help("token", "the read token; prefer HEARTBEAT_MESH_TOKEN or --token-file (the command line is visible in ps)")
    )
  },
  (flags) =>
    Effect.gen(function*() {
      let token = Option.getOrUndefined(flags.token)
      if (Option.isSome(flags.tokenFile)) {
        const read = readTokenFile(flags.tokenFile.value)
        if ("problem" in read) return yield* Effect.fail(new Error(read.problem))
        token = read.token
      }
      let base: URL
      try {
        base = new URL(flags.url)
      } catch {
        return yield* new UsageError({ message: `--url must be an http:// address, got "${flags.url}"`, command: "heartbeat-mesh status" })
      }
      const url = new URL("/api/resources", base)
      // Page by page (the API gives at most 10,000 a page), following X-Next-Cursor.
      const rows: Array<ResourceRow> = []
      let cursor: string | null = null
      do {
        const page = new URL(url)
        page.searchParams.set("limit", "10000")
        if (cursor !== null) page.searchParams.set("cursor", cursor)
        const response = yield* Effect.tryPromise({
          try: () => fetch(page, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }),
          catch: (error) => new Error(`cannot reach the receiver at ${url.origin}: ${((error as Error).cause as Error | undefined)?.message ?? (error as Error).message}`)
        })
        if (!response.ok) {
          const hint = response.status === 401 || response.status === 403 ? " (give its read token: --token-file or HEARTBEAT_MESH_TOKEN)" : ""
          return yield* Effect.fail(new Error(`${url.href} answered ${response.status}${hint}`))
        }
        rows.push(...((yield* Effect.promise(() => response.json())) as ReadonlyArray<ResourceRow>))
        cursor = response.headers.get("x-next-cursor")
      } while (cursor !== null)
      process.stdout.write(statusTable(rows, Date.now()))
    })
).pipe(Command.withDescription("Show a running receiver's resources as a table, problems first (from its HTTP API)"))
