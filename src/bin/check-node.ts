// Fails loudly when an npm script runs on a Node.js other than the pinned major (24).
// npm puts node_modules/.bin first on PATH, so this only trips when that pin is missing or broken.
const required = 24
const major = Number(process.versions.node.split(".")[0])
if (major !== required) {
  console.error(
    `heartbeat-mesh needs Node.js ${required}, but this is Node.js ${process.versions.node} (${process.execPath}).\n` +
      `Run it through npm (npm test, npm start), which uses the pinned node from node_modules/.bin, ` +
      `or run 'npm ci' first if node_modules is missing.`
  )
  process.exit(1)
}
