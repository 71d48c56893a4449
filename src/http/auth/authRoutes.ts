import { Effect } from "effect"
import { HttpRouter, HttpServerRequest } from "effect/http"
import { HttpAuth } from "./HttpAuth.ts"

/**
 * The dashboard's sign-in (issue 18.3): `POST /api/login` with `{"user", "password"}` as JSON
 * sets the session cookie and answers the user, role, clients and the session's CSRF token;
 * `GET /api/session` answers who the request is (and the CSRF token again, for a reloaded page);
 * `POST /api/logout` ends the session (it needs the CSRF token too).
 */
export const layerAuthRoutes = HttpRouter.use((router) =>
  Effect.gen(function*() {
    const auth = yield* HttpAuth
    yield* router.add("POST", "/api/login", Effect.flatMap(HttpServerRequest.HttpServerRequest, auth.login))
    yield* router.add("POST", "/api/logout", Effect.flatMap(HttpServerRequest.HttpServerRequest, auth.logout))
    yield* router.add("GET", "/api/session", Effect.flatMap(HttpServerRequest.HttpServerRequest, auth.session))
  })
)
