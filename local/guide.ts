/**
 * What a newcomer is shown once the local runtime is up: the demo's next steps, in order, for the
 * console (bin/local.ts) and the index page at `/` (no token, loopback only). One list, two views,
 * so the two cannot disagree. No token is ever printed here: the commands read `$TOKEN_<LABEL>`
 * from the tokens file.
 */
import { join } from "node:path";
import { addMonths, londonDay } from "../functions/domain/london-time.js";
import { escapeHtml } from "../functions/shared/html.js";

/** Where `npm start` writes the demo tokens (`export TOKEN_IRO=...`), inside the data folder. */
export function tokensFilePath(dataDir: string): string {
  return join(dataDir, "tokens.env");
}

/** The example body of a first challenge, inside the data folder. */
export function raiseBodyPath(dataDir: string): string {
  return join(dataDir, "examples", "raise-challenge.json");
}

export interface GuideUrls {
  readonly api: string;
  readonly mail: string;
  readonly mailStore: string;
  readonly smtp: { readonly host: string; readonly port: number };
}

export interface GuideStep {
  readonly what: string;
  /** A shell command to run, when the step has one. */
  readonly command?: string;
}

/**
 * The demo, step by step: raise, read the email, the reminder before the deadline, the escalation,
 * a reply, the challenge, the report (over the next three months from `now`, the service clock).
 */
export function demoSteps(urls: GuideUrls, dataDir: string, now: Date): readonly GuideStep[] {
  const today = londonDay(now);
  const period = `from=${today}&to=${addMonths(today, 3)}`;
  const advance = (workingDays: number): string =>
    `curl -s -X POST $API/_local/clock/advance -d '{"workingDays":${workingDays}}'`;
  return [
    {
      what: "Load the demo tokens and the API's address into your shell ($API, $TOKEN_IRO, ...)",
      command: `source ${tokensFilePath(dataDir)}`,
    },
    {
      what: "Raise a first challenge, as the IRO, about an invented child",
      command:
        `curl -s -X POST $API/v1/challenges -H "Authorization: Bearer $TOKEN_IRO" ` +
        `-H 'content-type: application/json' --data @${raiseBodyPath(dataDir)}`,
    },
    { what: `Read the Team Manager's email (and its Reply-To address) at ${urls.mail}` },
    {
      what: "Let 4 working days pass: the Team Manager is reminded, one working day before the deadline",
      command: advance(4),
    },
    {
      what: "Let 1 more working day pass: nobody answered, so the challenge escalates to the Service Manager",
      command: advance(1),
    },
    {
      what:
        `Answer by email, as the Service Manager: save a reply (From: evan.price@example.org, To: the ` +
        `Reply-To address of their email, a Subject, a blank line, then your answer) as reply.eml and send it`,
      command:
        `curl -s smtp://${urls.smtp.host}:${urls.smtp.port} --mail-from evan.price@example.org ` +
        `--mail-rcpt '<Reply-To address>' --upload-file reply.eml`,
    },
    {
      what: "See the challenge and its history (the id is in the raise response's `challengeId`)",
      command: `curl -s $API/v1/challenges/<challengeId> -H "Authorization: Bearer $TOKEN_IRO"`,
    },
    {
      what: "Read the themes report (HTML; format=json or csv also work)",
      command: `curl -s "$API/v1/reports/themes?${period}&format=html" -H "Authorization: Bearer $TOKEN_IRO_SERVICE_MANAGER" > report.html`,
    },
  ];
}

/** The index page at `/`: links to everything local, and the demo's steps. */
export function indexPage(urls: GuideUrls, dataDir: string, now: Date): string {
  const link = (href: string, text: string): string =>
    `<li><a href="${escapeHtml(href)}">${escapeHtml(text)}</a></li>`;
  const steps = demoSteps(urls, dataDir, now)
    .map(
      (step) =>
        `<li>${escapeHtml(step.what)}${step.command === undefined ? "" : `<pre>${escapeHtml(step.command)}</pre>`}</li>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Challenge &amp; Resolution Service (local)</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:.5rem;white-space:pre-wrap}</style>
</head>
<body>
<h1>Challenge &amp; Resolution Service, running locally</h1>
<ul>
${link("/openapi.json", "The OpenAPI document (no token needed here; the API itself needs one)")}
${link("/_local/tokens", "Demo tokens, by role")}
<li>Tokens file: <code>${escapeHtml(tokensFilePath(dataDir))}</code></li>
${link("/_local/clock", "The service clock (POST /_local/clock/advance to move it)")}
${link(urls.mail, "Sent mail")}
${link(urls.mailStore, "Sent mail as JSON")}
<li>Reports (with a token): <code>${escapeHtml(urls.api)}/v1/reports/themes?format=html</code>,
<code>${escapeHtml(urls.api)}/v1/reports/overdue</code></li>
<li>Replies by SMTP: <code>${escapeHtml(urls.smtp.host)}:${String(urls.smtp.port)}</code></li>
</ul>
<h2>Next steps</h2>
<ol>
${steps}
</ol>
</body>
</html>
`;
}
