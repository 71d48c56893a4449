import { open, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"

/**
 * Bytes that differ from run to run, so that a disk returning stale or foreign data fails the
 * check. They need not be secret: Math.random spares the sender node:crypto on every cron run
 * (README "Sender cost").
 */
const unpredictableBytes = (length: number): Buffer => {
  const bytes = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(Math.random() * 256)
  return bytes
}

/**
 * Proves the disk works before saying the host is alive: write a random file, fsync it, read it
 * back, delete it. Returns what went wrong, or undefined when all is well. A host whose disk is sick
 * should fall silent, so that its receivers raise the alarm.
 */
export const checkTmpFile = async (directory = tmpdir()): Promise<string | undefined> => {
  const path = join(directory, `heartbeat-mesh-check-${process.pid}-${unpredictableBytes(6).toString("hex")}`)
  const content = unpredictableBytes(512)
  try {
    const handle = await open(path, "wx", 0o600)
    try {
      await handle.writeFile(content)
      await handle.sync()
    } finally {
      await handle.close()
    }
    const readBack = await readFile(path)
    if (!readBack.equals(content)) return `${path}: read back ${readBack.length} bytes that differ from what was written`
    return undefined
  } catch (error) {
    return `${path}: ${(error as Error).message}`
  } finally {
    await rm(path, { force: true }).catch(() => {})
  }
}
