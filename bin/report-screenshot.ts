/**
 * Renders the printable themes report (functions/reports/reports.ts `toHtml`) for an invented demo
 * authority and screenshots it with headless Chromium, for the documentation:
 *
 *   npx tsx bin/report-screenshot.ts [output.png]        (default docs/report.png)
 *   npx tsx bin/report-screenshot.ts --live              (docs/live-page.png, docs/live-page-phone.png)
 *
 * Needs a Chromium on the PATH (Debian: `apt-get install chromium`; .ci/run installs it), or its
 * path in CHROMIUM. test/integration/live-page-chromium.test.ts renders the live page with it. The browser runs with a fresh profile in a temp
 * folder, no network features, and loads nothing but the local page (which itself loads nothing).
 *
 * The demo: an authority running Halton's protocol (docs/seeds/002, the protocol that asks for the
 * quarterly themes report), April to June 2026, challenges run through the real domain (`decide`,
 * `replay`) with the real England calendar. Every child, worker and manager here is invented.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { livePage, timelineOfEvents, toLiveHtml } from "../functions/reports/live-page.js";
import { themesReport, toHtml } from "../functions/reports/reports.js";
import type { PersonNames } from "../functions/domain/words.js";
import { createEnglandCalendar } from "../functions/domain/calendar.js";
import {
  type Actor,
  type Assignee,
  type ChallengeEvent,
  type ChallengeForm,
  type ChallengeState,
  type Command,
  type DirectoryLookup,
  decide,
  replay,
} from "../functions/domain/challenge/index.js";
import { getPreset } from "../functions/domain/presets/index.js";
import type { Protocol, Recipient } from "../functions/domain/protocol.js";

const calendar = createEnglandCalendar();
const halton = getPreset("halton");
export const DEMO_PERIOD = { from: "2026-04-01", to: "2026-06-30" } as const;
/** Good practice notifications in the demo quarter (their own record; a count is all the report needs). */
const DEMO_GOOD_PRACTICE = 7;

const IRM: Actor = { id: "irm-ada", role: "IRO" };
const CP_IRM: Actor = { id: "cp-irm-bea", role: "CPC" };
const TIMER: Actor = { id: "workflow-timer", role: "system" };

const TEAMS = {
  north: { id: "north", name: "North Locality Team" },
  south: { id: "south", name: "South Locality Team" },
  care: { id: "care", name: "Children in Care Team" },
  fostering: { id: "fostering", name: "Fostering & Adoption Team" },
} as const;
type TeamKey = keyof typeof TEAMS;

/** The invented holder of a protocol role in a team: `<role>@<team>`. */
const directory: DirectoryLookup = Object.assign(
  (recipient: Recipient, scope: { teamId: string }): Assignee => ({
    role: recipient.role,
    title: recipient.title,
    personId: `${recipient.role}@${scope.teamId}`,
    email: `${recipient.role}.${scope.teamId}@example.org`,
  }),
  {
    standing: (personId: string, role: string, scope: { teamId: string }) =>
      personId === `${role}@${scope.teamId}` ? ("holder" as const) : undefined,
  },
);

const managerOf = (role: string, team: TeamKey): Actor => ({ id: `${role}@${team}`, role: "manager" });

type CommandWithoutId = Command extends infer C
  ? C extends Command
    ? Omit<C, "challengeId">
    : never
  : never;

/** One invented challenge: runs commands the domain must accept, keeps every event. */
class DemoChallenge {
  readonly events: ChallengeEvent[] = [];
  private ids = 0;

  constructor(
    readonly protocol: Protocol,
    readonly challengeId: string,
  ) {}

  get state(): ChallengeState {
    return replay(this.events, this.challengeId);
  }

