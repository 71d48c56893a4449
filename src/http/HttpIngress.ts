import { Layer } from "effect"
import { HttpRouter } from "effect/http"
import type { HttpIngressSettings } from "../config/receiverIngress.ts"
import { layerNodeServer } from "./nodeServer.ts"
import { longNames } from "./StatusHttp.ts"
import { layerPingRoutes } from "./PingIngress.ts"
import { layerRequestBounds } from "./requestBounds.ts"

/**
 * The HTTP ping routes' own server (issue 19), when `http.ingress_listen` is set: pings only, so it
 * can face the internet while the API stays on loopback; same TLS files and limits as the API's.
 * Without it the routes are mounted on the API's server (`pingRoutesOnApi`). Needs `PingIngress`.
 */
export const layerPingServer = (ingress: HttpIngressSettings & { readonly ingressListen: { host: string; port: number } }) =>
  // A router of its own: `routerConfig` makes serve build a new router layer instead of the one the
  // API's server memoized (which would serve the whole API here too).
  HttpRouter.serve(Layer.merge(layerPingRoutes, layerRequestBounds("ingress")), { disableLogger: true, disableListenLog: true, routerConfig: longNames }).pipe(
    Layer.provide(layerNodeServer("ingress", { ...ingress.ingressListen, tlsCert: ingress.tlsCert, tlsKey: ingress.tlsKey }))
  )

/** The ping routes for the API's server, unless they have their own. */
export const pingRoutesOnApi = (ingress: HttpIngressSettings) =>
  ingress.ingressListen === undefined ? layerPingRoutes : Layer.empty
