// A searchset Bundle as PDS sends it: with no matches, `total` 0 and no `entry` at all (FHIR JSON
// allows no empty arrays; the PDS spec's empty searchsets have none).
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';

export function searchset<T extends Resource>(entry: BundleEntry<T>[]): Bundle<T> {
  return { resourceType: 'Bundle', type: 'searchset', timestamp: new Date().toISOString(), total: entry.length, ...(entry.length > 0 ? { entry } : {}) };
}
