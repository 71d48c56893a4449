// Plain JavaScript on purpose: it must run, and explain itself, on any Node.js, including the
// machines' Node 20, which cannot even load the project's TypeScript.
export const requiredNodeMajor = 24

export const checkNodeVersion = () => {
  const major = Number(process.versions.node.split(".")[0])
  if (major === requiredNodeMajor) return
  console.error(
    `heartbeat-mesh needs Node.js ${requiredNodeMajor}, but this is Node.js ${process.versions.node} (${process.execPath}).\n` +
      "Run it through npm (npm start, npm test) or node_modules/.bin/node, which is the pinned Node 24;\n" +
      "run 'npm ci' first if node_modules is missing."
  )
  process.exit(1)
}

if (import.meta.url === `file://${process.argv[1]}`) checkNodeVersion()
