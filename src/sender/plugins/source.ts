import { readFile, statfs } from "node:fs/promises"
import { join } from "node:path"

/** What `statfs(2)` says about one mounted file system (the fields the disk plugin uses). */
export interface DiskSpace {
  readonly bsize: number
  readonly blocks: number
  readonly bfree: number
  readonly bavail: number
  readonly files: number
  readonly ffree: number
}

/**
 * Where the plugins read the machine: `/proc` and `/etc` files by absolute path, and `statfs` per
 * mount point. The live source reads them directly (no library, no child process); tests give a
 * folder of fixture files instead.
 */
export interface SystemSource {
  readonly readText: (path: string) => Promise<string>
  readonly statfs: (mountPoint: string) => Promise<DiskSpace>
}

export const liveSource: SystemSource = {
  readText: (path) => readFile(path, "utf8"),
  statfs: (mountPoint) => statfs(mountPoint)
}

/**
 * The machine seen through another root (`host_root:`): a sender in a container that has the
 * host's `/` mounted at `/host` reads `/host/proc/...` and statfs `/host/<mount point>`.
 */
export const sourceAt = (root: string | undefined): SystemSource =>
  root === undefined || root === "/"
    ? liveSource
    : { readText: (path) => readFile(join(root, path), "utf8"), statfs: (mountPoint) => statfs(join(root, mountPoint)) }
