import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs"
import { dirname } from "node:path"

/**
 * An append-only file rotated by size, synchronously (its caller batches): before a write would
 * take it past `maxBytes`, `<path>.<keep-1>` becomes `<path>.<keep>` (the oldest is deleted), ...,
 * `<path>` becomes `<path>.1`, and a new `<path>` is started. With `keep` 0 the file is simply
 * started afresh. A chunk longer than `maxBytes` on its own gets a file of its own. Opened for
 * appending at the first write, so an existing file is continued (its size counts).
 */
export class RotatingFile {
  readonly path: string
  private readonly maxBytes: number
  private readonly keep: number
  private fd: number | undefined = undefined
  private size = 0
  rotations = 0

  constructor(path: string, maxBytes: number, keep: number) {
    this.path = path
    this.maxBytes = maxBytes
    this.keep = keep
  }

  /** Opens the file (made with its folder if missing); throws when it cannot be. */
  open(): number {
    if (this.fd !== undefined) return this.fd
    mkdirSync(dirname(this.path), { recursive: true })
    const fd = openSync(this.path, "a", 0o640)
    this.fd = fd
    this.size = fstatSync(fd).size
    return fd
  }

  private rotate(): void {
    this.close()
    if (this.keep === 0) rmSync(this.path, { force: true })
    else {
      rmSync(`${this.path}.${this.keep}`, { force: true })
      for (let index = this.keep - 1; index >= 1; index--) {
        if (existsSync(`${this.path}.${index}`)) renameSync(`${this.path}.${index}`, `${this.path}.${index + 1}`)
      }
      if (existsSync(this.path)) renameSync(this.path, `${this.path}.1`)
    }
    this.rotations++
  }

  private write(data: Buffer): void {
    const fd = this.open()
    for (let written = 0; written < data.length;) written += writeSync(fd, data, written)
    this.size += data.length
  }

  /** Appends lines (each kept whole in one file; see `appendBytes`). Throws on I/O errors. */
  append(lines: ReadonlyArray<string>): void {
    if (lines.length > 0) this.appendBytes(Buffer.from(lines.join(""), "utf8"))
  }

  /**
   * Appends whole lines (`data` ends with a newline; no line holds another): as many as fit go into
   * the current file, then it is rotated, and so on. Throws on I/O errors.
   */
  appendBytes(data: Uint8Array): void {
    if (data.length === 0) return
    this.open()
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    let offset = 0
    while (offset < bytes.length) {
      const room = this.maxBytes - this.size
      if (bytes.length - offset <= room) {
        this.write(bytes.subarray(offset))
        return
      }
      // Past the last newline that still fits.
      let stop = room > 0 ? bytes.lastIndexOf(0x0a, offset + room - 1) + 1 : 0
      if (stop <= offset) {
        if (this.size > 0) {
          this.rotate()
          this.open()
          continue
        }
        // Not one line fits into an empty file: the line gets a file of its own.
        const end = bytes.indexOf(0x0a, offset)
        stop = end < 0 ? bytes.length : end + 1
      }
      this.write(bytes.subarray(offset, stop))
      offset = stop
      if (offset < bytes.length) {
        this.rotate()
        this.open()
      }
    }
  }

  close(): void {
    if (this.fd === undefined) return
    closeSync(this.fd)
    this.fd = undefined
    this.size = 0
  }
}
