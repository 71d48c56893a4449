// The detail view of one resource: its fields, checks, last payload, recent events, its history
// (timeline of status changes and uptime) when the receiver offers one, the admin actions, and
// its silence (issue 18.3: set for a while with a reason, on it or its whole client; lifted).
import { act, getJson, resourcePath } from "./api.js"
import { badge, el, human, localTime, statusLabel } from "./format.js"

/**
 * Whether the receiver keeps history (issue 18: GET .../history and .../uptime), read once from
 * its OpenAPI document: the detail view shows the timeline and uptime only when it does.
 */
let historyOffer
async function historyOffered() {
  historyOffer ??= getJson("/api/openapi.json").then(
    ({ body }) => {
      const paths = Object.keys(body.paths ?? {})
      return paths.includes("/api/resources/{client}/{resource}/history") && paths.includes("/api/resources/{client}/{resource}/uptime")
    },
    () => false
  )
  return historyOffer
}

export function createDetail({ section, onChanged, onError }) {
  const $ = (selector) => section.querySelector(selector)
  let shown // { client, resource }
  let returnFocus

  /** The silence holding the shown resource's notifications back (its own, else its client's). */
  let silence

  const field = (list, name, value) => list.append(el("dt", "", name), el("dd", "", value))

  function renderFields(view) {
    const fields = $("#detail-fields")
    fields.replaceChildren()
    field(fields, "Client", view.client)
    field(fields, "Resource", view.resource)
    field(fields, "Status", statusLabel(view.status))
    field(fields, "Configured", view.configured ? "yes" : "no (discovered by its heartbeats)")
    field(fields, "Severity", view.severity)
    field(fields, "Service", view.service)
    field(fields, "Environment", view.environment ?? "–")
    field(fields, "Location", view.location ?? "–")
    field(fields, "First heartbeat", localTime(view.firstSeen))
    field(fields, "Last heartbeat", localTime(view.lastSeen))
    field(fields, "Deadline", view.deadline ? localTime(view.deadline) : "–")
    field(fields, "Timeout", view.timeoutSeconds === null ? "–" : human(view.timeoutSeconds * 1000))
  }

  function renderChecks(checks) {
    const now = Date.now()
    $("#checks tbody").replaceChildren(...checks.map((check) => {
      const tr = el("tr")
      tr.dataset.check = check.name
      tr.dataset.level = check.level
      const level = el("td")
      level.append(el("span", `badge level-${check.level}`, check.level))
      tr.append(level, el("td", "name", check.name), el("td", "num", String(check.value)), el("td", "wide num", human(now - Date.parse(check.since))), el("td", "", check.text))
      return tr
    }))
    $("#checks").hidden = checks.length === 0
    $("#no-checks").hidden = checks.length > 0
  }

  function renderEvents(events) {
    $("#detail-events").replaceChildren(...events.map((event) => {
      const li = el("li", `sev-${event.severity}`)
      const time = el("time", "", new Date(event.at).toLocaleString())
      time.dateTime = event.at
      li.append(time, el("span", "event", shortEvent(event.event)), document.createTextNode(` ${event.text ?? ""}`))
      return li
    }))
  }

  /** Uptime per window and the timeline of status changes, when the receiver keeps history. */
  async function renderHistory(client, resource) {
    const box = $("#history")
    if (!(await historyOffered())) {
      box.hidden = true
      return
    }
    try {
      const [uptime, history] = await Promise.all([
        getJson(`${resourcePath(client, resource)}/uptime`),
        getJson(`${resourcePath(client, resource)}/history?limit=50`)
      ])
      if (!shown || shown.client !== client || shown.resource !== resource) return
      const windows = $("#uptime")
      windows.replaceChildren()
      for (const window of uptime.body.windows ?? []) {
        const value = window.percent === null ? "–" : `${window.percent.toFixed(window.percent === 100 ? 0 : 2)} %`
        const dd = el("dd", "", value)
        dd.title = `up ${human(window.upSeconds * 1000)}, down ${human(window.downSeconds * 1000)}, paused ${human(window.pausedSeconds * 1000)}`
        windows.append(el("dt", "", window.window), dd)
      }
      // Newest first: each status change with when it took effect; check changes with their level.
      $("#timeline").replaceChildren(...(history.body.items ?? []).map((item) => {
        const li = el("li")
        li.dataset.kind = item.kind
        const time = el("time", "", new Date(item.at).toLocaleString())
        time.dateTime = item.at
        li.append(time)
        if (item.status) li.append(badge(item.status))
        const what = item.kind === "check" && item.detail
          ? `${item.detail.check}: ${item.detail.level}`
          : item.kind === "silenced" && item.detail
          ? `silenced${item.detail.scope === "client" ? " (whole client)" : ""} by ${item.detail.by} until ${new Date(item.detail.until).toLocaleString()}: ${item.detail.reason}`
          : item.kind === "unsilenced" && item.detail
          ? item.detail.ended === "expired" ? "silence ended" : `silence lifted by ${item.detail.by}`
          : item.kind
        li.append(el("span", "", what))
        return li
      }))
      box.hidden = false
    } catch (error) {
      box.hidden = true
      if (error.status !== 404) onError(error)
    }
  }

  /** The silence in force for the resource, from GET /api/silences (what the user may see). */
  async function renderSilence(client, resource) {
    let items = []
    try {
      items = (await getJson("/api/silences")).body.items ?? []
    } catch (error) {
      if (error.status !== 404) onError(error)
    }
    if (!shown || shown.client !== client || shown.resource !== resource) return
    silence = items.find((item) => item.client === client && item.resource === resource) ??
      items.find((item) => item.client === client && item.resource === null)
    const note = $("#silence-note")
    note.hidden = silence === undefined
    note.textContent = silence === undefined
      ? ""
      : `${silence.resource === null ? `All of ${client} is silenced` : "Silenced"} until ${new Date(silence.until).toLocaleString()} by ${silence.by}: ${silence.reason}`
    $("#action-unsilence").hidden = silence === undefined
  }

  const silencePath = (client, resource) =>
    resource === null ? `/api/clients/${encodeURIComponent(client)}/silence` : `${resourcePath(client, resource)}/silence`

  function showSilenceForm(open) {
    $("#silence-form").hidden = !open
    $("#action-silence").setAttribute("aria-expanded", String(open))
    if (open) $("#silence-reason").focus()
  }

  async function silenceNow(event) {
    event.preventDefault()
    if (!shown) return
    const { client, resource } = shown
    const message = $("#action-message")
    message.textContent = ""
    try {
      const whole = $("#silence-scope").value === "client"
      const done = await act(silencePath(client, whole ? null : resource), {
        body: { duration: $("#silence-duration").value, reason: $("#silence-reason").value }
      })
      if (!done) return
      showSilenceForm(false)
      $("#silence-reason").value = ""
      message.textContent = `Silenced until ${new Date(done.until).toLocaleString()}.`
      await refresh()
    } catch (error) {
      message.textContent = error.message
    }
  }

  async function liftSilence() {
    if (!shown || silence === undefined) return
    const message = $("#action-message")
    message.textContent = ""
    try {
      const done = await act(silencePath(silence.client, silence.resource), { method: "DELETE" })
      if (!done) return
      message.textContent = "Silence lifted."
      await refresh()
    } catch (error) {
      message.textContent = error.message
    }
  }

  async function refresh() {
    if (!shown) return
    const { client, resource } = shown
    let detail
    try {
      detail = (await getJson(resourcePath(client, resource))).body
    } catch (error) {
      if (error.status === 404) {
        $("#detail-summary").textContent = "This resource is gone (deregistered or removed from the configuration)."
        return
      }
      throw error
    }
    if (!shown || shown.client !== client || shown.resource !== resource) return
    section.dataset.status = detail.status
    $("#detail-title").textContent = `${resource} (${client})`
    const summary = $("#detail-summary")
    summary.replaceChildren(badge(detail.status), document.createTextNode(` last heartbeat ${localTime(detail.lastSeen)}`))
    $("#action-pause").hidden = detail.status === "paused"
    $("#action-resume").hidden = detail.status !== "paused"
    renderFields(detail)
    renderChecks(detail.checks)
    $("#payload").textContent = detail.payload === null ? "(none)" : JSON.stringify(detail.payload, null, 2)
    renderEvents(detail.recentEvents)
    await renderSilence(client, resource)
    await renderHistory(client, resource)
  }

  async function run(action) {
    if (!shown) return
    const { client, resource } = shown
    if (action === "deregister" && !confirm(`Deregister ${resource} (${client})? A configured resource goes back to not registered; a discovered one is forgotten.`)) return
    const message = $("#action-message")
    message.textContent = ""
    try {
      const done = await act(`${resourcePath(client, resource)}/${action}`)
      if (!done) return
      message.textContent = `${action === "deregister" ? "Deregistered" : action === "pause" ? "Paused" : "Resumed"}.`
      onChanged()
      await refresh()
    } catch (error) {
      message.textContent = error.message
    }
  }

  for (const action of ["pause", "resume", "deregister"]) $(`#action-${action}`).addEventListener("click", () => run(action))
  $("#action-silence").addEventListener("click", () => showSilenceForm($("#silence-form").hidden))
  $("#silence-cancel").addEventListener("click", () => showSilenceForm(false))
  $("#silence-form").addEventListener("submit", silenceNow)
  $("#action-unsilence").addEventListener("click", liftSilence)
  $("#detail-close").addEventListener("click", () => close())
  section.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close()
  })

  function close() {
    shown = undefined
    section.hidden = true
    document.body.classList.remove("detail-open")
    returnFocus?.focus()
  }

  return {
    async open(client, resource) {
      returnFocus = document.activeElement
      shown = { client, resource }
      silence = undefined
      showSilenceForm(false)
      $("#action-message").textContent = ""
      try {
        await refresh()
      } catch (error) {
        onError(error)
        return
      }
      section.hidden = false
      document.body.classList.add("detail-open")
      $("#detail-title").focus()
    },
    close,
    refresh: () => refresh().catch(onError),
    shows: (client, resource) => shown !== undefined && shown.client === client && shown.resource === resource
  }
}

/** heartbeat_mesh_heartbeat_timeout -> timeout */
export const shortEvent = (name) => String(name ?? "").replace(/^heartbeat_mesh_(heartbeat_|receiver_|check_)?/, "")
