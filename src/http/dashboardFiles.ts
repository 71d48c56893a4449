import { Effect } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { readdirSync, readFileSync } from "node:fs"
import { extname, join } from "node:path"

const dashboardDir = join(import.meta.dirname, "dashboard")

const contentTypes: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml"
}

/**
 * The dashboard's files (src/http/dashboard/): `/` is the page, `/assets/<file>` the rest (its
 * modules, style sheet, icon). Read once at start, so a request never touches the disk and no
 * name from a request ever reaches the file system; the ETag and compression come from the
 * router's middleware (jsonAnswers.ts).
 */
export const layerDashboardFiles = HttpRouter.use((router) =>
  Effect.gen(function*() {
    const files = new Map<string, { readonly body: Uint8Array; readonly contentType: string }>()
    for (const name of readdirSync(dashboardDir)) {
      const contentType = contentTypes[extname(name)]
      if (contentType !== undefined) files.set(name, { body: readFileSync(join(dashboardDir, name)), contentType })
    }
    const serve = (name: string) => {
      const file = files.get(name)
      return file === undefined
        ? HttpServerResponse.text("not found\n", { status: 404 })
        : HttpServerResponse.uint8Array(file.body, { contentType: file.contentType })
    }
    yield* router.add("GET", "/", Effect.sync(() => serve("index.html")))
    yield* router.add("GET", "/assets/:file", Effect.map(HttpRouter.params, (params) => serve(params["file"] ?? "")))
  })
)
