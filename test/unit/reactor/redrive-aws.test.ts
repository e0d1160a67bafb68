import {
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
  type _Record as StreamsRecord,
} from "@aws-sdk/client-dynamodb-streams";
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient, type Message } from "@aws-sdk/client-sqs";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { type BatchHandler, redriveAwsDeadLetters } from "../../../functions/reactor/redrive-aws.js";

/**
 * `npm run outbox -- redrive --aws`: the reactor's on-failure messages (metadata only) are turned
 * back into records from the stream and handed to the reactor; SQS and DynamoDB Streams mocked.
 */

const QUEUE = "https://sqs.eu-west-2.amazonaws.com/111122223333/ReactorDeadLetterQueue";
const STREAM = "arn:aws:dynamodb:eu-west-2:111122223333:table/challenges/stream/2026-12-01T00:00:00.000";
const SHARD = "shardId-00000001733000000000-abcdef12";
const sqsMock = mockClient(SQSClient);
const streamsMock = mockClient(DynamoDBStreamsClient);

/** What Lambda sends to a stream mapping's on-failure destination (metadata, no records). */
function onFailure(id: string, start: string, end: string, batchSize: number): Message {
  return {
    MessageId: id,
    ReceiptHandle: `receipt-${id}`,
    Body: JSON.stringify({
      requestContext: {
        requestId: "5b5b59c6-0000-4a26-8292-db43ed81693a",
        functionArn: "arn:aws:lambda:eu-west-2:111122223333:function:React",
        condition: "RecordAgeExceeded",
        approximateInvokeCount: 40,
      },
      responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
      version: "1.0",
      timestamp: "2026-12-04T10:00:00.000Z",
      DDBStreamBatchInfo: {
        shardId: SHARD,
        startSequenceNumber: start,
        endSequenceNumber: end,
        approximateArrivalOfFirstRecord: "2026-12-04T09:00:00Z",
        approximateArrivalOfLastRecord: "2026-12-04T09:00:01Z",
        batchSize,
        streamArn: STREAM,
      },
    }),
  };
}

/** A new event item's stream record, as GetRecords returns it. */
function eventRecord(sequence: string, seq: number): StreamsRecord {
  return {
    eventID: `id-${sequence}`,
    eventName: "INSERT",
    eventVersion: "1.1",
    eventSource: "aws:dynamodb",
    awsRegion: "eu-west-2",
    dynamodb: {
      ApproximateCreationDateTime: new Date("2026-12-04T09:00:00Z"),
      Keys: { pk: { S: "T#lbx#C#ch-1" }, sk: { S: `E#${String(seq).padStart(10, "0")}` } },
      NewImage: { entity: { S: "event" }, pk: { S: "T#lbx#C#ch-1" } },
      SequenceNumber: sequence,
      SizeBytes: 100,
      StreamViewType: "NEW_IMAGE",
    },
  };
}

/** SQS hands the messages out once, then the queue looks empty (they are in flight). */
function queueHolds(messages: Message[]): void {
  sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: messages }).resolves({ Messages: [] });
  sqsMock.on(DeleteMessageCommand).resolves({});
}

function handlerThatAnswers(answer: (event: DynamoDBStreamEvent) => DynamoDBBatchResponse): {
  handler: BatchHandler;
  batches: DynamoDBStreamEvent[];
} {
  const batches: DynamoDBStreamEvent[] = [];
  return {
    batches,
    handler: (event) => {
      batches.push(event);
      return Promise.resolve(answer(event));
    },
  };
}

const deleted = (): (string | undefined)[] =>
  sqsMock.commandCalls(DeleteMessageCommand).map((call) => call.args[0].input.ReceiptHandle);

beforeEach(() => {
  sqsMock.reset();
  streamsMock.reset();
});

