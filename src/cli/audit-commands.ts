// `openspine audit verify`: checks the hash chain of the audit trail and names every record that
// was edited, removed or moved.
import type { Command } from 'commander';
import { verifyAuditTrail } from '../audit/index.ts';
import type { ConfigInput } from '../platform/config.ts';
import { databaseOptions, withDatabase } from './shared.ts';

export function registerAuditCommands(program: Command): void {
  const verify = databaseOptions(program.command('audit').description('the tamper-evident audit trail').command('verify'))
    .description('check the hash chain of the audit trail: names every record edited, removed or moved; exits 1 if any');
  verify.action(async (options: ConfigInput) =>
    withDatabase(verify, options, async (db) => {
      const { checked, problems } = await verifyAuditTrail(db);
      for (const { sequence, problem, detail } of problems) console.log(`record ${sequence}: ${problem}: ${detail}`);
      if (problems.length === 0) {
        console.log(`The audit trail is intact: ${checked} records checked.`);
      } else {
        console.log(`The audit trail has been tampered with: ${problems.length === 1 ? '1 problem' : `${problems.length} problems`} in ${checked} records checked.`);
        process.exitCode = 1;
      }
    }),
  );
}
