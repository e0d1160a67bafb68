import type { BypassRule, Protocol, ReferralPolicy, Stage, Track, TrackProtocol } from "../protocol.js";

/**
 * docs/seeds/000_cc8bd49fbf9cf7e3.txt: "Issues Resolution and Challenge Protocol, Child Protection
 * (CP) and Looked After Children (LAC)", an authority recording on the LCS case record.
 *
 * The two tracks are the same ladder of two-week steps ("Week 1-2", "Week 3-4", ...): ten working
 * days each. IROs chair both the CP conferences and the LAC reviews here, so the raiser on both
 * tracks is normally an IRO.
 *
 * Interpretive choices (the seed is silent):
 * - The informal concern of 2.2 ("raise that concern informally with the social worker or immediate
 *   line manager") has no timescale and comes *before* the table: "If the informal resolution does
 *   not achieve change, then the processes set out below should be followed." So the table is the
 *   formal process and Level 1 is not an informal stage; the raiser records the informal attempt in
 *   the form's "actions taken".
 * - No response: the table is a timetable ("Outcome of level 1 has not been achieved within the
 *   timeframes and therefore the IRO alerts ..."), so each step moves on when its two weeks pass;
 *   after Stage 2 the ladder is exhausted and the "Week 9-10" step (note a difference, Cafcass) follows.
 * - No whole-process target: the seed gives per-step maxima ("The timescales set out below are the
 *   maximum") but no total, so none is set; the steps add up to 40 working days.
 * - Sections 1.3/1.4 describe a separate route for disagreement about a plan's *content* (first line
 *   managers, Heads of Service, then the Director of Specialist Services). The model has one ladder
 *   per track, and the table (the ladder for a plan not being progressed) is what this preset runs.
 */

const query = ["query", "action", "outcome"];

/**
 * Each step of the table is two weeks ("Week 1-2", "Week 3-4", ...), a maximum: a calendar window,
 * not ten working days (a bank holiday does not lengthen it).
 */
const twoWeeks = {
  length: 2,
  unit: "weeks",
  citation: "The timescales set out below are the maximum.",
} as const;

/**
 * The table is a timetable: when a step's two weeks end without resolution, the next step follows
 * ("Outcome of level 1 has not been achieved within the timeframes and therefore the IRO alerts
 * ..."), whether or not anyone answered. So an unresolved step escalates by itself, as does an
 * unanswered one.
 */
const nextStepFollows = {
  action: "escalate",
  citation:
    "Outcome of level 1 has not been achieved within the timeframes and therefore the IRO alerts the IRO TM, CAS ATM and the CAS TM to this query/concern for discussion and it is resolved.",
} as const;

function ladder(track: Track, level1Citation: string): Stage[] {
  return [
    {
      id: "level_1",
      label: "Level 1",
      title: `IRO Level 1 Discussion (${track})`,
      informal: false,
      recipient: { role: "social_worker", title: "SW" },
      copyTo: [],
      // "Week 1-2": two weeks.
      responseWindowWorkingDays: 10,
      window: twoWeeks,
      meeting: false,
      onNoResponse: "escalate",
      onNoResolution: nextStepFollows,
      caseNoteTitle: `IRO Level 1 Discussion (${track})`,
      caseNoteIncludes: query,
      citation: level1Citation,
    },
    {
      id: "level_2",
      label: "Level 2",
      title: `IRO Level 2 Discussion (${track})`,
      informal: false,
      // The alert goes to three managers "for discussion": the case-holding team manager answers
      // for the team; the IRO's own team manager and the assistant team manager are copied.
      recipient: { role: "team_manager", title: "CAS TM" },
      copyTo: [
        { role: "iro_team_manager", title: "IRO TM" },
        { role: "assistant_team_manager", title: "CAS ATM" },
      ],
      // "Week 3-4".
      responseWindowWorkingDays: 10,
      window: twoWeeks,
      meeting: false,
      onNoResponse: "escalate",
      onNoResolution: nextStepFollows,
      caseNoteTitle: `IRO Level 2 Discussion (${track})`,
      caseNoteIncludes: query,
      citation:
        "Outcome of level 1 has not been achieved within the timeframes and therefore the IRO alerts the IRO TM, CAS ATM and the CAS TM to this query/concern for discussion and it is resolved.",
    },
    {
      id: "stage_1",
      label: "Stage 1",
      title: `IRO Stage 1- Issues Resolution Meeting (${track})`,
      informal: false,
      recipient: { role: "head_of_service", title: "Heads of Service" },
      copyTo: [{ role: "case_monitoring_board", title: "Case Monitoring Board" }],
      // "Week 5-6".
      responseWindowWorkingDays: 10,
      window: twoWeeks,
      meeting: true,
      onNoResponse: "escalate",
      onNoResolution: nextStepFollows,
      caseNoteTitle: `IRO Stage 1- Issues Resolution Meeting (${track})`,
      caseNoteIncludes: query,
      citation:
        "If there is no resolution to the query/issue, a meeting to be held with Heads of Service. Discussion and outcome of meeting captured on LCS and Case Monitoring Board is alerted.",
    },
    {
      id: "stage_2",
      label: "Stage 2",
      title: `IRO Stage 2 – Issues Resolution Meeting (${track}) Exceptional Circumstances`,
      informal: false,
      // "Attendees decided at the time of meeting as appropriate": nobody is copied by default.
      recipient: { role: "assistant_director", title: "AD (or appointee)" },
      copyTo: [],
      // "Week 7-8".
      responseWindowWorkingDays: 10,
      window: twoWeeks,
      meeting: true,
      onNoResponse: "escalate",
      onNoResolution: nextStepFollows,
      caseNoteTitle: `IRO Stage 2 – Issues Resolution Meeting (${track})`,
      caseNoteIncludes: query,
      citation:
        "Should no resolution be made, a progression to Stage 2 Issue Resolution Meeting with AD to discuss issues accordingly.",
    },
  ];
}

