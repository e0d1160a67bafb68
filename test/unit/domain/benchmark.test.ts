import { describe, expect, it } from "vitest";
import {
  MIN_COHORT,
  bandOf,
  distribute,
  roundForKind,
  type MetricValue,
} from "../../../functions/domain/benchmark.js";
import {
  previousQuarter,
  quarterInWords,
  quarterOf,
  quarterPeriod,
} from "../../../functions/domain/quarters.js";

/** One authority's figures: a share, a rate and a day count. */
function authority(share: number | null, rate: number | null, days: number | null): MetricValue[] {
  return [
    { key: "escalated_by_timer", label: "Escalated by the timer", kind: "share", value: share },
    { key: "raised_per_100_children.LAC", label: "LAC per 100", kind: "per_100_children", value: rate },
    { key: "median_working_days_to_resolution", label: "Median days", kind: "working_days", value: days },
  ];
}

describe("the benchmark distribution", () => {
  it.each([0, 1, 2, 3, 4])("suppresses every figure of a cohort of %i authorities", (size) => {
    const cohort = Array.from({ length: size }, (_, i) => authority(0.1 * i, 2 + i, 5 + i));
    const distribution = distribute(cohort);
    expect(distribution.every((d) => d.suppressed)).toBe(true);
    for (const d of distribution) {
      expect(d).not.toHaveProperty("median");
      expect(d).toMatchObject({ reason: "fewer than 5 authorities have this figure" });
    }
  });

  it("shows quartiles, rounded to the figure's step, from five authorities", () => {
    const cohort = [0.12, 0.31, 0.44, 0.57, 0.83].map((share, i) =>
      authority(share, 1.1 + i * 0.7, 3 + i * 2),
    );
    const [share, rate, days] = distribute(cohort);
    // Type 7 quartiles of the shares: 0.31, 0.44, 0.57; rounded to 5 percentage points.
    expect(share).toMatchObject({
      suppressed: false,
      authorities: 5,
      lowerQuartile: 0.3,
      median: 0.45,
      upperQuartile: 0.55,
    });
    // Rates 1.1, 1.8, 2.5, 3.2, 3.9: quartiles 1.8, 2.5, 3.2 rounded to 0.5.
    expect(rate).toMatchObject({ lowerQuartile: 2, median: 2.5, upperQuartile: 3 });
    expect(days).toMatchObject({ lowerQuartile: 5, median: 7, upperQuartile: 9 });
  });

  it("counts only the authorities that have a figure towards its cohort", () => {
    const cohort = [
      ...Array.from({ length: 5 }, (_, i) => authority(0.2 + i * 0.1, 2, 4 + i)),
      authority(null, null, null),
    ];
    const withNulls = distribute(cohort);
    expect(withNulls[0]).toMatchObject({ authorities: 5 });
    // Four with a median, one without: the day count is suppressed while the share is shown.
    const fewer = distribute(cohort.map((figures, i) => (i === 0 ? authority(0.2, 2, null) : figures)));
    expect(fewer.find((d) => d.key === "median_working_days_to_resolution")).toMatchObject({
      suppressed: true,
    });
    expect(fewer.find((d) => d.key === "escalated_by_timer")).toMatchObject({ suppressed: false });
  });

  it("never gives a minimum, a maximum or a value finer than the step, whatever the cohort", () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    for (let round = 0; round < 200; round++) {
      const size = MIN_COHORT + Math.floor(random() * 20);
      const cohort = Array.from({ length: size }, () =>
        authority(random(), random() * 10, Math.floor(random() * 40)),
      );
      for (const d of distribute(cohort)) {
        expect(d.suppressed).toBe(false);
        if (d.suppressed) continue;
        expect(Object.keys(d).sort()).toEqual(
          [
            "authorities",
            "key",
            "kind",
            "label",
            "lowerQuartile",
            "median",
            "suppressed",
            "upperQuartile",
          ].sort(),
        );
        for (const value of [d.lowerQuartile, d.median, d.upperQuartile]) {
          expect(roundForKind(value, d.kind)).toBe(value);
        }
        expect(d.lowerQuartile).toBeLessThanOrEqual(d.median);
        expect(d.median).toBeLessThanOrEqual(d.upperQuartile);
      }
    }
  });

  it("refuses to be asked for a smaller cohort than five", () => {
    expect(() => distribute([], 4)).toThrow(RangeError);
  });
});

describe("placing an authority", () => {
  const quartiles = { lowerQuartile: 0.2, median: 0.4, upperQuartile: 0.6 };
  it.each([
    [0.1, "below_lower_quartile"],
    [0.2, "lower_quartile_to_median"],
    [0.4, "lower_quartile_to_median"],
    [0.5, "median_to_upper_quartile"],
    [0.6, "median_to_upper_quartile"],
    [0.61, "above_upper_quartile"],
  ] as const)("puts %f in %s", (value, band) => {
    expect(bandOf(value, quartiles)).toBe(band);
  });
});

describe("quarters", () => {
  it("gives each quarter's London dates", () => {
    expect(quarterPeriod("2026-Q1")).toEqual({ from: "2026-01-01", to: "2026-03-31" });
    expect(quarterPeriod("2026-Q2")).toEqual({ from: "2026-04-01", to: "2026-06-30" });
    expect(quarterPeriod("2028-Q4")).toEqual({ from: "2028-10-01", to: "2028-12-31" });
    expect(() => quarterPeriod("2026-Q5")).toThrow(RangeError);
  });

  it("finds the quarter of a date and the one before, across a year's end", () => {
    expect(quarterOf("2026-12-04")).toBe("2026-Q4");
    expect(quarterOf("2026-04-01")).toBe("2026-Q2");
    expect(previousQuarter("2027-Q1")).toBe("2026-Q4");
    expect(previousQuarter("2026-Q3")).toBe("2026-Q2");
    expect(quarterInWords("2026-Q3")).toBe("Jul to Sep 2026");
  });
});
