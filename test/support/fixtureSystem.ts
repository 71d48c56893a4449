import { readFileSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import type { DiskSpace, SystemSource } from "../../src/sender/plugins/source.ts"

export const fixturesDir = resolve(import.meta.dirname, "../fixtures/system")

/**
 * A machine made of files: `<dir>/proc/...`, `<dir>/etc/...` read as the live source reads
 * `/proc` and `/etc`, and `<dir>/statfs.json` (mount point -> statfs fields) for statfs.
 */
export const fixtureSource = (dir: string): SystemSource => {
  const root = resolve(fixturesDir, dir)
  const space = JSON.parse(readFileSync(join(root, "statfs.json"), "utf8")) as Record<string, DiskSpace>
  return {
    readText: (path) => readFile(join(root, path), "utf8"),
    statfs: async (mountPoint) => {
      const found = space[mountPoint]
      if (found === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, statfs '${mountPoint}'`), { code: "ENOENT" })
      return found
    }
  }
}
