import type { BypassRule, Protocol, Recipient, ReferralPolicy, Stage, TrackProtocol } from "../protocol.js";

/**
 * docs/seeds/001_8f567ce270dda0db.txt: Rotherham CYPS, Safeguarding Unit, "Challenge and
 * Resolution Form" and "Challenge and Resolution – Flowchart and Guidance".
 *
 * "This flowchart reflects a combined formal Dispute resolution and Escalation and Challenge process
 * for both Independent Reviewing Officers (IRO) and Child Protection Chairs (CPC)": one ladder,
 * used on both tracks.
 */

const socialWorker: Recipient = { role: "social_worker", title: "Social worker" };
const teamManager: Recipient = { role: "team_manager", title: "Team manager" };
const iroServiceManager: Recipient = { role: "iro_service_manager", title: "IRO/CPC SM" };
const headOfSafeguarding: Recipient = { role: "head_of_safeguarding", title: "HoS (Safeguarding)" };
const counterpartHeadOfService: Recipient = { role: "head_of_service", title: "HoS (counterpart)" };

const stages: Stage[] = [
  {
    id: "informal",
    label: "Informal",
    title: "Informal Escalation Process",
    informal: true,
    // The seed does not say whom the informal conversations are with. The form names the social
    // worker and the team manager; a careful IRO/CPC talks to the worker and keeps the manager sighted.
    recipient: { role: "social_worker", title: "Social Worker" },
    copyTo: [{ role: "team_manager", title: "Team Manager" }],
    responseWindowWorkingDays: 10,
    meeting: false,
    // The informal stage cannot drift: at the end of its 10 working days the IRO/CPC is asked to
    // resolve it or open the formal stage; if they do neither, it progresses to Stage 1 by itself.
    onNoResponse: "ask_raiser",
    onNoResolution: {
      action: "ask_raiser",
      citation:
        "All informal escalations should be resolved within 10 working days or should then progress to a formal escalation.",
    },
    caseNoteTitle: "IRO/Conference Chair Escalation Discussion",
    citation:
      "All informal escalations should be resolved within 10 working days or should then progress to a formal escalation.",
  },
  {
    id: "stage_1",
    label: "Stage 1",
    title: "QA form/ Challenge Escalation Form",
    informal: false,
    recipient: teamManager,
    copyTo: [
      socialWorker,
      { role: "service_manager", title: "Service manager for the responsible team" },
      iroServiceManager,
    ],
    responseWindowWorkingDays: 5,
    // "The Team manager, IRO/CPC and possibly the SW should meet to discuss the issues".
    meeting: true,
    onNoResponse: "escalate",
    // A response with no resolution: the IRO/CPC records the outcome and tells their Service
    // Manager, who takes it to Stage 2; asked, and escalating by itself if nobody decides.
    onNoResolution: {
      action: "ask_raiser",
      citation:
        "The IRO/CPC will update the resolution form to reflect the outcome above and will inform their Service Manager that the challenge has not been resolved.",
    },
    caseNoteTitle: "Challenge and Resolution Form: Stage 1",
    // Unlike the later stages, a failed Stage 1 plan does not revert to Stage 1: "if the agreed
    // actions are not implemented or sufficiently effective ... the process moves directly to the next stage".
    reopenAtStageId: "stage_2",
    citation:
      "If the response is not received in time or if the agreed actions are not implemented or sufficiently effective in the IRO/CPC’s view, the process moves directly to the next stage.",
  },
  {
    id: "stage_2",
    label: "Stage 2",
    title: "Challenge Escalation Form",
    informal: false,
    recipient: { role: "service_manager", title: "responsible Service Manager" },
    // "(copying in the HoS, IRO/CPC, SW and TM)": the IRO/CPC is the raiser and sees everything
    // anyway; the IRO/CPC's own Service Manager forwards the form, so is copied too.
    copyTo: [
      { role: "head_of_service", title: "HoS" },
      { role: "social_worker", title: "SW" },
      { role: "team_manager", title: "TM" },
      iroServiceManager,
    ],
    responseWindowWorkingDays: 5,
    // "a date will be set to discuss the issue within 5 working days" (unless quickly resolved).
    meeting: true,
    // The seed states "moves directly to the next stage" at Stage 1 only; the same rule is applied
    // to every stage, since the flowchart has no other outcome for a missed deadline.
    onNoResponse: "escalate",
    onNoResolution: {
      action: "ask_raiser",
      citation:
        "Should the challenge not be resolved at stage 2, the IRO/CPC Service Manager in consultation with the IRO/CPC will forward the challenge and resolution form to the HoS (Safeguarding)",
    },
    caseNoteTitle: "Challenge and Resolution Form: Stage 2",
    // "the IRO/CPC will revert to the stage 2 process".
    reopenAtStageId: "stage_2",
    citation:
      "The Service Manager in consultation with the IRO/CPC will then forward the form to the responsible Service Manager (copying in the HoS, IRO/CPC, SW and TM)",
  },
  {
    id: "stage_3",
    label: "Stage 3",
    title: "Challenge Escalation Form",
    informal: false,
    recipient: headOfSafeguarding,
    // The HoS (Safeguarding) "should then discuss the matter with their counterpart" and reports
    // back to the IRO/CPC Service Manager, who forwarded the form.
    copyTo: [iroServiceManager, counterpartHeadOfService],
    responseWindowWorkingDays: 5,
    // "The IRO/CPC, SM and HoS (Safeguarding) should meet to discuss the issues as soon as possible."
    meeting: true,
    onNoResponse: "escalate",
    onNoResolution: {
      action: "ask_raiser",
      citation: "or that the matter has not been resolved and progression to stage 4 is required.",
    },
    caseNoteTitle: "Challenge and Resolution Form: Stage 3",
    // "the IRO/CPC will revert back to the stage 3 process via the IRO/CPC Service Manager".
    reopenAtStageId: "stage_3",
    citation:
      "The HoS (Safeguarding) should then discuss the matter with their counterpart and within 5 days give clarity back to the IRO/CPC SM regarding the outcome",
  },
  {
    id: "stage_4",
    label: "Stage 4",
    title: "Challenge Escalation Form",
    informal: false,
    // The form's words. The guidance has the meeting "overseen by the Director of CYPS", with "the
    // DCS making a decision on balance": the directory maps this role to whoever holds it.
    recipient: { role: "director_childrens_services", title: "Deputy Strategic Director/DCS" },
    copyTo: [
      { role: "head_of_safeguarding", title: "Head of Service for Safeguarding" },
      counterpartHeadOfService,
    ],
    // The seed contradicts itself: the form says "(Deputy Strategic Director/DCS - within 5 working
    // days)", the guidance says "Stage 4 (10 Days)" and "request a joint meeting with their
    // counterpart within 10 days". The shorter window protects the child: 5, both sentences cited.
    responseWindowWorkingDays: 5,
    window: {
      length: 5,
      unit: "working_days",
      citation: "(Deputy Strategic Director/DCS - within 5 working days)",
      alsoCitation: "Stage 4 (10 Days)",
    },
    meeting: true,
    onNoResponse: "escalate",
    // The last stage: unresolved, the ladder is exhausted and the IRO/CPC is told to decide what
    // follows (Cafcass, closing); asked first, as at every stage.
    onNoResolution: {
      action: "ask_raiser",
      citation:
        "An Action plan will be devised, with the DCS making a decision on balance if there is continued debate and disagreement between services.",
    },
    caseNoteTitle: "Challenge and Resolution Form: Stage 4",
    // "the IRO/CPC will revert back to the stage 3 process via the IRO/CPC Service Manager".
    reopenAtStageId: "stage_3",
    citation:
      "The Head of Service for Safeguarding will request a joint meeting with their counterpart within 10 days, to be overseen by the Director of CYPS.",
  },
];