  do(command: CommandWithoutId, at: string): this {
    const result = decide(
      this.state,
      { ...command, challengeId: this.challengeId },
      {
        protocol: this.protocol,
        calendar,
        directory,
        now: new Date(at),
        newId: () => `${this.challengeId}-act-${++this.ids}`,
      },
    );
    if (!result.ok) {
      throw new Error(
        `${this.challengeId}: ${command.type} refused: ${result.error.code}: ${result.error.message}`,
      );
    }
    this.events.push(...result.events);
    return this;
  }
}

let childNumber = 0;

function form(track: "CP" | "LAC", team: TeamKey, themes: readonly string[]): ChallengeForm {
  childNumber += 1;
  return {
    child: {
      name: `Demo Child ${childNumber}`,
      dateOfBirth: "2015-03-01",
      caseRecordId: `DEMO-${String(childNumber).padStart(4, "0")}`,
      caseRecordSystem: "LCS",
    },
    track,
    raiserRole: track === "CP" ? "CPC" : "IRO",
    socialWorker: { name: "Sol Madeup" },
    team: TEAMS[team],
    teamManagerName: "Tam Fictional",
    worries: "The plan has drifted.",
    actionsTaken: "Discussed with the social worker.",
    impactOnChild: "Needs are not being met.",
    childViews: "Wants things to move on.",
    whatNeedsToHappen: "The agreed actions to be completed.",
    desiredOutcome: "Plan back on track.",
    timescale: "Five working days.",
    themes: [...themes],
    immediateRisk: false,
  };
}

