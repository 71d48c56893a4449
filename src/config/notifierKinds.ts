/** Where notifications can go. Its own module so the CLI can name them without loading the receiver. */
export const notifierKinds = ["notify_devilry", "stdout"] as const
export type NotifierKind = (typeof notifierKinds)[number]
