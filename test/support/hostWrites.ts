/** What HostApi handed its transport, read back: its outbox writes lines encoded (UTF-8). */
const decoder = new TextDecoder()

/** One write as text. */
export const writtenText = (bytes: Uint8Array): string => decoder.decode(bytes)

/** The lines of one write, without their newlines. */
export const writtenLines = (bytes: Uint8Array): Array<string> => writtenText(bytes).split("\n").filter((line) => line.length > 0)
