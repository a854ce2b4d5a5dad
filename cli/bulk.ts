/**
 * Bulk start: one demand per row of a CSV of counterparties, from one spec used as a template. Every row
 * is checked before anything starts; the rows then start a few at a time behind a progress bar, and each
 * row ends `started` or `refused` with the reason.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { checkDemand, type DemandSpec, type SpecProblem } from '../domain/demand';
import { isFreeMailDomain } from '../domain/free-mail';
import { edgeProblems } from './spec-file';

/** Columns a row may have; `<role>_email` / `<role>_name` pairs give the counterparty's contacts. */
export const BULK_COLUMNS = ['id', 'organisation', 'timezone', 'language', 'domains', 'deadline', 'title'] as const;
const CONTACT_COLUMN = /^([a-z][a-z0-9-]{0,31})_(email|name|title)$/;

/** One CSV row turned into a demand, or the problems that stop it. */
export type BulkRow =
  { line: number; id: string; spec: DemandSpec } | { line: number; id: string; problems: SpecProblem[] };

/** The outcome of one row, as printed and as `--json` gives it. */
export interface BulkResult {
  line: number;
  demandId: string;
  counterparty: string;
  status: 'started' | 'refused';
  workflowId?: string;
  url?: string;
  /** With `--at`: when the row's demand starts. */
  startsAt?: string;
  reason?: string;
}

/** Problems with the file itself (unreadable, not CSV, columns missing or unknown): nothing can start. */
export class BulkFileError extends Error {}

function readRows(file: string): { header: string[]; rows: { line: number; values: Record<string, string> }[] } {
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(file), 'utf8');
  } catch (err) {
    throw new BulkFileError(
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? `no such file: ${path.resolve(file)}`
        : `cannot read ${file}: ${(err as Error).message}`,
    );
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      bom: true,
      skip_empty_lines: true,
      trim: true,
      info: true,
      relax_column_count: false,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    throw new BulkFileError(`${file} is not valid CSV: ${(err as Error).message}`);
  }
  if (records.length === 0)
    throw new BulkFileError(
      `${file} is empty; the first line must name the columns, e.g. id,organisation,primary_email`,
    );
  const header = records[0]!.record.map((h) => h.toLowerCase());
  const unknown = header.filter((h) => !(BULK_COLUMNS as readonly string[]).includes(h) && !CONTACT_COLUMN.test(h));
  if (unknown.length) {
    throw new BulkFileError(
      `${file}: unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')}; the columns are ${BULK_COLUMNS.join(', ')} and <role>_email, <role>_name, <role>_title (e.g. primary_email)`,
    );
  }
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup) throw new BulkFileError(`${file}: column "${dup}" appears twice`);
  for (const required of ['id', 'organisation'])
    if (!header.includes(required))
      throw new BulkFileError(`${file}: the column "${required}" is required (columns: ${header.join(', ')})`);
  if (records.length === 1) throw new BulkFileError(`${file} has a header but no rows`);
  return {
    header,
    rows: records.slice(1).map(({ record, info }) => ({
      line: info.lines,
      values: Object.fromEntries(header.map((h, i) => [h, record[i] ?? ''])),
    })),
  };
}

/** The template with one row's values: organisation, zone, deadline, title, and its own contacts. */
function rowSpec(template: Record<string, unknown>, header: string[], values: Record<string, string>): unknown {
  const spec = structuredClone(template) as Record<string, unknown> & {
    counterparty?: Record<string, unknown>;
    items?: Record<string, unknown>[];
  };
  const counterparty = { ...(spec.counterparty ?? {}) };
  spec.id = values.id;
  counterparty.organisation = values.organisation;
  if (values.timezone) counterparty.timezone = values.timezone;
  if (values.language) counterparty.language = values.language;
  if (values.title) spec.title = values.title;
  if (values.deadline) spec.deadline = values.deadline;
  const roles = [
    ...new Set(header.map((h) => CONTACT_COLUMN.exec(h)?.[1]).filter((r): r is string => r !== undefined)),
  ];
  if (roles.length) {
    // A row's contacts replace the template's: one contact per address, with every role it is given.
    const byAddress = new Map<string, { name: string; address: string; roles: string[]; title?: string }>();
    for (const role of roles) {
      const address = values[`${role}_email`];
      if (!address) continue;
      const key = address.toLowerCase();
      const c = byAddress.get(key) ?? { name: values[`${role}_name`] || address, address, roles: [] };
      c.roles.push(role);
      const title = values[`${role}_title`];
      if (title && !c.title) c.title = title;
      byAddress.set(key, c);
    }
    counterparty.contacts = [...byAddress.values()];
    // Item contacts name template addresses, which this counterparty does not have.
    for (const item of spec.items ?? []) delete item.contacts;
    // A contact at gmail.com is fine; gmail.com as the counterparty's domain never is.
    if (!values.domains)
      counterparty.domains = [
        ...new Set([...byAddress.keys()].map((a) => a.split('@')[1] ?? '').filter((d) => d && !isFreeMailDomain(d))),
      ];
  }
  if (values.domains) counterparty.domains = values.domains.split(/[\s;]+/).filter(Boolean);
  spec.counterparty = counterparty;
  return spec;
}

/** Reads the CSV and builds one checked spec per row; throws BulkFileError when the file itself is wrong. */
export function bulkSpecs(template: DemandSpec, file: string): BulkRow[] {
  const { header, rows } = readRows(file);
  const seen = new Map<string, number>();
  return rows.map(({ line, values }) => {
    const id = values.id ?? '';
    const checked = checkDemand(rowSpec(template as unknown as Record<string, unknown>, header, values));
    const problems = checked.ok ? edgeProblems(checked.spec) : [...checked.problems];
    const first = seen.get(id);
    if (first !== undefined)
      problems.push({
        path: 'id',
        message: `"${id}" is also the id on line ${first}; every row needs its own demand id`,
      });
    else seen.set(id, line);
    return checked.ok && problems.length === 0 ? { line, id, spec: checked.spec } : { line, id, problems };
  });
}

/** A one-line progress bar: `[#########-----------]  9/20  started 8  refused 1`. */
export function progressBar(done: number, total: number, started: number, refused: number, width = 24): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(done).padStart(String(total).length)}/${total}  started ${started}  refused ${refused}`;
}

/** Runs `fn` over the items with at most `limit` at a time, calling `onDone` as each one finishes. */
export async function eachLimited<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
  onDone: (result: R) => void,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
      onDone(results[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
