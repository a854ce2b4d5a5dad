/** Reads a demand spec file (YAML or JSON) and validates it, collecting every problem at once. */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { checkDemand, TEMPLATE_FILES_MAX_BYTES, type DemandSpec, type SpecProblem } from '../domain/demand';
import { LANGUAGES, type Language } from '../domain/time';
import { checkTemplates } from '../activities/templates/engine';
import { freeMailDomainProblems } from '../domain/free-mail';
import { SPEC_MAX_BYTES } from '../domain/limits';
import { printJson, safeLine } from './output';

export type SpecResult =
  { ok: true; spec: DemandSpec; file: string } | { ok: false; file: string; problems: SpecProblem[] };

/** Files bigger than this are refused unread: a valid spec is at most SPEC_MAX_BYTES, and YAML is not much longer. */
export const SPEC_FILE_MAX_BYTES = 4 * 1024 * 1024;

/** Reads at most `max` + 1 bytes, so a huge file (or /dev/zero, a pipe) never has to fit in memory. */
export function readBounded(file: string, max: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(max + 1);
    let length = 0;
    while (length < buf.length) {
      const n = fs.readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return buf.subarray(0, length);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The spec-size rule: a spec over SPEC_MAX_BYTES as JSON would start, then fail in Temporal (it is kept in
 * the start input, the state and every continue-as-new), so it is refused here, the size and limit named.
 */
export function specSizeProblems(spec: unknown): SpecProblem[] {
  let bytes: number;
  try {
    bytes = Buffer.byteLength(JSON.stringify(spec) ?? '');
  } catch {
    return [];
  }
  if (bytes <= SPEC_MAX_BYTES) return [];
  const message =
    `the spec is ${bytes.toLocaleString('en-US')} bytes as JSON, over the limit of ${SPEC_MAX_BYTES.toLocaleString('en-US')} bytes (${SPEC_MAX_BYTES / 1024} KiB): ` +
    "a demand's spec is kept in its workflow's history and state (the start input, every continue-as-new, the report), which Temporal bounds; " +
    'shorten descriptions and questions, or split the items over several demands';
  return [{ path: '(top level)', message }];
}

/**
 * What the CLI refuses besides the schema: a spec Temporal cannot hold, and a free-mail domain as the
 * counterparty's (checked here, not in the schema the workflow replays, so running demands are untouched).
 */
export function edgeProblems(spec: DemandSpec): SpecProblem[] {
  return [...specSizeProblems(spec), ...freeMailDomainProblems(spec.counterparty.domains), ...templateProblems(spec)];
}

/** Every language the demand writes in: the counterparty's and its contacts', ours for internal notices. */
export function languagesOf(spec: DemandSpec): Language[] {
  const people = [...spec.counterparty.contacts, ...spec.requester.people];
  const used = [spec.counterparty.language, spec.requester.language, ...people.map((p) => p.language)];
  return LANGUAGES.filter((l) => used.includes(l) || (l === 'en' && used.includes(undefined)));
}

/** The templates the demand will render, checked now: a broken one is an error here, never at send time. */
function templateProblems(spec: DemandSpec): SpecProblem[] {
  if (spec.templates !== undefined && spec.templateFiles === undefined)
    return [{ path: 'templates', message: 'the folder was not read: start the demand with auditflow start' }];
  return checkTemplates(languagesOf(spec), spec.templateFiles).map((p) => ({
    path: spec.templateFiles && !p.file.startsWith('(shipped)') ? `templates (${p.file})` : `templates ${p.file}`,
    message: p.message,
  }));
}

/**
 * Reads a demand's template folder: `<template>.hbs` files at its top (every language) and in language
 * subfolders (`fr/request.hbs`); other files (a README, images the letterhead links to) are left alone.
 */
export function readTemplateFolder(dir: string): { files: Record<string, string> } | { problem: string } {
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (!stat) return { problem: `no such folder: ${dir}` };
  if (!stat.isDirectory()) return { problem: `${dir} is not a folder` };
  const files: Record<string, string> = {};
  let total = 0;
  const read = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const name = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory() && !sub && (LANGUAGES as readonly string[]).includes(entry.name)) read(entry.name);
      if (!entry.name.endsWith('.hbs')) continue;
      if (!entry.isFile()) throw new Error(`${name} is not a regular file`);
      const bytes = readBounded(path.join(dir, name), TEMPLATE_FILES_MAX_BYTES);
      total += bytes.length;
      if (total > TEMPLATE_FILES_MAX_BYTES)
        throw new Error(
          `the .hbs files are over ${TEMPLATE_FILES_MAX_BYTES / 1024} KiB together; a template set is text`,
        );
      files[name] = bytes.toString('utf8');
    }
  };
  try {
    read('');
  } catch (err) {
    return { problem: (err as Error).message };
  }
  if (Object.keys(files).length === 0)
    return { problem: `${dir} has no .hbs template files (see docs/templates.md for their names)` };
  return { files };
}

