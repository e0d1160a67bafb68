/**
 * Calendar quarters (Q1: January to March), as the reports count them: the benchmark across
 * authorities and the live page's quarterly figures. Quarters are of London dates.
 */
import { monthName } from "./dates-in-words.js";

/** A calendar quarter, `YYYY-Qn`. */
export const QUARTER_PATTERN = /^(\d{4})-Q([1-4])$/;

function parse(quarter: string): { year: number; q: number } {
  const match = QUARTER_PATTERN.exec(quarter);
  if (match === null) throw new RangeError(`not a quarter: ${JSON.stringify(quarter)} (YYYY-Qn)`);
  return { year: Number(match[1]), q: Number(match[2]) };
}

/** The London dates (inclusive) a quarter covers. */
export function quarterPeriod(quarter: string): { from: string; to: string } {
  const { year, q } = parse(quarter);
  const first = (q - 1) * 3 + 1;
  const last = first + 2;
  const lastDay = new Date(Date.UTC(year, last, 0)).getUTCDate();
  const pad = (n: number): string => String(n).padStart(2, "0");
  return { from: `${year}-${pad(first)}-01`, to: `${year}-${pad(last)}-${pad(lastDay)}` };
}

/** The quarter a London date (YYYY-MM-DD) falls in. */
export function quarterOf(londonDate: string): string {
  const year = Number(londonDate.slice(0, 4));
  const month = Number(londonDate.slice(5, 7));
  return `${year}-Q${Math.floor((month - 1) / 3) + 1}`;
}

/** The quarter before. */
export function previousQuarter(quarter: string): string {
  const { year, q } = parse(quarter);
  return q === 1 ? `${year - 1}-Q4` : `${year}-Q${q - 1}`;
}

/** "Jul to Sep 2026". */
export function quarterInWords(quarter: string): string {
  const { year, q } = parse(quarter);
  const month = (m: number): string => monthName(m).slice(0, 3);
  return `${month((q - 1) * 3 + 1)} to ${month((q - 1) * 3 + 3)} ${year}`;
}
