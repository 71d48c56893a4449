import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Outbox } from "../src/notify/Outbox.ts"
import {
  enqueue,
  httpAnswers,
  httpChannelYaml,
  type HttpKind,
  httpKinds,
  secretFile,
  server,
  timeoutNotification,
  withChannels
} from "./support/channelHarness.ts"
import { configFrom } from "./support/receiverHarness.ts"

process.env["HBM_TEST_ALERTA_KEY"] = "alerta-key-1"
const timeout = timeoutNotification

const json = (body: string) => JSON.parse(body) as Record<string, unknown>
const answerJson = (status: number, body: unknown) => (_: unknown, response: import("node:http").ServerResponse) => {
  response.writeHead(status, { "content-type": "application/json" })
  response.end(JSON.stringify(body))
}

describe("HTTP channels against real local servers", () => {
  it.live("webhook: JSON POST with the notification and its id, configured headers (one from a file)", () =>
    Effect.gen(function*() {
      const hook = yield* server()
      const key = secretFile("hook.key", "s3cret-header")
      yield* Effect.gen(function*() {
        yield* enqueue(timeout)
        const [request] = yield* Effect.promise(() => hook.received(1))
        assert.strictEqual(request!.method, "POST")
        assert.strictEqual(request!.path, "/hooks/hb")
        assert.strictEqual(request!.headers["content-type"], "application/json")
        assert.strictEqual(request!.headers["x-key"], "s3cret-header")
        assert.strictEqual(request!.headers["x-plain"], "yes")
        const { id, ...rest } = json(request!.body)
        assert.match(String(id), /^[0-9a-z]+-[0-9a-z]+$/)
        assert.strictEqual(request!.headers["idempotency-key"], id)
        assert.deepStrictEqual(rest, timeout)
      }).pipe(Effect.provide(withChannels(`
channels:
  hook:
    type: webhook
    url: ${hook.url}/hooks/hb
    headers: { X-Key: { file: ${key} }, X-Plain: "yes" }
`)))
    }))

  it.live("webhook: a body template fills {{field}} with JSON values", () =>
    Effect.gen(function*() {
      const hook = yield* server()
      yield* Effect.gen(function*() {
        yield* enqueue(timeout)
        const [request] = yield* Effect.promise(() => hook.received(1))
        assert.deepStrictEqual(json(request!.body), {
          summary: "[MAJOR] timeout db1.example.com (client C)",
          detail: timeout.text,
          age: 125,
          env: "infra"
        })
      }).pipe(Effect.provide(withChannels(`
channels:
  hook:
    type: webhook
    url: ${hook.url}/
    body: '{"summary": {{title}}, "detail": {{text}}, "age": {{value}}, "env": {{environment}}}'
`)))
    }))

  it.live("alerta: POST /alert with the API key (from the environment) and alerta's fields", () =>
    Effect.gen(function*() {
      const alerta = yield* server(answerJson(201, { status: "ok" }))
      yield* Effect.gen(function*() {
        yield* enqueue(timeout)
        const [request] = yield* Effect.promise(() => alerta.received(1))
        assert.strictEqual(request!.path, "/api/alert")
        assert.strictEqual(request!.headers["authorization"], "Key alerta-key-1")
        const { attributes, ...body } = json(request!.body)
        assert.deepStrictEqual(body, {
          resource: "db1.example.com",
          event: "heartbeat_mesh_heartbeat_timeout",
          environment: "infra",
          severity: "major",
          correlate: ["heartbeat_mesh_heartbeat_ok"],
          service: ["database"],
          group: "db1.example.com",
          value: "125",
          text: timeout.text,
          origin: "heartbeat_mesh/receiver.py",
          type: "heartbeatAlert"
        })
        const { notificationId, ...rest } = attributes as Record<string, unknown>
        assert.deepStrictEqual(rest, { receiver: "rx", timeout: 60, client: "C" })
        assert.match(String(notificationId), /-/)
      }).pipe(Effect.provide(withChannels(`
channels:
  alerta: { type: alerta, url: "${alerta.url}/api", api_key_env: HBM_TEST_ALERTA_KEY }
`)))
    }))

  it.live("slack (and Mattermost): an incoming-webhook message with title and text", () =>
    Effect.gen(function*() {
      const slack = yield* server()
      yield* Effect.gen(function*() {
        yield* enqueue(timeout)
        const [request] = yield* Effect.promise(() => slack.received(1))
        assert.strictEqual(request!.path, "/hooks/T000/B000/XXXX")
        assert.deepStrictEqual(json(request!.body), {
          text: `*[MAJOR] timeout db1.example.com (client C)*\n${timeout.text}`,
          channel: "#ops",
          username: "heartbeat-mesh"
        })
      }).pipe(Effect.provide(withChannels(`
channels:
  chat: { type: slack, url: "${slack.url}/hooks/T000/B000/XXXX", channel: "#ops", username: heartbeat-mesh }
`)))
    }))

  it.live("telegram: sendMessage under the bot token (from a file) to the chat", () =>
    Effect.gen(function*() {
      const telegram = yield* server(answerJson(200, { ok: true, result: {} }))
      const token = secretFile("bot.token", "123456:ABC-secret")
      yield* Effect.gen(function*() {
        yield* enqueue(timeout)
        const [request] = yield* Effect.promise(() => telegram.received(1))
        assert.strictEqual(request!.path, "/bot123456:ABC-secret/sendMessage")
        assert.deepStrictEqual(json(request!.body), {
          chat_id: "-100200300",
          text: `[MAJOR] timeout db1.example.com (client C)\n${timeout.text}`,
          disable_web_page_preview: true
        })
      }).pipe(Effect.provide(withChannels(`
channels:
  tg: { type: telegram, url: "${telegram.url}", bot_token_file: ${token}, chat_id: "-100200300" }
`)))
    }))

  it.live("pushover: a form POST to /1/messages.json with token, user, title and priority", () =>
    Effect.gen(function*() {
      const pushover = yield* server(answerJson(200, { status: 1, request: "r" }))
      yield* Effect.gen(function*() {
        yield* enqueue(timeout)
        const [request] = yield* Effect.promise(() => pushover.received(1))
        assert.strictEqual(request!.path, "/1/messages.json")
        assert.strictEqual(request!.headers["content-type"], "application/x-www-form-urlencoded")
        assert.deepStrictEqual(Object.fromEntries(new URLSearchParams(request!.body)), {
          token: "app-token",
          user: "user-key",
          title: "[MAJOR] timeout db1.example.com (client C)",
          message: timeout.text,
          priority: "1"
        })
      }).pipe(Effect.provide(withChannels(`
channels:
  phone: { type: pushover, url: "${pushover.url}", token: app-token, user: user-key }
`)))
    }))

  it.live("ntfy: the text to /topic with title, priority and tags headers and a bearer token", () =>
    Effect.gen(function*() {
      const ntfy = yield* server()
      yield* Effect.gen(function*() {
        yield* enqueue(timeout)
        const [request] = yield* Effect.promise(() => ntfy.received(1))
        assert.strictEqual(request!.path, "/heartbeats")
        assert.strictEqual(request!.body, timeout.text)
        assert.strictEqual(request!.headers["title"], "[MAJOR] timeout db1.example.com (client C)")
        assert.strictEqual(request!.headers["priority"], "4")
        assert.strictEqual(request!.headers["tags"], "major")
        assert.strictEqual(request!.headers["authorization"], "Bearer tk_secret")
      }).pipe(Effect.provide(withChannels(`
channels:
  push: { type: ntfy, url: "${ntfy.url}", topic: heartbeats, token: tk_secret }
`)))
    }))
})