/**
 * Bypass: the seed is silent about skipping formal stages.
 * - IROs: the IRO Handbook (6.2) lets an IRO bypass any stage, and Rotherham lets the IRO leave the
 *   ladder for CAFCASS "At any point in this process" (cited), given "a clear rationale ... for not
 *   pursuing the escalation process" (the Bypass command always asks for a rationale).
 * - CPCs have no statutory discretion; the careful default is to allow it only when the child is at
 *   immediate risk of significant harm. The citation is the seed's own allowance for leaving the
 *   informal route "if it is right for the child".
 */
const iroBypass: BypassRule = {
  allowed: "any",
  citation:
    "At any point in this process the IRO has the ability to refer the issue of concern to CAFCASS under the provision above.",
};
const cpcBypass: BypassRule = {
  allowed: "immediate_risk",
  citation:
    "The expectation being that if it is right for the child, the IRO/CPC will seek to resolve issues and concerns at an informal level.",
};

/**
 * CAFCASS: "At any point (subject to Service Manager Agreement)" (form); "Such a step would require
 * the oversight and approval of the Service Manager and HoS for Safeguarding" (guidance). The
 * Service Manager here is the IRO's own ("this should always be discussed with the Service
 * Manager ... The IRO Service Manager will also notify their Head of Service").
 * What the referral does to the ladder: the seed asks for "a clear rationale given for not pursuing
 * the escalation process" before referring, but never says the escalation stops once the referral
 * is made, and it expects the full process to be pursued where there is time ("There will be some
 * cases where there will be time available to pursue the full dispute resolution process"). A
 * referral to CAFCASS can take weeks to act; if it froze the ladder, an unanswered stage would
 * never escalate again. The reading that protects the child: the escalation carries on alongside
 * the referral (an unanswered stage still moves up by itself; the IRO may still escalate).
 * It is an IRO power (Regulation 45), offered on both tracks because the seed's form and flowchart
 * are shared by IROs and CPCs.
 */
