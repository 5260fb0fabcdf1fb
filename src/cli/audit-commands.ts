// `openspine audit verify` checks the hash chain of the audit trail, and against anchors published
// before, naming every record that was edited, removed, moved or rewritten; `audit head` prints
// the current anchor to keep somewhere the database's administrators cannot reach; `audit records`
// prints records as JSON lines (the blocks store them compressed, so SQL alone cannot read them).
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { anchorsInLog, formatAnchor, parseAnchor, readChainHead, readRecords, verifyAuditTrail } from '../audit/index.ts';
import type { ConfigInput } from '../platform/config.ts';
import { databaseOptions, progressReporter, withDatabase, wholeNumber } from './shared.ts';

type VerifyOptions = ConfigInput & { anchor?: string[]; anchorsFrom?: string[]; from?: string; threads: number };
type RecordsOptions = ConfigInput & { after: number; limit: number };

/** One verifying thread a core: on 2 cores, 240k-320k records/s against 155k-212k with none (README, bench figures). */
const DEFAULT_VERIFY_THREADS = Math.min(availableParallelism(), 8);

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit trail');
  const verify = databaseOptions(audit.command('verify'))
    .description('check the hash chain of the audit trail: names every record edited, removed, moved or rewritten; exits 1 if any (progress and rate on stderr)')
    .option('--anchor <sequence:hash...>', 'an anchor published earlier (the server logs one a minute as "audit anchor"; `audit head` prints one): the trail must still pass through it')
    .option('--anchors-from <log file...>', 'check every anchor found in these server logs (JSON lines)')
    .option('--from <sequence:hash>', 'walk only the records after this anchor, one an earlier run verified the trail up to: what was added since, not the whole trail')
    .option('--threads <count>', 'threads that unpack and hash the records while the chain is walked (0: none besides the walk; by default one a core, at most 8)', wholeNumber, DEFAULT_VERIFY_THREADS);
  verify.action(async (options: VerifyOptions) => {
    const anchors = [...(options.anchor ?? []).map(parseAnchor), ...(options.anchorsFrom ?? []).flatMap((file) => anchorsInLog(readFileSync(file, 'utf8')))];
    await withDatabase(verify, options, async (db) => {
      // Made at the first report, before the first page: the chain head read then is the total.
      let progress: ReturnType<typeof progressReporter> | undefined;
      const onProgress = (checked: number, upTo: number) => (progress ??= progressReporter('records verified', { records: upTo }))({ records: checked });
      const from = options.from === undefined ? undefined : parseAnchor(options.from);
      const { checked, problems } = await verifyAuditTrail(db, { anchors, onProgress, threads: options.threads, ...(from ? { from } : {}) });
      progress?.({ records: checked }, true);
      for (const { sequence, problem, detail } of problems) console.log(`record ${sequence}: ${problem}: ${detail}`);
      const walked = `${checked} ${checked === 1 ? 'record' : 'records'}${from === undefined ? '' : ` after ${from.sequence}`}`;
      const against = anchors.length === 0 ? '' : ` and ${anchors.length === 1 ? '1 anchor' : `${anchors.length} anchors`}`;
      if (problems.length === 0) {
        console.log(`The audit trail is intact: ${walked}${against} checked.`);
      } else {
        console.log(`The audit trail has been tampered with: ${problems.length === 1 ? '1 problem' : `${problems.length} problems`} in ${walked}${against} checked.`);
        process.exitCode = 1;
      }
    });
  });
  const head = databaseOptions(audit.command('head'))
    .description('print the audit chain head as an anchor (sequence:hash), to keep outside the database and give to `audit verify --anchor` later');
  head.action(async (options: ConfigInput) => withDatabase(head, options, async (db) => console.log(formatAnchor(await readChainHead(db)))));
  const records = databaseOptions(audit.command('records'))
    .description('print audit records in chain order, one JSON object a line')
    .option('--after <sequence>', 'start after this record', wholeNumber, 0)
    .option('--limit <count>', 'the most records printed', wholeNumber, 1000);
  records.action(async (options: RecordsOptions) =>
    withDatabase(records, options, async (db) => {
      for (const record of await readRecords(db, { after: options.after, limit: options.limit })) console.log(JSON.stringify(record));
    }));
}
