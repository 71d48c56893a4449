/** The release, as `--version` prints it and the sender's `os` plugin reports it. */
export const version = "0.1.0"
