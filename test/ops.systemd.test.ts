import { describe, expect, it } from "vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const projectRoot = resolve(import.meta.dirname, "..")
const unitFile = join(projectRoot, "ops/systemd/heartbeat-mesh-receiver.service")
const hasSystemdAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0
if (!hasSystemdAnalyze) console.warn("systemd-analyze is not installed here: the unit file checks do not run")

/** The unit as installed, but pointing at this checkout instead of /opt/heartbeat-mesh. */
const unitForThisCheckout = () => {
  const dir = mkdtempSync(join(tmpdir(), "hbm-unit-"))
  const path = join(dir, "heartbeat-mesh-receiver.service")
  writeFileSync(path, readFileSync(unitFile, "utf8").replaceAll("/opt/heartbeat-mesh", projectRoot))
  return path
}

describe("systemd unit", () => {
  it("is Type=notify, restarts on failure, and never sets MemoryDenyWriteExecute (V8 needs W+X)", () => {
    const unit = readFileSync(unitFile, "utf8")
    expect(unit).toMatch(/^Type=notify$/m)
    expect(unit).toMatch(/^NotifyAccess=all$/m)
    expect(unit).toMatch(/^Restart=on-failure$/m)
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute=/m)
  })

  it.runIf(hasSystemdAnalyze)("passes systemd-analyze verify", () => {
    const result = spawnSync("systemd-analyze", ["verify", unitForThisCheckout()], { encoding: "utf8" })
    expect(result.stderr + result.stdout).toBe("")
    expect(result.status).toBe(0)
  })

  it.runIf(hasSystemdAnalyze)("is rated OK or better by systemd-analyze security", () => {
    const output = execFileSync("systemd-analyze", ["security", "--offline=true", unitForThisCheckout()], {
      encoding: "utf8"
    })
    const exposure = Number(/Overall exposure level for .*: (\d+\.\d+)/.exec(output)?.[1])
    expect(exposure).toBeLessThanOrEqual(2.0)
  })
})
