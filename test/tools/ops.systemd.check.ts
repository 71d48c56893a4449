// Tool checks (npm run check:tools): they need systemd-analyze, which .ci/run installs with apt
// (Debian's systemd). Not part of npm test, which needs nothing but npm ci.
import { describe, expect, it } from "vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const projectRoot = resolve(import.meta.dirname, "../..")
const unitFile = join(projectRoot, "ops/systemd/heartbeat-mesh-receiver.service")

/** The unit as installed, but pointing at this checkout instead of /opt/heartbeat-mesh. */
const unitForThisCheckout = () => {
  const dir = mkdtempSync(join(tmpdir(), "hbm-unit-"))
  const path = join(dir, "heartbeat-mesh-receiver.service")
  writeFileSync(path, readFileSync(unitFile, "utf8").replaceAll("/opt/heartbeat-mesh", projectRoot))
  return path
}

describe("systemd unit (systemd-analyze)", () => {
  it("passes systemd-analyze verify", () => {
    const result = spawnSync("systemd-analyze", ["verify", unitForThisCheckout()], { encoding: "utf8" })
    expect(result.error).toBeUndefined()
    expect(result.stderr + result.stdout).toBe("")
    expect(result.status).toBe(0)
  })

  it("is rated OK or better by systemd-analyze security", () => {
    const output = execFileSync("systemd-analyze", ["security", "--offline=true", unitForThisCheckout()], {
      encoding: "utf8"
    })
    const exposure = Number(/Overall exposure level for .*: (\d+\.\d+)/.exec(output)?.[1])
    expect(exposure).toBeLessThanOrEqual(2.0)
  })
})
