// `npm run dist [-- --out DIR] [--fast] [--bundle-only]`: the installable artifacts, built from this checkout
// without network:
//   DIR/heartbeat-mesh-sender.mjs                    the sender, one bundled file (zeromq stays a
//                                                    package beside it: a native addon)
//   DIR/heartbeat-mesh-sender_<version>_<arch>.deb   sender + Node runtime + cron file + example config
//   DIR/heartbeat-mesh-receiver_<version>_<arch>.deb receiver + Node runtime + systemd unit + user + state folder
// Both packages carry the pinned Node 24 (node_modules/.bin/node, stripped when `strip` exists):
// Debian's own nodejs (18 on bookworm) starts without V8's startup snapshot and costs 0.27 s of
// CPU and 49 MB before any of our code runs (README "Performance"). --fast compresses with gzip -1
// instead of xz (the tests use it; the contents are the same).
import { spawnSync } from "node:child_process"
import { chmodSync, copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { builtinModules } from "node:module"
import { basename, dirname, join, resolve } from "node:path"
import { build, type Plugin } from "esbuild"
import { buildDate, bundledPackages, changelog, commitOf, copyrightFile, maintainer, manPage } from "./debianDocs.ts"

const root = resolve(import.meta.dirname, "..")
const argv = process.argv.slice(2)
const option = (name: string) => {
  const at = argv.indexOf(name)
  return at === -1 ? undefined : argv[at + 1]
}
const out = resolve(option("--out") ?? join(root, "dist"))
const fast = argv.includes("--fast")
const bundleOnly = argv.includes("--bundle-only")
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }
const debArch = ({ x64: "amd64", arm64: "arm64" } as Record<string, string>)[process.arch] ?? process.arch

const run = (command: string, args: ReadonlyArray<string>) => {
  const result = spawnSync(command, args, { encoding: "utf8" })
  if (result.error !== undefined || result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed: ${result.error?.message ?? result.stderr}`)
  }
  return result.stdout
}

const write = (path: string, text: string, mode = 0o644) => {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, text)
  chmodSync(path, mode)
}

/**
 * Node's built-in modules and zeromq (a native addon, which stays an external package), loaded
 * when the bundled module that imports them is first evaluated rather than all at the bundle's
 * start. An ES module's imports of external modules are all loaded before any of its code runs, so
 * a bundle would load node:crypto, node:child_process, zeromq and the others on every run, whether
 * that run uses them or not. Each such import becomes a small CommonJS module that `require()`s
 * it: esbuild evaluates that only with the code that imports it, which for the sender's lazily
 * imported parts (the full command line, payload commands, plugins, CURVE, UDP, HTTP) is only when
 * a run takes them.
 */
const lazyExternals: Plugin = {
  name: "lazy-externals",
  setup(build) {
    const builtins = new Set(builtinModules)
    const isExternal = (path: string) => path === "zeromq" || builtins.has(path.replace(/^node:/, ""))
    build.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (!isExternal(args.path)) return undefined
      // The require() inside the stand-in module itself goes to Node.
      return args.namespace === "lazy-external" ? { path: args.path, external: true } : { path: args.path, namespace: "lazy-external" }
    })
    build.onLoad({ filter: /.*/, namespace: "lazy-external" }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)})`, loader: "js" }))
  }
}

/**
 * esbuild: one ES module for Node 24; zeromq (a native addon) stays an external package. Returns
 * the npm packages bundled in (for the copyright file).
 */