/** The demo quarter's challenges. */
export function demoChallenges(): DemoChallenge[] {
  childNumber = 0; // the same invented case-record ids however often the demo is built
  const challenge = (id: string) => new DemoChallenge(halton, id);
  const raise = (track: "CP" | "LAC", team: TeamKey, themes: readonly string[]) =>
    ({
      type: "Raise",
      actor: track === "CP" ? CP_IRM : IRM,
      channel: "api",
      form: form(track, team, themes),
    }) as const;
  const respond = (role: string, team: TeamKey) =>
    ({
      type: "Respond",
      actor: managerOf(role, team),
      channel: "email",
      response: "Actions agreed.",
    }) as const;
  const resolve = (actor: Actor) =>
    ({ type: "MarkResolved", actor, channel: "api", summary: "Resolved." }) as const;
  const escalate = (actor: Actor) =>
    ({ type: "Escalate", actor, channel: "api", reasons: "Not resolved." }) as const;
  const timeout = (stageId: string) =>
    ({ type: "AutoEscalate", actor: TIMER, channel: "timer", stageId }) as const;

  return [
    challenge("demo-01")
      .do(raise("LAC", "north", ["review_preparation", "social_worker_visits"]), "2026-04-07T09:00:00Z")
      .do(respond("team_manager", "north"), "2026-04-09T09:00:00Z")
      .do(resolve(IRM), "2026-04-10T09:00:00Z"),
    challenge("demo-02")
      .do(raise("CP", "south", ["conference_report_standard"]), "2026-04-09T09:00:00Z")
      .do(escalate(CP_IRM), "2026-04-17T09:00:00Z")
      .do(escalate(CP_IRM), "2026-04-24T09:00:00Z")
      .do(respond("assistant_director", "south"), "2026-04-29T09:00:00Z")
      .do(resolve(CP_IRM), "2026-05-06T09:00:00Z"),
    challenge("demo-03")
      .do(
        raise("CP", "south", ["core_group_meetings", "cp_plan_decisions_not_carried_out"]),
        "2026-04-14T09:00:00Z",
      )
      .do(escalate(CP_IRM), "2026-04-22T09:00:00Z")
      .do(respond("service_manager", "south"), "2026-04-24T09:00:00Z")
      .do(resolve(CP_IRM), "2026-04-28T09:00:00Z"),
    challenge("demo-04")
      .do(raise("LAC", "care", ["family_finding", "placement_choice"]), "2026-04-20T09:00:00Z")
      .do(escalate(IRM), "2026-04-23T09:00:00Z")
      .do(timeout("stage_2"), "2026-05-01T08:00:00Z")
      .do(respond("assistant_director", "care"), "2026-05-12T09:00:00Z")
      .do(resolve(IRM), "2026-05-15T09:00:00Z"),
    challenge("demo-05")
      .do(raise("LAC", "care", ["supervision", "allocation_history"]), "2026-04-28T09:00:00Z")
      .do(respond("team_manager", "care"), "2026-04-30T09:00:00Z")
      .do(resolve(IRM), "2026-05-01T09:00:00Z"),
    challenge("demo-06")
      .do(raise("LAC", "north", ["assessments", "decisions_within_timescales"]), "2026-05-05T09:00:00Z")
      .do(escalate(IRM), "2026-05-08T09:00:00Z")
      .do(
        {
          type: "AgreeActionPlan",
          actor: managerOf("service_manager", "north"),
          channel: "api",
          actions: [{ action: "Complete the assessment", byWhen: "2026-05-19", byWhom: "Social worker" }],
        },
        "2026-05-12T09:00:00Z",
      )
      .do(
        { type: "CompleteAction", actor: IRM, channel: "api", actionId: "demo-06-act-1" },
        "2026-05-20T09:00:00Z",
      )
      .do(resolve(IRM), "2026-05-21T09:00:00Z"),
    challenge("demo-07")
      .do(raise("CP", "north", ["child_not_seen", "safeguarding_not_addressed"]), "2026-05-11T09:00:00Z")
      .do(respond("team_manager", "north"), "2026-05-12T09:00:00Z")
      .do(resolve(CP_IRM), "2026-05-13T09:00:00Z"),
    challenge("demo-08")
      .do(raise("LAC", "south", ["education_provision", "health_provision"]), "2026-05-18T09:00:00Z")
      .do(escalate(IRM), "2026-05-21T09:00:00Z")
      .do(timeout("stage_2"), "2026-06-01T08:00:00Z")
      .do(timeout("stage_3"), "2026-06-09T08:00:00Z")
      .do(timeout("stage_4"), "2026-06-17T08:00:00Z")
      .do(
        {
          type: "RequestReferral",
          actor: IRM,
          channel: "api",
          kind: "cafcass",
          rationale: "Every stage tried without resolution.",
          attestations: ["human_rights_risk", "no_one_else_to_bring_proceedings"],
        },
        "2026-06-18T09:00:00Z",
      ),
    challenge("demo-09")
      .do(raise("LAC", "fostering", ["oppressive_practice"]), "2026-05-26T09:00:00Z")
      .do(respond("team_manager", "fostering"), "2026-05-28T09:00:00Z")
      .do(resolve(IRM), "2026-06-02T09:00:00Z"),
    challenge("demo-10")
      .do(raise("CP", "south", ["poor_partnership_working"]), "2026-06-01T09:00:00Z")
      .do(
        { type: "Withdraw", actor: CP_IRM, channel: "api", reason: "Raised in error." },
        "2026-06-03T09:00:00Z",
      ),
    challenge("demo-11")
      .do(
        raise("CP", "north", ["cp_plan_decisions_not_carried_out", "child_not_seen"]),
        "2026-06-02T09:00:00Z",
      )
      .do(escalate(CP_IRM), "2026-06-05T09:00:00Z")
      .do(respond("service_manager", "north"), "2026-06-09T09:00:00Z")
      .do(resolve(CP_IRM), "2026-06-10T09:00:00Z"),
    challenge("demo-12")
      .do(raise("LAC", "fostering", ["placement_choice", "endorsing_care_plan"]), "2026-06-08T09:00:00Z")
      .do(escalate(IRM), "2026-06-11T09:00:00Z")
      .do(timeout("stage_2"), "2026-06-19T08:00:00Z")
      .do(respond("assistant_director", "fostering"), "2026-06-25T09:00:00Z")
      .do(resolve(IRM), "2026-06-29T09:00:00Z"),
    challenge("demo-13")
      .do(
        raise("LAC", "north", ["decisions_within_timescales", "review_preparation"]),
        "2026-06-15T09:00:00Z",
      )
      .do(escalate(IRM), "2026-06-18T09:00:00Z"),
    challenge("demo-14").do(raise("CP", "north", ["core_group_meetings"]), "2026-06-22T09:00:00Z"),
  ];
}

