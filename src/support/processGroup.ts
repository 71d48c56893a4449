// Process groups by their leader's pid (POSIX). Node built-ins only: the notify_devilry spawn
// helper (src/notify/spawnHelper.ts) imports this and nothing else of the project.

/** Signals every member of the group; a group that is gone already is not an error. */
export const signalGroup = (pid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pid, signal)
  } catch {
    // The group is gone already.
  }
}

/** True while any member of the group exists (an unreaped zombie counts). */
export const groupExists = (pid: number) => {
  try {
    process.kill(-pid, 0)
    return true
  } catch {
    return false
  }
}