const bundle = async (entry: string, outfile: string) => {
  const result = await build({
    entryPoints: [join(root, entry)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    minify: true,
    legalComments: "none",
    plugins: [lazyExternals],
    // CommonJS inside the bundle (the lazy externals above, a few dependencies) require()s through this.
    banner: { js: 'import{createRequire as __hbmRequire}from"node:module";const require=__hbmRequire(import.meta.url);' },
    logLevel: "warning",
    metafile: true
  })
  return bundledPackages(root, Object.keys(result.metafile.inputs))
}

/**
 * zeromq as installed, less what this system never loads: its JavaScript, the manifest and the
 * addons for Linux on this architecture; of cmake-ts (its addon finder) only the loader.
 */
const copyZeromq = (libDir: string) => {
  const modules = join(libDir, "node_modules")
  const platformDir = `build/linux/${process.arch}`
  const keep: Record<string, (inside: string) => boolean> = {
    zeromq: (inside) =>
      ["", "build", "build/linux", "build/manifest.json", "package.json", "LICENSE.txt", "LICENSE_MPL-2.0.txt"].includes(inside) ||
      inside.startsWith(platformDir) ||
      (inside.startsWith("lib") && !inside.endsWith(".map") && !inside.endsWith(".ts") && !inside.includes("tsbuildinfo")),
    "cmake-ts": (inside) => ["", "build", "package.json", "LICENSE", "build/loader.js"].includes(inside)
  }
  for (const [pkg, wanted] of Object.entries(keep)) {
    const from = join(root, "node_modules", pkg)
    cpSync(from, join(modules, pkg), { recursive: true, filter: (source) => wanted(source.slice(from.length + 1)) })
  }
}

/** The pinned Node binary, without its debug symbols when `strip` is there (127 MB -> 109 MB). */
const copyNode = (libDir: string) => {
  const node = join(libDir, "node")
  copyFileSync(join(root, "node_modules/node/bin/node"), node)
  chmodSync(node, 0o755)
  if (spawnSync("strip", ["--version"]).status === 0) run("strip", [node])
}

/**
 * Of zeromq's addons for this system, only the one the shipped Node loads stays (it says which in
 * /proc/self/maps): the others are for other Node ABIs or musl.
 */
const keepLoadedAddonOnly = (libDir: string) => {
  const maps = run(join(libDir, "node"), ["-e", 'require("zeromq");process.stdout.write(require("fs").readFileSync("/proc/self/maps","utf8"))'])
  const loaded = maps.split("\n").map((line) => line.split(/\s+/).at(-1) ?? "").find((path) => path.endsWith("/addon.node"))
  if (loaded === undefined) throw new Error("the shipped Node did not load zeromq's addon")
  const addons = join(libDir, "node_modules/zeromq/build/linux", process.arch, "node")
  for (const entry of readdirSync(addons)) if (entry !== basename(dirname(loaded))) rmSync(join(addons, entry), { recursive: true })
  // Its symbol table is of no use on a host (lintian: unstripped-binary-or-object).
  if (spawnSync("strip", ["--version"]).status === 0) run("strip", ["--strip-unneeded", loaded.replace(/^.*\/node_modules\//, join(libDir, "node_modules") + "/")])
}

const launcher = (libName: string, script: string, compileCache = false) => `#!/bin/sh
# heartbeat-mesh: runs the bundled program with the Node.js runtime shipped beside it.
here=$(dirname "$(readlink -f "$0")")
lib="$here/../lib/${libName}"
${compileCache ? `# V8's compiled code kept between runs (measured: 5% less CPU and 4 MB less memory per run).
cache="$here/../../var/cache/${libName}"
if [ -z "\${NODE_COMPILE_CACHE:-}" ] && [ -w "$cache" ]; then NODE_COMPILE_CACHE="$cache"; export NODE_COMPILE_CACHE; fi
` : ""}exec "$lib/node" "$lib/${script}" "$@"
`

const installedSizeKb = (dir: string) => Number(run("du", ["-sk", "--exclude=DEBIAN", dir]).split("\t")[0])

/** dpkg-deb --build with root-owned files. */
const buildDeb = (staging: string, control: Record<string, string>, file: string) => {
  write(join(staging, "DEBIAN/control"), Object.entries({ ...control, "Installed-Size": String(installedSizeKb(staging)) })
    .map(([key, value]) => `${key}: ${value}`).join("\n") + "\n")
  run("dpkg-deb", ["--root-owner-group", ...(fast ? ["-Zgzip", "-z1"] : ["-Zxz", "-z6"]), "--build", staging, file])
  return file
}

const { homepage } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { homepage?: string }
const date = buildDate(root)
const common = {
  Version: version,
  Architecture: debArch,
  Maintainer: maintainer(),
  Section: "admin",
  Priority: "optional",
  ...(homepage === undefined ? {} : { Homepage: homepage })
}

/** The program's --help, run with the Node it ships and none of the HEARTBEAT_MESH_* variables of this shell. */
const helpOf = (libDir: string, script: string, args: ReadonlyArray<string>) => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("HEARTBEAT_MESH_") && name !== "NODE_COMPILE_CACHE"))
  const result = spawnSync(join(libDir, "node"), [join(libDir, script), ...args, "--help"], { encoding: "utf8", env })
  if (result.status !== 0) throw new Error(`${script} ${args.join(" ")} --help failed: ${result.stderr}`)
  return result.stdout
}

/**
 * What Debian wants beside the program: the copyright file (with the bundled npm packages), the
 * changelog, the manual page, and lintian overrides for what is meant that way.
 */
const debianDocs = (pkgRoot: string, pkg: string, libDir: string, bundled: ReturnType<typeof bundledPackages>, manual: Parameters<typeof manPage>[0], overrides: ReadonlyArray<readonly [string, string]>) => {
  const doc = join(pkgRoot, "usr/share/doc", pkg)
  write(join(doc, "copyright"), copyrightFile({ libDir, nodeVersion: process.version, year: date.getUTCFullYear(), bundled }))
  mkdirSync(doc, { recursive: true })
  writeFileSync(join(doc, "changelog.gz"), changelog({ source: "heartbeat-mesh", version, date, maintainer: common.Maintainer, commit: commitOf(root) }))
  mkdirSync(join(pkgRoot, "usr/share/man/man1"), { recursive: true })
  writeFileSync(join(pkgRoot, "usr/share/man/man1", `${manual.command}.1.gz`), manPage(manual))
  write(join(pkgRoot, "usr/share/lintian/overrides", pkg), overrides.map(([why, tag]) => `# ${why}\n${pkg}: ${tag}\n`).join(""))
}

/** Overrides both packages need: they ship the official Node.js binary as it is. */
const nodeOverrides = (libDir: string): ReadonlyArray<readonly [string, string]> => [
  ["The official Node.js binary, shipped as built upstream (it links its own zlib, and is not PIE).", `embedded-library zlib [${libDir}/node]`],
  ["The official Node.js binary, shipped as built upstream.", `hardening-no-pie [${libDir}/node]`]
]

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
const staging = join(out, "staging")

// 1. The sender: one bundled file.
const senderBundle = join(out, "heartbeat-mesh-sender.mjs")
const senderBundled = await bundle("src/cli/senderMain.ts", senderBundle)
if (bundleOnly) {
  console.log(JSON.stringify({ out, senderBundleBytes: statSync(senderBundle).size, files: [senderBundle] }))
  process.exit(0)
}

// 2. The sender's package.
const senderRoot = join(staging, "sender")
const senderLib = join(senderRoot, "usr/lib/heartbeat-mesh-sender")
mkdirSync(senderLib, { recursive: true })
copyFileSync(senderBundle, join(senderLib, "sender.mjs"))
copyZeromq(senderLib)
copyNode(senderLib)
keepLoadedAddonOnly(senderLib)
write(join(senderRoot, "usr/bin/heartbeat-mesh-sender"), launcher("heartbeat-mesh-sender", "sender.mjs", true), 0o755)
mkdirSync(join(senderRoot, "var/cache/heartbeat-mesh-sender"), { recursive: true })
write(join(senderRoot, "etc/cron.d/heartbeat-mesh-sender"), `# /etc/cron.d/heartbeat-mesh-sender: one heartbeat per receiver every minute.
# A receiver that is down is skipped silently; only real problems (bad config, sick disk,
# failing payload command) write to stderr, which cron mails.
SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

* * * * * root heartbeat-mesh-sender --config /etc/heartbeat-mesh/sender.yaml

# A service's own heartbeat, sent only while the service is active:
# * * * * * root systemctl is-active --quiet nginx && heartbeat-mesh-sender --config /etc/heartbeat-mesh/nginx.yaml
`)
const example = readFileSync(join(root, "ops/sender.example.yaml"), "utf8")
write(join(senderRoot, "usr/share/doc/heartbeat-mesh-sender/examples/sender.example.yaml"), example)
write(join(senderRoot, "usr/share/doc/heartbeat-mesh-sender/examples/service.example.yaml"), readFileSync(join(root, "ops/service.example.yaml"), "utf8"))
// Installed disabled: cron runs it every minute from the start, and it sends nothing until edited.
write(join(senderRoot, "etc/heartbeat-mesh/sender.yaml"), example.replace(/^enabled: true(\s*)#.*$/m, "enabled: false$1# set to true once the receivers below are yours"), 0o600)
write(join(senderRoot, "DEBIAN/conffiles"), "/etc/cron.d/heartbeat-mesh-sender\n/etc/heartbeat-mesh/sender.yaml\n")
write(join(senderRoot, "DEBIAN/postinst"), `#!/bin/sh
# heartbeat-mesh-sender: on a first install, what to do next (cron already runs it every minute).
set -e
if [ "$1" = configure ] && [ -z "$2" ]; then
  echo "heartbeat-mesh-sender: installed disabled. Edit /etc/heartbeat-mesh/sender.yaml (receivers, tokens,"
  echo "  enabled: true); 'heartbeat-mesh-sender --dry-run' prints what cron will send every minute."
fi
exit 0
`, 0o755)
debianDocs(senderRoot, "heartbeat-mesh-sender", "usr/lib/heartbeat-mesh-sender", senderBundled, {
  command: "heartbeat-mesh-sender",
  summary: "send one heartbeat to every receiver in sender.yaml",
  synopsis: "[--config FILE] [flags]",
  version,
  date,
  sections: [{ title: "HELP (heartbeat-mesh-sender --help)", help: helpOf(senderLib, "sender.mjs", []) }],
  files: [
    ["/etc/heartbeat-mesh/sender.yaml", "the receivers, tokens and payload (installed with enabled: false)"],
    ["/etc/cron.d/heartbeat-mesh-sender", "runs the sender every minute"],
    ["/usr/share/doc/heartbeat-mesh-sender/examples/", "an example sender.yaml with every key, and one for a service's heartbeat"]
  ],
  seeAlso: "heartbeat-mesh(1) on the receiver's host."
}, [
  ...nodeOverrides("usr/lib/heartbeat-mesh-sender"),
  ["It holds the receivers' tokens: readable by root only.", "non-standard-file-perm 0600 != 0644 [etc/heartbeat-mesh/sender.yaml]"],
  ["The deployed senders run from cron every minute; hosts without cron can use the systemd unit in the sources (--every).", "missing-systemd-timer-for-cron-script [etc/cron.d/heartbeat-mesh-sender]"]
])
const senderDeb = buildDeb(senderRoot, {
  Package: "heartbeat-mesh-sender",
  ...common,
  Depends: "libc6 (>= 2.28), libstdc++6 (>= 10), cron | cron-daemon",
  Description: "heartbeat-mesh sender: cron heartbeats to heartbeat-mesh receivers over ZeroMQ\n" +
    " Sends one authenticated heartbeat per minute to every receiver in\n" +
    " /etc/heartbeat-mesh/sender.yaml (installed disabled).\n" +
    " Carries its own Node.js 24 runtime."
}, join(out, `heartbeat-mesh-sender_${version}_${debArch}.deb`))

// 3. The receiver's package: the whole command bundled too, with the dashboard's files beside it.
const receiverRoot = join(staging, "receiver")
const receiverLib = join(receiverRoot, "usr/lib/heartbeat-mesh")
mkdirSync(receiverLib, { recursive: true })
const receiverBundled = await bundle("src/cli/main.ts", join(receiverLib, "heartbeat-mesh.mjs"))
// The notify_devilry spawn helper runs as its own process: its bundle beside the receiver's (src/notify/spawnHelpers.ts finds it there).
await bundle("src/notify/spawnHelper.ts", join(receiverLib, "spawnHelper.mjs"))
cpSync(join(root, "src/http/dashboard"), join(receiverLib, "dashboard"), { recursive: true })
copyZeromq(receiverLib)
copyNode(receiverLib)
keepLoadedAddonOnly(receiverLib)
write(join(receiverRoot, "usr/bin/heartbeat-mesh"), launcher("heartbeat-mesh", "heartbeat-mesh.mjs"), 0o755)
const unit = readFileSync(join(root, "ops/systemd/heartbeat-mesh-receiver.service"), "utf8")
  .replace(/^ExecStart=.*\\\n.*$/m, "ExecStart=/usr/bin/heartbeat-mesh receiver --config /etc/heartbeat-mesh/receiver.yaml --state-dir /var/lib/heartbeat-mesh")
  .replace("Documentation=file:///opt/heartbeat-mesh/README.md", "Documentation=file:///usr/share/doc/heartbeat-mesh-receiver/README.md")
  .replace("# The pinned Node 24 from the project's node_modules, whatever node the host has.\n", "# The Node 24 runtime shipped in /usr/lib/heartbeat-mesh, whatever node the host has.\n")
write(join(receiverRoot, "lib/systemd/system/heartbeat-mesh-receiver.service"), unit)
write(join(receiverRoot, "etc/heartbeat-mesh/receiver.yaml"), readFileSync(join(root, "ops/receiver.example.yaml"), "utf8"), 0o640)
write(join(receiverRoot, "usr/share/doc/heartbeat-mesh-receiver/README.md"), readFileSync(join(root, "README.md"), "utf8"))
for (const file of ["heartbeat-mesh.rules.yml"]) {
  write(join(receiverRoot, "usr/share/doc/heartbeat-mesh-receiver/examples/prometheus", file), readFileSync(join(root, "ops/prometheus", file), "utf8"))
}
write(join(receiverRoot, "usr/share/doc/heartbeat-mesh-receiver/examples/grafana/heartbeat-mesh.json"), readFileSync(join(root, "ops/grafana/heartbeat-mesh.json"), "utf8"))
write(join(receiverRoot, "DEBIAN/conffiles"), "/etc/heartbeat-mesh/receiver.yaml\n")
// The manual page: the command's help, then each subcommand's (as listed under SUBCOMMANDS).
const mainHelp = helpOf(receiverLib, "heartbeat-mesh.mjs", [])
const subcommands = [...(mainHelp.split("SUBCOMMANDS")[1] ?? "").matchAll(/^ {2}([a-z][a-z-]*) {2,}/gm)].map((m) => m[1]!)
debianDocs(receiverRoot, "heartbeat-mesh-receiver", "usr/lib/heartbeat-mesh", receiverBundled, {
  command: "heartbeat-mesh",
  summary: "heartbeat receiver daemon, sender and tools",
  synopsis: "<subcommand> [flags]",
  version,
  date,
  sections: [
    { title: "HELP (heartbeat-mesh --help)", help: mainHelp },
    ...subcommands.map((name) => ({ title: `HELP (heartbeat-mesh ${name} --help)`, help: helpOf(receiverLib, "heartbeat-mesh.mjs", [name]) }))
  ],
  files: [
    ["/etc/heartbeat-mesh/receiver.yaml", "clients, tokens, notifications, HTTP (readable by the heartbeat-mesh group)"],
    ["/var/lib/heartbeat-mesh/", "the receiver's state (SQLite) and heartbeat files"],
    ["/usr/share/doc/heartbeat-mesh-receiver/", "the README, Prometheus alert rules and a Grafana dashboard"]
  ],
  seeAlso: "systemctl(1): the receiver runs as heartbeat-mesh-receiver.service."
}, [
  ...nodeOverrides("usr/lib/heartbeat-mesh"),
  ["It holds the clients' tokens: readable by root and the heartbeat-mesh group only.", "non-standard-file-perm 0640 != 0644 [etc/heartbeat-mesh/receiver.yaml]"]
])
write(join(receiverRoot, "DEBIAN/postinst"), `#!/bin/sh
# heartbeat-mesh-receiver: the system user, its state folder and its configuration's group.
set -e
if [ "$1" = configure ]; then
  if ! getent passwd heartbeat-mesh >/dev/null; then
    useradd --system --user-group --home-dir /var/lib/heartbeat-mesh --no-create-home --shell /usr/sbin/nologin heartbeat-mesh
  fi
  install -d -m 0750 -o heartbeat-mesh -g heartbeat-mesh /var/lib/heartbeat-mesh
  chgrp heartbeat-mesh /etc/heartbeat-mesh/receiver.yaml
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
    echo "heartbeat-mesh-receiver: edit /etc/heartbeat-mesh/receiver.yaml, then: systemctl enable --now heartbeat-mesh-receiver"
  fi
fi
exit 0
`, 0o755)
write(join(receiverRoot, "DEBIAN/postrm"), `#!/bin/sh
# heartbeat-mesh-receiver: on purge, the state folder and the user go too.
set -e
if [ "$1" = purge ]; then
  rm -rf /var/lib/heartbeat-mesh
  if getent passwd heartbeat-mesh >/dev/null; then userdel heartbeat-mesh >/dev/null 2>&1 || true; fi
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
exit 0
`, 0o755)
const receiverDeb = buildDeb(receiverRoot, {
  Package: "heartbeat-mesh-receiver",
  ...common,
  Depends: "libc6 (>= 2.28), libstdc++6 (>= 10), passwd",
  Recommends: "systemd",
  Description: "heartbeat-mesh receiver: dead man's switch for fleets\n" +
    " Takes heartbeats from heartbeat-mesh senders over ZeroMQ and raises alerts\n" +
    " through notify_devilry when a host goes quiet; status API, metrics and\n" +
    " dashboard. Carries its own Node.js 24 runtime."
}, join(out, `heartbeat-mesh-receiver_${version}_${debArch}.deb`))

rmSync(staging, { recursive: true, force: true })
const sizes = {
  senderBundleBytes: statSync(senderBundle).size,
  senderDebBytes: statSync(senderDeb).size,
  receiverDebBytes: statSync(receiverDeb).size
}
console.log(JSON.stringify({ out, ...sizes, files: [senderBundle, senderDeb, receiverDeb] }))