describe("delivery: failures, retries, time limits", () => {
  it.live("a failing server is retried with back-off until it answers; the same id every time", () =>
    Effect.gen(function*() {
      const hook = yield* server((_, response, index) => {
        response.writeHead(index < 2 ? 503 : 200)
        response.end(index < 2 ? "busy" : "")
      })
      yield* Effect.gen(function*() {
        yield* enqueue(timeout)
        const requests = yield* Effect.promise(() => hook.received(3))
        const ids = requests.map((request) => json(request.body)["id"])
        assert.strictEqual(new Set(ids).size, 1)
        const outbox = yield* Outbox
        yield* outbox.drained
        assert.deepStrictEqual(outbox.channelCounters().map(({ channel, sent, failed }) => ({ channel, sent, failed })), [
          { channel: "hook", sent: 1, failed: 0 }
        ])
      }).pipe(Effect.provide(withChannels(`
channels:
  hook: { type: webhook, url: "${hook.url}/", retries: 3, retry_delay: 0.05 }
`)))
    }))

  it.live("a server that never answers is cut off per attempt; after the last retry the notification counts as failed", () =>
    Effect.gen(function*() {
      const hook = yield* server(() => {})
      yield* Effect.gen(function*() {
        yield* enqueue(timeout)
        yield* Effect.promise(() => hook.received(2))
        const outbox = yield* Outbox
        yield* outbox.drained
        assert.strictEqual(hook.requests.length, 2)
        assert.deepStrictEqual(outbox.channelCounters().map(({ sent, failed }) => ({ sent, failed })), [{ sent: 0, failed: 1 }])
      }).pipe(Effect.provide(withChannels(`
channels:
  hook: { type: webhook, url: "${hook.url}/", timeout: 0.2, retries: 1, retry_delay: 0.05 }
`)))
    }))

  it.live("a telegram answer without ok: true is a failure (retried)", () =>
    Effect.gen(function*() {
      const telegram = yield* server((_, response, index) => {
        response.writeHead(200, { "content-type": "application/json" })
        response.end(JSON.stringify(index === 0 ? { ok: false, description: "chat not found" } : { ok: true }))
      })
      yield* Effect.gen(function*() {
        yield* enqueue(timeout)
        yield* Effect.promise(() => telegram.received(2))
        const outbox = yield* Outbox
        yield* outbox.drained
        assert.deepStrictEqual(outbox.channelCounters().map(({ sent, failed }) => ({ sent, failed })), [{ sent: 1, failed: 0 }])
      }).pipe(Effect.provide(withChannels(`
channels:
  tg: { type: telegram, url: "${telegram.url}", bot_token: t, chat_id: "1", retry_delay: 0.05 }
`)))
    }))

  it.live("a hanging channel does not hold up another: the fast one delivers while the slow one is still waiting", () =>
    Effect.gen(function*() {
      const slow = yield* server(() => {})
      const fast = yield* server()
      yield* Effect.gen(function*() {
        yield* enqueue(timeout)
        yield* Effect.promise(() => slow.received(1))
        const [request] = yield* Effect.promise(() => fast.received(1))
        assert.strictEqual(json(request!.body)["event"], "heartbeat_mesh_heartbeat_timeout")
        assert.strictEqual(slow.requests.length, 1) // still its first attempt, unanswered
        slow.answerWaiting()
      }).pipe(Effect.provide(withChannels(`
channels:
  slow: { type: webhook, url: "${slow.url}/", timeout: 30 }
  fast: { type: webhook, url: "${fast.url}/" }
`)))
    }))
})

