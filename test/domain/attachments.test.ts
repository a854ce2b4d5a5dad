/** The spec's `attachments`: defaults, the cross-field rules with their paths, and the start input's references checked against them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attachmentsFor, refProblems, type AttachmentRef } from '../../domain/attachments';
import { checkDemand } from '../../domain/demand';
import { sampleSpec } from '../../dev/support/specs';

const problems = (attachments: unknown) => {
  const r = checkDemand({ ...sampleSpec('files'), attachments });
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
};

describe('spec attachments', () => {
  it('attaches to the request by default and names a file after its path', () => {
    const r = checkDemand({ ...sampleSpec('files'), attachments: [{ file: 'notices/breach.pdf' }] });
    assert.ok(r.ok);
    assert.deepEqual(r.spec.attachments, [{ file: 'notices/breach.pdf', attachTo: ['request'] }]);
    // A spec without files gets no `attachments` field: the state of running demands keeps its shape.
    const none = checkDemand(sampleSpec('none'));
    assert.ok(none.ok && !('attachments' in none.spec));
  });

  it('refuses names the recipient could not tell apart or save, a final notice the ladder never sends, and unknown fields', () => {
    assert.deepEqual(problems([{ file: 'a/Notice.pdf' }, { file: 'b/notice.PDF', name: 'notice.pdf' }]), [
      'attachments[1].name: "notice.pdf" is already the name of attachments[0]; the recipient could not tell them apart (set name:)',
    ]);
    assert.match(
      problems([{ file: 'x.pdf', name: 'a/b.pdf' }])[0]!,
      /^attachments\[0\]\.name: the attachment name "a\/b\.pdf"/,
    );
    const noFinal = checkDemand({
      ...sampleSpec('files'),
      escalation: [{ after: 'P1D', notify: ['counterparty:escalation'] }],
      attachments: [{ file: 'x.pdf', attachTo: ['final-notice'] }],
    });
    assert.deepEqual(!noFinal.ok && noFinal.problems, [
      {
        path: 'attachments[0].attachTo',
        message:
          'no escalation step sends a final notice (message: final-notice); remove final-notice or add such a step',
      },
    ]);
    assert.deepEqual(problems([{ file: 'x.pdf', attachTo: ['reminder'], sha: 1 }]), [
      'attachments[0].attachTo[0]: must be request or final-notice',
      'attachments[0]: unknown field "sha" (check the spelling; see README, "The demand spec")',
    ]);
    assert.match(problems(Array.from({ length: 11 }, (_, i) => ({ file: `${i}.pdf` })))[0]!, /must have at most 10/);
  });

  it('a start input must carry one matching reference per file; messages other than the request and final notice carry none', () => {
    const spec = [{ file: 'n.pdf', attachTo: ['request' as const, 'final-notice' as const] }];
    const ref: AttachmentRef = {
      name: 'n.pdf',
      sha256: 'a'.repeat(64),
      size: 3,
      contentType: 'application/pdf',
      attachTo: ['request', 'final-notice'],
    };
    assert.deepEqual(
      refProblems(
        [...spec].map((s) => ({ ...s, attachTo: [...s.attachTo] })),
        [ref],
      ),
      [],
    );
    assert.match(refProblems([{ file: 'n.pdf', attachTo: ['request'] }], undefined)[0]!, /carries 0 stored reference/);
    assert.deepEqual(refProblems([{ file: 'n.pdf', attachTo: ['request'] }], [ref]), [
      "attachments[0]: the stored reference does not match the spec's entry",
    ]);
    assert.deepEqual(refProblems([], undefined), []);
    assert.deepEqual(attachmentsFor([ref], 'final-notice'), [ref]);
    assert.deepEqual(attachmentsFor([ref], 'reminder'), []);
    assert.deepEqual(attachmentsFor([{ ...ref, attachTo: ['request'] }], 'final-notice'), []);
  });
});
