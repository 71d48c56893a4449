import { describe, expect, it } from "vitest"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { RotatingFile } from "../src/files/RotatingFile.ts"

const folder = () => mkdtempSync(join(tmpdir(), "hbm-rotating-"))
const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : undefined)

describe("RotatingFile (real files)", () => {
  it("rotates before a line would pass the size, keeps `keep` older files, deletes the oldest", () => {
    const path = join(folder(), "sub", "j.log")
    const file = new RotatingFile(path, 10, 2)
    file.append(["aaaa\n", "bbbb\n"]) // 10 bytes: fits exactly
    expect(read(path)).toBe("aaaa\nbbbb\n")
    file.append(["cccc\n"])
    expect([read(path), read(`${path}.1`)]).toEqual(["cccc\n", "aaaa\nbbbb\n"])
    file.append(["dddd\n", "eeee\n", "ffff\n"])
    // Lines stay whole: d fills cccc's file, e and f start the next.
    expect([read(path), read(`${path}.1`), read(`${path}.2`), read(`${path}.3`)]).toEqual(["eeee\nffff\n", "cccc\ndddd\n", "aaaa\nbbbb\n", undefined])
    file.append(["gggg\n"])
    expect([read(path), read(`${path}.1`), read(`${path}.2`), read(`${path}.3`)]).toEqual(["gggg\n", "eeee\nffff\n", "cccc\ndddd\n", undefined])
    expect(file.rotations).toBe(3)
    file.close()
  })

  it("keep 0 starts the file afresh; a line longer than the size gets a file of its own", () => {
    const path = join(folder(), "j.log")
    const file = new RotatingFile(path, 8, 0)
    file.append(["abc\n"])
    file.append(["0123456789\n"])
    expect(read(path)).toBe("0123456789\n")
    file.append(["xy\n"])
    expect(read(path)).toBe("xy\n")
    expect(read(`${path}.1`)).toBeUndefined()
    expect(file.rotations).toBe(2)
    file.close()
  })

  it("continues an existing file, its size counting", () => {
    const path = join(folder(), "j.log")
    writeFileSync(path, "old-line\n")
    const file = new RotatingFile(path, 12, 1)
    file.append(["ab\n"])
    expect(read(path)).toBe("old-line\nab\n")
    file.append(["c\n"])
    expect([read(path), read(`${path}.1`)]).toEqual(["c\n", "old-line\nab\n"])
    file.close()
  })
})
