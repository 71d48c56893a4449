// Small helpers shared by the page's parts. Text always goes in through textContent (or
// attributes set by the DOM): nothing the receiver sends is ever parsed as HTML.

export const statuses = ["stale", "not_registered", "paused", "alive", "client_removed"]
export const statusLabel = (status) => status.replace("_", " ")

/** `3 min 4 s`, `2 h 5 min`, ... */
export function human(ms) {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`
}

export const number = (n) => n.toLocaleString("en")

/** An element with a class and text. */
export function el(tag, className, text) {
  const node = document.createElement(tag)
  if (className) node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

export function badge(status) {
  return el("span", `badge ${status}`, statusLabel(status))
}

/** "12 s ago", "never" */
export const since = (iso, now) => (iso ? `${human(now - Date.parse(iso))} ago` : "never")

/** The deadline column: "in 40 s", "overdue 3 min", or a dash. */
export function deadlineText(view, now) {
  if (!view.deadline || view.status === "paused" || view.status === "client_removed") return { text: "–", overdue: false }
  const left = Date.parse(view.deadline) - now
  return left <= 0 ? { text: `overdue ${human(-left)}`, overdue: true } : { text: `in ${human(left)}`, overdue: false }
}

export const keyOf = (client, resource) => `${client}\u0000${resource}`

export const localTime = (iso) => (iso ? new Date(iso).toLocaleString() : "never")