/** Challenges raised in the quarters before the demo quarter, and the demo quarter's open ones, for the live page. */
export function demoLiveChallenges(): DemoChallenge[] {
  const challenge = (id: string) => new DemoChallenge(halton, id);
  const raiseLac = (team: TeamKey, themes: readonly string[]) =>
    ({ type: "Raise", actor: IRM, channel: "api", form: form("LAC", team, themes) }) as const;
  const acknowledge = (role: string, team: TeamKey, channel: "link" | "email" | "api") =>
    ({ type: "Acknowledge", actor: managerOf(role, team), channel }) as const;
  const respond = (role: string, team: TeamKey) =>
    ({ type: "Respond", actor: managerOf(role, team), channel: "email", response: "Agreed." }) as const;
  const resolve = { type: "MarkResolved", actor: IRM, channel: "api", summary: "Resolved." } as const;
  const escalate = { type: "Escalate", actor: IRM, channel: "api", reasons: "Not resolved." } as const;
  return [
    ...demoChallenges(),
    challenge("demo-q4-1")
      .do(raiseLac("north", ["placement_choice", "review_preparation"]), "2025-11-03T09:00:00Z")
      .do(acknowledge("team_manager", "north", "email"), "2025-11-03T11:00:00Z")
      .do(respond("team_manager", "north"), "2025-11-05T09:00:00Z")
      .do(resolve, "2025-11-06T09:00:00Z"),
    challenge("demo-q4-2")
      .do(raiseLac("care", ["supervision"]), "2025-12-01T09:00:00Z")
      .do(escalate, "2025-12-04T09:00:00Z")
      .do(respond("service_manager", "care"), "2025-12-10T09:00:00Z")
      .do(resolve, "2025-12-15T09:00:00Z"),
    challenge("demo-q1-1")
      .do(raiseLac("south", ["placement_choice", "education_provision"]), "2026-01-12T09:00:00Z")
      .do(respond("team_manager", "south"), "2026-01-14T09:00:00Z")
      .do(resolve, "2026-01-15T09:00:00Z"),
    challenge("demo-q1-2")
      .do(raiseLac("north", ["placement_choice"]), "2026-02-09T09:00:00Z")
      .do(escalate, "2026-02-12T09:00:00Z")
      .do(escalate, "2026-02-19T09:00:00Z")
      .do(respond("assistant_director", "north"), "2026-02-25T09:00:00Z")
      .do(resolve, "2026-03-04T09:00:00Z"),
    challenge("demo-15")
      .do(raiseLac("care", ["health_provision"]), "2026-06-24T09:00:00Z")
      .do(acknowledge("team_manager", "care", "link"), "2026-06-24T09:40:00Z"),
    challenge("demo-16")
      .do(raiseLac("fostering", ["placement_choice"]), "2026-06-25T13:00:00Z")
      .do(acknowledge("team_manager", "fostering", "email"), "2026-06-25T15:10:00Z"),
  ];
}

/** The instant the demo live page is drawn at: a Friday morning at the end of the demo quarter. */
export const DEMO_LIVE_NOW = new Date("2026-06-26T09:30:00Z");

/** The demo live page (functions/reports/live-page.ts) as one HTML page. */
export function demoLiveHtml(): string {
  const challenges = demoLiveChallenges().filter((c) =>
    c.events.every((e) => Date.parse(e.at) <= DEMO_LIVE_NOW.getTime()),
  );
  const states = challenges.map((c) => c.state);
  const names: PersonNames = (personId) => DEMO_NAMES[personId];
  const page = livePage({
    open: states.filter((s) => s.status === "open" || s.status === "ladder_exhausted"),
    raised: states,
    raisedEvents: challenges.flatMap((c) => c.events),
    protocols: [halton],
    calendar,
    now: DEMO_LIVE_NOW,
    names,
    timelines: new Map(challenges.map((c) => [c.challengeId, timelineOfEvents(c.events, halton, names)])),
    title: "Demo Borough: where every challenge stands",
  });
  return toLiveHtml(page);
}