describe("routes", () => {
  it.live("first match wins; min_severity, event and resource globs pick the channel; no match goes nowhere", () =>
    Effect.gen(function*() {
      const pager = yield* server()
      const rest = yield* server()
      yield* Effect.gen(function*() {
        yield* enqueue({ ...timeout, resource: "web1.example.com", group: "web1.example.com" }) // not *.db.*: rest
        yield* enqueue({ ...timeout, resource: "pg.db.example.com", severity: "minor" }) // below major: rest
        yield* enqueue({ ...timeout, resource: "pg.db.example.com" }) // pager
        yield* enqueue({ ...timeout, client: "Other", resource: "pg.db.example.com" }) // client does not match: nowhere
        const outbox = yield* Outbox
        yield* outbox.drained
        assert.deepStrictEqual(pager.requests.map((r) => json(r.body)["resource"]), ["pg.db.example.com"])
        assert.deepStrictEqual(rest.requests.map((r) => `${json(r.body)["resource"]}/${json(r.body)["severity"]}`), [
          "web1.example.com/major",
          "pg.db.example.com/minor"
        ])
      }).pipe(Effect.provide(withChannels(`
channels:
  pager: { type: webhook, url: "${pager.url}/" }
  rest: { type: webhook, url: "${rest.url}/" }
routes:
  - match: { client: C, resource: "*.db.example.com", event: heartbeat_mesh_heartbeat_timeout, min_severity: major }
    channels: [pager]
  - match: { client: C }
    channels: rest
`)))
    }))
})

