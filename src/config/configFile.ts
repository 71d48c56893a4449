import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { readFile } from "node:fs/promises"

/** A configuration file that cannot be used: every problem, and what that means for the run. */
export class ConfigFileError extends Schema.TaggedError<ConfigFileError>()("ConfigFileError", {
  source: Schema.String,
  problems: Schema.Array(Schema.String),
  /** e.g. "the receiver will not start" */
  consequence: Schema.String
}) {
  override get message(): string {
    const count = this.problems.length
    return `${this.source}: ${count} problem${count === 1 ? "" : "s"}, ${this.consequence}:\n` +
      this.problems.map((problem) => `  - ${problem}`).join("\n")
  }
}

/** Reads a configuration file and validates it with `parse`, which lists every problem it finds. */
export const loadConfigFile = <A>(
  path: string,
  parse: (text: string) => Result.Result<A, ReadonlyArray<string>>,
  consequence: string
): Effect.Effect<A, ConfigFileError> =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) =>
      new ConfigFileError({ source: path, problems: [`cannot read the file: ${(cause as Error).message}`], consequence })
  }).pipe(
    Effect.flatMap((text) => {
      const result = parse(text)
      return Result.isSuccess(result)
        ? Effect.succeed(result.success)
        : Effect.fail(new ConfigFileError({ source: path, problems: result.failure, consequence }))
    })
  )
