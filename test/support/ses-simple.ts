import type { SendEmailCommandInput } from "@aws-sdk/client-sesv2";
import MailComposer from "nodemailer/lib/mail-composer";

/**
 * The message SES builds for a v2 `SendEmail` with `Content.Simple`, for tests that read what was
 * sent: the address fields are written as given (SES does not encode them, which is why a
 * non-ASCII display name must arrive as encoded-words: mime.ts), the Subject is encoded from its
 * charset, the body parts and the further headers are composed by MailComposer.
 */
export async function simpleMessage(input: SendEmailCommandInput): Promise<Buffer> {
  const simple = input.Content?.Simple;
  if (simple === undefined) throw new Error("not a Simple SendEmail");
  const composed = await new MailComposer({
    subject: simple.Subject?.Data ?? "",
    ...(simple.Body?.Text?.Data === undefined ? {} : { text: simple.Body.Text.Data }),
    ...(simple.Body?.Html?.Data === undefined ? {} : { html: simple.Body.Html.Data }),
    headers: (simple.Headers ?? []).map((h) => ({ key: h.Name ?? "", value: h.Value ?? "" })),
    disableFileAccess: true,
    disableUrlAccess: true,
  })
    .compile()
    .build();
  const addressLines = [
    ["From", [input.FromEmailAddress ?? ""]],
    ["To", input.Destination?.ToAddresses ?? []],
    ["Cc", input.Destination?.CcAddresses ?? []],
    ["Reply-To", input.ReplyToAddresses ?? []],
  ] as const;
  const lines = addressLines
    .filter(([, values]) => values.length > 0)
    .map(([name, values]) => `${name}: ${values.join(", ")}\r\n`);
  return Buffer.concat([Buffer.from(lines.join(""), "ascii"), composed]);
}

/** The bare addresses of "Name <a@b>" or "a@b" mailboxes. */
export function bareAddresses(mailboxes: readonly string[] | undefined): string[] {
  return (mailboxes ?? []).map((m) => (/<([^<>]+)>$/.exec(m)?.[1] ?? m).trim());
}