describe("routes after a reload", () => {
  it.live("take effect from the next notification while the channels stay; a reload that changes channels keeps the running routes", () =>
    Effect.gen(function*() {
      const pager = yield* server()
      const rest = yield* server()
      const channels = `
channels:
  pager: { type: webhook, url: "${pager.url}/" }
  rest: { type: webhook, url: "${rest.url}/" }
`
      const routesTo = (name: string) => `routes:\n  - channels: [${name}]\n`
      const full = (body: string) => `enabled: true\nclients:\n  C:\n    token: aaaaaaaa\n    timeout: 1\n${body}`
      yield* Effect.gen(function*() {
        const outbox = yield* Outbox
        yield* enqueue({ ...timeout, resource: "a.example.com" })
        yield* outbox.drained
        const moved = outbox.applyConfig(configFrom(full(channels + routesTo("pager"))))
        assert.isFalse(moved.routesWaiting)
        yield* enqueue({ ...timeout, resource: "b.example.com" })
        yield* outbox.drained
        // A third channel needs a restart: the file's routes (to it) wait for it, the running ones stay.
        const kept = outbox.applyConfig(configFrom(full(`${channels}  third: { type: stdout }\n${routesTo("third")}`)))
        assert.isTrue(kept.routesWaiting)
        yield* enqueue({ ...timeout, resource: "c.example.com" })
        yield* outbox.drained
        assert.deepStrictEqual(rest.requests.map((r) => json(r.body)["resource"]), ["a.example.com"])
        assert.deepStrictEqual(pager.requests.map((r) => json(r.body)["resource"]), ["b.example.com", "c.example.com"])
      }).pipe(Effect.provide(withChannels(`${channels}${routesTo("rest")}`)))
    }))
})

describe("every HTTP kind: a refusal, then a hang past the attempt's time limit, then delivery", () => {
  const channelYaml = (kind: HttpKind, url: string) => httpChannelYaml(kind, url, "timeout: 0.3, retries: 2, retry_delay: 0.05")
  it.live.each(httpKinds)("%s", (kind) =>
    Effect.gen(function*() {
      const remote = yield* server((_, response, index) => {
        if (index === 0) {
          response.writeHead(503)
          response.end("busy")
        } else if (index === 2) {
          response.writeHead(200, { "content-type": "application/json" })
          response.end(JSON.stringify(httpAnswers[kind]))
        } // index 1: no answer at all
      })
      yield* Effect.gen(function*() {
        yield* enqueue(timeout)
        const outbox = yield* Outbox
        yield* outbox.drained
        assert.strictEqual(remote.requests.length, 3)
        assert.deepStrictEqual(outbox.channelCounters().map(({ sent, failed }) => ({ sent, failed })), [{ sent: 1, failed: 0 }])
        remote.answerWaiting()
      }).pipe(Effect.provide(withChannels(`channels:\n  c: ${channelYaml(kind, remote.url)}`)))
    }))
})
