// Merged records: a superseded NHS number stands for the record that replaced it, which PDS
// returns in its place on a read and in search results (patient-get.yaml, "Superseded patients";
// patient-search.yaml, "Invalidated patients").
import type { Queryable } from '../platform/db/connect.ts';
import { readPatient, type PatientRow } from './store.ts';

/** Superseded numbers are followed to their survivor, never further than this. */
const MAX_SUPERSESSIONS = 5;

/** The record that stands for this one: itself, or the survivor its merges lead to (undefined if that is missing). */
export async function survivingRecord(db: Queryable, row: PatientRow | undefined): Promise<PatientRow | undefined> {
  let current = row;
  for (let hops = 0; current?.supersededBy && hops < MAX_SUPERSESSIONS; hops++) current = await readPatient(db, current.supersededBy);
  return current;
}
