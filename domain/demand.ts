/**
 * The demand spec: what ops write (YAML or JSON) and `auditflow validate` checks. Every object is
 * strict (unknown fields are errors); cross-field rules live in `checkDemand`.
 */
import { z } from 'zod';
import { AttachmentList, attachmentProblems } from './attachments';
import { isValidTimeZone, LANGUAGES, parseClock, parseDeadline, parseDuration, isZeroDuration } from './time';

// eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
const CONTROL = /[\u0000-\u001f\u007f]/;

const slug = (what: string, max: number) =>
  z
    .string({ error: `must be a string` })
    .regex(
      new RegExp(`^[a-z0-9](?:[a-z0-9-]{0,${max - 2}}[a-z0-9])?$`),
      `${what} must be 1-${max} lower-case letters, digits or dashes, starting and ending with a letter or digit`,
    );

const text = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`);

const line = (max: number) =>
  text(max).refine((v) => !CONTROL.test(v), 'must be one line without control characters (no CR or LF)');

/** An email address, strictly: no display name, comments, quotes or CR/LF (header-injection safe). */
export const EmailAddress = z
  .string({ error: 'must be a string' })
  .trim()
  .max(254, 'must be at most 254 characters')
  .regex(
    /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/,
    'must be a plain address like name@example.com (no display name, quotes, comments or spaces)',
  )
  .refine((v) => (v.split('@')[0] ?? '').length <= 64, 'the part before @ must be at most 64 characters')
  .transform((v) => v.toLowerCase());

const Role = z
  .string({ error: 'must be a string' })
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'a role is 1-32 lower-case letters, digits or dashes, starting with a letter');

const TimeZone = z
  .string({ error: 'must be an IANA time zone name' })
  .refine(isValidTimeZone, 'must be an IANA time zone such as Europe/London or America/Los_Angeles');

const IsoDuration = z.string({ error: 'must be an ISO 8601 duration' }).refine((v) => {
  const d = parseDuration(v);
  return d !== undefined && !isZeroDuration(d);
}, 'must be a non-zero ISO 8601 duration such as P7D, PT48H or P1W (or { businessDays: N })');

/** An offset from a deadline: an ISO 8601 duration, or a number of business days under `calendar`. */
export const Offset = z.union(
  [
    IsoDuration,
    z.strictObject({
      businessDays: z.int('must be a whole number').min(1, 'must be at least 1').max(260, 'must be at most 260'),
    }),
  ],
  {
    error: 'must be an ISO 8601 duration such as P7D, or { businessDays: N }',
  },
);
export type Offset = z.infer<typeof Offset>;

/** A date-time as written in the spec: local to the counterparty's zone, or an ISO instant. */
const DateTimeText = z
  .string({ error: 'must be a date-time string such as 2027-06-07T17:00' })
  .trim()
  .min(1, 'must not be empty');

/** The language a person is written to in (the shipped templates: English and French). */
const LanguageCode = z.enum(LANGUAGES, { error: `must be one of ${LANGUAGES.join(', ')} (en: English, fr: French)` });

/** Template files by name (`request.hbs`, `fr/_layout.hbs`): read from the spec's `templates` folder by the CLI. */
export const TEMPLATE_FILES_MAX_BYTES = 128 * 1024;
const TemplateFiles = z
  .record(
    z.string().regex(/^(?:[a-z]{2}\/)?_?[a-z][a-z-]{0,40}\.hbs$/, 'must be a name like request.hbs or fr/request.hbs'),
    z.string().max(32 * 1024, 'must be at most 32768 characters'),
  )
  .refine(
    (files) => Object.values(files).reduce((n, t) => n + t.length, 0) <= TEMPLATE_FILES_MAX_BYTES,
    `the template files must be at most ${TEMPLATE_FILES_MAX_BYTES / 1024} KiB together`,
  );

/** A person or mailbox: name, address, roles. */
export const Contact = z.strictObject({
  name: line(100),
  address: EmailAddress.optional(),
  roles: z.array(Role).min(1, 'must have at least 1 entry'),
  title: line(100).optional(),
  /** The contact's own zone, when it differs from the organisation's. */
  timezone: TimeZone.optional(),
  /** The contact's own language, when it differs from the organisation's. */
  language: LanguageCode.optional(),
});
export type Contact = z.infer<typeof Contact>;

/** Who is notified: `counterparty:<role>` or `requester:<role>`. */
export const RecipientRef = z
  .string({ error: 'must be a string like counterparty:escalation or requester:counsel' })
  .regex(
    /^(counterparty|requester):[a-z][a-z0-9-]{0,31}$/,
    'must be counterparty:<role> or requester:<role>, e.g. counterparty:escalation',
  );
export type RecipientRef = z.infer<typeof RecipientRef>;

/** A reminder before the deadline. */
export const Reminder = z.strictObject({
  before: Offset,
  /** Extra sentence put in the reminder. */
  note: text(1000).optional(),
});

/**
 * A message that must be signed off before it goes out: who approves it (a requester role), how long
 * they have once it falls due, and what happens when nobody decides in time (hold it, or send it as it is).
 */
export const SignOff = z.strictObject({
  by: Role,
  within: Offset.default('P2D'),
  onTimeout: z.enum(['hold', 'send'], { error: 'must be hold or send' }).default('hold'),
});
export type SignOff = z.infer<typeof SignOff>;

/** One rung of the escalation ladder after the deadline. */
export const EscalationStep = z.strictObject({
  after: Offset,
  notify: z.array(RecipientRef).min(1, 'must have at least 1 entry'),
  /** Counterparty-facing message: an escalation notice, or the final notice before referral. */
  message: z
    .enum(['escalation', 'final-notice'], { error: 'must be escalation or final-notice' })
    .default('escalation'),
  /** `refer` hands the demand over for legal action; it may only be the last step. */
  action: z.enum(['notify', 'refer'], { error: 'must be notify or refer' }).default('notify'),
  /** Short label used in the UI and the report ("notice to deputy GC"). */
  label: line(80).optional(),
  note: text(1000).optional(),
  /** The step waits for this sign-off when it falls due (and so do the steps after it). */
  signOff: SignOff.optional(),
});
export type EscalationStep = z.infer<typeof EscalationStep>;

/** One thing the counterparty must account for. */
export const Item = z.strictObject({
  id: slug('an item id', 24),
  name: line(120),
  description: text(4000).optional(),
  questions: z.array(text(2000)).min(1, 'must have at least 1 entry').max(100, 'must have at most 100 entries'),
  /** Addresses of counterparty contacts who answer for this item (default: the `primary` contacts). */
  contacts: z.array(EmailAddress).min(1, 'must have at least 1 entry').optional(),
  deadline: DateTimeText.optional(),
});
export type Item = z.infer<typeof Item>;

/** "2027-06-04" and a real calendar date. */
function isRealDate(v: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!));
  return d.getUTCFullYear() === +m[1]! && d.getUTCMonth() === +m[2]! - 1 && d.getUTCDate() === +m[3]!;
}

const WEEKDAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** Business days, holidays and the hours mail may be sent at. */
export const Calendar = z.strictObject({
  businessDays: z
    .array(z.enum(WEEKDAY_NAMES, { error: 'must be one of mon, tue, wed, thu, fri, sat, sun' }))
    .min(1, 'must have at least 1 entry')
    .default(['mon', 'tue', 'wed', 'thu', 'fri']),
  holidays: z
    .array(z.string({ error: 'must be a date YYYY-MM-DD' }).refine(isRealDate, 'must be a date YYYY-MM-DD'))
    .default([]),
  sendWindow: z
    .strictObject({
      from: z.string().refine((v) => parseClock(v) !== undefined, 'must be a time HH:MM'),
      to: z.string().refine((v) => parseClock(v) !== undefined, 'must be a time HH:MM'),
    })
    .default({ from: '08:00', to: '18:00' }),
});

/** The whole demand spec. */
export const DemandSpec = z.strictObject({
  id: slug('a demand id', 40),
  title: line(200),
  basis: text(2000),
  requester: z.strictObject({
    organisation: line(200),
    from: z.strictObject({ name: line(100), address: EmailAddress }),
    timezone: TimeZone,
    /** The language of internal notices (default en). */
    language: LanguageCode.optional(),
    people: z.array(Contact).min(1, 'must have at least 1 entry'),
  }),
  counterparty: z.strictObject({
    organisation: line(200),
    timezone: TimeZone,
    /** The language the counterparty is written to in (default en); a contact may have its own. */
    language: LanguageCode.optional(),
    /** Mail domains the counterparty writes from (replies from other domains go to triage). */
    domains: z
      .array(
        z
          .string()
          .toLowerCase()
          .regex(/^[a-z0-9.-]+\.[a-z]{2,}$/, 'must be a domain such as example.com'),
      )
      .default([]),
    contacts: z.array(Contact).min(1, 'must have at least 1 entry'),
  }),
  deadline: DateTimeText,
  /** A folder of the demand's own template files (relative to the spec file), over the shipped ones. */
  templates: line(500).optional(),
  /** The files of `templates`, read when the spec is validated and started: the demand keeps this wording. */
  templateFiles: TemplateFiles.optional(),
  items: z.array(Item).min(1, 'must have at least 1 entry').max(500, 'must have at most 500 entries'),
  /** The request itself waits for this sign-off before it goes out. */
  requestSignOff: SignOff.optional(),
  reminders: z.array(Reminder).max(10, 'must have at most 10 entries').default([]),
  escalation: z.array(EscalationStep).max(10, 'must have at most 10 entries').default([]),
  /** Files sent with the request and, optionally, the final notice (see domain/attachments.ts). */
  attachments: AttachmentList.optional(),
  calendar: Calendar.default({
    businessDays: ['mon', 'tue', 'wed', 'thu', 'fri'],
    holidays: [],
    sendWindow: { from: '08:00', to: '18:00' },
  }),
  review: z
    .strictObject({
      required: z.boolean({ error: 'must be true or false' }).default(true),
      /** Default time given for a follow-up round when the reviewer names no due date. */
      followUpPeriod: Offset.default('P10D'),
    })
    .default({ required: true, followUpPeriod: 'P10D' }),
  inbound: z
    .strictObject({
      /** What a reply must prove: a DMARC pass, an aligned DKIM signature, or nothing (not recommended). */
      authentication: z
        .enum(['dmarc', 'aligned-dkim', 'none'], { error: 'must be dmarc, aligned-dkim or none' })
        .default('dmarc'),
      /** From-domains whose replies are accepted with a recorded warning when authentication fails. */
      warnDomains: z
        .array(
          z
            .string()
            .toLowerCase()
            .regex(/^[a-z0-9.-]+\.[a-z]{2,}$/, 'must be a domain such as example.com'),
        )
        .default([]),
      /** Reply addresses stop working this many days after the message was sent (omit: never). */
      replyAddressDays: z
        .int('must be a whole number')
        .min(1, 'must be at least 1')
        .max(3650, 'must be at most 3650')
        .optional(),
    })
    .default({ authentication: 'dmarc', warnDomains: [] }),
  options: z
    .strictObject({
      /** Tell the item's contacts when the deadline has passed (before the ladder starts). */
      overdueNotice: z.boolean({ error: 'must be true or false' }).default(true),
      /** Confirm each recorded answer to its sender. */
      acknowledgeReplies: z.boolean({ error: 'must be true or false' }).default(true),
      /** Send acknowledgements at once, even outside the recipient's sending hours (every other message waits). */
      acknowledgeAtOnce: z.boolean({ error: 'must be true or false' }).default(false),
      /** An out-of-office reply whose writer is back only after an item's deadline. */
      outOfOffice: z
        .strictObject({
          /** Tell the owner in the daily digest (default), or at once as well. */
          tellOwner: z.enum(['digest', 'at-once'], { error: 'must be digest or at-once' }).default('digest'),
          /** Copy the item's next reminder (or overdue notice) to the counterparty's escalation contacts. */
          copyNextReminder: z.boolean({ error: 'must be true or false' }).default(false),
        })
        .default({ tellOwner: 'digest', copyNextReminder: false }),
    })
    .default({
      overdueNotice: true,
      acknowledgeReplies: true,
      acknowledgeAtOnce: false,
      outOfOffice: { tellOwner: 'digest', copyNextReminder: false },
    }),
});

/** A validated demand spec, defaults filled in. */
export type DemandSpec = z.infer<typeof DemandSpec>;
/** A demand spec as written (defaults optional). */
export type DemandSpecInput = z.input<typeof DemandSpec>;

/** One problem in a spec, with its path written the way people read it: `items[3].questions`. */
export interface SpecProblem {
  path: string;
  message: string;
}

/** `["items", 3, "questions"]` -> `items[3].questions`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return (
    path.reduce<string>(
      (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)),
      '',
    ) || '(top level)'
  );
}

function crossChecks(spec: DemandSpec, ctx: z.RefinementCtx): void {
  const add = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const roles = {
    counterparty: new Set(spec.counterparty.contacts.flatMap((c) => c.roles)),
    requester: new Set(spec.requester.people.flatMap((c) => c.roles)),
  };
  const deadline = parseDeadline(spec.deadline, spec.counterparty.timezone);
  if ('error' in deadline) add(['deadline'], deadline.error);
  if (!spec.counterparty.contacts.some((c) => c.roles.includes('primary') && c.address)) {
    add(
      ['counterparty', 'contacts'],
      'needs at least one contact with role "primary" and an address (the request goes there)',
    );
  }
  if (!spec.requester.people.some((c) => c.roles.includes('owner') && c.address)) {
    add(
      ['requester', 'people'],
      'needs at least one person with role "owner" and an address (internal notices and the final report go there)',
    );
  }
  const checkSignOff = (path: PropertyKey[], signOff: SignOff) => {
    if (!spec.requester.people.some((p) => p.roles.includes(signOff.by) && p.address))
      add(
        [...path, 'by'],
        `no requester person has the role "${signOff.by}" and an address (the sign-off request goes there); add one or fix the role`,
      );
  };
  if (spec.requestSignOff) checkSignOff(['requestSignOff'], spec.requestSignOff);
  const contactAddresses = new Set(spec.counterparty.contacts.flatMap((c) => (c.address ? [c.address] : [])));
  const seen = new Map<string, number>();
  spec.items.forEach((item, i) => {
    const first = seen.get(item.id);
    if (first !== undefined)
      add(['items', i, 'id'], `"${item.id}" is already used by items[${first}]; item ids must be unique`);
    else seen.set(item.id, i);
    item.contacts?.forEach((addr, j) => {
      if (!contactAddresses.has(addr))
        add(['items', i, 'contacts', j], `${addr} is not one of counterparty.contacts; add it there first`);
    });
    if (item.deadline !== undefined) {
      const d = parseDeadline(item.deadline, spec.counterparty.timezone);
      if ('error' in d) add(['items', i, 'deadline'], d.error);
    }
  });
  spec.escalation.forEach((step, i) => {
    if (step.action === 'refer' && i !== spec.escalation.length - 1)
      add(['escalation', i, 'action'], 'refer must be the last step of the ladder (nothing happens after a referral)');
    if (step.signOff) checkSignOff(['escalation', i, 'signOff'], step.signOff);
    step.notify.forEach((ref, j) => {
      const [side, role] = ref.split(':') as ['counterparty' | 'requester', string];
      if (!roles[side].has(role))
        add(['escalation', i, 'notify', j], `no ${side} contact has the role "${role}"; add one or fix the role`);
    });
  });
  for (const p of attachmentProblems(spec.attachments ?? [], spec.escalation)) add(p.path, p.message);
  const from = parseClock(spec.calendar.sendWindow.from);
  const to = parseClock(spec.calendar.sendWindow.to);
  if (from !== undefined && to !== undefined && from >= to)
    add(['calendar', 'sendWindow'], 'from must be earlier than to');
}

/** The schema with cross-field rules (unique ids, known roles, parseable deadlines, ...). */
export const CheckedDemandSpec = DemandSpec.superRefine((spec, ctx) => {
  try {
    crossChecks(spec, ctx);
  } catch {
    // zod may run refinements on data that already failed the shape checks; those problems are reported.
  }
});

const TYPE_WORDS: Record<string, string> = {
  array: 'a list',
  object: 'a mapping (key: value)',
  string: 'text',
  number: 'a number',
  boolean: 'true or false',
};

/** Validates parsed YAML/JSON; returns the spec or every problem at once. */
export function checkDemand(input: unknown): { ok: true; spec: DemandSpec } | { ok: false; problems: SpecProblem[] } {
  const parsed = CheckedDemandSpec.safeParse(input);
  if (parsed.success) return { ok: true, spec: parsed.data };
  return { ok: false, problems: parsed.error.issues.map((issue) => issueToProblem(issue, input)) };
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** Turns a zod issue into a problem people can act on. */
export function issueToProblem(issue: z.core.$ZodIssue, input: unknown): SpecProblem {
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return {
      path,
      message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling; see README, "The demand spec")`,
    };
  }
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_union') && valueAt(input, issue.path) === undefined) {
    return { path, message: 'is required' };
  }
  if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')) {
    return { path, message: `must be ${TYPE_WORDS[issue.expected] ?? issue.expected}` };
  }
  return { path, message: issue.message };
}