const cafcass: ReferralPolicy = {
  when: "any_point",
  raiserRoles: ["IRO"],
  approvalBy: [
    { role: "iro_service_manager", title: "Service Manager" },
    { role: "head_of_safeguarding", title: "HoS for Safeguarding" },
  ],
  attestations: [
    {
      id: "warrants_external_challenge",
      text: "The issues warrant challenge to the local authority from outside the organisation.",
    },
    {
      id: "acute_concern",
      text:
        "The issue is sufficiently acute that the resolution process would cause undue delay, and a clear " +
        "rationale has been given for not pursuing (or completing) the escalation process.",
    },
    {
      id: "impact_on_child_considered",
      text: "The impact of a referral on the child has been considered and the decision is based on the timetable for the child.",
    },
  ],
  concurrentWithEscalation: true,
  concurrency: {
    citation:
      "There will be some cases where there will be time available to pursue the full dispute resolution process as above but this may not always be the case.",
  },
  recipient: { role: "cafcass", title: "CAFCASS" },
  documents: [
    "Copies of any final Care Order and the final Care Plan filed in proceedings.",
    "The report of the children's guardian immediately preceding the making of any Care Order.",
    "The review records from the preceding 12 months.",
    "A report by the IRO explaining why the matter is being referred at this stage and setting out what steps the IRO has taken to resolve the position with the Local Authority.",
    "Where the child is of sufficient age and understanding, a report by the IRO on the child's wishes and feelings, including the child's views in relation to any potential court proceedings.",
    "Names and contact details for relevant professionals in relation to children's social care and any other agencies involved, for example another Local Authority or an NHS Trust.",
    "The most recent Care Plan.",
  ],
  citation:
    "Such a step would require the oversight and approval of the Service Manager and HoS for Safeguarding.",
};

function track(track: "CP" | "LAC"): TrackProtocol {
  return {
    track,
    stages,
    // The seed states per-stage windows but no whole-process target.
    bypass: { IRO: iroBypass, CPC: cpcBypass },
    // The informal stage is expected "if it is right for the child", not required: a formal Stage 1
    // raised directly is not a bypass.
    informalStageOptional: {
      citation:
        "if it is right for the child, the IRO/CPC will seek to resolve issues and concerns at an informal level",
    },
    cafcass,
    endOfLadderGuidance: {},
  };
}

export const rotherham: Protocol = {
  id: "rotherham",
  name: "Rotherham CYPS: Challenge and Resolution",
  source: {
    file: "001_8f567ce270dda0db.txt",
    title: "Challenge and Resolution Form; Challenge and Resolution – Flowchart and Guidance",
  },
  raiserTitles: { IRO: "IRO", CPC: "Child Protection Conference Chair" },
  tracks: { CP: track("CP"), LAC: track("LAC") },
  // The form's "Themes and Issues" tick boxes.
  themes: [
    { id: "voice_of_child", label: "Inadequate Voice of the Child/Young Person" },
    { id: "drift_delay_planning", label: "Drift and delay in progressing the child’s planning" },
    { id: "management_oversight", label: "Lack of management oversight" },
    { id: "drift_delay_legal", label: "Drift and delay in legal planning/escalation" },
    { id: "placement", label: "Placement concerns" },
    { id: "safeguarding", label: "Safeguarding concerns" },
  ],
  // Silent. Five-day windows: remind the recipient one working day before the deadline.
  reminderWorkingDaysBeforeDeadline: 1,
  // Silent: the protocol has no good practice notifications (a tenant may switch them on).
  goodPracticeNotifications: false,
};
