import type { BypassRule, Protocol, Stage } from "../protocol.js";

/**
 * docs/seeds/002_4488970175b7e51c.txt: Halton, "IRM Dispute Resolution process for Child
 * Protection and Looked After Children". Halton calls its IROs Independent Reviewing Managers
 * (IRMs); those chairing child protection conferences are "CP IRMs".
 *
 * Role slugs: Halton's own table pairs its managers with the partner agencies' (Principal Manager
 * with "Team Manager (with line management responsibility for the worker)", Divisional Manager with
 * "Service Manager"), so the slugs are the shared ones: a Principal Manager is `team_manager`, a
 * Divisional Manager `service_manager`, and the Operational Director (the tier between them and the
 * DCS) `assistant_director`. The titles keep Halton's words.
 */

/** "At each of the stages, a response is required within 5 working days of receipt of the alert." */
const responseWindow = 5;

/**
 * The CP section's rule for an unresolved stage: at the deadline the alert moves up by itself,
 * whether or not a response came. The LAC section is silent; the same rule is applied there (a
 * holding reply must not stall the LAC ladder either, and its 20-day total needs it).
 */
const progressUnlessResolved: NonNullable<Stage["onNoResolution"]> = {
  action: "escalate",
  citation:
    "The alert will progress up to the next stage if a response is not received or resolution is not achieved.",
};

const cpStages: Stage[] = [
  {
    id: "stage_1",
    label: "Stage 1",
    title: "Stage 1: informal",
    informal: true,
    recipient: { role: "team_manager", title: "Principal Manager" },
    partnerRecipient: {
      role: "team_manager",
      title: "Team Manager (with line management responsibility for the worker)",
    },
    copyTo: [],
    responseWindowWorkingDays: responseWindow,
    meeting: false,
    onNoResponse: "escalate",
    onNoResolution: progressUnlessResolved,
    caseNoteTitle: "CP dispute resolution: Stage 1 (informal) alert",
    citation:
      "Stage 1: informal\tPrincipal Manager\tTeam Manager (with line management responsibility for the worker)",
  },
  {
    id: "stage_2",
    label: "Stage 2",
    title: "Stage 2: formal",
    informal: false,
    recipient: { role: "service_manager", title: "Divisional Manager" },
    partnerRecipient: { role: "service_manager", title: "Service Manager" },
    copyTo: [],
    responseWindowWorkingDays: responseWindow,
    meeting: false,
    onNoResponse: "escalate",
    onNoResolution: progressUnlessResolved,
    caseNoteTitle: "CP dispute resolution: Stage 2 (formal) alert",
    citation: "Stage 2: formal\tDivisional Manager\tService Manager",
  },
  {
    id: "stage_3",
    label: "Stage 3",
    title: "Stage 3",
    informal: false,
    recipient: { role: "assistant_director", title: "Operational Director" },
    partnerRecipient: {
      role: "agency_safeguarding_lead",
      title: "Agency Safeguarding Lead for the partnership",
    },
    copyTo: [],
    responseWindowWorkingDays: responseWindow,
    meeting: false,
    onNoResponse: "escalate",
    onNoResolution: progressUnlessResolved,
    caseNoteTitle: "CP dispute resolution: Stage 3 alert",
    citation: "Stage 3:\tOperational Director\tAgency Safeguarding Lead for the partnership",
  },
  {
    id: "stage_4",
    label: "Stage 4",
    title: "Stage 4",
    informal: false,
    // The partner-agency column is empty at Stage 4: the last alert goes to the DCS whoever the
    // challenge is with, so there is no partnerRecipient.
    recipient: { role: "director_childrens_services", title: "Director of Children's Services" },
    copyTo: [],
    responseWindowWorkingDays: responseWindow,
    meeting: false,
    onNoResponse: "escalate",
    onNoResolution: progressUnlessResolved,
    caseNoteTitle: "CP dispute resolution: Stage 4 alert",
    citation: "Stage 4:\tDirector of Children's Services",
  },
];

/**
 * The LAC section gives no per-stage window. The CP section's "5 working days" at each stage is
 * applied here too: four alerts of five days fit the LAC total ("must be completed within 20
 * working days"). No response escalates, as in CP, or the 20 days could not hold.
 * Cafcass, the table's stage 5, is the referral policy, not a rung of the ladder.
 */
const lacStages: Stage[] = [
  {
    id: "stage_1",
    label: "Stage 1",
    title: "Stage 1 - informal",
    informal: true,
    recipient: { role: "team_manager", title: "Principal Manager" },
    copyTo: [],
    responseWindowWorkingDays: responseWindow,
    meeting: false,
    onNoResponse: "escalate",
    onNoResolution: progressUnlessResolved,
    caseNoteTitle: "LAC dispute resolution: Stage 1 (informal) case note",
    citation: "Stage 1: IRM raises alert with the Principal Manager",
  },
  {
    id: "stage_2",
    label: "Stage 2",
    title: "Stage 2 - formal",
    informal: false,
    recipient: { role: "service_manager", title: "Divisional Manager" },
    copyTo: [],
    responseWindowWorkingDays: responseWindow,
    meeting: false,
    onNoResponse: "escalate",
    onNoResolution: progressUnlessResolved,
    caseNoteTitle: "LAC dispute resolution: Stage 2 alert",
    citation: "Stage 2: IRM raises alert with the Divisional Manager",
  },
  {
    id: "stage_3",
    label: "Stage 3",
    title: "Stage 3",
    informal: false,
    recipient: { role: "assistant_director", title: "Operational Director" },
    copyTo: [],
    responseWindowWorkingDays: responseWindow,
    meeting: false,
    onNoResponse: "escalate",
    onNoResolution: progressUnlessResolved,
    caseNoteTitle: "LAC dispute resolution: Stage 3 alert",
    citation: "Stage 3: IRM raises alert with Operational Director",
  },
  {
    id: "stage_4",
    label: "Stage 4",
    title: "Stage 4",
    informal: false,
    // "IRM manager raises alert": at Stage 4 the IRM's manager sends the alert. The model has no
    // sender role per stage; the raiser's manager is sighted through the directory, not the data.
    recipient: { role: "director_childrens_services", title: "Director of Children's Services" },
    copyTo: [],
    responseWindowWorkingDays: responseWindow,
    meeting: false,
    onNoResponse: "escalate",
    onNoResolution: progressUnlessResolved,
    caseNoteTitle: "LAC dispute resolution: Stage 4 alert",
    citation: "Stage 4: IRM manager raises alert with Director of Children's Services",
  },
];