describe("redrive --aws", () => {
  const deps = (handler: BatchHandler, log: string[] = []) => ({
    sqs: new SQSClient({ region: "eu-west-2" }),
    streams: new DynamoDBStreamsClient({ region: "eu-west-2" }),
    queueUrl: QUEUE,
    handler,
    log: (line: string) => log.push(line),
  });

  it("reads the batch back from the stream at its sequence numbers, hands it to the reactor, then deletes the message", async () => {
    queueHolds([onFailure("m1", "300", "500", 2)]);
    streamsMock.on(GetShardIteratorCommand).resolves({ ShardIterator: "it-1" });
    streamsMock
      .on(GetRecordsCommand, { ShardIterator: "it-1" })
      .resolves({ Records: [eventRecord("300", 1), eventRecord("400", 2)], NextShardIterator: "it-2" });
    streamsMock
      .on(GetRecordsCommand, { ShardIterator: "it-2" })
      // The batch's last record, then one written after it: not the batch's.
      .resolves({ Records: [eventRecord("500", 3), eventRecord("600", 4)], NextShardIterator: "it-3" });
    const reactor = handlerThatAnswers(() => ({ batchItemFailures: [] }));

    const outcome = await redriveAwsDeadLetters(deps(reactor.handler));

    expect(outcome).toEqual({ redriven: 1, failed: 0, expired: 0, unreadable: 0 });
    expect(streamsMock.commandCalls(GetShardIteratorCommand)[0]?.args[0].input).toEqual({
      StreamArn: STREAM,
      ShardId: SHARD,
      ShardIteratorType: "AT_SEQUENCE_NUMBER",
      SequenceNumber: "300",
    });
    expect(reactor.batches).toHaveLength(1);
    const records = reactor.batches[0]?.Records ?? [];
    expect(records.map((r) => r.dynamodb?.SequenceNumber)).toEqual(["300", "400", "500"]);
    // As Lambda hands them over: the stream's ARN, epoch seconds, the image untouched.
    expect(records[0]).toMatchObject({
      eventName: "INSERT",
      eventSource: "aws:dynamodb",
      eventSourceARN: STREAM,
      dynamodb: { ApproximateCreationDateTime: 1796374800, NewImage: { entity: { S: "event" } } },
    });
    expect(deleted()).toEqual(["receipt-m1"]);
    // Pages after the batch's end are not read.
    expect(streamsMock.commandCalls(GetRecordsCommand)).toHaveLength(2);
  });

  it("keeps the message when a record fails again", async () => {
    queueHolds([onFailure("m1", "300", "400", 2)]);
    streamsMock.on(GetShardIteratorCommand).resolves({ ShardIterator: "it-1" });
    streamsMock.on(GetRecordsCommand).resolves({ Records: [eventRecord("300", 1), eventRecord("400", 2)] });
    const reactor = handlerThatAnswers(() => ({ batchItemFailures: [{ itemIdentifier: "400" }] }));
    const log: string[] = [];

    expect(await redriveAwsDeadLetters(deps(reactor.handler, log))).toEqual({
      redriven: 0,
      failed: 1,
      expired: 0,
      unreadable: 0,
    });
    expect(deleted()).toEqual([]);
    expect(log.join("\n")).toMatch(/1 of 2 record\(s\) failed again; kept/);
  });

  it("keeps the message when the reactor throws", async () => {
    queueHolds([onFailure("m1", "300", "300", 1)]);
    streamsMock.on(GetShardIteratorCommand).resolves({ ShardIterator: "it-1" });
    streamsMock.on(GetRecordsCommand).resolves({ Records: [eventRecord("300", 1)] });
    const outcome = await redriveAwsDeadLetters(deps(() => Promise.reject(new Error("ses unavailable"))));
    expect(outcome.failed).toBe(1);
    expect(deleted()).toEqual([]);
  });

  it("says when the stream no longer holds the records, points to the table, and keeps the message", async () => {
    queueHolds([onFailure("m1", "300", "400", 2), onFailure("m2", "700", "700", 1)]);
    streamsMock
      .on(GetShardIteratorCommand, { SequenceNumber: "300" })
      .rejects(new TrimmedDataAccessException({ message: "trimmed", $metadata: {} }));
    streamsMock.on(GetShardIteratorCommand, { SequenceNumber: "700" }).resolves({ ShardIterator: "it-7" });
    streamsMock.on(GetRecordsCommand).resolves({ Records: [eventRecord("700", 5)] });
    const reactor = handlerThatAnswers(() => ({ batchItemFailures: [] }));
    const log: string[] = [];

    expect(await redriveAwsDeadLetters(deps(reactor.handler, log))).toEqual({
      redriven: 1,
      failed: 0,
      expired: 1,
      unreadable: 0,
    });
    expect(deleted()).toEqual(["receipt-m2"]);
    expect(log.join("\n")).toMatch(
      /message m1 \(shard .*, sequence 300 to 400\): TrimmedDataAccessException.*24-hour.*kept\. The events in the table are the source of truth/,
    );
  });

  it("keeps a message that is not a stream batch's on-failure record, untouched", async () => {
    queueHolds([{ MessageId: "x", ReceiptHandle: "receipt-x", Body: '{"hello":"world"}' }]);
    const reactor = handlerThatAnswers(() => ({ batchItemFailures: [] }));
    expect(await redriveAwsDeadLetters(deps(reactor.handler))).toEqual({
      redriven: 0,
      failed: 0,
      expired: 0,
      unreadable: 1,
    });
    expect(reactor.batches).toEqual([]);
    expect(deleted()).toEqual([]);
    expect(streamsMock.commandCalls(GetShardIteratorCommand)).toHaveLength(0);
  });

  it("keeps a message when the stream returns fewer records than the batch held", async () => {
    queueHolds([onFailure("m1", "300", "500", 3)]);
    streamsMock.on(GetShardIteratorCommand).resolves({ ShardIterator: "it-1" });
    // The shard closed after 300: no next iterator.
    streamsMock.on(GetRecordsCommand).resolves({ Records: [eventRecord("300", 1)] });
    const reactor = handlerThatAnswers(() => ({ batchItemFailures: [] }));
    expect((await redriveAwsDeadLetters(deps(reactor.handler))).failed).toBe(1);
    expect(deleted()).toEqual([]);
  });
});
