// FHIR date, dateTime and instant values as the instant range they cover: "2020" is all of 2020.
// Used both to index a resource's dates and to read the dates of a search.
// https://hl7.org/fhir/R4/search.html#date

export type InstantRange = { low: Date; high: Date };

const DATE_PATTERN = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

export function dateRange(value: string): InstantRange | undefined {
  const match = DATE_PATTERN.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  const y = Number(year);
  if (month === undefined) return span(Date.UTC(y, 0, 1), Date.UTC(y + 1, 0, 1));
  const m = Number(month) - 1;
  if (m < 0 || m > 11) return undefined;
  if (day === undefined) return span(Date.UTC(y, m, 1), Date.UTC(y, m + 1, 1));
  const d = Number(day);
  if (d < 1 || d > new Date(Date.UTC(y, m + 1, 0)).getUTCDate()) return undefined;
  if (hour === undefined) return span(Date.UTC(y, m, d), Date.UTC(y, m, d + 1));
  const instant = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second ?? '00'}${fraction ?? ''}${zone ?? 'Z'}`);
  if (Number.isNaN(instant)) return undefined;
  // Without seconds the value covers the whole minute; with them, the whole second (or given fraction).
  const width = second === undefined ? 60_000 : fraction === undefined ? 1_000 : 1;
  return span(instant, instant + width);
}

function span(start: number, endExclusive: number): InstantRange {
  return { low: new Date(start), high: new Date(endExclusive - 1) };
}
