/** Reads a demand spec file (YAML or JSON) and validates it, collecting every problem at once. */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { checkDemand, type DemandSpec, type SpecProblem } from '../domain/demand';
import { printJson } from './output';

export type SpecResult = { ok: true; spec: DemandSpec; file: string } | { ok: false; file: string; problems: SpecProblem[] };

/** Parses and checks a spec file; a missing file or a syntax error is reported as a problem too. */
export function readSpecFile(file: string): SpecResult {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, file, problems: [{ path: '(file)', message: code === 'ENOENT' ? `no such file: ${abs}` : `cannot read ${abs}: ${(err as Error).message}` }] };
  }
  let data: unknown;
  if (/\.json$/i.test(abs)) {
    try {
      data = JSON.parse(text);
    } catch (err) {
      return { ok: false, file, problems: [{ path: '(file)', message: `not valid JSON: ${(err as Error).message}` }] };
    }
  } else {
    const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length) {
      return { ok: false, file, problems: doc.errors.map((e) => ({ path: `(line ${e.linePos?.[0]?.line ?? '?'})`, message: `YAML syntax: ${e.message.split('\n')[0]}` })) };
    }
    data = doc.toJS();
  }
  const checked = checkDemand(data);
  return checked.ok ? { ok: true, spec: checked.spec, file } : { ok: false, file, problems: checked.problems };
}

/** Reports an invalid spec as `validate` does: `{ok: false, file, problems}` as JSON, else one line a problem on stderr. */
export function printSpecProblems(r: { file: string; problems: SpecProblem[] }, json?: boolean): void {
  if (json) printJson({ ok: false, file: r.file, problems: r.problems });
  else {
    process.stderr.write(`${r.file}: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}\n`);
    for (const p of r.problems) process.stderr.write(`  ${p.path}: ${p.message}\n`);
  }
}
