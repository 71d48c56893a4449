import { Effect } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import type { HttpClientError } from "effect/http/HttpClientError"
import type { Transporter } from "nodemailer"
import type { ChannelSpec } from "../config/notificationConfig.ts"
import type { Notification } from "../domain/Notification.ts"
import { type DeliveryMeta, NotifierError, type Transport } from "./Channel.ts"

/**
 * The channel kinds that talk to a server: webhook, alerta, slack (and Mattermost), telegram,
 * pushover, ntfy over effect's HttpClient, and e-mail over SMTP (nodemailer). Each builds one
 * request per notification; retries, time limits and concurrency are the outbox's.
 *
 * Error reasons name the host and what went wrong, never the URL path or a header: secrets live
 * there (a Slack hook, a Telegram bot token).
 */

/** `[CRITICAL] timeout web1.example.com (client Client1)` */
export const titleOf = (notification: Notification): string => {
  const event = notification.event.replace(/^heartbeat_mesh_(heartbeat|receiver)_/, "")
  const client = notification.client === undefined ? "" : ` (client ${notification.client})`
  return `[${notification.severity.toUpperCase()}] ${event} ${notification.resource}${client}`
}

/** What a template or a webhook body can use, by name. */
export const templateFields = (notification: Notification, meta: DeliveryMeta): Record<string, unknown> => ({
  id: meta.id,
  title: titleOf(notification),
  severity: notification.severity,
  event: notification.event,
  text: notification.text,
  resource: notification.resource,
  client: notification.client ?? null,
  service: notification.service,
  group: notification.group,
  value: notification.value,
  origin: notification.origin,
  environment: notification.environment ?? null,
  receiver: notification.attributes?.receiver ?? notification.resource,
  notification
})

/**
 * Fills `{{name}}` placeholders with the JSON of the field (so `"text": {{text}}` gives a quoted,
 * escaped string); an unknown name becomes null.
 */
export const renderTemplate = (template: string, fields: Record<string, unknown>): string =>
  template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_, name: string) => JSON.stringify(fields[name] ?? null))

const hostOf = (url: string) => {
  try {
    return new URL(url).host
  } catch {
    return "(invalid URL)"
  }
}

const describeHttpError = (host: string, error: HttpClientError): NotifierError => {
  const reason = error.reason
  switch (reason._tag) {
    case "StatusCodeError":
      return new NotifierError({ reason: `${host} answered HTTP ${reason.response.status}` })
    case "TransportError": {
      const cause = reason.cause as { code?: string; cause?: { code?: string }; message?: string } | undefined
      const code = cause?.code ?? cause?.cause?.code ?? reason.description ?? "transport error"
      return new NotifierError({ reason: `cannot reach ${host}: ${code}` })
    }
    default:
      return new NotifierError({ reason: `request to ${host} failed: ${reason._tag}` })
  }
}

/** A short excerpt of an error answer, for the log (servers explain themselves in the body). */
const excerpt = (text: string) => text.replace(/\s+/g, " ").trim().slice(0, 200)

/**
 * POSTs `body` to `url`; fails on a non-2xx answer (with an excerpt of its body, where servers
 * explain themselves) and maps transport errors to NotifierError. Succeeds with the answer parsed
 * as JSON (undefined when it is not JSON), for APIs that say "ok: false" with a 200.
 */
const post = (
  client: HttpClient.HttpClient,
  url: string,
  body: { readonly text: string; readonly contentType: string } | { readonly form: Record<string, string> },
  headers: Record<string, string> = {}
) => {
  const host = hostOf(url)
  const request = HttpClientRequest.post(url).pipe(
    HttpClientRequest.setHeaders(headers),
    "form" in body ? HttpClientRequest.bodyUrlParams(body.form) : HttpClientRequest.bodyText(body.text, body.contentType)
  )
  return client.execute(request).pipe(
    Effect.flatMap((response) =>
      Effect.map(Effect.orElseSucceed(response.text, () => ""), (text) => ({ status: response.status, text }))
    ),
    Effect.catchTag("HttpClientError", (error) => Effect.fail(describeHttpError(host, error))),
    Effect.scoped,
    Effect.flatMap(({ status, text }) => {
      if (status < 200 || status >= 300) {
        return Effect.fail(new NotifierError({ reason: `${host} answered HTTP ${status}: ${excerpt(text) || "(empty)"}` }))
      }
      try {
        return Effect.succeed(JSON.parse(text) as unknown)
      } catch {
        return Effect.succeed(undefined)
      }
    })
  )
}

const json = (value: unknown) => ({ text: JSON.stringify(value), contentType: "application/json" })

/** Fails unless the answer confirms the message (`confirmed` of the parsed JSON body). */
const confirmed = (url: string, check: (answer: unknown) => boolean, what: string) => (answer: unknown) =>
  check(answer) ? Effect.void : Effect.fail(new NotifierError({ reason: `${hostOf(url)} did not confirm the message (${what})` }))

/** Secrets resolved: the spec with every SecretRef replaced by its value. */
export interface ResolvedSecrets {
  readonly get: (key: string) => string | undefined
}

/** Pushover priority: -1 quiet for good news, 0 normal, 1 high (bypasses quiet hours) for critical. */
const pushoverPriority = (severity: string): string =>
  ["critical", "security", "major"].includes(severity) ? "1" : ["ok", "normal", "cleared", "informational", "debug", "trace"].includes(severity) ? "-1" : "0"

