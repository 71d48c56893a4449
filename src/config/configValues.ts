import * as Schema from "effect/Schema"
import { isUsableTimeout, maxTimeoutMinutes, numberFrom } from "../domain/Timeout.ts"
import { describeNameProblem, nameProblem, printableName } from "../domain/Names.ts"

/** Schema building blocks shared by receiver.yaml and sender.yaml: one message per way a value can be wrong. */
export const expected = (message: string) => ({ message })

export const oneYearSeconds = 365 * 24 * 3600
export const oneDaySeconds = 24 * 3600

/** A number of seconds in a range; every way it can be wrong gets the same message, which names the range. */
export const seconds = (range: "positive" | "non-negative", maximum: number) => {
  const message = `expected a ${range} number of seconds, at most ${maximum}` +
    (maximum === oneYearSeconds ? " (one year)" : maximum === oneDaySeconds ? " (one day)" : "")
  return Schema.Number.annotate(expected(message)).check(
    Schema.makeFilter((value: number) =>
      Number.isFinite(value) && (range === "positive" ? value > 0 : value >= 0) && value <= maximum ? undefined : message
    )
  )
}

const minutesMessage = "expected a number of minutes from 1/60 (one second) " +
  `to ${maxTimeoutMinutes} (one year)`

/** A heartbeat timeout in minutes, one second's worth to one year (numeric strings are turned into numbers before). */
export const TimeoutMinutes = Schema.Number.annotate(expected(minutesMessage)).check(
  Schema.makeFilter((minutes: number) => Number.isFinite(minutes) && isUsableTimeout(minutes) ? undefined : minutesMessage)
)

/**
 * A number given as a string ("5") becomes the number, as the deployed receiver's `int()` takes it;
 * anything else is left for the schema to judge.
 */
export const numericStringToNumber = (value: unknown): unknown =>
  typeof value === "string" ? numberFrom(value) ?? value : value

export const Text = (what: string) =>
  Schema.String.annotate(expected(`expected ${what}`)).check(Schema.isMinLength(1, expected(`expected ${what}`)))

/** Problems with the names (client, resource) at `where`, each with its path. */
export const nameProblems = (names: Iterable<string>, where: (name: string) => string): Array<string> => {
  const problems: Array<string> = []
  for (const name of names) {
    const problem = nameProblem(name)
    if (problem !== undefined) problems.push(`${where(printableName(name))}: the name ${describeNameProblem(problem)}`)
  }
  return problems
}
