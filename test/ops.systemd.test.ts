import { describe, expect, it } from "vitest"
import { readFileSync } from "node:fs"
import { join, resolve } from "node:path"

const projectRoot = resolve(import.meta.dirname, "..")
const unitFile = join(projectRoot, "ops/systemd/heartbeat-mesh-receiver.service")

// systemd-analyze verify / security run in the tool checks (test/tools/, npm run check:tools).
describe("systemd unit", () => {
  it("is Type=notify, restarts on failure, and never sets MemoryDenyWriteExecute (V8 needs W+X)", () => {
    const unit = readFileSync(unitFile, "utf8")
    expect(unit).toMatch(/^Type=notify$/m)
    expect(unit).toMatch(/^NotifyAccess=all$/m)
    expect(unit).toMatch(/^Restart=on-failure$/m)
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute=/m)
  })

  it("caps V8's young generation (bench/daemonScale.ts starts the daemon with the same NODE_OPTIONS)", () => {
    expect(readFileSync(unitFile, "utf8")).toMatch(/^Environment=NODE_OPTIONS=--max-semi-space-size=8$/m)
  })
})
