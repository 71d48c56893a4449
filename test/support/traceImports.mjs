// Preloaded with --import: records every module URL the process loads and writes the list to
// the file named by HBM_TRACE_IMPORTS when the process exits.
import { registerHooks } from "node:module"
import { writeFileSync } from "node:fs"

const loaded = new Set()
registerHooks({
  load(url, context, nextLoad) {
    loaded.add(url)
    return nextLoad(url, context)
  }
})
process.on("exit", () => writeFileSync(process.env.HBM_TRACE_IMPORTS, [...loaded].join("\n")))
