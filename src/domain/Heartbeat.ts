import { Predicate, Result, Schema, SchemaIssue } from "effect"

/** Longest resource name we accept: longer names are hostile or broken, never a real host. */
export const maxResourceNameLength = 512

// Control characters in a resource name would corrupt log lines and file names.
const controlCharacters = /[\u0000-\u001f\u007f]/

// One filter for all three rules: each separate check costs a pass through the schema parser, and
// this runs for every heartbeat.
const ResourceName = Schema.String.check(
  Schema.makeFilter((name: string) =>
    name.length === 0
      ? "resource must not be empty"
      : name.length > maxResourceNameLength
      ? `resource is longer than ${maxResourceNameLength} characters`
      : controlCharacters.test(name)
      ? "resource contains control characters"
      : undefined
  )
)

const TimeoutMinutes = Schema.Finite.check(
  Schema.isGreaterThan(0, { message: "timeout must be a positive number of minutes" })
)

/**
 * Free-form sender data: any JSON object (not an array). Declared with one predicate rather than
 * `Record(String, Unknown)`, which walks every key and cost a third of validating a heartbeat.
 */
const Payload = Schema.declare(Predicate.isReadonlyObject, { expected: "object" })

/**
 * One heartbeat frame as the deployed senders put it on the wire (SPEC 1): a JSON object.
 * `timeout`, `payload` and `deregister` may be null from older senders: null means absent.
 */
export const WireHeartbeat = Schema.Struct({
  token: Schema.String.check(Schema.isMinLength(1, { message: "token must not be empty" })),
  resource: ResourceName,
  timeout: Schema.optionalKey(Schema.NullOr(TimeoutMinutes)),
  payload: Schema.optionalKey(Schema.NullOr(Payload)),
  deregister: Schema.optionalKey(Schema.NullOr(Schema.Boolean))
})
export type WireHeartbeat = typeof WireHeartbeat.Type

/** What the monitor needs of a heartbeat once its token has named the client. */
export interface HeartbeatFacts {
  readonly resource: string
  readonly timeoutMinutes: number | undefined
  readonly payload: Readonly<Record<PropertyKey, unknown>> | undefined
}

export const factsOf = (heartbeat: WireHeartbeat): HeartbeatFacts => ({
  resource: heartbeat.resource,
  timeoutMinutes: heartbeat.timeout ?? undefined,
  payload: heartbeat.payload ?? undefined
})

const decodeWireHeartbeat = Schema.decodeUnknownResult(WireHeartbeat)
const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * Validates an already JSON-parsed frame. The failure is a short reason naming the first bad
 * field; it never repeats the input, which may hold a token.
 */
export const validateHeartbeat = (input: unknown): Result.Result<WireHeartbeat, string> => {
  const result = decodeWireHeartbeat(input)
  if (Result.isSuccess(result)) return result as Result.Result<WireHeartbeat, never>
  const first = formatIssue(result.failure.issue).issues[0]
  const path = first?.path?.map(String).join(".") ?? ""
  const message = first?.message ?? "invalid heartbeat"
  return Result.fail(path === "" ? message : `${path}: ${message}`)
}
