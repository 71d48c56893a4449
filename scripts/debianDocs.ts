// The documentation files a Debian package carries beside its program (Debian Policy 12): the
// copyright file, the changelog, a manual page and the lintian overrides for what is meant.
// Used by scripts/dist.ts; `npm run check:tools` runs lintian on the packages it builds.
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { gzipSync } from "node:zlib"

/** The npm packages whose code esbuild put into a bundle (from its metafile), with version and licence. */
export const bundledPackages = (root: string, inputs: ReadonlyArray<string>) => {
  const dirs = new Set<string>()
  for (const input of inputs) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)
    if (match !== null) dirs.add(match[1]!)
  }
  return [...dirs].map((dir) => {
    const pkg = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as { name: string; version: string; license?: string }
    return { name: pkg.name, version: pkg.version, license: pkg.license ?? "see the package" }
  }).sort((a, b) => a.name.localeCompare(b.name))
}

const mitText = ` Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to deal
 in the Software without restriction, including without limitation the rights
 to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in all
 copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
 SOFTWARE.`

/**
 * /usr/share/doc/PACKAGE/copyright in Debian's machine-readable format: heartbeat-mesh itself, the
 * npm packages bundled into its JavaScript (each with its version and licence), zeromq beside it,
 * and the Node.js runtime.
 */
export const copyrightFile = (options: {
  readonly libDir: string
  readonly nodeVersion: string
  readonly year: number
  readonly bundled: ReadonlyArray<{ readonly name: string; readonly version: string; readonly license: string }>
}) => `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: heartbeat-mesh
Comment: Built by \`npm run dist\` from the heartbeat-mesh sources. The program's
 JavaScript is one bundle that also holds these npm packages, each under its own
 licence as its package.json gives it:
${options.bundled.map((p) => ` ${p.name} ${p.version} (${p.license})`).join("\n")}

Files: *
Copyright: ${options.year} heartbeat-mesh contributors
License: Expat

Files: ${options.libDir}/node
Copyright: Node.js contributors; Joyent, Inc.; the authors of the libraries built into it
License: Expat
Comment: Node.js ${options.nodeVersion}, the official Linux binary. The licences of
 the libraries built into it (V8, libuv, ICU, OpenSSL, zlib, ...) are listed in
 https://github.com/nodejs/node/blob/${options.nodeVersion}/LICENSE

Files: ${options.libDir}/node_modules/*
Copyright: zeromq.js contributors; the ZeroMQ authors (libzmq, linked into the addon); cmake-ts contributors (its addon loader)
License: Expat and MPL-2.0
Comment: zeromq.js is under the Expat licence; libzmq under the Mozilla Public
 License 2.0, whose text is in /usr/share/common-licenses/MPL-2.0 and beside it in
 node_modules/zeromq/LICENSE_MPL-2.0.txt.

License: Expat
${mitText}
`

/** The date Debian files carry: SOURCE_DATE_EPOCH when set (reproducible builds), else the last commit's, else now. */
export const buildDate = (root: string): Date => {
  const epoch = process.env["SOURCE_DATE_EPOCH"]
  if (epoch !== undefined && /^\d+$/.test(epoch)) return new Date(Number(epoch) * 1000)
  const git = spawnSync("git", ["-C", root, "log", "-1", "--format=%ct"], { encoding: "utf8" })
  const seconds = Number(git.stdout.trim())
  return git.status === 0 && seconds > 0 ? new Date(seconds * 1000) : new Date()
}

/** RFC 5322 date as debian/changelog wants it: `Tue, 01 Dec 2026 15:53:41 +0000`. */
const changelogDate = (date: Date) => date.toUTCString().replace("GMT", "+0000")

/**
 * The maintainer: DEBFULLNAME and DEBEMAIL, the variables Debian's own tools (dch) read, else a
 * placeholder that says where to set them.
 */
export const maintainer = (): string => {
  const email = process.env["DEBEMAIL"]
  if (email !== undefined && email.includes("<")) return email
  const name = process.env["DEBFULLNAME"] ?? "heartbeat-mesh maintainers"
  return `${name} <${email ?? "root@localhost"}>`
}

/** gzip -9n: no file name and no time stamp in the header, as Debian wants. */
export const gzip = (text: string) => gzipSync(Buffer.from(text), { level: 9 })

/** /usr/share/doc/PACKAGE/changelog.gz of a native package (its version has no Debian revision). */
export const changelog = (options: { readonly source: string; readonly version: string; readonly date: Date; readonly maintainer: string; readonly commit: string | undefined }) =>
  gzip(`${options.source} (${options.version}) unstable; urgency=medium

  * Built by npm run dist${options.commit === undefined ? "" : ` from commit ${options.commit}`}; the
    project's history and README say what changed.

 -- ${options.maintainer}  ${changelogDate(options.date)}
`)

/** The commit the build comes from, when it is a git checkout. */
export const commitOf = (root: string): string | undefined => {
  const git = spawnSync("git", ["-C", root, "rev-parse", "--short=12", "HEAD"], { encoding: "utf8" })
  return git.status === 0 ? git.stdout.trim() : undefined
}

/** Text for a manual page's no-fill block: backslashes and leading dots or quotes escaped. */
const roffLiteral = (text: string) =>
  text.replaceAll("\\", "\\e").split("\n").map((line) => (/^[.']/.test(line) ? `\\&${line}` : line)).join("\n")

/**
 * A manual page (section 1) made of the program's own `--help` texts, so that `man COMMAND` and
 * `COMMAND --help` never disagree.
 */
export const manPage = (options: {
  readonly command: string
  readonly summary: string
  readonly synopsis: string
  readonly version: string
  readonly date: Date
  readonly sections: ReadonlyArray<{ readonly title: string; readonly help: string }>
  /** [path, what it is] */
  readonly files: ReadonlyArray<readonly [string, string]>
  readonly seeAlso: string
}) =>
  gzip(`.TH ${options.command.toUpperCase()} 1 "${options.date.toISOString().slice(0, 10)}" "heartbeat-mesh ${options.version}" "User Commands"
.SH NAME
${options.command} \\- ${options.summary}
.SH SYNOPSIS
.B ${options.command}
${options.synopsis}
${options.sections.map((section) => `.SH ${section.title}\n.nf\n${roffLiteral(section.help.trimEnd())}\n.fi`).join("\n")}
.SH FILES
${options.files.map(([path, what]) => `.TP\n.I ${path}\n${what}`).join("\n")}
.SH SEE ALSO
${options.seeAlso}
`)
