import { describe, expect, it } from "vitest"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const root = resolve(import.meta.dirname, "..")

const modulesLoadedBy = (args: ReadonlyArray<string>, status = 0) => {
  const dir = mkdtempSync(join(tmpdir(), "hbm-imports-"))
  const trace = join(dir, "modules.txt")
  const run = spawnSync(join(root, "node_modules/.bin/node"), [
    "--import",
    join(root, "test/support/traceImports.mjs"),
    join(root, "src/bin/heartbeat-mesh.mjs"),
    ...args
  ], { env: { ...process.env, HBM_TRACE_IMPORTS: trace }, encoding: "utf8" })
  expect(run.status, run.stderr).toBe(status)
  return readFileSync(trace, "utf8").split("\n")
}

describe("the sender's import graph", () => {
  it("loads neither receiver, HTTP nor SQLite code", () => {
    const dir = mkdtempSync(join(tmpdir(), "hbm-imports-"))
    const config = join(dir, "sender.yaml")
    writeFileSync(config, "enabled: true\ntmp_file_check: false\nreceivers:\n  rx.example.com: {token: t}\n")
    const loaded = modulesLoadedBy(["sender", "--config", config, "--dry-run"])
    const ours = loaded.filter((url) => url.startsWith(`file://${root}/src/`)).map((url) => url.slice(`file://${root}/`.length))
    expect(ours.length).toBeGreaterThan(5) // the trace works
    expect(ours.filter((path) => /^src\/(receiver|actors|monitor|notify|ingress|files|daemon)\//.test(path))).toEqual([])
    // Without `plugins:` the plugin code is not loaded at all (issue 20: cron start-up cost).
    expect(ours.filter((path) => path.startsWith("src/sender/plugins/"))).toEqual([])
    // effect's Schema brings its header / URL-parameter data types (http/Headers.js and the like);
    // servers, clients, routers, SQL and SQLite must not come along.
    expect(loaded.filter((url) => /\/http\/Http|\/http-api\/|NodeHttp|undici|\/sql\/|sqlite/i.test(url))).toEqual([])
    // The Effect index (every module of effect) is not loaded either.
    expect(loaded).not.toContain(`file://${root}/node_modules/effect/dist/index.js`)
  })

  it("with every plugin configured: the plugins and the shared threshold rules, still no receiver code", () => {
    const dir = mkdtempSync(join(tmpdir(), "hbm-imports-"))
    const config = join(dir, "sender.yaml")
    writeFileSync(config, `enabled: true\ntmp_file_check: false\nstate_file: ${join(dir, "s.json")}\n` +
      "plugins: {cpu: {}, memory: {}, disk: {}, network: {}, filesystem: {}, os: {}, nagios: {checks: [{name: t, cmd: [/bin/true]}]}}\n" +
      "receivers:\n  rx.example.com: {token: t}\n")
    const loaded = modulesLoadedBy(["sender", "--config", config, "--print"])
    const ours = loaded.filter((url) => url.startsWith(`file://${root}/src/`)).map((url) => url.slice(`file://${root}/`.length))
    expect(ours).toContain("src/sender/plugins/runPlugins.ts")
    expect(ours).toContain("src/checks/thresholds.ts")
    expect(ours.filter((path) => /^src\/(receiver|actors|monitor|notify|ingress|files|daemon|http|store)\//.test(path))).toEqual([])
    expect(loaded.filter((url) => /\/http\/Http|\/http-api\/|NodeHttp|undici|\/sql\/|sqlite/i.test(url))).toEqual([])
  })
  it("the plain cron run (src/cli/plainSenderRun.ts): no command-line parser, and without payload commands no child-process code", () => {
    const dir = mkdtempSync(join(tmpdir(), "hbm-imports-"))
    const config = join(dir, "sender.yaml")
    writeFileSync(config, "enabled: true\ntmp_file_check: false\nreceivers:\n  127.0.0.1: {port: 1, token: t}\n")
    const loaded = modulesLoadedBy(["sender", "--config", config])
    expect(loaded).toContain(`file://${root}/src/cli/runPlainSender.ts`)
    expect(loaded.filter((url) => /\/effect\/dist\/cli\/|\/src\/cli\/(main|runCli|senderCommand|flagHelp)\.ts$/.test(url))).toEqual([])
    expect(loaded).toContain("node:fs/promises") // the trace sees built-in modules too
    expect(loaded.filter((url) => /^node:(child_process|crypto)$|\/NodeChildProcessSpawner\.js$/.test(url))).toEqual([])
  })

  it("any other sender command line goes through the parser", () => {
    const loaded = modulesLoadedBy(["sender", "--config", "/nonexistent/sender.yaml", "--dry-run"], 1)
    expect(loaded).toContain(`file://${root}/src/cli/senderCommand.ts`)
    expect(loaded).not.toContain(`file://${root}/src/cli/runPlainSender.ts`)
  })
})
