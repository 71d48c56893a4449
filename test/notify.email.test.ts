import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from "smtp-server"
import { Outbox } from "../src/notify/Outbox.ts"
import { enqueue, timeoutNotification, withChannels } from "./support/channelHarness.ts"
import { configFrom } from "./support/receiverHarness.ts"

const fixtures = join(import.meta.dirname, "fixtures")
const cert = join(fixtures, "smtp-test.crt")

interface Received {
  readonly from: string
  readonly to: ReadonlyArray<string>
  readonly data: string
  readonly secure: boolean
  readonly user: string | undefined
}

/** A real SMTP server (smtp-server) on a free loopback port, with a self-signed test certificate. */
const smtpServer = (options: { readonly secure: boolean; readonly rejectFirst?: number; readonly hangFirst?: boolean }) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const received: Array<Received> = []
      let rejections = options.rejectFirst ?? 0
      let hang = options.hangFirst ?? false
      const serverOptions: SMTPServerOptions = {
        secure: options.secure,
        closeTimeout: 200,
        key: readFileSync(join(fixtures, "smtp-test.key")),
        cert: readFileSync(cert),
        authMethods: ["PLAIN", "LOGIN"],
        onAuth: (auth, _session, callback) =>
          auth.username === "hb" && auth.password === "smtp-pass"
            ? callback(null, { user: "hb" })
            : callback(new Error("bad credentials")),
        onData: (stream, session: SMTPServerSession, callback) => {
          let data = ""
          stream.setEncoding("utf8")
          stream.on("data", (chunk) => (data += chunk))
          stream.on("end", () => {
            if (hang) {
              hang = false // never answer this one
              return
            }
            if (rejections > 0) {
              rejections--
              const error = Object.assign(new Error("try again later"), { responseCode: 451 })
              return callback(error)
            }
            received.push({
              from: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
              to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
              data,
              secure: session.secure,
              user: session.user as string | undefined
            })
            callback()
          })
        }
      }
      const server = new SMTPServer(serverOptions)
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
      const address = server.server.address()
      if (typeof address !== "object" || address === null) throw new Error("no address")
      return { port: address.port, received, server }
    }),
    ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
  )

const emailChannel = (port: number, security: string, extra = "") => `
channels:
  mail:
    type: email
    smtp: { host: 127.0.0.1, port: ${port}, ${security}, user: hb, password_env: HBM_TEST_SMTP_PASSWORD, ca_file: ${cert} }
    from: hb@example.com
    to: [ops@example.com, oncall@example.com]
    retry_delay: 0.05
${extra}`
process.env["HBM_TEST_SMTP_PASSWORD"] = "smtp-pass"

const header = (data: string, name: string) =>
  new RegExp(`^${name}: (.*)$`, "mi").exec(data)?.[1]?.trim()

