/**
 * Message templates as files, rendered with Handlebars. Each message kind has one file per language
 * (`en/request.hbs`, `fr/request.hbs`) with three sections, `=== subject`, `=== text` and `=== html`;
 * files starting with `_` are partials (`{{> items}}` in a text section uses the text section of
 * `_items.hbs`). A demand may bring its own files (`templates:` in the spec): `fr/request.hbs` replaces
 * the French request, `request.hbs` the request in every language, `_layout.hbs` the letterhead.
 *
 * Templates render in strict mode with only the helpers below: a merge field that does not exist is an
 * error, and `checkTemplates` (run by `validate` and `start`) finds it before a demand starts, by reading
 * every name a template uses and rendering every template against a full and an empty message. The HTML
 * section escapes every value; subject and text are plain text (the subject is made one line).
 */
import fs from 'node:fs';
import path from 'node:path';
import type Handlebars from 'handlebars';
import { LANGUAGES, type Language } from '../../domain/time';
import { sha256Hex } from '../../platform/hash';
import { DIST_DIR, PROJECT_ROOT, RUNNING_COMPILED } from '../../platform/paths';
import { oneLine } from '../../platform/text';
import { MERGE_FIELD_NAMES, mergeContext, sampleContextInput, type MergeContext } from './context';

export const SECTIONS = ['subject', 'text', 'html'] as const;
type Section = (typeof SECTIONS)[number];

/** The message templates, one a message kind (internal notices one an event), and the partials. */
export const TEMPLATE_NAMES = [
  'request',
  'reminder',
  'overdue',
  'escalation',
  'final-notice',
  'follow-up',
  'deadline-update',
  'withdrawal',
  'question-update',
  'acknowledgement',
  'notice',
  'notice-escalation',
  'notice-referral',
  'notice-extension-request',
  'notice-bounce',
  'notice-out-of-office',
  'notice-withdrawal',
  'notice-final',
  'notice-sign-off',
  'notice-sign-off-timeout',
] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];
export const PARTIAL_NAMES = [
  '_layout',
  '_items',
  '_item-questions',
  '_item-states',
  '_reply-hint',
  '_footer',
  '_notice-end',
  '_attachments',
] as const;

/**
 * Handlebars, loaded on first use: `validate` of a spec with the shipped templates uses the build's check
 * of them (dist/template-checks.json) and renders nothing, and Handlebars is a sixth of its time.
 */
function handlebars(): typeof Handlebars {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when first needed, see above
  return require('handlebars') as typeof Handlebars;
}

/**
 * The helpers a template may call: `eq a b` (equal), `stop s` (s ending in a full stop, not doubled),
 * `capitalise s` (first letter upper-case).
 */
const HELPERS: Record<string, Handlebars.HelperDelegate> = {
  eq: (a: unknown, b: unknown) => a === b,
  stop: (s: unknown) => {
    const v = String(s ?? '').trimEnd();
    return /[.!?]$/.test(v) ? v : `${v}.`;
  },
  capitalise: (s: unknown) => {
    const v = String(s ?? '');
    return `${v.charAt(0).toUpperCase()}${v.slice(1)}`;
  },
};
const BUILT_IN_HELPERS = new Set(['if', 'unless', 'each', 'with']);

/** Custom files of a demand: `<name>.hbs` for every language, `<lang>/<name>.hbs` for one. */
export type TemplateFiles = Record<string, string>;

// From the project root, not __dirname: the compiled worker runs from dist/, and the files stay in the sources.
const SHIPPED_DIR = path.join(PROJECT_ROOT, 'activities', 'templates');
const shipped = new Map<string, string>();

