// Tool check (npm run check:tools): needs systemd-analyze, which .ci/run installs.
import { describe, expect, it } from "vitest"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const projectRoot = resolve(import.meta.dirname, "../..")

describe("sender loop unit (systemd-analyze)", () => {
  it("passes systemd-analyze verify", () => {
    const dir = mkdtempSync(join(tmpdir(), "hbm-unit-"))
    const path = join(dir, "heartbeat-mesh-sender.service")
    const unit = readFileSync(join(projectRoot, "ops/systemd/heartbeat-mesh-sender.service"), "utf8")
    writeFileSync(path, unit.replaceAll("/opt/heartbeat-mesh", projectRoot))
    const result = spawnSync("systemd-analyze", ["verify", path], { encoding: "utf8" })
    expect(result.error).toBeUndefined()
    expect(result.stderr + result.stdout).toBe("")
    expect(result.status).toBe(0)
  })
})
