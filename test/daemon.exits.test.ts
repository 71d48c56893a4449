import { afterEach, describe, expect, it } from "vitest"
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:net"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { migrations } from "../src/store/sqliteStateStore.ts"
import { freePort, makeWorkspace, type RunningDaemon, runCli, startDaemon } from "./support/daemonProcess.ts"

const config = `
enabled: true
notifier: stdout
notify_devilry_sleep: 0
clients:
  Client1:
    token: exits-token
    timeout: 1
`

let daemon: RunningDaemon | undefined
let blocker: Server | undefined
afterEach(async () => {
  await daemon?.stop("SIGKILL")
  daemon = undefined
  blocker?.close()
  blocker = undefined
})

const listenOn = (port: number) =>
  new Promise<Server>((resolve) => {
    const server = createServer()
    server.listen(port, "127.0.0.1", () => resolve(server))
  })

/** Runs the receiver expecting it to refuse to start: its status and the one line it ends with. */
const refusal = async (workspace: { configPath: string; stateDir: string }, extra: ReadonlyArray<string>) => {
  const result = await runCli([
    "receiver",
    "--config",
    workspace.configPath,
    "--iface",
    "127.0.0.1",
    "--state-dir",
    workspace.stateDir,
    ...extra
  ])
  // Log lines are logfmt (`level=...`); the refusal is the one line the command itself prints.
  const lines = result.stderr.split("\n").filter((line) => line.startsWith("heartbeat-mesh:"))
  return { code: result.code, lines, stderr: result.stderr }
}

/** A state.db at the current schema with `rows` inserted as raw SQL values. */
const stateDbWith = (stateDir: string, inserts: ReadonlyArray<string>) => {
  mkdirSync(stateDir, { recursive: true })
  const db = new DatabaseSync(join(stateDir, "state.db"))
  migrations.forEach((migration) => db.exec(migration))
  db.exec(`PRAGMA user_version = ${migrations.length}`)
  for (const values of inserts) {
    db.exec(`INSERT INTO resources (client, resource, first_seen_ms, last_seen_ms, timeout_override_minutes, payload, status, paused) VALUES ${values}`)
  }
  db.close()
}

describe("refusals to start: one line naming what and what to do, status 1 (issue 13.5)", () => {
  it("the HTTP port is in use", async () => {
    const httpPort = await freePort()
    blocker = await listenOn(httpPort)
    const workspace = makeWorkspace(`${config}http:\n  listen: "127.0.0.1:${httpPort}"\n`)
    const { code, lines } = await refusal(workspace, ["--port", "0"])
    expect(code).toBe(1)
    expect(lines).toEqual([
      `heartbeat-mesh: HTTP listen 127.0.0.1:${httpPort}: address in use: another process listens there (another receiver?); ` +
      `stop it or change http.listen in ${workspace.configPath}`
    ])
  })

  it("the heartbeat port is in use", async () => {
    const port = await freePort()
    blocker = await listenOn(port)
    const workspace = makeWorkspace(config)
    const { code, lines } = await refusal(workspace, ["--port", String(port)])
    expect(code).toBe(1)
    expect(lines).toEqual([
      `heartbeat-mesh: heartbeat listen 127.0.0.1:${port}: address in use: another process listens there (another receiver?); ` +
      "stop it or choose another --iface or --port"
    ])
  })

  it("state.db has a wrong column: refused, untouched; --reset-state moves it aside and starts", async () => {
    const workspace = makeWorkspace(config)
    stateDbWith(workspace.stateDir, [])
    const db = new DatabaseSync(join(workspace.stateDir, "state.db"))
    db.exec("ALTER TABLE resources RENAME COLUMN payload TO data")
    db.close()
    const database = join(workspace.stateDir, "state.db")
    const { code, lines } = await refusal(workspace, ["--port", "0"])
    expect(code).toBe(1)
    expect(lines).toEqual([
      `heartbeat-mesh: state database ${database} cannot be used: table resources has no column payload ` +
      "(it was changed by something else). Nothing was changed. To start from empty, run with --reset-state: " +
      "the file is then moved aside, not deleted."
    ])
    expect(readdirSync(workspace.stateDir).filter((f) => f.includes("unreadable"))).toEqual([])

    daemon = await startDaemon(workspace, ["--reset-state"])
    expect(daemon.stderr()).toContain("state database was unreadable; moved aside, starting from empty")
    expect(readdirSync(workspace.stateDir).filter((f) => /^state\.db\.unreadable-/.test(f))).toHaveLength(1)
  })

  it("the state folder cannot be made", async () => {
    const workspace = makeWorkspace(config)
    writeFileSync(join(workspace.dir, "a-file"), "")
    const stateDir = join(workspace.dir, "a-file", "state")
    const { code, lines } = await refusal({ ...workspace, stateDir }, ["--port", "0"])
    expect(code).toBe(1)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(
      `^heartbeat-mesh: state folder ${stateDir}: ENOTDIR: not a directory, .*; create it for this user or choose another with --state-dir \\(or state_dir in receiver.yaml\\)$`
    ))
    expect(existsSync(stateDir)).toBe(false)
  })
})

