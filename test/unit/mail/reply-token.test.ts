import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  locateReplyToken,
  parseReplyKeyRing,
  recipientRefOf,
  replyAddressFor,
  replyAddressesIn,
  signReplyToken,
  stageRefOf,
  verifyReplyToken,
  type ReplyKey,
  type ReplyKeyRing,
  type ReplyTokenInput,
} from "../../../functions/mail/reply-token.js";

const secret = (seed: string): Uint8Array => new Uint8Array(createHash("sha256").update(seed).digest());
const key = (id: number, seed: string): ReplyKey => ({ id, secret: secret(seed) });
const KEY_2 = key(2, "northby test reply key 2");
const KEY_3 = key(3, "northby test reply key 3");
const KEY_4 = key(4, "northby test reply key 4");
const KEYS: ReplyKeyRing = { current: KEY_3, previous: KEY_2 };
const TENANTS = ["southmoor", "northby", "eastwick"];
const DOMAIN = "reply.challenges.example";
const NOW = new Date("2026-11-24T09:30:00Z");

const INPUT: ReplyTokenInput = {
  tenantId: "northby",
  challengeId: "01JD3K8Q6T9X2M4N5P7R8S9V0W",
  stageId: "stage_2",
  stageOpenedAt: "2026-11-23T10:00:00.000Z",
  party: "assignee",
  recipientEmail: "sam.whitlock@northby.example",
  expiresAt: new Date("2026-12-14T17:00:00Z"),
};

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
const CROCKFORD_CHARS = Array.from("0123456789ABCDEFGHJKMNPQRSTVWXYZ");

describe("reply token format", () => {
  it("is reply+<40 base32>.<16 base32>: 63 lower-case characters, under the 64 an address local part allows", () => {
    const token = signReplyToken(INPUT, KEYS);
    expect(token).toMatch(/^reply\+[a-z2-7]{40}\.[a-z2-7]{16}$/);
    expect(token).toHaveLength(63);
    const address = replyAddressFor(INPUT, KEYS, "Reply.Challenges.Example");
    expect(address).toBe(`${token}@${DOMAIN}`);
  });

  it("is deterministic: the same stage visit, person and expiry give the same address (reminders reuse it)", () => {
    expect(signReplyToken(INPUT, KEYS)).toBe(signReplyToken({ ...INPUT }, KEYS));
  });

  it("matches the token in the fixtures (regenerate them if the format changes)", () => {
    expect(signReplyToken(INPUT, KEYS)).toBe(
      "reply+envsaieqagjuonc43jhukqsuwy7bdfhmdsfiz4en.34dce2axouh5u5iu",
    );
  });
});

