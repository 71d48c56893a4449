import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"
import { brotliDecompressSync } from "node:zlib"
import { type Browser, chromium } from "playwright-core"

// The flags a browser needs here: headless, as root, and no calls to Google's hosts (the machine's
// network is closed; without these Chromium keeps trying).
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--no-zygote",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-domain-reliability"
]

const projectRoot = resolve(import.meta.dirname, "../..")
const systemChromiums = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]

/** Writes `data` to `path` through a temporary name, so a concurrent run never sees half a file. */
const writeAtomically = (path: string, data: Uint8Array, mode: number) => {
  const partial = `${path}.partial-${process.pid}`
  writeFileSync(partial, data, { mode })
  renameSync(partial, path)
}

/**
 * The Chromium (headless shell) that the npm package @sparticuz/chromium ships, brotli-packed:
 * unpacked once into node_modules/.cache (about 3 s), with its fonts and a fontconfig file that
 * also looks at the system's fonts. Nothing is downloaded; undefined when the package is missing.
 */
const npmChromium = (): { executablePath: string; env: Record<string, string> } | undefined => {
  let packageDir: string
  try {
    const require = createRequire(import.meta.url)
    packageDir = dirname(dirname(require.resolve("@sparticuz/chromium")))
  } catch {
    return undefined
  }
  const { version } = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { version: string }
  const cache = join(projectRoot, "node_modules/.cache/heartbeat-mesh", `chromium-${version}`)
  const executablePath = join(cache, "chromium")
  const fontsDir = join(cache, "fonts")
  const fontsConf = join(cache, "fonts.conf")
  if (!existsSync(executablePath)) {
    mkdirSync(cache, { recursive: true })
    // Fonts first: the executable's presence says the whole unpacking is done.
    const fontsTar = join(cache, `fonts.tar.partial-${process.pid}`)
    writeFileSync(fontsTar, brotliDecompressSync(readFileSync(join(packageDir, "bin/fonts.tar.br"))))
    const unpackTo = join(cache, `unpack-${process.pid}`)
    mkdirSync(unpackTo, { recursive: true })
    const untar = spawnSync("tar", ["-xf", fontsTar, "-C", unpackTo], { encoding: "utf8" })
    if (untar.status !== 0) throw new Error(`unpacking Chromium's fonts failed: ${untar.stderr}`)
    rmSync(fontsDir, { recursive: true, force: true })
    renameSync(join(unpackTo, "fonts"), fontsDir)
    rmSync(unpackTo, { recursive: true, force: true })
    rmSync(fontsTar, { force: true })
    writeAtomically(
      fontsConf,
      Buffer.from(`<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>${fontsDir}</dir>
  <dir>/usr/share/fonts</dir>
  <cachedir>${join(cache, "fontconfig-cache")}</cachedir>
</fontconfig>
`),
      0o644
    )
    writeAtomically(executablePath, brotliDecompressSync(readFileSync(join(packageDir, "bin/chromium.br"))), 0o755)
  }
  return { executablePath, env: { FONTCONFIG_FILE: fontsConf } }
}

/**
 * A headless Chromium for the dashboard tests, with no apt and no download: the one from npm
 * (@sparticuz/chromium), else a system Chromium if one is installed. HEARTBEAT_MESH_CHROMIUM
 * names another executable.
 */
export const launchChromium = async (): Promise<Browser> => {
  const override = process.env["HEARTBEAT_MESH_CHROMIUM"]
  const candidates: Array<{ executablePath: string; env: Record<string, string> }> = []
  if (override !== undefined && override !== "") candidates.push({ executablePath: override, env: {} })
  else {
    const fromNpm = npmChromium()
    if (fromNpm !== undefined) candidates.push(fromNpm)
    for (const path of systemChromiums) if (existsSync(path)) candidates.push({ executablePath: path, env: {} })
  }
  const failures: Array<string> = []
  for (const candidate of candidates) {
    try {
      return await chromium.launch({
        executablePath: candidate.executablePath,
        args: chromiumArgs,
        env: { ...process.env, ...candidate.env } as Record<string, string>
      })
    } catch (error) {
      failures.push(`${candidate.executablePath}: ${(error as Error).message.split("\n")[0]}`)
    }
  }
  throw new Error(`no Chromium could be started (npm ci installs @sparticuz/chromium):\n${failures.join("\n")}`)
}
