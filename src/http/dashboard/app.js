// heartbeat-mesh dashboard: plain JavaScript, served by the receiver itself (no CDN, no build).
// Reads /api/resources and /api/events, then follows /api/feed (Server-Sent Events) for live
// heartbeats, status changes and notifications. Every status shown is the server's (statusOf): the
// page never decides staleness itself. A read token, if the receiver needs one, comes from
// #token=... in the URL.
"use strict"

const token = new URLSearchParams(location.hash.slice(1)).get("token")
const headers = token ? { Authorization: `Bearer ${token}` } : {}
const resources = new Map() // "client\u0000resource" -> view, as the server sent it
const statuses = ["alive", "stale", "not_registered", "paused", "client_removed"]
const $ = (selector) => document.querySelector(selector)
const keyOf = (view) => `${view.client}\u0000${view.resource}`

function human(ms) {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`
}

function remember(view) {
  resources.set(keyOf(view), view)
}

async function getJson(path) {
  const response = await fetch(path, { headers })
  if (!response.ok) throw new Error(`${path}: ${response.status} ${(await response.json().catch(() => ({}))).error ?? ""}`)
  return response.json()
}

async function loadResources() {
  const views = await getJson("/api/resources")
  resources.clear()
  for (const view of views) remember(view)
  const clients = [...new Set(views.map((v) => v.client))].sort()
  const select = $("#client-filter")
  const chosen = select.value
  select.replaceChildren(new Option("all clients", ""), ...clients.map((c) => new Option(c, c)))
  select.value = clients.includes(chosen) ? chosen : ""
  render()
}

function render() {
  const now = Date.now()
  const search = $("#search").value.trim().toLowerCase()
  const statusFilter = $("#status-filter").value
  const clientFilter = $("#client-filter").value
  const counts = Object.fromEntries(statuses.map((s) => [s, 0]))
  const rows = []
  for (const view of resources.values()) {
    const status = view.status
    counts[status]++
    if (statusFilter && status !== statusFilter) continue
    if (clientFilter && view.client !== clientFilter) continue
    if (search && !`${view.client} ${view.resource}`.toLowerCase().includes(search)) continue
    rows.push([view, status])
  }
  // Trouble first, then by name.
  rows.sort((a, b) => statuses.indexOf(b[1]) === statuses.indexOf(a[1])
    ? a[0].resource.localeCompare(b[0].resource)
    : (a[1] === "stale" ? -1 : b[1] === "stale" ? 1 : statuses.indexOf(a[1]) - statuses.indexOf(b[1])))
  const body = $("#resources tbody")
  body.replaceChildren(...rows.slice(0, 2000).map(([view, status]) => row(view, status, now)))
  $("#empty").hidden = rows.length > 0
  for (const s of statuses) $(`[data-count="${s}"]`).textContent = `${counts[s]} ${s.replace("_", " ")}`
}

function cell(text, label, className) {
  const td = document.createElement("td")
  td.textContent = text
  if (label) td.dataset.label = label
  if (className) td.className = className
  return td
}

function row(view, status, now) {
  const tr = document.createElement("tr")
  tr.dataset.resource = `${view.client}/${view.resource}`
  tr.tabIndex = 0
  tr.addEventListener("click", () => openDetail(view.client, view.resource))
  tr.addEventListener("keydown", (event) => { if (event.key === "Enter") openDetail(view.client, view.resource) })
  tr.dataset.status = status
  const badge = document.createElement("span")
  badge.className = `badge ${status}`
  badge.textContent = status.replace("_", " ")
  const statusCell = document.createElement("td")
  statusCell.append(badge)
  const last = view.lastSeen ? `${human(now - Date.parse(view.lastSeen))} ago` : "never"
  let deadline = "–"
  let overdue = false
  if (view.deadline && status !== "paused" && status !== "client_removed") {
    const left = Date.parse(view.deadline) - now
    overdue = left <= 0
    deadline = overdue ? `overdue ${human(-left)}` : `in ${human(left)}`
  }
  tr.append(
    statusCell,
    cell(view.resource, "", "name"),
    cell(view.client, "client"),
    cell(last, "last heartbeat"),
    cell(deadline, "deadline", overdue ? "overdue" : ""),
    cell(`${human(view.timeoutSeconds * 1000)}`, "timeout", "wide")
  )
  return tr
}

// The detail view of one resource: its checks (sender plugins, issue 20) and what it last sent.
let shown // { client, resource } while the detail view is open
async function openDetail(client, resource) {
  shown = { client, resource }
  await refreshDetail()
  $("#detail").hidden = false
  $("#detail").scrollIntoView({ block: "nearest" })
}

async function refreshDetail() {
  if (!shown) return
  const { client, resource } = shown
  const detail = await getJson(`/api/resources/${encodeURIComponent(client)}/${encodeURIComponent(resource)}`)
  if (!shown || shown.client !== client || shown.resource !== resource) return
  $("#detail-title").textContent = `${resource} (${client})`
  $("#detail-summary").textContent = `${detail.status.replace("_", " ")}, last heartbeat ${detail.lastSeen ? new Date(detail.lastSeen).toLocaleString() : "never"}`
  const now = Date.now()
  $("#checks tbody").replaceChildren(...detail.checks.map((check) => {
    const tr = document.createElement("tr")
    tr.dataset.check = check.name
    tr.dataset.level = check.level
    const badge = document.createElement("span")
    badge.className = `badge level-${check.level}`
    badge.textContent = check.level
    const levelCell = document.createElement("td")
    levelCell.append(badge)
    tr.append(levelCell, cell(check.name, "", "name"), cell(String(check.value), "value"),
      cell(`${human(now - Date.parse(check.since))}`, "since", "wide"), cell(check.text, "text"))
    return tr
  }))
  $("#checks").hidden = detail.checks.length === 0
  $("#no-checks").hidden = detail.checks.length > 0
}

function addEvent(event, atStart = true) {
  const li = document.createElement("li")
  const time = document.createElement("time")
  time.dateTime = event.at
  time.textContent = new Date(event.at).toLocaleTimeString()
  const name = document.createElement("span")
  name.className = `sev-${event.severity}`
  name.textContent = event.event.replace(/^heartbeat_mesh_(heartbeat_|receiver_)?/, "")
  li.append(time, name, document.createTextNode(` ${event.resource}${event.client ? ` (${event.client})` : ""}: ${event.text}`))
  const list = $("#events")
  if (atStart) list.prepend(li)
  else list.append(li)
  while (list.children.length > 200) list.lastChild.remove()
}

async function loadEvents() {
  const page = await getJson("/api/events?limit=100")
  $("#events").replaceChildren()
  for (const event of page.items) addEvent(event, false)
}

let refreshTimer
function refreshSoon() {
  clearTimeout(refreshTimer)
  refreshTimer = setTimeout(() => loadResources().catch(showError), 300)
}

function onFeedEvent(type, data) {
  if (type === "heartbeats") {
    let unknown = false
    for (const beat of data) {
      const view = resources.get(keyOf(beat))
      if (!view) { unknown = true; continue }
      view.lastSeen = beat.at
      view.status = beat.status
      view.deadline = beat.deadline
    }
    if (unknown) refreshSoon()
    if (shown && data.some((beat) => beat.client === shown.client && beat.resource === shown.resource)) refreshDetail().catch(showError)
    render()
  } else if (type === "resources") {
    // Went stale, paused, resumed, reconfigured (a whole view), or gone.
    for (const item of data) {
      if (item.removed) resources.delete(keyOf(item))
      else remember(item)
    }
    render()
  } else if (type === "notification") {
    addEvent(data)
    refreshSoon()
  }
}

/** Follows the SSE feed with fetch (EventSource cannot send an Authorization header). */
async function follow() {
  const connection = $("#connection")
  for (;;) {
    try {
      const response = await fetch("/api/feed", { headers })
      if (!response.ok || !response.body) throw new Error(`feed: ${response.status}`)
      connection.textContent = "live"
      connection.classList.add("live")
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      let buffer = ""
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buffer += value
        let end
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const type = /^event: (.*)$/m.exec(block)?.[1]
          const data = /^data: (.*)$/m.exec(block)?.[1]
          if (type && data) onFeedEvent(type, JSON.parse(data))
        }
      }
    } catch (error) {
      console.warn(error)
    }
    connection.textContent = "reconnecting…"
    connection.classList.remove("live")
    await new Promise((r) => setTimeout(r, 2000))
    await Promise.all([loadResources(), loadEvents()]).catch(showError)
  }
}

function showError(error) {
  const box = $("#error")
  box.hidden = false
  box.textContent = String(error.message ?? error)
}

for (const id of ["#search", "#status-filter", "#client-filter"]) $(id).addEventListener("input", render)
$("#detail-close").addEventListener("click", () => { shown = undefined; $("#detail").hidden = true })
setInterval(render, 1000)
Promise.all([loadResources(), loadEvents()]).then(() => $("#error").hidden = true, showError)
follow()
