import { readFileSync } from "node:fs"

/** Alive: signalable and not a zombie waiting for its parent to reap it. */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") !== true
  } catch {
    return false
  }
}