/** A spec's `templates` folder read into `templateFiles` (relative to the spec file), or the problem. */
function withTemplateFiles(data: unknown, specFile: string): { data: unknown; problems: SpecProblem[] } {
  const spec = data as { templates?: unknown; templateFiles?: unknown } | null;
  if (!spec || typeof spec !== 'object' || typeof spec.templates !== 'string' || spec.templateFiles !== undefined)
    return { data, problems: [] };
  const dir = path.resolve(path.dirname(specFile), spec.templates);
  const read = readTemplateFolder(dir);
  if ('problem' in read) return { data, problems: [{ path: 'templates', message: read.problem }] };
  return { data: { ...spec, templateFiles: read.files }, problems: [] };
}

type Parsed = { ok: true; data: unknown } | { ok: false; problems: SpecProblem[] };

/** YAML or JSON to plain data; every failure of the parser (including what it throws) is a problem. */
export function parseSpecText(text: string, json: boolean): Parsed {
  try {
    if (json) return { ok: true, data: JSON.parse(text) };
    const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length) {
      return {
        ok: false,
        problems: doc.errors.map((e) => ({
          path: `(line ${e.linePos?.[0]?.line ?? '?'})`,
          message: `YAML syntax: ${e.message.split('\n')[0]}`,
        })),
      };
    }
    // toJS throws on an alias bomb (a few lines that expand to billions of nodes) instead of expanding it.
    return { ok: true, data: doc.toJS() };
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
    if (/alias/i.test(message))
      return {
        ok: false,
        problems: [
          { path: '(file)', message: `its YAML aliases (*name) expand to more than a demand spec can be: ${message}` },
        ],
      };
    return { ok: false, problems: [{ path: '(file)', message: `not valid ${json ? 'JSON' : 'YAML'}: ${message}` }] };
  }
}

/** Parses and checks a spec file; a missing, oversized or unparseable file is reported as a problem too. */
export function readSpecFile(file: string): SpecResult {
  const abs = path.resolve(file);
  let bytes: Buffer;
  try {
    bytes = readBounded(abs, SPEC_FILE_MAX_BYTES);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      ok: false,
      file,
      problems: [
        {
          path: '(file)',
          message: code === 'ENOENT' ? `no such file: ${abs}` : `cannot read ${abs}: ${(err as Error).message}`,
        },
      ],
    };
  }
  if (bytes.length > SPEC_FILE_MAX_BYTES) {
    const limit = `${SPEC_FILE_MAX_BYTES / 1024 / 1024} MiB (${SPEC_FILE_MAX_BYTES.toLocaleString('en-US')} bytes)`;
    return {
      ok: false,
      file,
      problems: [
        {
          path: '(file)',
          message: `the file is over ${limit}; a demand spec is at most ${SPEC_MAX_BYTES / 1024} KiB once validated, so this cannot be one`,
        },
      ],
    };
  }
  const parsed = parseSpecText(bytes.toString('utf8'), /\.json$/i.test(abs));
  if (!parsed.ok) return { ok: false, file, problems: parsed.problems };
  const loaded = withTemplateFiles(parsed.data, abs);
  if (loaded.problems.length) return { ok: false, file, problems: loaded.problems };
  const checked = checkDemand(loaded.data);
  // Measured on the validated spec (defaults filled in) as the workflow gets it; on the input otherwise.
  const edge = checked.ok ? edgeProblems(checked.spec) : specSizeProblems(parsed.data);
  if (checked.ok && edge.length === 0) return { ok: true, spec: checked.spec, file };
  return { ok: false, file, problems: [...edge, ...(checked.ok ? [] : checked.problems)] };
}

/** Reports an invalid spec as `validate` does: `{ok: false, file, problems}` as JSON, else one line a problem on stderr. */
export function printSpecProblems(r: { file: string; problems: SpecProblem[] }, json?: boolean): void {
  if (json) printJson({ ok: false, file: r.file, problems: r.problems });
  else {
    process.stderr.write(`${safeLine(r.file)}: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}\n`);
    for (const p of r.problems) process.stderr.write(`  ${safeLine(p.path)}: ${safeLine(p.message)}\n`);
  }
}
