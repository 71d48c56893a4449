import type { ResourceActor } from "./ResourceActor.ts"

/**
 * Every actor, by client then resource. Two levels on purpose: looking up `client + resource` as
 * one concatenated key made V8 flatten and hash a new string per heartbeat (measured: the largest
 * cost of routing); this way only the resource string from the frame is hashed.
 */
export class ActorRegistry {
  private readonly byClient = new Map<string, Map<string, ResourceActor>>()
  private count = 0

  get size(): number {
    return this.count
  }

  /** How many resources `client` has. */
  sizeOf(client: string): number {
    return this.byClient.get(client)?.size ?? 0
  }

  get(client: string, resource: string): ResourceActor | undefined {
    return this.byClient.get(client)?.get(resource)
  }

  add(actor: ResourceActor): void {
    let resources = this.byClient.get(actor.profile.client)
    if (resources === undefined) {
      resources = new Map()
      this.byClient.set(actor.profile.client, resources)
    }
    if (!resources.has(actor.profile.resource)) this.count++
    resources.set(actor.profile.resource, actor)
  }

  remove(actor: ResourceActor): void {
    const resources = this.byClient.get(actor.profile.client)
    if (resources?.delete(actor.profile.resource) === true) {
      this.count--
      if (resources.size === 0) this.byClient.delete(actor.profile.client)
    }
  }

  *values(): IterableIterator<ResourceActor> {
    for (const resources of this.byClient.values()) yield* resources.values()
  }
}