function shippedFile(language: Language, name: string): string | undefined {
  const key = `${language}/${name}`;
  if (!shipped.has(key)) {
    const file = path.join(SHIPPED_DIR, language, `${name}.hbs`);
    shipped.set(key, fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
  }
  return shipped.get(key) || undefined;
}

/**
 * A template file's sections, and the line of each one's marker (counted from 0); the text before the
 * first marker may only be a comment.
 */
export function parseSections(source: string): {
  sections: Partial<Record<Section, string>>;
  markerLines: Partial<Record<Section, number>>;
  problem?: string;
} {
  const sections: Partial<Record<Section, string>> = {};
  const markerLines: Partial<Record<Section, number>> = {};
  const parts = source.replace(/\r\n/g, '\n').split(/^=== *(\w+) *$/m);
  const lineBreaks = (text: string) => text.split('\n').length - 1;
  let line = lineBreaks(parts[0]!);
  const head = parts[0]!.replace(/\{\{!--[\s\S]*?--\}\}|\{\{![^}]*\}\}/g, '').trim();
  if (head)
    return {
      sections,
      markerLines,
      problem: 'text before the first section marker (=== subject, === text or === html)',
    };
  for (let i = 1; i < parts.length; i += 2) {
    const name = parts[i]!;
    if (!(SECTIONS as readonly string[]).includes(name))
      return {
        sections,
        markerLines,
        problem: `unknown section "=== ${name}" (the sections are subject, text and html)`,
      };
    if (sections[name as Section] !== undefined)
      return { sections, markerLines, problem: `section "=== ${name}" appears twice` };
    // The marker's own line break is not part of the section.
    sections[name as Section] = parts[i + 1]!.replace(/^\n/, '');
    markerLines[name as Section] = line;
    line += lineBreaks(parts[i + 1]!);
  }
  return { sections, markerLines };
}

function fileFor(language: Language, name: string, custom: TemplateFiles | undefined): string | undefined {
  return custom?.[`${language}/${name}.hbs`] ?? custom?.[`${name}.hbs`] ?? shippedFile(language, name);
}

interface Compiled {
  render(name: string, section: Section, context: MergeContext): string;
}

const OPTIONS = (section: Section): CompileOptions => ({
  strict: true,
  knownHelpersOnly: true,
  knownHelpers: Object.fromEntries(Object.keys(HELPERS).map((h) => [h, true])),
  noEscape: section !== 'html',
  preventIndent: true,
});
type CompileOptions = Parameters<typeof Handlebars.compile>[1];

/** One language's templates with a demand's files over the shipped ones, compiled on first use. */
function compileSet(language: Language, custom: TemplateFiles | undefined): Compiled {
  const envs = new Map<Section, typeof Handlebars>();
  const templates = new Map<string, Handlebars.TemplateDelegate>();
  const env = (section: Section) => {
    let e = envs.get(section);
    if (!e) {
      e = handlebars().create();
      for (const [n, h] of Object.entries(HELPERS)) e.registerHelper(n, h);
      for (const partial of PARTIAL_NAMES) {
        const src = fileFor(language, partial, custom);
        const body = src === undefined ? undefined : parseSections(src).sections[section];
        if (body !== undefined) e.registerPartial(partial.slice(1), e.compile(body, OPTIONS(section)));
      }
      envs.set(section, e);
    }
    return e;
  };
  return {
    render(name, section, context) {
      const key = `${name}|${section}`;
      let t = templates.get(key);
      if (!t) {
        const src = fileFor(language, name, custom);
        if (src === undefined) throw new Error(`no template ${language}/${name}.hbs`);
        const body = parseSections(src).sections[section];
        if (body === undefined) throw new Error(`${language}/${name}.hbs has no "=== ${section}" section`);
        t = env(section).compile(body, OPTIONS(section));
        templates.set(key, t);
      }
      return t(context);
    },
  };
}

const sets = new Map<string, Compiled>();

function setFor(language: Language, custom: TemplateFiles | undefined): Compiled {
  const key = `${language}|${custom ? sha256Hex(JSON.stringify(custom)) : ''}`;
  let set = sets.get(key);
  if (!set) {
    // A few template sets at most live in a worker; a demand's own set is small.
    if (sets.size > 64) sets.clear();
    set = compileSet(language, custom);
    sets.set(key, set);
  }
  return set;
}

