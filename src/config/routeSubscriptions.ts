import type { NotificationConfig } from "./notificationConfig.ts"
import { printableName } from "../domain/Names.ts"
import type { ClientScope, UserConfig } from "./usersConfig.ts"

/**
 * Users subscribing to notification routes (issue 18.3: "each user may subscribe to routes of the
 * notification channels"): a user with `email:` and `subscribe: [route names]` gets, at that
 * address, what those routes send through their e-mail channels, for the user's clients only.
 */
export interface RouteSubscription {
  readonly user: string
  readonly email: string
  /** Names of routes (`routes[].name`). */
  readonly routes: ReadonlyArray<string>
  readonly scope: ClientScope
}

export const subscriptionsOf = (users: ReadonlyArray<UserConfig>): ReadonlyArray<RouteSubscription> =>
  users.flatMap((user) =>
    user.email !== undefined && user.subscribe.length > 0
      ? [{ user: user.name, email: user.email, routes: user.subscribe, scope: user.scope }]
      : []
  )

/**
 * What is wrong with the users' subscriptions against `routes:` and `channels:`, one sentence each,
 * named by the path: a route no route is named, or a route with no e-mail channel to deliver by.
 */
export const subscriptionProblems = (users: ReadonlyArray<UserConfig>, notifications: NotificationConfig): Array<string> => {
  const routes = new Map(notifications.routes.flatMap((route) => (route.name === undefined ? [] : [[route.name, route]])))
  const kinds = new Map(notifications.channels.map((channel) => [channel.name, channel.spec.type]))
  const problems: Array<string> = []
  for (const user of users) {
    user.subscribe.forEach((name, index) => {
      const where = `users.${printableName(user.name)}.subscribe.${index}`
      const route = routes.get(name)
      if (route === undefined) {
        problems.push(routes.size === 0
          ? `${where}: no route named ${name} (no route has a name: give the route name: ${name})`
          : `${where}: no route named ${name} (named routes: ${[...routes.keys()].join(", ")})`)
        return
      }
      if (!route.channels.some((channel) => kinds.get(channel) === "email")) {
        problems.push(`${where}: route ${name} sends to no e-mail channel (its channels: ${route.channels.join(", ")}); add one of type: email to it`)
      }
    })
  }
  return problems
}
