import { Result, Schema, SchemaIssue } from "effect"

/** Longest resource name we accept: longer names are hostile or broken, never a real host. */
export const maxResourceNameLength = 512

// Control characters in a resource name would corrupt log lines and file names.
const controlCharacters = /[\u0000-\u001f\u007f]/

const ResourceName = Schema.String.check(
  Schema.isMinLength(1, { message: "resource must not be empty" }),
  Schema.isMaxLength(maxResourceNameLength, { message: `resource is longer than ${maxResourceNameLength} characters` }),
  Schema.makeFilter((name: string) => !controlCharacters.test(name), {
    message: "resource contains control characters"
  })
)

const TimeoutMinutes = Schema.Finite.check(
  Schema.isGreaterThan(0, { message: "timeout must be a positive number of minutes" })
)

/**
 * One heartbeat frame as the deployed senders put it on the wire (SPEC 1): a JSON object.
 * `timeout`, `payload` and `deregister` may be null from older senders: null means absent.
 */
export const WireHeartbeat = Schema.Struct({
  token: Schema.String.check(Schema.isMinLength(1, { message: "token must not be empty" })),
  resource: ResourceName,
  timeout: Schema.optionalKey(Schema.NullOr(TimeoutMinutes)),
  payload: Schema.optionalKey(Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown))),
  deregister: Schema.optionalKey(Schema.NullOr(Schema.Boolean))
})
export type WireHeartbeat = typeof WireHeartbeat.Type

/** What the monitor needs of a heartbeat once its token has named the client. */
export interface HeartbeatFacts {
  readonly resource: string
  readonly timeoutMinutes: number | undefined
  readonly payload: Readonly<Record<string, unknown>> | undefined
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
  if (Result.isSuccess(result)) return Result.succeed(result.success)
  const first = formatIssue(result.failure.issue).issues[0]
  const path = first?.path?.map(String).join(".") ?? ""
  const message = first?.message ?? "invalid heartbeat"
  return Result.fail(path === "" ? message : `${path}: ${message}`)
}
