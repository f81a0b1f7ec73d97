/**
 * One line of the doctor's report, and how the report is written: text with ✓ / ✗ / – marks,
 * or JSON. Neither form can hold a key or a token: checks only ever put file names, ids and
 * Fabric's own one-line error messages here.
 */
import { Schema } from "effect"

export const CheckStatus = Schema.Literal("pass", "fail", "skip")
export type CheckStatus = typeof CheckStatus.Type

export const CheckResult = Schema.Struct({
  /** Stable id: `config`, `identities`, `binding:<name>`, `login:<agent>`, `socket:<agent>@<guild>`… */
  id: Schema.String,
  /** What was checked, in words. */
  title: Schema.String,
  status: CheckStatus,
  /** What passed, what is wrong, or why the check was skipped. */
  detail: Schema.String,
  /** What to do about a failure. */
  fix: Schema.optional(Schema.String)
})
export type CheckResult = typeof CheckResult.Type

export const DoctorReport = Schema.Struct({
  profile: Schema.String,
  ok: Schema.Boolean,
  passed: Schema.Number,
  failed: Schema.Number,
  skipped: Schema.Number,
  checks: Schema.Array(CheckResult)
})
export type DoctorReport = typeof DoctorReport.Type

export const pass = (id: string, title: string, detail: string): CheckResult => ({ id, title, status: "pass", detail })
export const fail = (id: string, title: string, detail: string, fix: string): CheckResult => ({
  id,
  title,
  status: "fail",
  detail,
  fix
})
export const skip = (id: string, title: string, why: string): CheckResult => ({ id, title, status: "skip", detail: why })

export const makeReport = (profile: string, checks: ReadonlyArray<CheckResult>): DoctorReport => {
  const count = (status: CheckStatus) => checks.filter((c) => c.status === status).length
  const failed = count("fail")
  // Skipped checks only happen behind a failure, so `ok` is "nothing failed".
  return { profile, ok: failed === 0, passed: count("pass"), failed, skipped: count("skip"), checks }
}

const MARK: Record<CheckStatus, string> = { pass: "✓", fail: "✗", skip: "–" }

export const renderLine = (check: CheckResult): string => {
  const head = `${MARK[check.status]} ${check.title}: ${check.status === "skip" ? `skipped, ${check.detail}` : check.detail}`
  return check.fix === undefined ? head : `${head}\n    fix: ${check.fix}`
}

export const renderText = (report: DoctorReport): string =>
  [
    `plexum-fabric-doctor: profile ${report.profile}`,
    ...report.checks.map(renderLine),
    report.ok
      ? `all ${report.passed} checks passed`
      : `${report.failed} failed, ${report.passed} passed, ${report.skipped} skipped`
  ].join("\n")

export const renderJson = (report: DoctorReport): string => JSON.stringify(report, null, 2)