/** Plain text as mail wants it: no trailing spaces (but the "-- " signature line), at most one blank line. */
function tidyText(text: string): string {
  const lines = text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => (l === '-- ' ? l : l.trimEnd()));
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}

function tidyHtml(html: string): string {
  return `${html
    .replace(/\r\n?/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** Renders one message from its template. */
export function renderTemplate(name: TemplateName, context: MergeContext, custom?: TemplateFiles): RenderedMail {
  const set = setFor(context.language, custom);
  const subject = oneLine(set.render(name, 'subject', context)).slice(0, 250);
  return {
    subject,
    text: tidyText(set.render(name, 'text', context)),
    html: tidyHtml(set.render(name, 'html', { ...context, subject } as MergeContext)),
  };
}

/** A template problem: the file (as the demand or the shipped set names it) and what is wrong. */
export interface TemplateProblem {
  file: string;
  message: string;
}

type Node = { type: string; [k: string]: unknown };

/** Every merge-field name, helper and partial a template uses, and the ones that do not exist. */
function unknownNames(body: string, section: Section): string[] {
  const problems = new Set<string>();
  const visit = (node: unknown, helperPosition = false): void => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach((n) => visit(n));
    const n = node as Node;
    switch (n.type) {
      case 'PathExpression': {
        const parts = (n.parts as string[]).filter(Boolean);
        const head = parts[0];
        if (helperPosition) {
          if (head && !BUILT_IN_HELPERS.has(head) && !(head in HELPERS)) problems.add(`unknown helper "${head}"`);
        } else if (n.data) {
          if (head && !['index', 'first', 'last', 'key', 'root'].includes(head))
            problems.add(`unknown data variable "@${head}"`);
        } else if (head && !MERGE_FIELD_NAMES.has(head)) problems.add(`unknown merge field "${n.original as string}"`);
        return;
      }
      case 'MustacheStatement':
      case 'SubExpression':
      case 'BlockStatement': {
        if (section === 'html' && n.type === 'MustacheStatement' && n.escaped === false) {
          const loc = n.loc as { start: { line: number; column: number }; end: { line: number; column: number } };
          const text = body
            .split('\n')
            .slice(loc.start.line - 1, loc.end.line)
            .join('\n');
          const shown = loc.start.line === loc.end.line ? text.slice(loc.start.column, loc.end.column) : '{{{...}}}';
          problems.add(
            `unescaped output "${shown}": every merge value comes from a spec or a reply, so the HTML part ` +
              'writes it with {{...}}, which escapes it',
          );
        }
        const params = (n.params as unknown[]) ?? [];
        const pairs = ((n.hash as { pairs?: { value: unknown }[] } | undefined)?.pairs ?? []).map((p) => p.value);
        const isHelper = n.type !== 'MustacheStatement' || params.length > 0 || pairs.length > 0;
        visit(n.path, isHelper);
        params.forEach((p) => visit(p));
        pairs.forEach((p) => visit(p));
        visit(n.program);
        visit(n.inverse);
        return;
      }
      case 'PartialStatement':
      case 'PartialBlockStatement': {
        const name = (n.name as Node).original as string | undefined;
        if (name && name !== '@partial-block' && !(PARTIAL_NAMES as readonly string[]).includes(`_${name}`))
          problems.add(
            `unknown partial "${name}" (the partials are ${PARTIAL_NAMES.map((p) => p.slice(1)).join(', ')})`,
          );
        visit(n.program);
        return;
      }
      case 'Program':
        visit(n.body);
        return;
      default:
        return;
    }
  };
  visit(handlebars().parse(body));
  return [...problems];
}

/** Names Handlebars itself probes on any value it renders or iterates; never a merge field. */
const PROBED = new Set(['toHTML', 'then', 'toJSON', 'constructor', 'length']);

/**
 * The context with every plain object and array in it watched: a property looked up that the full sample
 * context does not have is added to `missing` as a dotted path (an item's field as `items.<name>`).
 * Handlebars' strict mode throws for a missing name in `{{...}}`, but not for one given to a helper or a
 * block (`{{#if demand.titel}}`, `{{stop demand.basiss}}`), which would render as empty.
 */
function watchLookups<T extends object>(value: T, missing: Set<string>, at = ''): T {
  const isPlain = (v: unknown): v is object =>
    !!v && typeof v === 'object' && (Array.isArray(v) || [Object.prototype, null].includes(Object.getPrototypeOf(v)));
  return new Proxy(value, {
    get(target, key, receiver) {
      const v: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return v;
      const inArray = Array.isArray(target);
      if (!(key in target) && !PROBED.has(key) && !(inArray && /^\d+$/.test(key)))
        missing.add(at ? `${at}.${key}` : key);
      // An array's elements are named by the array (items.description), not by their index.
      return isPlain(v) ? watchLookups(v, missing, inArray && /^\d+$/.test(key) ? at : at ? `${at}.${key}` : key) : v;
    },
  });
}

/** What each template is rendered against in the check: its kind and event, full and empty. */
function checkContexts(name: string, language: Language): MergeContext[] {
  const kind = name.startsWith('notice') ? 'internal' : name;
  const event = name.startsWith('notice-') ? name.slice('notice-'.length) : undefined;
  const full = sampleContextInput({ language });
  const mail = { ...full.mail, kind, audience: kind === 'internal' ? 'internal' : 'counterparty' } as typeof full.mail;
  const withEvent = (context: Record<string, string | number | undefined>) => (event ? { ...context, event } : context);
  const empty = {
    ...full,
    mail: {
      ...mail,
      to: { address: mail.to.address, zone: mail.to.zone },
      expectsReply: false,
      context: withEvent({}),
    },
    items: [{ ...full.items[0]!, description: undefined, questions: [] }],
    previews: [],
    attachments: [],
  };
  return [
    mergeContext({ ...full, mail: { ...mail, context: withEvent(mail.context ?? {}) } }),
    mergeContext(empty as typeof full),
  ];
}

/**
 * Checks the templates a demand will use: each file parses into known sections, names only merge fields,
 * helpers and partials that exist, and renders for a full and an empty message. Custom files with names
 * that are no template are refused too (a typo would silently leave the shipped wording in place).
 */
export function checkTemplates(languages: readonly Language[], custom?: TemplateFiles): TemplateProblem[] {
  const key = `${languages.join(',')}|${custom ? sha256Hex(JSON.stringify(custom)) : ''}`;
  let problems = checked.get(key);
  if (!problems) {
    // Without custom files each language's check stands alone, and the build's stands for it.
    const found =
      custom && Object.keys(custom).length
        ? checkTemplatesNow(languages, custom)
        : languages.flatMap((l) => prebuiltCheck(l) ?? checkTemplatesNow([l]));
    // A file of the demand's used for every language has the same problem in each: said once.
    problems = [...new Map(found.map((p) => [`${p.file}\0${p.message}`, p])).values()];
    if (checked.size > 64) checked.clear();
    checked.set(key, problems);
  }
  return problems;
}

/** Checks already made (a bulk start checks the same templates for every row). */
const checked = new Map<string, TemplateProblem[]>();

/** A digest of a language's shipped files: a check made of other files is not theirs. */
function shippedDigest(language: Language): string {
  const names = [...TEMPLATE_NAMES, ...PARTIAL_NAMES];
  return sha256Hex(names.map((n) => `${n}\n${shippedFile(language, n) ?? ''}`).join('\0'));
}

/** The check of each language's shipped templates, with their digest: `npm run build` stores it. */
export function shippedTemplateChecks(): Record<string, { digest: string; problems: TemplateProblem[] }> {
  return Object.fromEntries(LANGUAGES.map((l) => [l, { digest: shippedDigest(l), problems: checkTemplatesNow([l]) }]));
}

/** Where the build stores shippedTemplateChecks(): rendering every template takes `validate` a third of a second. */
export const PREBUILT_TEMPLATE_CHECKS = path.join(DIST_DIR, 'template-checks.json');
let prebuilt: ReturnType<typeof shippedTemplateChecks> | undefined;

/** The build's check of a language's shipped templates, while they are the files it checked (compiled code only). */
function prebuiltCheck(language: Language): TemplateProblem[] | undefined {
  if (!RUNNING_COMPILED) return undefined;
  try {
    prebuilt ??= JSON.parse(fs.readFileSync(PREBUILT_TEMPLATE_CHECKS, 'utf8')) as typeof prebuilt;
  } catch {
    prebuilt = {};
  }
  const entry = prebuilt![language];
  return entry?.digest === shippedDigest(language) ? entry.problems : undefined;
}

function checkTemplatesNow(languages: readonly Language[], custom?: TemplateFiles): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const known = [...TEMPLATE_NAMES, ...PARTIAL_NAMES].map((n) => `${n}.hbs`);
  for (const file of Object.keys(custom ?? {})) {
    const [first, second] = file.split('/');
    const base = second ?? first!;
    const languageOk = second === undefined || (LANGUAGES as readonly string[]).includes(first!);
    if (!languageOk || !known.includes(base))
      problems.push({
        file,
        message:
          'not a template auditflow uses: name files <template>.hbs or <language>/<template>.hbs, ' +
          `with a language of ${LANGUAGES.join(', ')} and a template of ${[...TEMPLATE_NAMES, ...PARTIAL_NAMES].join(', ')}`,
      });
  }
  if (problems.length) return problems;
  for (const language of languages) {
    const names = [...TEMPLATE_NAMES, ...PARTIAL_NAMES];
    const shownAs = (name: string) =>
      custom?.[`${language}/${name}.hbs`] !== undefined
        ? `${language}/${name}.hbs`
        : custom?.[`${name}.hbs`] !== undefined
          ? `${name}.hbs`
          : `(shipped) ${language}/${name}.hbs`;
    let broken = false;
    for (const name of names) {
      const src = fileFor(language, name, custom);
      if (src === undefined) {
        problems.push({ file: shownAs(name), message: 'missing' });
        broken = true;
        continue;
      }
      const { sections, markerLines, problem } = parseSections(src);
      if (problem) {
        problems.push({ file: shownAs(name), message: problem });
        broken = true;
        continue;
      }
      const isPartial = name.startsWith('_');
      for (const section of SECTIONS) {
        const body = sections[section];
        if (body === undefined) {
          if (!isPartial) {
            problems.push({ file: shownAs(name), message: `has no "=== ${section}" section` });
            broken = true;
          }
          continue;
        }
        try {
          for (const message of unknownNames(body, section)) {
            problems.push({ file: shownAs(name), message: `${section}: ${message}` });
            broken = true;
          }
        } catch (err) {
          // Handlebars counts lines from the section's marker; the author counts them from the file's top.
          const marker = markerLines[section]!;
          const message = (err as Error).message.replace(
            /\bline (\d+)/g,
            (_, n: string) => `line ${Number(n) + marker + 1}`,
          );
          problems.push({ file: shownAs(name), message: `${section}: ${oneLine(message, 300)}` });
          broken = true;
        }
      }
    }
    if (broken) continue;
    const set = compileSet(language, custom);
    for (const name of TEMPLATE_NAMES) {
      for (const [n, context] of checkContexts(name, language).entries()) {
        for (const section of SECTIONS) {
          // The full context is watched: a name a helper or block is given is looked up outside strict mode.
          const missing = new Set<string>();
          const watched = n === 0 ? watchLookups(context, missing) : context;
          try {
            set.render(name, section, { ...watched, subject: 'Subject' } as MergeContext);
            for (const field of missing)
              problems.push({ file: shownAs(name), message: `${section}: unknown merge field "${field}"` });
          } catch (err) {
            problems.push({
              file: shownAs(name),
              message: `${section} does not render: ${oneLine((err as Error).message.replace(/ in \[object Object\]/, ''), 300)}`,
            });
            break;
          }
        }
      }
    }
  }
  return problems;
}
