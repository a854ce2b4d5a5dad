/**
 * `npm run drill`: the fault drills of issue 6 at full size (not part of `npm test`; short versions are
 * test/drills/drills.test.ts). Prints what each drill did, `lost=<n> duplicated=<n>` per drill and a
 * summary table; exits 1 if any drill lost an email, duplicated beyond its allowance, sent a copy that
 * was not byte-identical, saw a determinism error, or left a demand short of its end.
 *
 * Usage: npm run drill [-- --only worker-kill,smtp-outage,server-restart,gateway,multi-host] [--quick] [--seed N]
 */
import os from 'node:os';
import { startS3Server } from '../support/s3-server';
import { resolveVersitygw } from '../versitygw';
import { multiHostDrill } from './multi-host';
import { gatewayDrill, serverRestartDrill, smtpOutageDrill, workerKillDrill, type DrillResult } from './drills';

const NAMES = ['worker-kill', 'smtp-outage', 'server-restart', 'gateway', 'multi-host'] as const;
type Name = (typeof NAMES)[number];

const out = (line: string) => process.stdout.write(`${line}\n`);

/** A small seeded generator (mulberry32), so a failing run can be repeated with --seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function parseArgs(argv: string[]): { only: Name[]; quick: boolean; seed: number } {
  const only: Name[] = [];
  let quick = false;
  let seed = Date.now() % 100_000;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a.includes('=') ? a.split('=')[1]! : (argv[++i] ?? '');
      for (const n of v.split(',')) {
        if (!(NAMES as readonly string[]).includes(n))
          throw new Error(`unknown drill "${n}"; choose from ${NAMES.join(', ')}`);
        only.push(n as Name);
      }
    } else if (a === '--seed' || a.startsWith('--seed=')) seed = Number(a.includes('=') ? a.split('=')[1] : argv[++i]);
    else
      throw new Error(
        `unknown argument ${a}\nusage: npm run drill [-- --only ${NAMES.join(',')}] [--quick] [--seed N]`,
      );
  }
  return { only: only.length ? only : [...NAMES], quick, seed };
}

function report(r: DrillResult): void {
  out(`\n== ${r.name} (${r.seconds} s)`);
  for (const d of r.did) out(`  ${d}`);
  out(
    `  demands ${r.ended}/${r.demands} reached their end${r.notEnded.length ? `; not: ${r.notEnded.slice(0, 5).join(', ')}` : ''}`,
  );
  out(
    `  emails: ${r.tally.expected} logical, ${r.tally.arrived} arrived; byte-identical duplicates allowed: ${r.allowance}`,
  );
  for (const e of [...r.tally.examples, ...r.problems, ...r.determinismErrors]) out(`  ! ${e}`);
  out(
    [
      `  lost=${r.tally.lost} duplicated=${r.tally.duplicated}`,
      r.tally.differing ? ` differing=${r.tally.differing}` : '',
      r.tally.unexpected ? ` unexpected=${r.tally.unexpected}` : '',
      ` determinism-errors=${r.determinismErrors.length}`,
      r.transientTaskFailures.length ? ` transient-task-failures=${r.transientTaskFailures.length}` : '',
      ` -> ${r.ok ? 'PASS' : 'FAIL'}`,
    ].join(''),
  );
}

async function main(): Promise<number> {
  const { only, quick, seed } = parseArgs(process.argv.slice(2));
  const log = (l: string) => out(`  ... ${l}`);
  out(
    `auditflow fault drills${quick ? ' (quick)' : ''}: ${only.join(', ')}; seed ${seed}; ` +
      `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GB, ` +
      `Node ${process.version}, ${new Date().toISOString()}`,
  );
  const run: Record<Name, () => Promise<DrillResult>> = {
    'worker-kill': () =>
      workerKillDrill({
        demands: quick ? 10 : 50,
        kills: quick ? 3 : 10,
        deadlineIn: quick ? 30 : 60,
        random: seeded(seed),
        log,
      }),
    'smtp-outage': () =>
      smtpOutageDrill({ demands: quick ? 5 : 20, deadlineIn: quick ? 30 : 60, outageSeconds: quick ? 12 : 30, log }),
    'server-restart': () =>
      serverRestartDrill({ demands: quick ? 5 : 20, deadlineIn: quick ? 30 : 60, downSeconds: quick ? 10 : 20, log }),
    gateway: () => gatewayDrill({ kills: quick ? 2 : 5, spooledKills: quick ? 1 : 3, log }),
    'multi-host': async () => {
      // Its own S3 server (versitygw, built once per machine with go install when it is missing).
      const s3 = await startS3Server({ binary: (await resolveVersitygw({ log })).path });
      try {
        return await multiHostDrill({
          demands: quick ? 6 : 20,
          replies: quick ? 4 : 10,
          kills: quick ? 3 : 8,
          aimedKills: quick ? 1 : 3,
          deadlineIn: quick ? 30 : 60,
          s3,
          random: seeded(seed),
          log,
        });
      } finally {
        await s3.close();
      }
    },
  };
  const results: DrillResult[] = [];
  for (const name of only) {
    out(`\nrunning ${name} ...`);
    try {
      const r = await run[name]();
      results.push(r);
      report(r);
    } catch (err) {
      out(`  ! ${name} could not run: ${(err as Error).stack ?? err}`);
      results.push({
        name,
        did: [],
        demands: 0,
        ended: 0,
        notEnded: [],
        tally: { expected: 0, arrived: 0, lost: 0, duplicated: 0, differing: 0, unexpected: 0, examples: [] },
        allowance: 0,
        determinismErrors: [],
        transientTaskFailures: [],
        problems: [(err as Error).message],
        seconds: 0,
        ok: false,
      });
    }
  }
  out(
    '\n| drill | demands ended | emails (logical / arrived) | lost | duplicated (allowed) | determinism errors | time | result |',
  );
  out('|---|---|---|---|---|---|---|---|');
  for (const r of results)
    out(
      `| ${r.name} | ${r.ended}/${r.demands} | ${r.tally.expected} / ${r.tally.arrived} | ${r.tally.lost} ` +
        `| ${r.tally.duplicated} (${r.allowance}) | ${r.determinismErrors.length} | ${r.seconds} s | ${r.ok ? 'pass' : 'FAIL'} |`,
    );
  return results.every((r) => r.ok) ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`drill failed: ${(err as Error).message}\n`);
      process.exit(2);
    },
  );
}
