/**
 * Benchmarks: speed and memory of the pure core, printed as figures (never asserted: timings on a
 * shared 2-core machine vary; compare runs on the same machine). `npm run bench`.
 */
import { createEnglandCalendar } from "../functions/domain/calendar.js";
import type {
  Actor,
  Assignee,
  ChallengeEvent,
  ChallengeForm,
  ChallengeState,
  Command,
  DecideContext,
} from "../functions/domain/challenge/index.js";
import { decide, evolve, initialState, replay } from "../functions/domain/challenge/index.js";
import { getPreset } from "../functions/domain/presets/index.js";
import { eventHash } from "../functions/store/event-hash.js";

type Draft = Command extends infer C ? (C extends Command ? Omit<C, "challengeId"> : never) : never;

const protocol = getPreset("nottingham");
const IRO: Actor = { id: "iro-bench", role: "IRO" };
const TIMER: Actor = { id: "workflow-timer", role: "system" };

/** An invented child and team: benchmarks never touch real data. */
const form: ChallengeForm = {
  child: {
    name: "Bench Child",
    dateOfBirth: "2015-04-01",
    caseRecordId: "LCS-000001",
    caseRecordSystem: "LCS",
  },
  track: "LAC",
  raiserRole: "IRO",
  socialWorker: { name: "Sam Worker" },
  team: { id: "team-north", name: "North Family Support" },
  teamManagerName: "Terry Manager",
  worries: "The care plan's contact arrangements have not been put in place.",
  actionsTaken: "Discussed with the social worker on two occasions.",
  impactOnChild: "The child has not seen their sibling for three months.",
  childViews: "Wants to see their sibling every fortnight.",
  whatNeedsToHappen: "Contact arrangements agreed and started.",
  desiredOutcome: "Fortnightly sibling contact.",
  timescale: "Within 10 working days",
  themes: [],
  immediateRisk: false,
};

const directory = Object.assign(
  (recipient: { role: string; title: string }): Assignee => ({
    ...recipient,
    personId: `p-${recipient.role}`,
    email: `${recipient.role}@council.example`,
  }),
  {
    standing: (personId: string, role: string) =>
      personId === `p-${role}` ? ("holder" as const) : undefined,
  },
);

function context(calendar: ReturnType<typeof createEnglandCalendar>, now: Date): DecideContext {
  let ids = 0;
  return { protocol, calendar, directory, now, newId: () => `a-${++ids}` };
}

/** Runs a command that must be accepted, folding its events into the state. */
function apply(
  state: ChallengeState,
  command: Draft,
  ctx: DecideContext,
  sink: ChallengeEvent[],
): ChallengeState {
  const result = decide(state, { ...command, challengeId: state.challengeId }, ctx);
  if (!result.ok) throw new Error(`${command.type} refused: ${result.error.message}`);
  sink.push(...result.events);
  return result.events.reduce(evolve, state);
}

/** One challenge through the whole ladder by the timer, then reopened and resolved: ~12 events. */
function oneChallenge(
  id: string,
  calendar: ReturnType<typeof createEnglandCalendar>,
  start: Date,
): ChallengeEvent[] {
  const events: ChallengeEvent[] = [];
  let state = initialState(id);
  let now = start;
  state = apply(state, { type: "Raise", actor: IRO, channel: "api", form }, context(calendar, now), events);
  while (state.status === "open" && state.currentStage !== null) {
    now = new Date(Date.parse(state.currentStage.deadline) + 1000);
    const stageId = state.currentStage.stageId;
    state = apply(
      state,
      { type: "AutoEscalate", actor: TIMER, channel: "timer", stageId },
      context(calendar, now),
      events,
    );
  }
  const summary = "Agreed at the director's meeting.";
  apply(state, { type: "MarkResolved", actor: IRO, channel: "api", summary }, context(calendar, now), events);
  return events;
}

function time<T>(label: string, iterations: number, unit: string, run: () => T): T {
  run(); // warm-up: JIT and the calendar's per-year holiday cache
  const started = performance.now();
  let result = run();
  for (let i = 1; i < iterations; i++) result = run();
  const ms = performance.now() - started;
  const perSecond = Math.round((iterations / ms) * 1000);
  console.log(
    `${label.padEnd(58)} ${perSecond.toLocaleString("en-GB").padStart(12)} ${unit}/s   (${(ms / iterations).toFixed(3)} ms each)`,
  );
  return result;
}

const calendar = createEnglandCalendar({ closureDays: ["2026-12-29", "2026-12-30", "2026-12-31"] });
const start = new Date("2026-05-21T09:00:00Z");

console.log(
  `Challenge & Resolution Service benchmarks (Node ${process.version}, ${new Date().toISOString()})\n`,
);

let day = 0;
time("calendar: deadline 5 working days ahead (random starts)", 20_000, "deadlines", () => {
  day = (day + 7919) % 3650;
  return calendar.deadlineAfter(new Date(Date.UTC(2022, 0, 1) + day * 86_400_000), 5);
});

const cold = createEnglandCalendar();
const coldStarted = performance.now();
for (let year = 2020; year < 2040; year++) cold.deadlineAfter(new Date(Date.UTC(year, 5, 1)), 5);
console.log(
  `${"calendar: first deadline in each of 20 years (holiday cache cold)".padEnd(58)} ${(performance.now() - coldStarted).toFixed(1).padStart(12)} ms total`,
);

let n = 0;
const events = time("domain: one challenge raised, escalated 4 times, resolved", 2_000, "challenges", () =>
  oneChallenge(`ch-${++n}`, calendar, start),
);
console.log(`${"  (events per challenge)".padEnd(58)} ${String(events.length).padStart(12)}`);

time("domain: replay a challenge's events into its state", 50_000, "replays", () => replay(events));

let prevHash = "";
time("store: hash one event into the audit chain (SHA-256)", 50_000, "events", () => {
  prevHash = eventHash("bench", events[0], prevHash);
  return prevHash;
});

// Memory: what 10,000 open challenges' states cost in a process (a report over a busy quarter).
globalThis.gc?.();
const before = process.memoryUsage().heapUsed;
const states: ChallengeState[] = [];
for (let i = 0; i < 10_000; i++) states.push(replay(oneChallenge(`m-${i}`, calendar, start)));
globalThis.gc?.();
const after = process.memoryUsage().heapUsed;
console.log(
  `${"memory: 10,000 resolved challenges' states held".padEnd(58)} ${((after - before) / 1024 / 1024).toFixed(1).padStart(12)} MiB  (${Math.round((after - before) / states.length).toLocaleString("en-GB")} bytes each${globalThis.gc === undefined ? "; run with --expose-gc for a cleaner figure" : ""})`,
);
await (await import("./calls.js")).printCalls();