describe("bad rows in state.db (issue 13.5, 13.2): each skipped or repaired with a warning naming it; the rest restored", () => {
  it("without --reset-state", async () => {
    const workspace = makeWorkspace(config)
    const now = Date.now()
    stateDbWith(workspace.stateDir, [
      `('Client1', 'good.example.com', ${now - 5000}, ${now - 1000}, NULL, '{"uptime":1}', 'alive', 0)`,
      `(x'00ff', 'blob-client.example.com', ${now}, ${now}, NULL, NULL, 'alive', 0)`,
      `('Client1', '', ${now}, ${now}, NULL, NULL, 'alive', 0)`,
      `('Client1', 'huge-timeout.example.com', ${now - 5000}, ${now - 1000}, 1e12, NULL, 'alive', 0)`,
      `('Client1', 'garbage-time.example.com', 'yesterday', 'garbage', NULL, '{"uptime":2}', 'alive', 0)`,
      `('Client1', 'far-future.example.com', ${now - 5000}, 1e300, NULL, NULL, 'alive', 0)`,
      `('Client1', 'bad-payload.example.com', ${now - 5000}, ${now - 1000}, NULL, '{not json', 'alive', 0)`,
      `('Client1', 'list-payload.example.com', ${now - 5000}, ${now - 1000}, NULL, '[1,2]', 'alive', 0)`,
      // Names from before they were checked on the wire (issue 13.8): a bidi override, a newline.
      `('Client1', 'invoice' || char(8238) || 'fdp.exe', ${now - 5000}, ${now - 1000}, NULL, NULL, 'alive', 0)`,
      `('Client' || char(10) || '1', 'newline-client.example.com', ${now - 5000}, ${now - 1000}, NULL, NULL, 'alive', 0)`
    ])
    daemon = await startDaemon(workspace)
    const stderr = daemon.stderr()
    expect(stderr).toMatch(/msg="state restored" .*resources=6/)
    // logfmt quotes each field and escapes the quotes inside it.
    const warned = (line: string) => expect(stderr).toContain(line)
    warned(String.raw`row="client=a blob of 2 bytes resource=\"blob-client.example.com\": client is a blob of 2 bytes, expected a name; row skipped, the others are restored"`)
    warned(String.raw`row="client=\"Client1\" resource=\"\": resource is \"\", expected a name; row skipped, the others are restored"`)
    warned(String.raw`row="client=\"Client1\" resource=\"invoice\\u202efdp.exe\": resource contains a control or bidi-override character (U+0000-001F, U+007F, U+202A-202E, U+2066-2069); row skipped, the others are restored"`)
    warned(String.raw`row="client=\"Client\\n1\" resource=\"newline-client.example.com\": client contains a control or bidi-override character (U+0000-001F, U+007F, U+202A-202E, U+2066-2069); row skipped, the others are restored"`)
    warned(String.raw`row="client=\"Client1\" resource=\"bad-payload.example.com\": payload \"{not json\" is not JSON: left out"`)
    warned(String.raw`row="client=\"Client1\" resource=\"list-payload.example.com\": payload \"[1,2]\" is not a JSON object: left out"`)
    warned(`repair="Client1/huge-timeout.example.com: timeout_override_minutes 1000000000000 is outside 1/60 to 525600: dropped, the client's timeout applies"`)
    warned(`repair="Client1/garbage-time.example.com: last_seen_ms NaN is not a usable time: set to now; first_seen_ms NaN is not a usable time: set to the last heartbeat"`)
    warned(`repair="Client1/far-future.example.com: last_seen_ms 1e+300 is not a usable time: set to now"`)
    await daemon.stop("SIGTERM")
    daemon = undefined

    // The repairs were written back: the next start restores the same six rows and repairs nothing;
    // the four rows that cannot name a resource are kept in the file, untouched, and skipped again.
    const db = new DatabaseSync(join(workspace.stateDir, "state.db"), { readOnly: true })
    const rows = db.prepare("SELECT resource, timeout_override_minutes AS timeout, last_seen_ms AS last FROM resources ORDER BY resource").all() as Array<{ resource: string; timeout: number | null; last: number }>
    db.close()
    expect(rows.map((r) => r.resource)).toEqual([
      "",
      "bad-payload.example.com",
      "blob-client.example.com",
      "far-future.example.com",
      "garbage-time.example.com",
      "good.example.com",
      "huge-timeout.example.com",
      "invoice\u202efdp.exe",
      "list-payload.example.com",
      "newline-client.example.com"
    ])
    expect(rows.find((r) => r.resource === "huge-timeout.example.com")?.timeout).toBeNull()
    expect(rows.find((r) => r.resource === "far-future.example.com")!.last).toBeLessThan(now + 60_000)
    daemon = await startDaemon(workspace)
    expect(daemon.stderr()).toMatch(/msg="state restored" .*resources=6/)
    expect(daemon.stderr()).not.toContain("stored resource repaired")
    expect(daemon.stderr()).not.toContain("left out")
    expect(daemon.stderr().match(/row skipped, the others are restored/g)).toHaveLength(4)
  })
})