describe("e-mail channel against a real SMTP server (smtp-server)", () => {
  it.live("STARTTLS with auth: one message per notification, subject and Message-ID from the notification", () =>
    Effect.gen(function*() {
      const smtp = yield* smtpServer({ secure: false })
      yield* Effect.gen(function*() {
        yield* enqueue(timeoutNotification)
        const outbox = yield* Outbox
        yield* outbox.drained
        assert.strictEqual(smtp.received.length, 1)
        const message = smtp.received[0]!
        assert.strictEqual(message.secure, true) // upgraded with STARTTLS before the credentials went over
        assert.strictEqual(message.user, "hb")
        assert.strictEqual(message.from, "hb@example.com")
        assert.deepStrictEqual(message.to, ["ops@example.com", "oncall@example.com"])
        assert.strictEqual(header(message.data, "Subject"), "[MAJOR] timeout db1.example.com (client C)")
        assert.match(header(message.data, "Message-ID") ?? "", /^<[0-9a-z]+-[0-9a-z]+@heartbeat-mesh>$/)
        assert.include(message.data, timeoutNotification.text)
      }).pipe(Effect.provide(withChannels(emailChannel(smtp.port, "starttls: true"))))
    }))

  it.live("implicit TLS (port 465 style)", () =>
    Effect.gen(function*() {
      const smtp = yield* smtpServer({ secure: true })
      yield* Effect.gen(function*() {
        yield* enqueue(timeoutNotification)
        yield* (yield* Outbox).drained
        assert.strictEqual(smtp.received.length, 1)
        assert.strictEqual(smtp.received[0]!.secure, true)
      }).pipe(Effect.provide(withChannels(emailChannel(smtp.port, "tls: true"))))
    }))

  it.live("a temporary rejection (451) is retried; the message arrives once", () =>
    Effect.gen(function*() {
      const smtp = yield* smtpServer({ secure: false, rejectFirst: 2 })
      yield* Effect.gen(function*() {
        yield* enqueue(timeoutNotification)
        const outbox = yield* Outbox
        yield* outbox.drained
        assert.strictEqual(smtp.received.length, 1)
        assert.deepStrictEqual(outbox.channelCounters().map(({ sent, failed }) => ({ sent, failed })), [{ sent: 1, failed: 0 }])
      }).pipe(Effect.provide(withChannels(emailChannel(smtp.port, "starttls: true"))))
    }))

  it.live("a server that takes the message and never answers is cut off at the attempt's time limit; the retry delivers", () =>
    Effect.gen(function*() {
      const smtp = yield* smtpServer({ secure: false, hangFirst: true })
      yield* Effect.gen(function*() {
        yield* enqueue(timeoutNotification)
        const outbox = yield* Outbox
        yield* outbox.drained
        assert.strictEqual(smtp.received.length, 1)
        assert.deepStrictEqual(outbox.channelCounters().map(({ sent, failed }) => ({ sent, failed })), [{ sent: 1, failed: 0 }])
      }).pipe(Effect.provide(withChannels(emailChannel(smtp.port, "starttls: true", "    timeout: 0.5"))))
    }))

  it.live("a wrong password fails every attempt and counts as failed", () =>
    Effect.gen(function*() {
      const smtp = yield* smtpServer({ secure: false })
      process.env["HBM_TEST_SMTP_WRONG"] = "nope"
      yield* Effect.gen(function*() {
        yield* enqueue(timeoutNotification)
        const outbox = yield* Outbox
        yield* outbox.drained
        assert.strictEqual(smtp.received.length, 0)
        assert.deepStrictEqual(outbox.channelCounters().map(({ sent, failed }) => ({ sent, failed })), [{ sent: 0, failed: 1 }])
      }).pipe(Effect.provide(withChannels(
        emailChannel(smtp.port, "starttls: true").replace("HBM_TEST_SMTP_PASSWORD", "HBM_TEST_SMTP_WRONG").replace("retry_delay: 0.05", "retry_delay: 0.05\n    retries: 1")
      )))
    }))

  describe("users subscribed to a route (issue 18.3)", () => {
    const routesAndUsers = (dora: string) => `
routes:
  - { name: pages, match: { event: timeout }, channels: [mail] }
  - { channels: [mail] }
users:
  dora: { role: viewer, clients: [${dora}], email: dora@example.com, subscribe: [pages] }
  root: { role: admin, email: root@example.com, subscribe: [pages] }
  nosub: { role: viewer, email: nosub@example.com, api_tokens: ["sha256:${"ab".repeat(32)}"] }`

    it.live("the route's e-mail channel also delivers to its subscribers (Bcc), only for their clients; a reload changes who", () =>
      Effect.gen(function*() {
        const smtp = yield* smtpServer({ secure: false })
        const channels = emailChannel(smtp.port, "starttls: true") + routesAndUsers("C")
        yield* Effect.gen(function*() {
          const outbox = yield* Outbox
          yield* enqueue(timeoutNotification) // client C: dora's and root's
          yield* outbox.drained
          yield* enqueue({ ...timeoutNotification, client: "D" }) // client D: root's only
          yield* outbox.drained
          yield* enqueue({ ...timeoutNotification, event: "heartbeat_mesh_heartbeat_ok", severity: "normal" }) // the unnamed route: nobody's
          yield* outbox.drained
          assert.deepStrictEqual(smtp.received.map((message) => message.to), [
            ["ops@example.com", "oncall@example.com", "dora@example.com", "root@example.com"],
            ["ops@example.com", "oncall@example.com", "root@example.com"],
            ["ops@example.com", "oncall@example.com"]
          ])
          // Bcc: the message names only the channel's own recipients.
          assert.strictEqual(header(smtp.received[0]!.data, "To"), "ops@example.com, oncall@example.com")
          assert.notInclude(smtp.received[0]!.data, "dora@example.com")
          assert.isUndefined(header(smtp.received[0]!.data, "Bcc"))

          // A reload: dora now covers D (and no longer C).
          outbox.applyConfig(configFrom(`
enabled: true
clients:
  C: { token: aaaaaaaa, timeout: 1 }
${emailChannel(smtp.port, "starttls: true")}${routesAndUsers("D")}
`))
          yield* enqueue({ ...timeoutNotification, client: "D" })
          yield* outbox.drained
          yield* enqueue(timeoutNotification)
          yield* outbox.drained
          assert.deepStrictEqual(smtp.received.slice(3).map((message) => message.to), [
            ["ops@example.com", "oncall@example.com", "dora@example.com", "root@example.com"],
            ["ops@example.com", "oncall@example.com", "root@example.com"]
          ])
        }).pipe(Effect.provide(withChannels(channels)))
      }))
  })
})

