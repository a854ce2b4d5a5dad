/**
 * The short version of `npm run drill -- --only multi-host`: two workers and two gateways with data
 * folders of their own, one dev server, one S3 server (versitygw, Object Lock); replies through both
 * gateways, workers SIGKILLed at random, then export and verify from a third, empty data folder.
 */
import { after, before, describe, it } from 'node:test';
import { multiHostDrill } from '../../dev/drill/multi-host';
import { seeded } from '../../dev/drill/main';
import { s3ServerOrSkip, startS3Server, type S3Server } from '../../dev/support/s3-server';
import { assertClean } from '../helpers/drill';

describe('multi-host drill, short version (2 workers, 2 gateways, S3 storage)', async () => {
  const available = await s3ServerOrSkip();
  let s3: S3Server | undefined;
  before(async () => {
    if (!available.skip) s3 = await startS3Server({ binary: available.binary! });
  });
  after(() => s3?.close());

  it(
    'workers SIGKILLed at random while replies reach both gateways: nothing lost, evidence locked, every case file verifies from a third folder',
    { skip: available.skip },
    async (t) => {
      const seed = Number(process.env.AUDITFLOW_DRILL_SEED ?? Date.now() % 100_000);
      t.diagnostic(`seed ${seed} (replay: npm run drill -- --only multi-host --quick --seed ${seed})`);
      process.stdout.write(`# multi-host drill seed ${seed}\n`);
      const r = await multiHostDrill({
        demands: 3,
        replies: 2,
        kills: 2,
        deadlineIn: 20,
        s3: s3!,
        random: seeded(seed),
      });
      assertClean(r, 3 * 7);
    },
  );
});