/** CP IRMs (the conference chairs) never skip a stage, on either track. */
const noBypass: BypassRule = {
  allowed: "never",
  citation:
    "In contrast to LAC the CP IRM will follow each stage and does not have the discretion to go straight to stages 3 or 4.",
};

export const halton: Protocol = {
  id: "halton",
  name: "Halton: IRM Dispute Resolution process for Child Protection and Looked After Children",
  source: {
    file: "002_4488970175b7e51c.txt",
    title: "IRM Dispute Resolution process for Child Protection and Looked After Children",
  },
  raiserTitles: { IRO: "IRM", CPC: "CP IRM" },
  tracks: {
    CP: {
      track: "CP",
      stages: cpStages,
      // The CP section states no whole-process total (the LAC section's 20 days is not repeated).
      bypass: { IRO: noBypass, CPC: noBypass },
      // No informalStageOptional: the CP IRM "will follow each stage", so a CP challenge starts at
      // Stage 1 (informal); starting at Stage 2 would skip a stage, which noBypass refuses.
      // The CP section has no Cafcass referral and no partnership referral.
      endOfLadderGuidance: {},
    },
    LAC: {
      track: "LAC",
      stages: lacStages,
      totalTargetWorkingDays: 20,
      informalStageOptional: {
        citation: "Stage 2 alert may be initiated immediately or following a notice period.",
      },
      bypass: {
        IRO: {
          allowed: "any",
          citation:
            "The IRM may bypass any Stage and progress the dispute to the level s/he considers most appropriate.",
        },
        CPC: noBypass,
      },
      // No approval: the Divisional Manager "can disagree with the IRMs cause of action but will act
      // to facilitate the escalation process", and discussing it first is only good practice.
      cafcass: {
        when: "any_point",
        raiserRoles: ["IRO"],
        approvalBy: [],
        attestations: [
          {
            id: "human_rights_risk",
            text: "There is a risk of the child's human rights being breached.",
          },
          {
            id: "no_one_else_to_bring_proceedings",
            text:
              "No other suitable adult is able and willing to take the case on the child's behalf, and the child is " +
              "not of sufficient age and understanding and wanting to bring proceedings on their own behalf.",
          },
        ],
        concurrentWithEscalation: true,
        recipient: { role: "cafcass", title: "CAFCASS Legal" },
        documents: [],
        citation:
          "The IRM has the authority to refer the matter to CAFCASS at any point in the dispute resolution process (Regulation 45) and may consider it necessary to make a concurrent referral to CAFCASS at the same time that s/he instigates the dispute resolution process.",
      },
      endOfLadderGuidance: {
        IRO:
          "Refer to CAFCASS Legal if every attempt has been made to resolve the problem up to the Director of " +
          "Children's Services and there is still a risk of the child's human rights being breached. It is good " +
          "practice, but not an obligation, to discuss it with the DCS first.",
      },
    },
  },
  // The seed's example lists: CP ("examples of situations where an CP IRM might initiate the dispute
  // resolution process") then LAC ("Examples of situations where an IRM might have concerns").
  themes: [
    {
      id: "cp_plan_decisions_not_carried_out",
      label: "Significant decisions of the Child Protection Plan not being carried out",
    },
    { id: "poor_partnership_working", label: "Poor partnership working amongst agencies" },
    { id: "conference_report_standard", label: "Conference report not meeting the required standard" },
    { id: "social_worker_visits", label: "Social worker visits not taking place or not within timescales" },
    { id: "core_group_meetings", label: "Core Group Meetings not taking place, late or not effective" },
    { id: "review_preparation", label: "Preparation for the Child's Review" },
    { id: "decisions_within_timescales", label: "Completion of decisions within timescales" },
    { id: "assessments", label: "Assessments" },
    { id: "oppressive_practice", label: "Oppressive or discriminatory practice" },
    { id: "supervision", label: "Supervision of a social worker" },
    { id: "allocation_history", label: "Allocation history" },
    { id: "family_finding", label: "Family finding/placement search" },
    { id: "health_provision", label: "Health provision" },
    { id: "education_provision", label: "Education provision" },
    { id: "placement_choice", label: "Placement choice/standard of care" },
    { id: "endorsing_care_plan", label: "Endorsing the care plan" },
    { id: "child_not_seen", label: "Child not being seen" },
    { id: "safeguarding_not_addressed", label: "Safeguarding issues not being addressed" },
  ],
  // Silent. Five-day windows: remind the recipient one working day before the deadline.
  reminderWorkingDaysBeforeDeadline: 1,
  // "Good Practice Notifications" are a section of both the CP and the LAC process.
  goodPracticeNotifications: true,
};