describe("round trip", () => {
  it("verifies with the claims it was signed with", () => {
    const result = verifyReplyToken(replyAddressFor(INPUT, KEYS, DOMAIN), KEYS, NOW, TENANTS);
    expect(result).toEqual({
      ok: true,
      claims: {
        tenantId: "northby",
        challengeId: INPUT.challengeId,
        stageRef: stageRefOf("stage_2", "2026-11-23T10:00:00.000Z"),
        recipientRef: recipientRefOf("sam.whitlock@northby.example"),
        party: "assignee",
        expiresAt: INPUT.expiresAt,
        keyId: 3,
      },
    });
  });

  it("survives relays that change the case of the address", () => {
    const address = replyAddressFor({ ...INPUT, party: "raiser" }, KEYS, DOMAIN);
    for (const variant of [address.toUpperCase(), address.toLowerCase(), `  ${address}  `]) {
      const result = verifyReplyToken(variant, KEYS, NOW, TENANTS);
      expect(result.ok && result.claims.party).toBe("raiser");
    }
  });

  it("accepts just the local part", () => {
    expect(verifyReplyToken(signReplyToken(INPUT, KEYS), KEYS, NOW, TENANTS).ok).toBe(true);
  });

  it("round-trips any tenant, ULID, stage, person and expiry (property)", () => {
    const ulid = fc
      .tuple(
        fc.constantFrom(...Array.from("01234567")),
        fc.array(fc.constantFrom(...CROCKFORD_CHARS), { minLength: 25, maxLength: 25 }),
      )
      .map(([first, rest]) => first + rest.join(""));
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        ulid,
        fc.string({ minLength: 1, maxLength: 64 }),
        fc.constantFrom("assignee" as const, "raiser" as const),
        fc.emailAddress(),
        fc.integer({ min: Math.floor(NOW.getTime() / 1000) + 1, max: 0xffffffff }),
        (tenantId, challengeId, stageId, party, email, expirySeconds) => {
          const input: ReplyTokenInput = {
            tenantId,
            challengeId,
            stageId,
            stageOpenedAt: "2026-11-23T10:00:00.000Z",
            party,
            recipientEmail: email,
            expiresAt: new Date(expirySeconds * 1000),
          };
          const token = signReplyToken(input, KEYS);
          expect(token).toHaveLength(63);
          const result = verifyReplyToken(token.toUpperCase(), KEYS, NOW, ["other", tenantId]);
          expect(result.ok).toBe(true);
          if (result.ok) {
            expect(result.claims.tenantId).toBe(tenantId);
            expect(result.claims.challengeId).toBe(challengeId);
            expect(result.claims.party).toBe(party);
            expect(result.claims.recipientRef).toBe(recipientRefOf(email.toUpperCase()));
            expect(result.claims.expiresAt.getTime()).toBe(expirySeconds * 1000);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("tampering", () => {
  const token = signReplyToken(INPUT, KEYS);

  it("is detected at every character of the payload and the signature, for every substitute", () => {
    let checked = 0;
    for (let i = "reply+".length; i < token.length; i++) {
      if (token[i] === ".") continue;
      for (const substitute of BASE32) {
        if (substitute === token[i]) continue;
        const tampered = token.slice(0, i) + substitute + token.slice(i + 1);
        const result = verifyReplyToken(tampered, KEYS, NOW, TENANTS);
        expect(result.ok, `position ${i} -> ${substitute}`).toBe(false);
        if (!result.ok) expect(["bad_signature", "unknown_key", "malformed"]).toContain(result.refusal);
        checked++;
      }
    }
    expect(checked).toBe(56 * 31);
  });

  it("changing the expiry, the challenge or the party is a bad signature, not a different valid token", () => {
    // Position 10 falls in the expiry bytes: a forger trying to extend the deadline.
    const tampered = `${token.slice(0, 10)}b${token.slice(11)}`;
    expect(verifyReplyToken(tampered, KEYS, NOW, TENANTS)).toMatchObject({
      ok: false,
      refusal: "bad_signature",
    });
  });

  it.each([
    ["a missing character", token.slice(0, -1)],
    ["an extra character", `${token}a`],
    ["another prefix", token.replace("reply+", "reply-")],
    ["no dot", token.replace(".", "a")],
    ["characters outside base32", `${token.slice(0, 20)}1${token.slice(21)}`],
    ["an empty string", ""],
    ["a task token", "AQCEAAAAKgAAAAMAAAAAAAAAAbcdefghijklmnop"],
  ])("%s is malformed", (_, bad) => {
    expect(verifyReplyToken(bad, KEYS, NOW, TENANTS)).toMatchObject({ ok: false, refusal: "malformed" });
  });

  it("a token for one tenant never verifies as another's", () => {
    const result = verifyReplyToken(token, KEYS, NOW, ["southmoor", "eastwick"]);
    expect(result).toMatchObject({ ok: false, refusal: "bad_signature" });
  });

  it("a token from another key with the same id is a bad signature", () => {
    const impostor: ReplyKeyRing = { current: { id: 3, secret: secret("someone else's key") } };
    expect(verifyReplyToken(signReplyToken(INPUT, impostor), KEYS, NOW, TENANTS)).toMatchObject({
      ok: false,
      refusal: "bad_signature",
    });
  });
});

describe("key rotation", () => {
  const before: ReplyKeyRing = { current: KEY_2 };
  const after: ReplyKeyRing = { current: KEY_3, previous: KEY_2 };
  const later: ReplyKeyRing = { current: KEY_4, previous: KEY_3 };

  it("signs with the current key", () => {
    const result = verifyReplyToken(signReplyToken(INPUT, after), after, NOW, TENANTS);
    expect(result.ok && result.claims.keyId).toBe(3);
  });

  it("accepts tokens signed with the previous key", () => {
    const old = signReplyToken(INPUT, before);
    const result = verifyReplyToken(old, after, NOW, TENANTS);
    expect(result.ok && result.claims.keyId).toBe(2);
  });

  it("refuses tokens from a key two rotations back as unknown_key", () => {
    const old = signReplyToken(INPUT, before);
    expect(verifyReplyToken(old, later, NOW, TENANTS)).toMatchObject({ ok: false, refusal: "unknown_key" });
  });
});

describe("expiry", () => {
  const token = signReplyToken(INPUT, KEYS);
  const expiry = INPUT.expiresAt.getTime();

  it("is valid up to the instant of expiry, and expired from it", () => {
    expect(verifyReplyToken(token, KEYS, new Date(expiry - 1), TENANTS).ok).toBe(true);
    expect(verifyReplyToken(token, KEYS, new Date(expiry), TENANTS)).toMatchObject({
      ok: false,
      refusal: "expired",
    });
  });

  it("checks the signature before the expiry: a forged old token is a bad signature, not 'expired'", () => {
    const forged = `${token.slice(0, 30)}${token[30] === "a" ? "b" : "a"}${token.slice(31)}`;
    const result = verifyReplyToken(forged, KEYS, new Date(expiry + 1000), TENANTS);
    expect(result).toMatchObject({ ok: false });
    expect(result.ok || result.refusal).not.toBe("expired");
  });

  it("is kept to the second, rounded down", () => {
    const result = verifyReplyToken(
      signReplyToken({ ...INPUT, expiresAt: new Date("2026-12-14T17:00:00.999Z") }, KEYS),
      KEYS,
      NOW,
      TENANTS,
    );
    expect(result.ok && result.claims.expiresAt.toISOString()).toBe("2026-12-14T17:00:00.000Z");
  });
});

describe("references", () => {
  it("bind the stage visit: the same stage reopened later has another ref", () => {
    expect(stageRefOf("stage_2", "2026-11-23T10:00:00.000Z")).not.toBe(
      stageRefOf("stage_2", "2027-01-11T09:00:00.000Z"),
    );
    expect(stageRefOf("stage_2", "2026-11-23T10:00:00.000Z")).not.toBe(
      stageRefOf("stage_3", "2026-11-23T10:00:00.000Z"),
    );
  });

  it("read instants the same however they are spelled", () => {
    expect(stageRefOf("stage_2", "2026-11-23T10:00:00Z")).toBe(
      stageRefOf("stage_2", "2026-11-23T10:00:00.000Z"),
    );
    expect(stageRefOf("stage_2", "2026-11-23T10:00:00+00:00")).toBe(
      stageRefOf("stage_2", "2026-11-23T10:00:00.000Z"),
    );
  });

  it("compare addresses case-insensitively", () => {
    expect(recipientRefOf(" Sam.Whitlock@Northby.Example ")).toBe(
      recipientRefOf("sam.whitlock@northby.example"),
    );
    expect(recipientRefOf("chris.dunmore@northby.example")).not.toBe(
      recipientRefOf("sam.whitlock@northby.example"),
    );
  });
});

describe("signing refuses what cannot be a good token", () => {
  it.each([
    ["a challenge id that is not a ULID", { challengeId: "challenge-1" }],
    ["a lower-case ULID (ids are stored canonical)", { challengeId: "01jd3k8q6t9x2m4n5p7r8s9v0w" }],
    ["a ULID beyond 128 bits", { challengeId: "81JD3K8Q6T9X2M4N5P7R8S9V0W" }],
    ["an empty tenant", { tenantId: "" }],
    ["an invalid expiry", { expiresAt: new Date(Number.NaN) }],
  ])("%s", (_, change) => {
    expect(() => signReplyToken({ ...INPUT, ...change }, KEYS)).toThrow();
  });

  it("a short key", () => {
    expect(() => signReplyToken(INPUT, { current: { id: 1, secret: new Uint8Array(16) } })).toThrow(
      /32 bytes/,
    );
  });

  it("a key id that does not fit in the token", () => {
    expect(() => signReplyToken(INPUT, { current: { id: 16, secret: secret("x") } })).toThrow(/0-15/);
  });
});

describe("parseReplyKeyRing", () => {
  const b64 = (seed: string): string => Buffer.from(secret(seed)).toString("base64");

  it("reads the stored secret", () => {
    const ring = parseReplyKeyRing({
      current: { id: 3, secret: b64("a") },
      previous: { id: 2, secret: b64("b") },
    });
    expect(ring.current.id).toBe(3);
    expect(Buffer.from(ring.current.secret)).toEqual(Buffer.from(secret("a")));
    expect(ring.previous?.id).toBe(2);
  });

  it("refuses short keys, clashing ids and ids that do not fit", () => {
    expect(() => parseReplyKeyRing({ current: { id: 1, secret: "c2hvcnQ=" } })).toThrow();
    expect(() =>
      parseReplyKeyRing({ current: { id: 1, secret: b64("a") }, previous: { id: 1, secret: b64("b") } }),
    ).toThrow(/different id/);
    expect(() => parseReplyKeyRing({ current: { id: 16, secret: b64("a") } })).toThrow();
  });
});

describe("finding the token among the recipients", () => {
  const sam = replyAddressFor(INPUT, KEYS, DOMAIN);
  const other = replyAddressFor({ ...INPUT, stageId: "stage_3" }, KEYS, DOMAIN);

  it("looks only at our domain and our prefix", () => {
    expect(
      replyAddressesIn(
        ["sam.whitlock@northby.example", sam.toUpperCase(), `reply+x@elsewhere.example`, `records@${DOMAIN}`],
        DOMAIN,
      ),
    ).toEqual([sam]);
  });

  it("finds one valid token", () => {
    const result = locateReplyToken(["someone@northby.example", sam], DOMAIN, KEYS, NOW, TENANTS);
    expect(result.ok).toBe(true);
  });

  it("is missing when no recipient is a reply address of ours", () => {
    expect(locateReplyToken([`records@${DOMAIN}`], DOMAIN, KEYS, NOW, TENANTS)).toMatchObject({
      ok: false,
      refusal: "missing",
    });
  });

  it("treats the same address twice (in different case) as one", () => {
    expect(locateReplyToken([sam, sam.toUpperCase()], DOMAIN, KEYS, NOW, TENANTS).ok).toBe(true);
  });

  it("is ambiguous when two valid tokens for different things are addressed", () => {
    expect(locateReplyToken([sam, other], DOMAIN, KEYS, NOW, TENANTS)).toMatchObject({
      ok: false,
      refusal: "ambiguous",
    });
  });

  it("prefers the valid token over a broken one, and otherwise reports why the token failed", () => {
    const broken = `${sam.slice(0, 12)}${sam[12] === "a" ? "b" : "a"}${sam.slice(13)}`;
    expect(locateReplyToken([broken, sam], DOMAIN, KEYS, NOW, TENANTS).ok).toBe(true);
    expect(locateReplyToken([broken], DOMAIN, KEYS, NOW, TENANTS)).toMatchObject({
      ok: false,
      refusal: "bad_signature",
    });
  });
});
