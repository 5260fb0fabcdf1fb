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
  if (month === undefined) return span(utc(y, 0, 1), utc(y + 1, 0, 1));
  const m = Number(month) - 1;
  if (m < 0 || m > 11) return undefined;
  if (day === undefined) return span(utc(y, m, 1), utc(y, m + 1, 1));
  const d = Number(day);
  if (d < 1 || d > new Date(utc(y, m + 1, 0)).getUTCDate()) return undefined;
  if (hour === undefined) return span(utc(y, m, d), utc(y, m, d + 1));
  const instant = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second ?? '00'}${fraction ?? ''}${zone ?? 'Z'}`);
  if (Number.isNaN(instant)) return undefined;
  // Without seconds the value covers the whole minute; with them, the whole second (or given fraction).
  const width = second === undefined ? 60_000 : fraction === undefined ? 1_000 : 1;
  return span(instant, instant + width);
}

/**
 * Date.UTC for every year: Date.UTC itself reads the years 0 to 99 as 1900 to 1999. Those are
 * computed 400 years on (the Gregorian calendar repeats every 400 years) and moved back.
 */
function utc(year: number, month: number, day: number): number {
  if (year >= 100) return Date.UTC(year, month, day);
  const date = new Date(Date.UTC(year + 400, month, day));
  date.setUTCFullYear(date.getUTCFullYear() - 400);
  return date.getTime();
}

function span(start: number, endExclusive: number): InstantRange {
  return { low: new Date(start), high: new Date(endExclusive - 1) };
}
