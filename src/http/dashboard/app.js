// heartbeat-mesh dashboard: plain JavaScript modules served by the receiver itself (no CDN, no
// build step, no inline script: it runs under a strict Content-Security-Policy). The server
// sorts, filters, searches and counts (the resource index); the page shows the rows on screen
// and applies the live feed's changes to them. Every status shown is the server's (statusOf).
import { getJson, onTokenNeeded } from "./api.js"
import { createDetail } from "./detail.js"
import { createEvents } from "./events.js"
import { follow } from "./feed.js"
import { number, statuses } from "./format.js"
import { createTable } from "./table.js"
import { signedIn } from "./login.js"

const $ = (selector) => document.querySelector(selector)

function showError(error) {
  const box = $("#error")
  box.hidden = false
  box.textContent = String(error?.message ?? error)
}
const clearError = () => ($("#error").hidden = true)

// --- Counts at the top and the client list (GET /api/summary: costs the clients, not the fleet).
let summary = { total: 0, counts: { stale: 0, not_registered: 0, paused: 0, alive: 0, client_removed: 0 }, clients: [] }
let filteredTotal = 0

function showTotals() {
  const filtered = table.query.q || table.query.status || table.query.client
  $("#total").textContent = filtered
    ? `${number(filteredTotal)} of ${number(summary.total)} resources match`
    : `${number(summary.total)} resources`
}

async function loadSummary() {
  const { body } = await getJson("/api/summary")
  const changed = JSON.stringify(body.counts) !== JSON.stringify(summary.counts)
  summary = body
  for (const status of statuses) $(`.count[data-status="${status}"] .n`).textContent = number(body.counts[status])
  const select = $("#client-filter")
  const chosen = select.value
  const names = body.clients.map((c) => c.client)
  if (names.join("\u0000") !== [...select.options].slice(1).map((o) => o.value).join("\u0000")) {
    select.replaceChildren(select.options[0], ...body.clients.map((c) => new Option(`${c.client} (${number(c.total)})`, c.client)))
    select.value = names.includes(chosen) ? chosen : ""
  }
  showTotals()
  return changed
}

// --- The table, the detail view, the events.
const table = createTable({
  grid: $("#grid"),
  viewport: $("#viewport"),
  spacer: $("#spacer"),
  rowsBox: $("#rows"),
  empty: $("#empty"),
  onOpen: (view) => detail.open(view.client, view.resource),
  onPage: (_headers, total) => {
    filteredTotal = total
    clearError()
    showTotals()
  },
  onError: showError
})
const detail = createDetail({ section: $("#detail"), onChanged: () => refreshSoon(), onError: showError })
const events = createEvents({ list: $("#events"), eventFilter: $("#event-filter"), severityFilter: $("#severity-filter"), onError: showError })

// --- Filters: every change asks the server again (search debounced while typing).
let typing
$("#search").addEventListener("input", () => {
  clearTimeout(typing)
  typing = setTimeout(() => table.setQuery({ q: $("#search").value.trim() }), 200)
})
$("#filters").addEventListener("submit", (event) => event.preventDefault())
const setStatus = (status) => {
  $("#status-filter").value = status
  for (const button of document.querySelectorAll(".count")) button.setAttribute("aria-pressed", String(button.dataset.status === status))
  table.setQuery({ status })
}
$("#status-filter").addEventListener("input", () => setStatus($("#status-filter").value))
for (const button of document.querySelectorAll(".count")) {
  button.addEventListener("click", () => setStatus(table.query.status === button.dataset.status ? "" : button.dataset.status))
}
$("#client-filter").addEventListener("input", () => table.setQuery({ client: $("#client-filter").value }))
$("#sort").addEventListener("input", () => table.setQuery({ sort: $("#sort").value }))

// --- Live updates: the feed's changes are applied to the rows held; when a status changed (rows
// move) the rows on screen and the counts are asked again, at most twice a second.
let refreshTimer
function refreshSoon() {
  if (refreshTimer) return
  refreshTimer = setTimeout(async () => {
    refreshTimer = undefined
    try {
      const countsChanged = await loadSummary()
      if (countsChanged || table.query.sort !== "status" || pendingMove) table.refresh()
      pendingMove = false
    } catch (error) {
      showError(error)
    }
  }, 500)
}
let pendingMove = false

function onMessage(type, data) {
  if (type === "heartbeats") {
    if (table.applyHeartbeats(data)) pendingMove = true
    refreshSoon()
    if (data.some((beat) => detail.shows(beat.client, beat.resource))) detail.refresh()
  } else if (type === "resources") {
    table.applyResources(data)
    pendingMove = true
    refreshSoon()
    if (data.some((item) => detail.shows(item.client, item.resource))) detail.refresh()
  } else if (type === "notification") {
    events.add(data)
    refreshSoon()
  }
}

/**
 * Up to this many resources the feed brings every heartbeat (rows on screen update as they are
 * heard); past it only status changes, and the rows on screen are asked again every 5 s.
 */
const liveHeartbeatsUpTo = 20_000
const everyHeartbeat = () => summary.total <= liveHeartbeatsUpTo

const summaryLoaded = signedIn.then(loadSummary).catch(showError)
summaryLoaded.then(() => follow({
  heartbeats: everyHeartbeat,
  onMessage,
  onState: (state) => {
    const connection = $("#connection")
    connection.textContent = state === "live" ? "live" : "reconnecting…"
    connection.classList.toggle("live", state === "live")
  },
  // Whatever happened while the feed was down: asked again.
  onReconnected: () => {
    refreshSoon()
    events.load()
  }
}))

// --- The admin token, asked for once when an action needs it (api.js keeps it for the tab).
onTokenNeeded((again) =>
  new Promise((resolve) => {
    const dialog = $("#token-dialog")
    const input = $("#token-input")
    input.value = ""
    $("#token-error").hidden = !again
    $("#token-error").textContent = again ? "The receiver refused that token." : ""
    const done = (token) => {
      dialog.close()
      resolve(token)
    }
    $("#token-form").onsubmit = (event) => {
      event.preventDefault()
      done(input.value.trim() || undefined)
    }
    $("#token-cancel").onclick = () => done(undefined)
    dialog.oncancel = () => resolve(undefined)
    dialog.showModal()
    input.focus()
  })
)

// Relative times ("12 s ago") move on by themselves; the rows on screen are asked again every
// 5 s when the feed leaves out heartbeats (every 30 s otherwise, a safety net).
setInterval(() => table.render(), 1000)
let ticks = 0
setInterval(() => {
  ticks++
  if (!everyHeartbeat() || ticks % 6 === 0) {
    pendingMove = true
    refreshSoon()
  }
}, 5000)

signedIn.then(() => {
  table.setQuery({})
  events.load()
})
