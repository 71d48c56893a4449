// Tool check (npm run check:tools): both .deb packages of `npm run dist` pass lintian (Debian's
// package checker, which .ci/run installs with apt) with no error and no warning; what is meant
// (the official Node binary as built, configuration files readable by root only) is overridden in
// the package with its reason. Not part of npm test, which needs nothing but npm ci.
import { describe, expect, it } from "vitest"
import { spawnSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const root = resolve(import.meta.dirname, "../..")

describe("the .deb packages (lintian)", () => {
  it("no error, no warning, for either package", () => {
    const out = mkdtempSync(join(tmpdir(), "hbm-lintian-"))
    // The maintainer comes from DEBFULLNAME / DEBEMAIL, as for Debian's own tools; without them the
    // packages carry a placeholder that lintian rightly rejects (README "Packages").
    const dist = spawnSync(join(root, "node_modules/.bin/node"), [join(root, "scripts/dist.ts"), "--fast", "--out", out], {
      encoding: "utf8",
      env: { ...process.env, DEBFULLNAME: "Check Maintainer", DEBEMAIL: "check@example.org" }
    })
    expect(dist.status, dist.stderr).toBe(0)
    for (const pkg of ["heartbeat-mesh-sender", "heartbeat-mesh-receiver"]) {
      const lintian = spawnSync("lintian", ["--tag-display-limit", "0", "--fail-on", "error,warning", join(out, `${pkg}_0.1.0_amd64.deb`)], { encoding: "utf8" })
      expect(lintian.error).toBeUndefined()
      const tags = lintian.stdout.split("\n").filter((line) => /^[EWIP]: /.test(line))
      expect(tags, pkg).toEqual([])
      expect(lintian.status, lintian.stderr).toBe(0)
    }
  }, 300_000)
})
