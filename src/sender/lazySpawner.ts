import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { ChildProcessSpawner, make } from "effect/process/ChildProcessSpawner"

/**
 * Node's ChildProcessSpawner (the one NodeServices gives), loaded at the first spawn: most cron
 * runs have no payload command, and node:child_process with the spawner's file-system and stream
 * code is a measurable part of a run's start-up (README "Sender cost").
 */
export const layerLazyNodeSpawner = Layer.effect(
  ChildProcessSpawner,
  Effect.gen(function*() {
    const loaded = yield* Effect.cached(
      Effect.promise(() =>
        Promise.all([
          import("@effect/platform-node/NodeChildProcessSpawner"),
          import("@effect/platform-node/NodeFileSystem"),
          import("@effect/platform-node/NodePath")
        ])
      ).pipe(
        Effect.flatMap(([spawner, fileSystem, path]) =>
          Effect.service(ChildProcessSpawner).pipe(
            Effect.provide(spawner.layer.pipe(Layer.provide(Layer.merge(fileSystem.layer, path.layer))))
          )
        )
      )
    )
    return make((command) => Effect.flatMap(loaded, (spawner) => spawner.spawn(command)))
  })
)
