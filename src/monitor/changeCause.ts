/** What caused a change of a resource's state: named by the change stream, read by the rules (history). */
export type ChangeCause =
  /** A heartbeat from the resource. */
  | "heartbeat"
  /** A run was started (HTTP ping `/start`); its outcome comes as a heartbeat. */
  | "start"
  /** The resource's own timer: a deadline or a timeout repeat was due. */
  | "wake"
  /** The periodic re-assertion (ok, registered, config_*): notifications, same state. */
  | "rare_check"
  /** An operator paused / resumed alerting. */
  | "pause"
  | "resume"
  /** A deregistration, by the sender or an operator. */
  | "deregister"
  /** The configuration added, changed or removed the resource. */
  | "configure"
  /** Brought back at start from what an earlier run stored. */
  | "restore"
