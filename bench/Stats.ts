/** Summaries: percentiles of one run, median/min/max across runs. */

/** Nearest-rank percentile of an ascending array. */
export const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!

export interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
  readonly runs: ReadonlyArray<number>
}

/** Runs without a value (NaN: nothing was received) are left out; none at all gives NaN. */
export const spread = (runs: ReadonlyArray<number>): Spread => {
  const sorted = runs.filter((run) => !Number.isNaN(run)).sort((a, b) => a - b)
  if (sorted.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, runs }
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return { median, min: sorted[0]!, max: sorted.at(-1)!, runs }
}

/** Per-metric spreads of a list of per-run records with the same numeric keys. */
export const spreadAll = <K extends string>(runs: ReadonlyArray<Record<K, number>>): Record<K, Spread> => {
  const keys = Object.keys(runs[0] ?? {}) as Array<K>
  return Object.fromEntries(keys.map((key) => [key, spread(runs.map((run) => run[key]))])) as Record<K, Spread>
}

export const msBetween = (from: bigint | string, to: bigint | string) => Number(BigInt(to) - BigInt(from)) / 1e6

/**
 * The most connection attempts the server saw within any `windowMs` of a sampled series
 * `[time ns, attempts so far]`, scaled to per second.
 */
export const peakPerSecond = (samples: ReadonlyArray<readonly [string, number, number]>, windowMs = 1000): number => {
  let peak = 0
  let j = 0
  for (let i = 0; i < samples.length; i++) {
    while (msBetween(samples[j]![0], samples[i]![0]) > windowMs) j++
    peak = Math.max(peak, samples[i]![1] - samples[j]![1])
  }
  return peak * (1000 / windowMs)
}
