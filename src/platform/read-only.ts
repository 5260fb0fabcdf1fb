// Read-only mode, switchable at run time for every OpenSpine process on one database: writes get
// 503 with Retry-After, reads keep working (Spine 2 kept a read-only Spine up during its cut-over).
// The switch is a row in platform_setting; processes hear of changes through LISTEN/NOTIFY.
import type { Logger } from 'pino';
import type { Database } from './db/connect.ts';

const SETTING = 'read_only';
const CHANNEL = 'openspine_settings';

export type ReadOnlySwitch = { isOn(): boolean; close(): Promise<void> };

export async function setReadOnly(db: Database, on: boolean): Promise<void> {
  await db.begin(async (tx) => {
    await tx`insert into platform_setting (name, value, updated_at) values (${SETTING}, ${tx.json(on)}, now())
             on conflict (name) do update set value = excluded.value, updated_at = now()`;
    await tx`select pg_notify(${CHANNEL}, ${SETTING})`;
  });
}

export async function readReadOnly(db: Database): Promise<boolean> {
  const [row] = await db<{ value: boolean }[]>`select value from platform_setting where name = ${SETTING}`;
  return row?.value === true;
}

/** Follows the switch: read now, and again on every notification and every reconnection. */
export async function watchReadOnly(db: Database, log: Logger): Promise<ReadOnlySwitch> {
  let on = await readReadOnly(db);
  const refresh = async (): Promise<void> => {
    const next = await readReadOnly(db);
    if (next !== on) log.warn({ readOnly: next }, next ? 'read-only mode is ON: writes are refused' : 'read-only mode is OFF');
    on = next;
  };
  const listener = await db.listen(CHANNEL, () => void refresh().catch((error: unknown) => log.error({ err: error }, 'read-only refresh failed')), () =>
    void refresh().catch((error: unknown) => log.error({ err: error }, 'read-only refresh failed')),
  );
  return { isOn: () => on, close: () => listener.unlisten() };
}