/**
 * Bypass: the seed is silent.
 * - An IRO on the LAC track may bypass any stage: the IRO Handbook (statutory guidance, 6.2) gives
 *   IROs that discretion and a local protocol's silence cannot take it away. The citation is the
 *   seed's statement that the IRO's duty here is statutory.
 * - On the CP track (and for a conference chair on either track) there is no statutory basis, so
 *   the careful default is the one 003 states: only when the child is at immediate risk of
 *   significant harm. The citation is the seed's own allowance for urgency.
 */
const urgency: BypassRule = {
  allowed: "immediate_risk",
  citation:
    "The age of the child and the nature of the concern may require that a response is required more quickly.",
};
const statutoryIro: BypassRule = {
  allowed: "any",
  citation:
    "is a primary responsibility for Independent Reviewing Officers; indeed it is a statutory responsibility in respect of looked after children.",
};

/**
 * Cafcass: the seed mentions it on both tracks, after the last stage ("Week 9-10"), and says the
 * challenge "is part of a process that should be undertaken before any referral to CAF/CASS".
 * No approvals, attestations or documents are named. (A Regulation 45 referral concerns looked-after
 * children; on the CP track it applies when the child is also looked after.)
 */
const cafcass: ReferralPolicy = {
  when: "after_final_stage",
  raiserRoles: ["IRO"],
  approvalBy: [],
  attestations: [],
  concurrentWithEscalation: false,
  recipient: { role: "cafcass", title: "CAFCASS" },
  documents: [],
  citation:
    "IRO to follow escalation process as appropriate and can consider contacting CAFCASS accordingly.",
};

const difference: NonNullable<TrackProtocol["difference"]> = {
  decidedBy: { role: "assistant_director", title: "AD" },
  // The step is "Week 9-10": two weeks, a maximum, like every step of the table (see twoWeeks).
  window: { length: 2, unit: "weeks" },
  citation:
    "Should the IRO maintain their position, note difference on LCS. Consider the issues which are significantly different. AD to make decision on upholding differences.",
};

const endOfLadderGuidance: TrackProtocol["endOfLadderGuidance"] = {
  IRO:
    "Should the IRO maintain their position, note the difference on LCS: the AD decides on upholding differences. " +
    "Follow the escalation process as appropriate and consider contacting CAFCASS. Note final agreed decisions on LCS.",
};

export const lcsIssuesResolution: Protocol = {
  id: "lcs-issues-resolution",
  name: "Issues Resolution and Challenge Protocol (CP and LAC, LCS)",
  source: {
    file: "000_cc8bd49fbf9cf7e3.txt",
    title: "Issues Resolution and Challenge Protocol: Child Protection (CP) and Looked After Children (LAC)",
  },
  raiserTitles: { IRO: "IRO", CPC: "IRO (Child Protection Case Conference chair)" },
  tracks: {
    CP: {
      track: "CP",
      stages: ladder(
        "CP",
        "If there is a disagreement in the decision/outcome of the CPCC between IRO and SW; discussion to take place between these professionals and the query/issue is resolved.",
      ),
      bypass: { IRO: urgency, CPC: urgency },
      cafcass,
      // 1.3: a disagreement with another agency's professional goes to the partnership's procedure
      // instead of this ladder (the HSCB, now the Safeguarding Children Partnership).
      partnership: {
        when: "any_point",
        raiserRoles: ["IRO", "CPC"],
        approvalBy: [],
        attestations: [],
        concurrentWithEscalation: false,
        recipient: { role: "safeguarding_partnership", title: "HSCB escalation procedure" },
        documents: [],
        citation:
          "If the disagreement concerns a professional from another agency, the HSCB escalation procedure should be used.",
      },
      difference,
      endOfLadderGuidance,
    },
    LAC: {
      track: "LAC",
      stages: ladder(
        "LAC",
        "If there is a disagreement in the decision/outcome of the Care Plan/Pathway Plan between IRO and SW; discussion to take place between these professionals and the query/issue is resolved.",
      ),
      bypass: { IRO: statutoryIro, CPC: urgency },
      cafcass,
      difference,
      endOfLadderGuidance,
    },
  },
  // The seed has no tick boxes; these are the kinds of issue it names (1.1, 1.2, 1.3, 2.2 and the table).
  themes: [
    { id: "plan_not_progressed", label: "Failure to progress the implementation of the plan" },
    { id: "resources", label: "Necessary resources not made available" },
    {
      id: "decision_disagreement",
      label: "Disagreement in the decision/outcome of the conference or review",
    },
    { id: "plan_content", label: "Disagreement about the content of the plan" },
  ],
  // Silent. Two-week windows: remind the recipient two working days before the deadline, early
  // enough to book the meeting the step may need.
  reminderWorkingDaysBeforeDeadline: 2,
  // Silent: the protocol has no good practice notifications (a tenant may switch them on).
  goodPracticeNotifications: false,
};
