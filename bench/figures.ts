/** One row of the summary `npm run bench` prints last: a figure of issue 11's table, now and its target. */
export interface BenchFigure {
  readonly figure: string;
  readonly now: string;
  readonly target: string;
  /** Whether this run meets the target; undefined where the section cannot say. */
  readonly met?: boolean;
}