/** Invented names for the demo directory. */
const DEMO_NAMES: Readonly<Record<string, string>> = {
  "team_manager@north": "Nia Northwood",
  "team_manager@care": "Cal Carewell",
  "team_manager@fostering": "Fen Fosterly",
  "service_manager@north": "Sam Servicemann",
  "irm-ada": "Ada Reviewer",
  "cp-irm-bea": "Bea Chair",
};

/** The demo report as one HTML page. */
export function demoReportHtml(): string {
  const challenges = demoChallenges();
  const report = themesReport(
    challenges.map((c) => c.state),
    challenges.flatMap((c) => c.events),
    halton,
    DEMO_PERIOD,
    calendar,
    {
      goodPracticeNotifications: DEMO_GOOD_PRACTICE,
      title: "Demo Borough: challenge and resolution themes report",
    },
  );
  return toHtml(report);
}

const run = promisify(execFile);

/** Writes the demo themes report to a temp folder and screenshots it with a fresh, offline Chromium profile. */
export async function screenshot(
  output: string,
  chromium = process.env.CHROMIUM ?? "chromium",
): Promise<void> {
  await screenshotHtml(demoReportHtml(), output, { chromium });
}

export interface ChromiumOptions {
  /** The browser: default `$CHROMIUM`, else `chromium` on the PATH. */
  readonly chromium?: string;
  /** The window in CSS pixels (a phone: 390 wide). Default 1200 x 1600. */
  readonly width?: number;
  readonly height?: number;
}

/**
 * Writes `html` to a temp folder and runs headless Chromium on it with a fresh, offline profile,
 * with `action` (`--screenshot=<file>` or `--dump-dom`); returns what Chromium printed.
 */
async function runChromium(html: string, action: string, options: ChromiumOptions): Promise<string> {
  const chromium = options.chromium ?? process.env.CHROMIUM ?? "chromium";
  const work = await mkdtemp(join(tmpdir(), "report-screenshot-"));
  try {
    const page = join(work, "report.html");
    await writeFile(page, html, "utf8");
    const profile = join(work, "profile");
    const { stdout } = await run(
      chromium,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        `--user-data-dir=${profile}`,
        action,
        `--window-size=${options.width ?? 1200},${options.height ?? 1600}`,
        pathToFileURL(page).href,
      ],
      { timeout: 60_000, maxBuffer: 32 * 1024 * 1024 },
    );
    return stdout;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Screenshots `html` as Chromium renders it, to `output` (PNG). */
export async function screenshotHtml(
  html: string,
  output: string,
  options: ChromiumOptions = {},
): Promise<void> {
  await runChromium(html, `--screenshot=${output}`, options);
}

/** The document as Chromium parsed and laid it out (`--dump-dom`): what a test can read back. */
export function renderedDom(html: string, options: ChromiumOptions = {}): Promise<string> {
  return runChromium(html, "--dump-dom", options);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv[2] === "--live") {
    // The live page, at desktop and phone widths.
    const docs = (name: string) => fileURLToPath(new URL(`../docs/${name}`, import.meta.url));
    await screenshotHtml(demoLiveHtml(), docs("live-page.png"), { width: 1200, height: 2000 });
    await screenshotHtml(demoLiveHtml(), docs("live-page-phone.png"), { width: 390, height: 1400 });
    console.log(`wrote ${docs("live-page.png")} and ${docs("live-page-phone.png")}`);
  } else {
    const output = resolve(process.argv[2] ?? fileURLToPath(new URL("../docs/report.png", import.meta.url)));
    await screenshot(output);
    console.log(`wrote ${output}`);
  }
}
