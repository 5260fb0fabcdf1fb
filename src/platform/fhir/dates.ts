// FHIR date, dateTime and instant values as the instant range they cover: "2020" is all of 2020.
// Used both to index a resource's dates and to read the dates of a search.
// https://hl7.org/fhir/R4/search.html#date

export type InstantRange = { low: Date; high: Date };

/**
 * The time zone of a search date without one, where it is compared with instants (an audit
 * record's time): "where both search parameters and resource element date times do not have time
 * zones, the server's local time zone should be assumed" (R4 search, date), and this server's
 * users keep England's time. Resources' own dates are indexed in UTC, as their searches read them.
 */
export const ENGLAND_TIME_ZONE = 'Europe/London';

const DATE_PATTERN = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** `localZone`: the IANA time zone of a value that names none (UTC unless given). */
export function dateRange(value: string, localZone = 'UTC'): InstantRange | undefined {
  const match = DATE_PATTERN.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  const local = (wallClock: number) => (localZone === 'UTC' ? wallClock : instantOfWallClock(wallClock, localZone));
  const y = Number(year);
  if (month === undefined) return span(local(utc(y, 0, 1)), local(utc(y + 1, 0, 1)));
  const m = Number(month) - 1;
  if (m < 0 || m > 11) return undefined;
  if (day === undefined) return span(local(utc(y, m, 1)), local(utc(y, m + 1, 1)));
  const d = Number(day);
  if (d < 1 || d > new Date(utc(y, m + 1, 0)).getUTCDate()) return undefined;
  // A local day is the time between two midnights: 23 or 25 hours where the clocks change.
  if (hour === undefined) return span(local(utc(y, m, d)), local(utc(y, m, d + 1)));
  const parsed = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second ?? '00'}${fraction ?? ''}${zone ?? 'Z'}`);
  if (Number.isNaN(parsed)) return undefined;
  const instant = zone === undefined ? local(parsed) : parsed;
  // Without seconds the value covers the whole minute; with them, the whole second (or given fraction).
  const width = second === undefined ? 60_000 : fraction === undefined ? 1_000 : 1;
  return span(instant, instant + width);
}

/**
 * The instant at which the clocks of `zone` show `wallClock` (a time read as if it were UTC). The
 * zone's offset is taken at a first guess and then again at the instant it gives, which differs
 * only across a change of the clocks. A time the clocks skip is read with the offset before the
 * change, and a time they show twice as the later of the two.
 */
function instantOfWallClock(wallClock: number, zone: string): number {
  const guess = wallClock - zoneOffset(zone, wallClock);
  return wallClock - zoneOffset(zone, guess);
}

const ZONE_CLOCKS = new Map<string, Intl.DateTimeFormat>();

/** How far the clocks of `zone` are ahead of UTC at `instant`, in milliseconds. */
function zoneOffset(zone: string, instant: number): number {
  let clocks = ZONE_CLOCKS.get(zone);
  if (!clocks) {
    const numeric = 'numeric' as const;
    clocks = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hourCycle: 'h23', era: 'short', year: numeric, month: numeric, day: numeric, hour: numeric, minute: numeric, second: numeric });
    ZONE_CLOCKS.set(zone, clocks);
  }
  const field = new Map(clocks.formatToParts(instant).map((part) => [part.type, part.value]));
  const number = (type: Intl.DateTimeFormatPartTypes) => Number(field.get(type));
  // Years before 1 AD are written as years of the era BC: 1 BC is the year 0.
  const year = field.get('era') === 'BC' ? 1 - number('year') : number('year');
  const shown = utc(year, number('month') - 1, number('day')) + ((number('hour') * 60 + number('minute')) * 60 + number('second')) * 1000;
  return shown - (instant - (((instant % 1000) + 1000) % 1000));
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
