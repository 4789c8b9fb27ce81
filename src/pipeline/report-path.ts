/**
 * Where a run writes its report (or, for a dry run, its plan) — reports are records, never replaced silently:
 *
 * - no --report: a new name with the time in it, next to the input (`switches.create-inst.20261202-073612.report.csv`,
 *   made unique when two runs start in the same second), and the link `switches.create-inst.latest.report.csv`
 *   pointed at it; --resume / --retry-failed without --report complete the earlier report in place;
 * - --report <path>: that path, but a file there that holds a report with ok rows is refused unless --overwrite;
 * - --dry-run: a plan, never a report — `….plan.<ext>` (`--report x.report.csv` → `x.plan.csv`).
 * docs/report.md, "Where it goes".
 */
import { existsSync, lstatSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { ReportFormat } from '../core/types.js';
import { readPriorReport } from '../report/prior.js';
import { claimPath, defaultReportPath, latestReportLink, planPath, pointLink } from '../report/writer.js';

export interface ReportPlace {
  path: string;
  /** A dry run's plan (not a report). */
  plan: boolean;
}

export interface PlaceOptions {
  /** --report, as given. */
  given?: string;
  format: ReportFormat;
  inputFile: string;
  command: string;
  dryRun: boolean;
  /** The earlier report (--resume / --retry-failed), its links resolved. */
  priorPath?: string;
  overwrite: boolean;
  warn(line: string): void;
  now?: Date;
}

/** The report's (or plan's) path; a default name is created (empty) here so that no other run takes it. */
export async function placeReport(o: PlaceOptions): Promise<ReportPlace> {
  if (o.dryRun) {
    const path = o.given ? planPath(o.given) : claimPath(defaultReportPath(o.inputFile, o.command, o.format, o.now, 'plan'));
    if (o.given) await refuseOverwrite(path, '--report', o.overwrite);
    return { path, plan: true };
  }
  if (o.given) {
    const inPlace = o.priorPath !== undefined && o.given !== '-' && resolve(o.given) === resolve(o.priorPath);
    if (!inPlace) await refuseOverwrite(o.given, '--report', o.overwrite);
    return { path: o.given, plan: false };
  }
  if (o.priorPath) return { path: o.priorPath, plan: false };
  const path = claimPath(defaultReportPath(o.inputFile, o.command, o.format, o.now));
  const link = latestReportLink(o.inputFile, o.command, o.format);
  const why = pointLink(link, path);
  if (why) o.warn(`could not point ${link} at the new report (${why}); the report is ${path}`);
  return { path, plan: false };
}

/** A file that holds a report with ok rows is a record of what was applied: it is not written over unless asked. */
async function refuseOverwrite(path: string, flag: string, overwrite: boolean): Promise<void> {
  if (overwrite || path === '-' || !existsSync(path)) return;
  let ok = 0;
  try {
    ok = (await readPriorReport(path)).counts.ok;
  } catch {
    return; // not a report (or a plan): nothing applied is recorded there
  }
  if (ok > 0) {
    throw new UsageError(
      `${flag} ${path} holds the report of an earlier run with ${ok} ok row(s): writing over it would lose the record of what was applied`,
      `choose another path, leave out ${flag} (each run gets its own report), finish that run with --resume ${path}, or add --overwrite`,
    );
  }
}

/** --resume / --retry-failed may be given the `latest` link: the report it points at is the one completed. */
export function realReportPath(path: string): string {
  try {
    return lstatSync(path).isSymbolicLink() ? realpathSync(path) : path;
  } catch {
    return path;
  }
}
