import { GetCommand, PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import { about } from "../domain/about.js";
import { QUARTER_PATTERN } from "../domain/quarters.js";
import { CorruptItemError, parseItem, withoutUndefined } from "./items.js";
import { ENTITY, keys } from "./table.js";

/**
 * The benchmark's two records. A tenant's participation lives in its own partition (who opted in or
 * out, when, and the child counts it gave). A quarter's published benchmark lives in a partition of
 * no tenant and holds aggregates only (functions/domain/benchmark.ts): no tenant id, no single
 * authority's figure, so nothing in it can be read back to one authority.
 */

const childCount = z.number().check(z.int(), z.gte(0), z.lte(1_000_000));

export const participationSchema = z.strictObject({
  optedIn: z.boolean(),
  childrenLookedAfter: z.optional(childCount),
  childrenOnProtectionPlans: z.optional(childCount),
  /** The person who last changed it (id), and when. */
  updatedBy: z.string().check(z.minLength(1), z.maxLength(128)),
  updatedAt: z.iso.datetime(),
});
export type Participation = z.infer<typeof participationSchema>;

const metricKind = z
  .enum(["share", "per_100_children", "working_days"])
  .check(z.meta(about("share: 0-1; per_100_children: a rate; working_days: a count of days", "share")));
const key = z.string().check(z.meta(about("The figure's stable key", "median_working_days_to_resolution")));
const label = z
  .string()
  .check(z.meta(about("The figure in words", "Median working days from raising to resolution")));
const quartile = (which: string, example: number) =>
  z
    .number()
    .check(z.meta(about(`The ${which} of the authorities' figures, rounded to the figure's step`, example)));

export const distributionSchema = z.discriminatedUnion("suppressed", [
  z.strictObject({
    key,
    label,
    kind: metricKind,
    suppressed: z.literal(false).check(z.meta(about("false: the figure is shown", false))),
    authorities: z
      .number()
      .check(z.int(), z.gte(5), z.meta(about("How many authorities have the figure (at least 5)", 7))),
    lowerQuartile: quartile("lower quartile", 6),
    median: quartile("median", 8),
    upperQuartile: quartile("upper quartile", 11),
  }),
  z.strictObject({
    key,
    label,
    kind: metricKind,
    suppressed: z
      .literal(true)
      .check(z.meta(about("true: too few authorities have the figure to show it", true))),
    reason: z
      .string()
      .check(z.meta(about("Why it is not shown", "fewer than 5 authorities have this figure"))),
  }),
]);

export const publishedBenchmarkSchema = z.strictObject({
  quarter: z.string().check(z.regex(QUARTER_PATTERN)),
  /** The instant the figures are as at. */
  asAt: z.iso.datetime(),
  publishedAt: z.iso.datetime(),
  /** How many authorities contributed (all opted in); at least 5 or every figure is suppressed. */
  authorities: z.number().check(z.int(), z.gte(0)),
  distribution: z.array(distributionSchema),
});
export type PublishedBenchmark = z.infer<typeof publishedBenchmarkSchema>;

const participationItemSchema = z.strictObject({
  pk: z.string(),
  sk: z.string(),
  entity: z.literal(ENTITY.benchmarkParticipation),
  tenantId: z.string(),
  participation: participationSchema,
});

const publishedItemSchema = z.strictObject({
  pk: z.string(),
  sk: z.string(),
  entity: z.literal(ENTITY.benchmarkPublished),
  published: publishedBenchmarkSchema,
});

export class BenchmarkStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getParticipation(tenantId: string): Promise<Participation | undefined> {
    const key = keys.benchmarkParticipation(tenantId);
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    if (Item === undefined) return undefined;
    const item = parseItem(participationItemSchema, Item, `${key.pk} ${key.sk}`);
    if (item.tenantId !== tenantId)
      throw new CorruptItemError(`${key.pk} ${key.sk}`, "tenant id disagrees with key");
    return item.participation;
  }

  /** Stores the participation (last write wins: it is a setting, and says who set it). */
  async putParticipation(tenantId: string, participation: Participation): Promise<Participation> {
    const valid = participationSchema.parse(participation);
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: withoutUndefined({
          ...keys.benchmarkParticipation(tenantId),
          entity: ENTITY.benchmarkParticipation,
          tenantId,
          participation: valid,
        }),
      }),
    );
    return valid;
  }

  async getPublished(quarter: string): Promise<PublishedBenchmark | undefined> {
    const key = keys.benchmarkPublished(quarter);
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: key }));
    return Item === undefined
      ? undefined
      : parseItem(publishedItemSchema, Item, `${key.pk} ${key.sk}`).published;
  }

  /** Replaces the quarter's published benchmark (each run publishes the whole quarter anew). */
  async putPublished(published: PublishedBenchmark): Promise<void> {
    const valid = publishedBenchmarkSchema.parse(published);
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...keys.benchmarkPublished(valid.quarter),
          entity: ENTITY.benchmarkPublished,
          published: valid,
        },
      }),
    );
  }
}
