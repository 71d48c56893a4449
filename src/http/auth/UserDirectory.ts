import { Context, Layer } from "effect"
import type { ReceiverConfig } from "../../config/ReceiverConfig.ts"
import type { UserConfig } from "../../config/usersConfig.ts"

/** The users in force, indexed for a request: by name (sessions, logins) and by token digest. */
export interface Users {
  readonly list: ReadonlyArray<UserConfig>
  readonly byName: ReadonlyMap<string, UserConfig>
  readonly byToken: ReadonlyMap<string, UserConfig>
}

export const indexUsers = (list: ReadonlyArray<UserConfig>): Users => ({
  list,
  byName: new Map(list.map((user) => [user.name, user])),
  byToken: new Map(list.flatMap((user) => user.tokenDigests.map((token) => [token, user] as const)))
})

/**
 * The `users:` of receiver.yaml in force (issue 18.3), replaced as a whole by a reload
 * (ConfigReloader): a user added can sign in at once, a role or scope changed applies to the next
 * request, and a removed user's sessions and tokens stop working.
 */
export class UserDirectory extends Context.Service<UserDirectory, {
  readonly current: () => Users
  readonly applyConfig: (config: ReceiverConfig) => void
}>()("heartbeat-mesh/http/UserDirectory") {}

export const layerUserDirectory = (config: ReceiverConfig) =>
  Layer.sync(UserDirectory, () => {
    let users = indexUsers(config.http?.users ?? [])
    return UserDirectory.of({
      current: () => users,
      applyConfig: (next) => {
        // Without http: the server runs on as started until a restart: its users stay too (an
        // emptied list would open reads that the users closed).
        if (next.http !== undefined) users = indexUsers(next.http.users ?? [])
      }
    })
  })