/** ntfy priority 1 (min) to 5 (max). */
const ntfyPriority = (severity: string): string =>
  ["critical", "security"].includes(severity) ? "5" : severity === "major" ? "4" : ["ok", "normal", "cleared", "informational", "debug", "trace"].includes(severity) ? "2" : "3"

export const makeHttpTransport = (
  spec: Exclude<ChannelSpec, { type: "notify_devilry" | "stdout" | "email" }>,
  secrets: ResolvedSecrets,
  client: HttpClient.HttpClient
): Transport => {
  switch (spec.type) {
    case "webhook": {
      const url = secrets.get("url")!
      const headers = Object.fromEntries(spec.headers.map(([name]) => [name, secrets.get(`headers.${name}`)!]))
      return {
        send: (notification, meta) => {
          const text = spec.bodyTemplate === undefined
            ? JSON.stringify({ id: meta.id, ...notification })
            : renderTemplate(spec.bodyTemplate, templateFields(notification, meta))
          return Effect.asVoid(
            post(client, url, { text, contentType: "application/json" }, { ...headers, "Idempotency-Key": meta.id })
          )
        }
      }
    }
    case "alerta": {
      const url = `${spec.url}/alert`
      const apiKey = secrets.get("api_key")
      const headers: Record<string, string> = apiKey === undefined ? {} : { Authorization: `Key ${apiKey}` }
      return {
        send: (notification, meta) =>
          Effect.asVoid(post(client, url, json({
            resource: notification.resource,
            event: notification.event,
            environment: spec.environment ?? notification.environment ?? "Production",
            severity: notification.severity,
            correlate: notification.correlate ?? [],
            service: [notification.service],
            group: notification.group,
            value: String(notification.value),
            text: notification.text,
            origin: notification.origin,
            type: "heartbeatAlert",
            attributes: {
              ...notification.attributes,
              ...(notification.client === undefined ? {} : { client: notification.client }),
              notificationId: meta.id
            }
          }), headers))
      }
    }
    case "slack": {
      const url = secrets.get("url")!
      return {
        send: (notification) =>
          Effect.asVoid(post(client, url, json({
            text: `*${titleOf(notification)}*\n${notification.text}`,
            ...(spec.channel === undefined ? {} : { channel: spec.channel }),
            ...(spec.username === undefined ? {} : { username: spec.username })
          })))
      }
    }
    case "telegram": {
      const url = `${spec.url}/bot${secrets.get("bot_token")!}/sendMessage`
      const ok = confirmed(url, (answer) => (answer as { ok?: boolean } | undefined)?.ok === true, "ok is not true")
      return {
        send: (notification) =>
          post(client, url, json({
            chat_id: spec.chatId,
            text: `${titleOf(notification)}\n${notification.text}`,
            disable_web_page_preview: true
          })).pipe(Effect.flatMap(ok))
      }
    }
    case "pushover": {
      const url = `${spec.url}/1/messages.json`
      const [token, user] = [secrets.get("token")!, secrets.get("user")!]
      const ok = confirmed(url, (answer) => (answer as { status?: number } | undefined)?.status === 1, "status is not 1")
      return {
        send: (notification) =>
          post(client, url, {
            form: {
              token,
              user,
              title: titleOf(notification),
              message: notification.text,
              priority: pushoverPriority(notification.severity)
            }
          }).pipe(Effect.flatMap(ok))
      }
    }
    case "ntfy": {
      const url = `${spec.url}/${encodeURIComponent(spec.topic)}`
      const token = secrets.get("token")
      return {
        send: (notification, meta) =>
          Effect.asVoid(post(client, url, { text: notification.text, contentType: "text/plain" }, {
            Title: titleOf(notification),
            Priority: ntfyPriority(notification.severity),
            Tags: notification.severity,
            "X-Sequence-Id": meta.id.replace(/[^A-Za-z0-9_-]/g, "_"),
            ...(token === undefined ? {} : { Authorization: `Bearer ${token}` })
          }))
      }
    }
  }
}

/**
 * E-mail over SMTP: one message per notification, its Message-ID built from the notification id.
 * Users subscribed to the route it took (issue 18.3) get it as Bcc: no subscriber sees another's address.
 */
export const makeEmailTransport = (
  spec: Extract<ChannelSpec, { type: "email" }>,
  transporter: Transporter
): Transport => ({
  send: (notification, meta) =>
    Effect.tryPromise({
      // An attempt past the channel's time limit is abandoned; the pooled connection it used is
      // bounded by the transport's own socket timeout.
      try: () =>
        transporter.sendMail({
          from: spec.from,
          to: [...spec.to],
          ...(meta.subscribers === undefined || meta.subscribers.length === 0
            ? {}
            : { bcc: meta.subscribers.filter((address) => !spec.to.includes(address)) }),
          subject: titleOf(notification),
          text: `${notification.text}\n\n${JSON.stringify(notification, null, 2)}\n`,
          messageId: `<${meta.id}@heartbeat-mesh>`,
          headers: { "X-Heartbeat-Mesh-Id": meta.id }
        }),
      catch: (error) => {
        const failure = error as { code?: string; responseCode?: number; message?: string }
        const why = failure.responseCode !== undefined
          ? `server answered ${failure.responseCode}`
          : failure.code ?? "send failed"
        return new NotifierError({ reason: `SMTP ${spec.smtp.host}:${spec.smtp.port}: ${why}` })
      }
    }).pipe(Effect.asVoid)
})
